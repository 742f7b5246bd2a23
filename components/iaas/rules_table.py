"""Security-group rules as data: named, described records returned by small pure functions.

The shape follows cluster-api-provider-openstack (pkg/cloud/services/networking/
securitygroups_rules.go): each group's rules are plain records whose source is another group or a
CIDR, so the whole rule set can be listed, tested and documented without a cloud. Groups are keyed
by name: one per role that has a pool (lb, master, etcd, worker, ingress, storage, bastion) plus
``node``, which every Kubernetes node's port also carries. Cluster-wide traffic (CNI, kubelet,
SSH) is written once against ``node`` instead of once per pair of roles; that keeps the prod
stack near 30 rules, far below Neutron's default quota of 100 rules and 10 groups per project
(https://docs.openstack.org/neutron/latest/admin/ops-quotas.html).

Least privilege: no ingress rule has a world-wide source unless ``network.publicIngressCidrs``
says so, and then only on 80/443 of the ingress group. Neutron groups are stateful, so replies
need no rules. This module imports nothing from Pulumi; ``security_groups.py`` turns the records
into resources, and the table in docs/security-groups.md is generated from it (rules_doc.py):

    python -m components.iaas.rules_doc --markdown > docs/security-groups.md
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from config.spec import KUBERNETES_ROLES, ApiEndpointKind, CniPlugin, Encapsulation, EtcdTopology, Role, StackSpec

NODE_GROUP = "node"
"""The group on every Kubernetes node (master, worker, ingress, storage) besides its role's group."""
ANYWHERE = "0.0.0.0/0"
HAPROXY_STATS_PORT = 8404
"""haproxy's stats/metrics listener on the lb machines (the port HAProxy's own docs use)."""
NODE_PORT_RANGE = (30000, 32767)
"""kube-apiserver's default --service-node-port-range."""

K8S_PORTS = "https://kubernetes.io/docs/reference/networking/ports-and-protocols/"
CALICO = "https://docs.tigera.io/calico/latest/getting-started/kubernetes/requirements#network-requirements"
FLANNEL = "https://github.com/flannel-io/flannel/blob/master/Documentation/backends.md#vxlan"
NODE_EXPORTER = "https://github.com/prometheus/node_exporter#installation-and-usage"
CEPH = "https://docs.ceph.com/en/latest/rados/configuration/network-config-ref/"
ROOK = "https://rook.io/docs/rook/latest/CRDs/Cluster/network-providers/"
VRRP_RFC = "https://www.rfc-editor.org/rfc/rfc5798#section-5.1.1.4"
HAPROXY = "https://www.haproxy.com/documentation/haproxy-configuration-tutorials/alerts-and-monitoring/statistics/"
OCTAVIA = "https://docs.openstack.org/octavia/latest/reference/introduction.html"
CAPO = (
    "https://github.com/kubernetes-sigs/cluster-api-provider-openstack/blob/main/"
    "pkg/cloud/services/networking/securitygroups_rules.go"
)
EGRESS_DOC = (
    "https://www.pulumi.com/registry/packages/openstack/api-docs/networking/secgroup/#default-security-group-rules"
)
REFERENCES: dict[str, str] = {
    K8S_PORTS: "kubernetes-ports",
    CALICO: "calico-requirements",
    FLANNEL: "flannel-vxlan",
    NODE_EXPORTER: "node-exporter",
    CEPH: "ceph-network",
    ROOK: "rook-network",
    VRRP_RFC: "rfc5798-vrrp",
    HAPROXY: "haproxy-stats",
    OCTAVIA: "octavia",
    CAPO: "capo-rules",
    EGRESS_DOC: "default-egress",
}
"""Short labels of the upstream documents, for the generated docs' reference-style links."""

GROUP_ORDER: tuple[str, ...] = (
    Role.LB.value,
    Role.MASTER.value,
    Role.ETCD.value,
    Role.WORKER.value,
    Role.INGRESS.value,
    Role.STORAGE.value,
    Role.BASTION.value,
    NODE_GROUP,
)
GROUP_DESCRIPTIONS: dict[str, str] = {
    Role.LB.value: "haproxy + keepalived machines in front of the API servers",
    Role.MASTER.value: "Kubernetes control plane (kube-apiserver; etcd too when stacked)",
    Role.ETCD.value: "dedicated etcd members",
    Role.WORKER.value: "Kubernetes workers (general, SSD and GPU pools)",
    Role.INGRESS.value: "dedicated, tainted ingress-controller nodes",
    Role.STORAGE.value: "Ceph (Rook) storage nodes",
    Role.BASTION.value: "SSH jump host",
    NODE_GROUP: "every Kubernetes node (master, worker, ingress, storage): cluster-wide traffic",
}


@dataclass(frozen=True)
class SecurityRule:
    """One Neutron security-group rule, named and explained."""

    name: str
    """Unique in a stack: ``<group>-<what>-from-<source>``; the resource is named after it."""
    group: str
    """Key of the group the rule belongs to (a role value or ``node``)."""
    description: str
    """Why the rule exists; becomes the rule's Neutron description (<= 255 characters)."""
    protocol: str | None
    """``tcp``, ``udp``, an IP protocol number as text (``4`` IP-in-IP, ``112`` VRRP), None = any."""
    port_min: int | None = None
    """First port (tcp/udp only); None for protocols without ports."""
    port_max: int | None = None
    """Last port, inclusive."""
    remote_group: str | None = None
    """Source (ingress) or destination (egress) group key; exclusive with remote_cidr."""
    remote_cidr: str | None = None
    """Source or destination IPv4 CIDR; exclusive with remote_group."""
    direction: str = "ingress"
    """ingress or egress."""
    reference: str = ""
    """Upstream document that asks for the port."""

    def __post_init__(self) -> None:
        if (self.remote_group is None) == (self.remote_cidr is None):
            raise ValueError(f"{self.name}: exactly one of remote_group and remote_cidr")
        if (self.port_min is None) != (self.port_max is None) or (self.port_min or 0) > (self.port_max or 0):
            raise ValueError(f"{self.name}: bad port range {self.port_min}-{self.port_max}")
        if self.port_min is not None and self.protocol not in ("tcp", "udp"):
            raise ValueError(f"{self.name}: ports need tcp or udp")
        if len(self.description) > 255:
            raise ValueError(f"{self.name}: Neutron descriptions hold 255 characters")

    @property
    def ports(self) -> str:
        if self.port_min is None:
            return "any"
        return str(self.port_min) if self.port_min == self.port_max else f"{self.port_min}-{self.port_max}"

    @property
    def source(self) -> str:
        return f"group {self.remote_group}" if self.remote_group else str(self.remote_cidr)


@dataclass(frozen=True)
class RulesInput:
    """The parts of the stack config that decide the rules (all plain values)."""

    roles: frozenset[Role]
    """Roles that have a pool; each gets a group."""
    cni: CniPlugin
    """calico or flannel: decides the overlay rules between nodes."""
    encapsulation: Encapsulation
    """Calico ipip (BGP 179 + IP protocol 4), vxlan (UDP 4789) or none (BGP 179, native routing);
    flannel is always vxlan (8472)."""
    api_endpoint: ApiEndpointKind
    """haproxy-keepalived (lb group, VRRP, stats) or octavia (amphorae on the node subnet)."""
    etcd_topology: EtcdTopology
    """external (etcd group) or stacked (etcd ports on the master group)."""
    node_cidr: str
    """The node subnet; Octavia's amphorae reach the masters from addresses in it."""
    admin_cidrs: tuple[str, ...] = ()
    """Sources of SSH (without a bastion), the API and haproxy stats."""
    public_ingress_cidrs: tuple[str, ...] = ()
    """Sources of 80/443 on the ingress nodes; the only place 0.0.0.0/0 may appear."""
    node_port_cidrs: tuple[str, ...] = ()
    """Sources of NodePorts; empty keeps them closed."""
    monitoring: bool = False
    """The monitoring add-on runs: Prometheus (on the workers) scrapes etcd on 2379 and, on dedicated
    members, the node-exporter serving the backup metrics (default off)."""

    @classmethod
    def from_spec(cls, spec: StackSpec) -> RulesInput:
        net = spec.network
        return cls(
            roles=frozenset(pool.role for pool in spec.node_pools.values()),
            cni=spec.cni.plugin,
            encapsulation=spec.cni.encapsulation,
            api_endpoint=spec.api_endpoint,
            etcd_topology=spec.etcd.topology,
            node_cidr=str(net.node_cidr),
            admin_cidrs=tuple(str(c) for c in net.admin_cidrs),
            public_ingress_cidrs=tuple(str(c) for c in net.public_ingress_cidrs),
            node_port_cidrs=tuple(str(c) for c in net.node_port_cidrs),
            monitoring=spec.addons.is_enabled("monitoring", spec.environment),
        )


def groups(i: RulesInput) -> tuple[str, ...]:
    """Keys of the groups the stack needs, in a stable order."""
    present = {r.value for r in i.roles} | ({NODE_GROUP} if i.roles & KUBERNETES_ROLES else set())
    return tuple(g for g in GROUP_ORDER if g in present)


def memberships(role: Role) -> tuple[str, ...]:
    """The groups a machine of ``role`` carries on its port."""
    return (role.value, NODE_GROUP) if role in KUBERNETES_ROLES else (role.value,)


def _slug(source: str) -> str:
    return source.replace(".", "-").replace("/", "-")


def _has(i: RulesInput, *roles: Role) -> bool:
    return all(r in i.roles for r in roles)


Ports = int | tuple[int, int] | None


def _allow(group: str, what: str, source: str, why: str, protocol: str, ports: Ports, ref: str) -> SecurityRule:
    """An ingress rule on ``group`` from ``source`` (a group key, or a CIDR when it contains '/')."""
    low, high = (ports, ports) if isinstance(ports, int) else (ports or (None, None))
    remote = {"remote_cidr": source} if "/" in source else {"remote_group": source}
    return SecurityRule(
        f"{group}-{what}-from-{_slug(source)}", group, why, protocol, low, high, **remote, reference=ref
    )


def _egress(i: RulesInput) -> Iterator[SecurityRule]:
    # The groups are created with delete_default_rules, so the egress every machine needs is in code
    # (and in the docs) instead of implicit; IPv6 egress is not opened, the platform is IPv4-only.
    for group in groups(i):
        if group != NODE_GROUP:  # node's members all carry a role group that allows egress
            why = "Outbound IPv4: package mirrors, image registries, DNS, NTP and the OpenStack APIs"
            yield SecurityRule(
                f"{group}-egress", group, why, None, remote_cidr=ANYWHERE, direction="egress", reference=EGRESS_DOC
            )


def _ssh(i: RulesInput) -> Iterator[SecurityRule]:
    targets = [g for g in (NODE_GROUP, Role.LB.value, Role.ETCD.value) if g in groups(i)]
    why = "SSH for the bootstrap layer (pulumi-command) and operators"
    if _has(i, Role.BASTION):
        # With a bastion, machines accept SSH only from it; admins reach the bastion alone.
        for group in targets:
            yield _allow(group, "ssh", Role.BASTION.value, f"{why}, through the bastion", "tcp", 22, CAPO)
        for cidr in i.admin_cidrs:
            yield _allow(Role.BASTION.value, "ssh", cidr, f"{why}, from an admin network", "tcp", 22, CAPO)
        return
    for group in targets:
        for cidr in i.admin_cidrs:
            yield _allow(group, "ssh", cidr, f"{why}, from an admin network (no bastion)", "tcp", 22, CAPO)


def _apiserver(i: RulesInput) -> Iterator[SecurityRule]:
    if not _has(i, Role.MASTER):
        return
    master = Role.MASTER.value
    why = "kube-apiserver for kubelets, kube-proxy, CNI agents and pods of the cluster"
    yield _allow(master, "apiserver", NODE_GROUP, why, "tcp", 6443, K8S_PORTS)
    if i.api_endpoint == ApiEndpointKind.HAPROXY_KEEPALIVED and _has(i, Role.LB):
        why = "kube-apiserver behind haproxy: proxied clients and /readyz health checks"
        yield _allow(master, "apiserver", Role.LB.value, why, "tcp", 6443, K8S_PORTS)
    if i.api_endpoint == ApiEndpointKind.OCTAVIA:
        # Amphorae proxy TCP from their own member-side address on this subnet (no group to name).
        why = "kube-apiserver behind Octavia: amphorae connect and health-check from the node subnet"
        yield _allow(master, "apiserver-amphorae", i.node_cidr, why, "tcp", 6443, OCTAVIA)
    for cidr in i.admin_cidrs:
        why = "kube-apiserver directly from an admin network (break-glass past the endpoint)"
        yield _allow(master, "apiserver", cidr, why, "tcp", 6443, K8S_PORTS)


def _load_balancer(i: RulesInput) -> Iterator[SecurityRule]:
    if i.api_endpoint != ApiEndpointKind.HAPROXY_KEEPALIVED or not _has(i, Role.LB):
        return
    lb = Role.LB.value
    if NODE_GROUP in groups(i):
        why = "The API endpoint (VIP, haproxy 6443) for the cluster"
        yield _allow(lb, "apiserver", NODE_GROUP, why, "tcp", 6443, K8S_PORTS)
    for cidr in i.admin_cidrs:
        yield _allow(
            lb, "apiserver", cidr, "The API endpoint for kubectl from an admin network", "tcp", 6443, K8S_PORTS
        )
    # keepalived speaks VRRP (IP protocol 112) to its unicast peers; without it both claim the VIP.
    yield _allow(
        lb, "vrrp", lb, "keepalived VRRP adverts between the lb machines (IP protocol 112)", "112", None, VRRP_RFC
    )
    for cidr in i.admin_cidrs:
        why = "haproxy stats/metrics page, admins only"
        yield _allow(lb, "haproxy-stats", cidr, why, "tcp", HAPROXY_STATS_PORT, HAPROXY)


def _etcd(i: RulesInput) -> Iterator[SecurityRule]:
    master, etcd = Role.MASTER.value, Role.ETCD.value
    if i.etcd_topology == EtcdTopology.EXTERNAL and _has(i, Role.ETCD):
        if _has(i, Role.MASTER):
            yield _allow(etcd, "client", master, "etcd client API for kube-apiserver", "tcp", 2379, K8S_PORTS)
        why = "etcd peer traffic and member health checks"
        yield _allow(etcd, "client-peer", etcd, why, "tcp", (2379, 2380), K8S_PORTS)
        if i.monitoring and _has(i, MONITORING_ROLE):
            why = "etcd /metrics for Prometheus (client certificate) on the monitoring nodes (workers)"
            yield _allow(etcd, "metrics", MONITORING_ROLE.value, why, "tcp", 2379, K8S_PORTS)
            why = "node-exporter on the dedicated members (etcd backup metrics) for Prometheus"
            yield _allow(etcd, "node-exporter", MONITORING_ROLE.value, why, "tcp", NODE_EXPORTER_PORT, NODE_EXPORTER)
    elif i.etcd_topology == EtcdTopology.STACKED and _has(i, Role.MASTER):
        why = "stacked etcd: client and peer traffic between masters"
        yield _allow(master, "etcd", master, why, "tcp", (2379, 2380), K8S_PORTS)
        if i.monitoring and _has(i, MONITORING_ROLE):
            why = "etcd /metrics for Prometheus (client certificate) on the monitoring nodes (workers)"
            yield _allow(master, "etcd-metrics", MONITORING_ROLE.value, why, "tcp", 2379, K8S_PORTS)


MONITORING_ROLE = Role.WORKER
"""Where Prometheus and metrics-server run: the general worker pools (the add-on layer schedules
them there; masters are tainted, ingress and storage nodes are dedicated)."""
NODE_EXPORTER_PORT = 9100
"""prometheus-node-exporter's host-network port on every node."""


def _kubelet(i: RulesInput) -> Iterator[SecurityRule]:
    # The apiserver (logs, exec, port-forward) and metrics-server and Prometheus (resource metrics,
    # cAdvisor), which run on workers, all read kubelets: node to node covers all (masters carry
    # `node` too). Scheduler and controller-manager metrics (10259/10257) bind to localhost under
    # kubeadm and need no rule.
    if NODE_GROUP in groups(i):
        why = "kubelet API for kube-apiserver, metrics-server and Prometheus (they run on workers)"
        yield _allow(NODE_GROUP, "kubelet", NODE_GROUP, why, "tcp", 10250, K8S_PORTS)
    if NODE_GROUP in groups(i) and _has(i, MONITORING_ROLE):
        why = "node-exporter (host network) for Prometheus on the monitoring nodes (workers)"
        yield _allow(NODE_GROUP, "node-exporter", MONITORING_ROLE.value, why, "tcp", NODE_EXPORTER_PORT, NODE_EXPORTER)


def _cni(i: RulesInput) -> Iterator[SecurityRule]:
    if NODE_GROUP not in groups(i):
        return
    node = NODE_GROUP
    if i.cni == CniPlugin.FLANNEL:
        why = "flannel VXLAN overlay between nodes (Linux default port 8472)"
        yield _allow(node, "vxlan", node, why, "udp", 8472, FLANNEL)
        return
    if i.encapsulation in (Encapsulation.IPIP, Encapsulation.NONE):
        yield _allow(node, "bgp", node, "Calico BGP (BIRD) full mesh between nodes", "tcp", 179, CALICO)
    if i.encapsulation == Encapsulation.IPIP:
        yield _allow(node, "ipip", node, "Calico IP-in-IP overlay between nodes (IP protocol 4)", "4", None, CALICO)
    elif i.encapsulation == Encapsulation.VXLAN:
        yield _allow(node, "vxlan", node, "Calico VXLAN overlay between nodes", "udp", 4789, CALICO)
    why = "Calico Felix to Typha (the operator runs Typha on some nodes)"
    yield _allow(node, "typha", node, why, "tcp", 5473, CALICO)


def _ingress(i: RulesInput) -> Iterator[SecurityRule]:
    if not _has(i, Role.INGRESS):
        return
    for cidr in i.public_ingress_cidrs:
        for what, port in (("http", 80), ("https", 443)):
            why = f"Ingress controller {what.upper()} for clients (network.publicIngressCidrs)"
            yield _allow(Role.INGRESS.value, what, cidr, why, "tcp", port, K8S_PORTS)


def _node_ports(i: RulesInput) -> Iterator[SecurityRule]:
    targets = [r.value for r in (Role.WORKER, Role.INGRESS) if _has(i, r)] or (
        [Role.MASTER.value] if _has(i, Role.MASTER) else []  # all-in-one: the master runs the pods
    )
    for group in targets:
        for cidr in i.node_port_cidrs:
            for protocol in ("tcp", "udp"):
                why = "NodePort services, only from network.nodePortCidrs"
                yield _allow(group, f"nodeports-{protocol}", cidr, why, protocol, NODE_PORT_RANGE, K8S_PORTS)


def _ceph(i: RulesInput) -> Iterator[SecurityRule]:
    # Rook with host networking puts the Ceph daemons on the node addresses, and the ceph-csi node
    # plugins (host network) mount RBD/CephFS from the workers. Monitors: 3300 (msgr2) and 6789
    # (msgr1); OSDs, mgr and MDS: 6800-7300. See also ROOK for the network providers.
    if not _has(i, Role.STORAGE):
        return
    storage = Role.STORAGE.value
    for source in [storage] + ([Role.WORKER.value] if _has(i, Role.WORKER) else []):
        who = "between storage nodes" if source == storage else "for volume mounts on workers"
        yield _allow(storage, "ceph-mon-v2", source, f"Ceph monitors (msgr2) {who}", "tcp", 3300, CEPH)
        yield _allow(storage, "ceph-mon-v1", source, f"Ceph monitors (msgr1) {who}", "tcp", 6789, CEPH)
        yield _allow(storage, "ceph-osd", source, f"Ceph OSD, mgr and MDS daemons {who}", "tcp", (6800, 7300), CEPH)


RULE_SETS: tuple[Callable[[RulesInput], Iterator[SecurityRule]], ...] = (
    _egress,
    _ssh,
    _apiserver,
    _load_balancer,
    _etcd,
    _kubelet,
    _cni,
    _ingress,
    _node_ports,
    _ceph,
)


def rules(i: RulesInput) -> tuple[SecurityRule, ...]:
    """Every rule of the stack; names are unique (checked)."""
    out = tuple(rule for rule_set in RULE_SETS for rule in rule_set(i))
    names = [r.name for r in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate security-group rule names: {duplicates}")
    return out

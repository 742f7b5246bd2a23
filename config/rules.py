"""Cross-field rules of the stack config, checked before any resource is registered.

Each rule is a small function ``(spec) -> [(config key path, what is wrong)]`` listed in RULES, so a
new rule is one function and one line. Paths use ``pulumi config set --path`` syntax.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator

from config.formats import node_source_problems, registry_problem
from config.quantity import mebibytes, millicores
from config.rules_addons import addons
from config.rules_addons_data import data_addons
from config.rules_endpoint import Violation, api_endpoint, api_endpoint_options, endpoint_option_kinds
from config.rules_rollout import removal_confirmation, rollout
from config.sizing import Environment, sizing_row
from config.spec import (
    ETCD_DATA_VOLUME,
    KUBERNETES_ROLES,
    ROLE_SIZING,
    CniPlugin,
    Encapsulation,
    EtcdTopology,
    PoolStackSpec,
    Role,
    StackSpec,
    config_path,
)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _etcd(spec: StackSpec) -> Iterator[Violation]:
    etcd = spec.etcd
    members_path = config_path(("etcd", "members"))
    if spec.environment != Environment.LAB and etcd.members not in (3, 5):
        yield members_path, f"outside lab etcd runs 3 or 5 members (odd, for quorum; blueprint HA), got {etcd.members}"
        return
    if etcd.members % 2 == 0:
        yield members_path, f"etcd needs an odd member count to keep quorum, got {etcd.members}"
        return
    if spec.environment != Environment.LAB and etcd.topology != EtcdTopology.EXTERNAL:
        yield config_path(("etcd", "topology")), "outside lab etcd must be external (dedicated etcd pool)"
        return
    etcd_pools = spec.pools(Role.ETCD)
    if etcd.topology == EtcdTopology.EXTERNAL:
        if len(etcd_pools) != 1:
            yield config_path(("nodePools",)), "external etcd needs exactly one pool with role etcd"
        elif etcd_pools[0][1].count != etcd.members:
            name, pool = etcd_pools[0]
            yield (
                config_path(("nodePools", name, "count")),
                (f"etcd pool has {pool.count} machines but etcd.members is {etcd.members}"),
            )
    elif etcd_pools:
        yield config_path(("nodePools", etcd_pools[0][0])), "stacked etcd runs on the masters; remove the etcd pool"
    elif spec.count(Role.MASTER) != etcd.members:
        yield (
            members_path,
            (f"stacked etcd has one member per master: {spec.count(Role.MASTER)} masters, {etcd.members} members"),
        )


def _masters(spec: StackSpec) -> Iterator[Violation]:
    masters = spec.pools(Role.MASTER)
    if len(masters) != 1:
        yield config_path(("nodePools",)), f"exactly one pool with role master is required, found {len(masters)}"
    elif spec.environment != Environment.LAB and masters[0][1].count < 2:
        yield (
            config_path(("nodePools", masters[0][0], "count")),
            ("outside lab at least 2 masters are required behind the API endpoint (blueprint HA section)"),
        )
    for role in (Role.LB, Role.BASTION):
        if len(spec.pools(role)) > 1:
            yield config_path(("nodePools",)), f"at most one pool with role {role.value} is allowed"


def _etcd_data_volume(spec: StackSpec) -> Iterator[Violation]:
    # A dedicated member keeps its data on the SSD data volume (the data dir survives a rebuilt
    # machine and etcd's fsync latency is not shared with the OS disk).
    if spec.etcd.topology != EtcdTopology.EXTERNAL:
        return
    for name, pool in spec.pools(Role.ETCD):
        if ETCD_DATA_VOLUME not in {v.name for v in pool.data_volumes}:
            yield (
                config_path(("nodePools", name, "dataVolumes")),
                f"etcd members keep their data on a data volume named {ETCD_DATA_VOLUME!r} (SSD)",
            )


def _cidrs(spec: StackSpec) -> Iterator[Violation]:
    net = spec.network
    named = [("nodeCidr", net.node_cidr), ("podCidr", net.pod_cidr), ("serviceCidr", net.service_cidr)]
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1 :]:
            if a.overlaps(b):
                yield config_path(("network", name_b)), f"{b} overlaps network.{name_a} {a}"


def _addresses(spec: StackSpec) -> Iterator[Violation]:
    net = spec.network
    pool = net.allocation_pool
    for key, address in (("start", pool.start), ("end", pool.end)):
        if address not in net.node_cidr:
            yield config_path(("network", "allocationPool", key)), f"{address} is outside nodeCidr {net.node_cidr}"
    if pool.start > pool.end:
        yield config_path(("network", "allocationPool")), "start comes after end"
    if net.api_vip not in net.node_cidr:
        yield config_path(("network", "apiVip")), f"{net.api_vip} is outside nodeCidr {net.node_cidr}"
    elif pool.start <= net.api_vip <= pool.end:
        yield (
            config_path(("network", "apiVip")),
            (f"{net.api_vip} is inside the allocation pool {pool.start}-{pool.end}; DHCP could hand it to a machine"),
        )
    if net.api_vip in (net.node_cidr.network_address, net.node_cidr.broadcast_address):
        yield config_path(("network", "apiVip")), "the VIP cannot be the subnet's network or broadcast address"


def _address_room(spec: StackSpec) -> Iterator[Violation]:
    pool = spec.network.allocation_pool
    usable = int(pool.end) - int(pool.start) + 1 if pool.start <= pool.end else 0
    machines = spec.count() + spec.budgeted()  # pool stacks' machines take their ports from this subnet
    if machines > usable:
        budgets = f" (with the pool stacks' budgets, {spec.budgeted()})" if spec.pool_stacks else ""
        yield (
            config_path(("network", "allocationPool")),
            (f"{usable} addresses in the allocation pool for {machines} machines{budgets}"),
        )


def _pod_network(spec: StackSpec) -> Iterator[Violation]:
    net = spec.network
    prefix = net.pod_cidr_node_prefix
    if prefix <= net.pod_cidr.prefixlen:
        yield (
            config_path(("network", "podCidrNodePrefix")),
            (f"/{prefix} per node must be smaller than podCidr {net.pod_cidr}"),
        )
        return
    ranges = 2 ** (prefix - net.pod_cidr.prefixlen)
    nodes = spec.cluster_nodes()
    if nodes > ranges:
        yield (
            config_path(("network", "podCidr")),
            (f"{net.pod_cidr} holds {ranges} node ranges of /{prefix}, but the cluster has {nodes} nodes"),
        )
    per_node = 2 ** (32 - prefix) - 2
    max_pods = spec.kubelet.max_pods
    if max_pods > per_node:
        yield (
            config_path(("kubelet", "maxPods")),
            (f"{max_pods} pods do not fit a /{prefix} node range ({per_node} addresses)"),
        )
    limit = spec.kubernetes.limits.max_pods_per_node
    if max_pods > limit:
        yield (
            config_path(("kubelet", "maxPods")),
            (f"{max_pods} exceeds the pods-per-node limit {limit} (kubernetes.limits.maxPodsPerNode)"),
        )


def _scale(spec: StackSpec) -> Iterator[Violation]:
    limit = spec.kubernetes.limits.max_nodes
    for name, pool in spec.pools(*KUBERNETES_ROLES):
        if pool.count > limit:
            yield (
                config_path(("nodePools", name, "count")),
                (f"{pool.count} nodes exceed the Kubernetes limit of {limit} nodes per cluster"),
            )
    total = spec.count(*KUBERNETES_ROLES)
    if total > limit and all(p.count <= limit for _, p in spec.pools(*KUBERNETES_ROLES)):
        yield config_path(("nodePools",)), f"{total} nodes in all exceed the Kubernetes limit of {limit}"
    elif total <= limit < spec.cluster_nodes():
        # The limit holds for the cluster, across stacks: each pool stack stays within its budget.
        yield (
            config_path(("poolStacks",)),
            f"{total} nodes here and {spec.budgeted()} budgeted to pool stacks exceed the Kubernetes limit of {limit}",
        )


def _pool_stacks(spec: StackSpec) -> Iterator[Violation]:
    """``poolStacks``: the platform keeps a worker pool of its own (the pool stacks' ports carry its
    security group; the add-ons' Deployments run there), and each pool name is in one place."""
    if not spec.pool_stacks:
        return
    if not spec.pools(Role.WORKER):
        yield (
            config_path(("poolStacks",)),
            "needs a worker pool in this stack: the pool stacks' machines carry its security group, "
            "and the platform's Deployments run on it",
        )
    owner = {name: "this stack's nodePools" for name in spec.node_pools}
    for stack, budget in spec.pool_stacks.items():
        for name in budget.pools:
            if name in owner:
                where = config_path(("poolStacks", stack, "pools"))
                yield where, f"{name!r} is also in {owner[name]}: a pool has one stack"
            owner.setdefault(name, f"poolStacks.{stack}.pools")


def _sizing(spec: StackSpec) -> Iterator[Violation]:
    for name, pool in spec.pools():
        kind = ROLE_SIZING[pool.role]
        if kind is None:
            continue
        row = sizing_row(spec.environment, kind)
        for field, have, need in (
            ("vcpu", pool.vcpu, row.vcpu),
            ("ramGib", pool.ram_gib, row.ram_gib),
            ("diskGib", pool.disk_gib, row.disk_gib),
        ):
            if have < need:
                yield (
                    config_path(("nodePools", name, field)),
                    (f"{have} is below the sizing table's {need} for {row.source}"),
                )


def _ssd(spec: StackSpec) -> Iterator[Violation]:
    ssd = spec.storage.ssd_volume_type
    for name, pool in spec.pools(Role.MASTER, Role.ETCD):
        if pool.volume_type != ssd:
            yield (
                config_path(("nodePools", name, "volumeType")),
                (f"{pool.role.value} machines keep etcd data and must use the SSD volume type {ssd!r}"),
            )
        for i, volume in enumerate(pool.data_volumes):
            if volume.volume_type != ssd:
                yield (
                    config_path(("nodePools", name, "dataVolumes", i, "volumeType")),
                    (f"{pool.role.value} data volumes must use the SSD volume type {ssd!r}"),
                )


def _cni(spec: StackSpec) -> Iterator[Violation]:
    if spec.cni.plugin == CniPlugin.FLANNEL and spec.cni.encapsulation != Encapsulation.VXLAN:
        yield config_path(("cni", "encapsulation")), "flannel supports only vxlan encapsulation here"


def _workloads(spec: StackSpec) -> Iterator[Violation]:
    hosts = {n: p for n, p in spec.pools(*KUBERNETES_ROLES)}
    limits = spec.kubernetes.limits
    for i, workload in enumerate(spec.workloads):
        pool = hosts.get(workload.pool)
        if pool is None:
            yield (
                config_path(("workloads", i, "pool")),
                (f"{workload.pool!r} is not a pool whose machines join Kubernetes ({', '.join(hosts) or 'none'})"),
            )
            continue
        reserved_cpu = millicores(spec.kubelet.system_reserved.cpu) + millicores(spec.kubelet.kube_reserved.cpu)
        if millicores(workload.cpu) > pool.vcpu * 1000 - reserved_cpu:
            yield config_path(("workloads", i, "cpu")), f"one pod asks more CPU than a {workload.pool} node can give"
        reserved_mem = (
            mebibytes(spec.kubelet.system_reserved.memory)
            + mebibytes(spec.kubelet.kube_reserved.memory)
            + mebibytes(spec.kubelet.eviction_hard.get("memory.available", "0"))
        )
        if mebibytes(workload.memory) > pool.ram_gib * 1024 - reserved_mem:
            yield (
                config_path(("workloads", i, "memory")),
                (f"one pod asks more memory than a {workload.pool} node can give"),
            )
    pods = sum(w.apps * w.replicas for w in spec.workloads)
    containers = sum(w.apps * w.replicas * w.containers for w in spec.workloads)
    if pods > limits.max_pods:
        yield config_path(("workloads",)), f"{pods} pods exceed the Kubernetes limit of {limits.max_pods}"
    if containers > limits.max_containers:
        yield (
            config_path(("workloads",)),
            (f"{containers} containers exceed the Kubernetes limit of {limits.max_containers}"),
        )


def _access(spec: StackSpec) -> Iterator[Violation]:
    net = spec.network
    anywhere = ipaddress.IPv4Network("0.0.0.0/0")
    if anywhere in net.admin_cidrs:
        yield config_path(("network", "adminCidrs")), "SSH and the API must not be open to 0.0.0.0/0"
    if net.ingress_floating_ip and not spec.pools(Role.INGRESS):
        yield config_path(("network", "ingressFloatingIp")), "needs a pool with role ingress"
    if (net.api_floating_ip or net.ingress_floating_ip) and not net.external_network_id:
        yield config_path(("network", "externalNetworkId")), "floating IPs need the external network"
    if bool(net.existing_network_id) != bool(net.existing_subnet_id):
        yield config_path(("network", "existingSubnetId")), "set existingNetworkId and existingSubnetId together"
    if not net.existing_network_id and not net.external_network_id:
        yield config_path(("network", "externalNetworkId")), "a new network's router needs the external network"


def _floating_ips(spec: StackSpec) -> Iterator[Violation]:
    # The provider allocates a floating IP from its `pool` argument, which is the external network's
    # *name* (terraform-provider-openstack resolves it to an ID itself; the program may not look it up).
    net = spec.network
    wanted = [
        key
        for key, on in (("apiFloatingIp", net.api_floating_ip), ("ingressFloatingIp", net.ingress_floating_ip))
        if on
    ]
    wanted += [f"nodePools.{name} (bastion)" for name, _ in spec.pools(Role.BASTION)]
    if wanted and not net.external_network_name:
        yield (
            config_path(("network", "externalNetworkName")),
            f"floating IPs ({', '.join(wanted)}) are allocated from the external network by name; set it",
        )


def _images(spec: StackSpec) -> Iterator[Violation]:
    # Booting from a volume maps source image -> volume by the image's UUID (Nova block device
    # mapping); Nova does not resolve names there and the program may not look one up.
    # https://docs.openstack.org/nova/latest/user/block-device-mapping.html
    for name, pool in spec.pools():
        if not _UUID.match(pool.image):
            yield (
                config_path(("nodePools", name, "image")),
                f"{pool.image!r} is not a Glance image ID (UUID); boot-from-volume takes the image by ID "
                "(openstack image show -f value -c id <name>)",
            )


def _public_ingress(spec: StackSpec) -> Iterator[Violation]:
    # 80/443 open only on the dedicated ingress nodes (blueprint best practice); without such a
    # pool the CIDRs would open nothing, which is a silent surprise.
    if spec.network.public_ingress_cidrs and not spec.pools(Role.INGRESS):
        yield (
            config_path(("network", "publicIngressCidrs")),
            "opens 80/443 on ingress nodes; needs a pool with role ingress",
        )


def _subnet_gateway(spec: StackSpec) -> Iterator[Violation]:
    # A subnet the program creates gets Neutron's default gateway, the first host address, which the
    # router takes; Neutron refuses an allocation pool containing it, and the VIP cannot be it.
    # https://docs.openstack.org/neutron/latest/admin/intro-os-networking.html (subnets)
    net = spec.network
    if net.existing_network_id:
        return
    gateway = net.node_cidr.network_address + 1
    pool = net.allocation_pool
    if pool.start <= gateway <= pool.end:
        yield (
            config_path(("network", "allocationPool", "start")),
            f"the pool contains {gateway}, the new subnet's gateway (its first address); start after it",
        )
    if net.api_vip == gateway:
        yield config_path(("network", "apiVip")), f"{gateway} is the new subnet's gateway (its first address)"


def _storage_disks(spec: StackSpec) -> Iterator[Violation]:
    # Rook builds Ceph OSDs only on raw, unformatted disks; the boot volume is not one.
    # https://rook.io/docs/rook/latest/Getting-Started/Prerequisites/prerequisites/
    for name, pool in spec.pools(Role.STORAGE):
        if not pool.data_volumes:
            yield (
                config_path(("nodePools", name, "dataVolumes")),
                "storage machines need at least one data volume for Ceph OSDs (raw disks)",
            )


def _node_setup(spec: StackSpec) -> Iterator[Violation]:
    # The node preparation script's arguments check the same formats (components/render/node_prep.py).
    setup = spec.node_setup
    for i, registry in enumerate(setup.registries):
        problem = registry_problem(registry.host, registry.ca_cert)
        if problem:
            yield config_path(("nodeSetup", "registries", i)), problem[1]
    if len({r.host for r in setup.registries}) != len(setup.registries):
        yield config_path(("nodeSetup", "registries")), "a registry host appears twice"
        return
    sources = (setup.apt_repository, setup.apt_key_url, setup.artifact_base_url, setup.sandbox_image)
    for field, problem in node_source_problems(*sources)[:1]:
        yield config_path(("nodeSetup", _camel(field))), problem


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


STAGES: tuple[tuple[Callable[[StackSpec], Iterator[Violation]], ...], ...] = (
    # The shape of the stack: roles, counts, sizes, address plan, choices.
    # The IaaS layer adds (components/iaas): image IDs, the floating-IP pool, the gateway, OSD disks.
    (
        *(
            _etcd,
            _masters,
            api_endpoint,
            endpoint_option_kinds,
            _cidrs,
            _addresses,
            _scale,
            _pool_stacks,
            _sizing,
            _ssd,
            _cni,
            _access,
            _workloads,
            _node_setup,
            rollout,
            removal_confirmation,
        ),
        *(_images, _floating_ips, _public_ingress, _subnet_gateway, _storage_disks),
        # The control-plane layer adds (components/control_plane): endpoint options, etcd data volume.
        *(api_endpoint_options, _etcd_data_volume),
        # The add-on layer adds (components/addons): its switches, charts, values overrides, tenants.
        addons,
        data_addons,
    ),
    # Counting addresses and pod ranges for the declared machines only makes sense once the shape
    # is valid; a 5001-node pool is reported as the node limit, not also as a too-small subnet.
    (_address_room, _pod_network),
)


POOL_STACK_RULES: tuple[Callable[[PoolStackSpec], Iterator[Violation]], ...] = (
    _sizing,
    _images,
    rollout,
    removal_confirmation,
)
"""What of the above a pool stack's worker pools follow (the rest is its platform stack's:
config/rules_pools.py checks it against that stack's outputs)."""


def check_pool_stack(spec: PoolStackSpec) -> list[Violation]:
    """The violations of a pool stack's own config (before those against its platform)."""
    return [violation for rule in POOL_STACK_RULES for violation in rule(spec)]


def check(spec: StackSpec) -> list[Violation]:
    """The violations of the first stage that has any (empty when the spec is valid)."""
    for stage in STAGES:
        violations = [violation for rule in stage for violation in rule(spec)]
        if violations:
            return violations
    return []

"""kubeadm configuration: init (first master), control-plane and worker joins (nodes: kubeadm_nodes.py).

Documents are built as dicts and dumped with PyYAML, in the current kubeadm API
``kubeadm.k8s.io/v1beta4`` (Kubernetes >= 1.31; still the preferred version of kubeadm 1.37,
https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/), plus
``kubelet.config.k8s.io/v1beta1`` and ``kubeproxy.config.k8s.io/v1alpha1``. The tests run the real
``kubeadm config validate`` (scripts/build-kubeadm) on every stack's output.

Decisions, and why:

* **Access restriction without ``anonymous-auth=false``.** kubeadm's join discovery reads the
  ``cluster-info`` ConfigMap anonymously, and the load balancers' ``/readyz`` checks are anonymous
  (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests).
  Anonymous requests stay on, but RBAC grants ``system:anonymous`` only the health/version
  endpoints and that ConfigMap; ``authorization-mode=Node,RBAC`` and the ``NodeRestriction``
  admission plugin (kubeadm defaults) stay, ``profiling`` is off on every control-plane component,
  and every request is audited (``components/render/audit_policy.py``).
* **Labels.** The kubelet may label its own KubernetesNode only outside the ``kubernetes.io``/``k8s.io``
  namespaces, or inside ``node.kubernetes.io``/``kubelet.kubernetes.io`` and a few well-known keys
  (NodeRestriction, k8s.io/kubelet ``IsKubeletLabel``; a kubelet given another one refuses to
  start). Such labels go into ``--node-labels``; the others (``node-role.kubernetes.io/ingress``)
  are set after the join by ``kubectl label`` from a master (``render_label_command``). Taints are
  registered by the kubelet (``nodeRegistration.taints``), which NodeRestriction allows.
* **kube-proxy mode iptables** by default: supported by both CNIs this platform offers (Calico's
  iptables data plane, Flannel), and what the blueprint's troubleshooting inspects. ``ipvs`` is
  deprecated (kube-proxy 1.37 warns it is disabled by default from 1.40); ``nftables`` (GA since
  1.33) is selectable where the CNI runs in nftables mode too.
* **etcd**: external (``ExternalEtcd``, the dedicated pool's members, client certificate
  ``apiserver-etcd-client``) or, with ``etcd=None``, kubeadm's stacked etcd. The lab can use either:
  kubeadm's local etcd, or the etcd component's unit on the master passed in as external.
* **Secrets** (bootstrap token, certificate key, CA hash) are parameters of the render calls, not
  fields of the args, and are excluded from every ``repr``: components pass secret Outputs in, the
  rendered text is itself a secret and must only be written with mode 0600.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml

from components.render._common import GENERATED_HEADER, check_ipv4, check_path, check_port, check_unique
from components.render.audit_policy import AuditLogArgs
from components.render.kubeadm_nodes import KubernetesNode
from config.versions import KUBERNETES

KUBEADM_API = "kubeadm.k8s.io/v1beta4"
KUBELET_API = "kubelet.config.k8s.io/v1beta1"
KUBE_PROXY_API = "kubeproxy.config.k8s.io/v1alpha1"
CRI_SOCKET = "unix:///run/containerd/containerd.sock"

_TOKEN = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")
_CERT_KEY = re.compile(r"^[a-f0-9]{64}$")
_CA_HASH = re.compile(r"^sha256:[a-f0-9]{64}$")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class ProxyMode(StrEnum):
    """kube-proxy back end (see the module docstring for the choice)."""

    IPTABLES = "iptables"
    NFTABLES = "nftables"


@dataclass(frozen=True)
class KubeletSettings:
    """The KubeletConfiguration values every node shares (spec ``kubelet``, the blueprint's flags)."""

    system_reserved: Mapping[str, str]
    """``systemReserved``: resource name -> quantity (``{"cpu": "200m", "memory": "250Mi"}``)."""
    kube_reserved: Mapping[str, str]
    """``kubeReserved``, same form."""
    eviction_hard: Mapping[str, str]
    """``evictionHard``: signal (``memory.available``) -> absolute threshold (``1Gi``)."""
    eviction_minimum_reclaim: Mapping[str, str]
    """``evictionMinimumReclaim``, same form."""
    node_status_update_frequency: str
    """``nodeStatusUpdateFrequency``, a duration (``10s``)."""
    eviction_pressure_transition_period: str
    """``evictionPressureTransitionPeriod``, a duration (``180s``)."""
    max_pods: int
    """``maxPods`` (>= 1)."""

    def __post_init__(self) -> None:
        if self.max_pods < 1:
            raise ValueError(f"KubeletSettings.max_pods: {self.max_pods} must be >= 1")


@dataclass(frozen=True)
class ExternalEtcd:
    """The etcd cluster the apiservers use when etcd runs outside kubeadm (dedicated pool)."""

    endpoints: tuple[str, ...]
    """Client URLs, ``https://<member ip>:2379``, one per member."""
    ca_file: str = "/etc/kubernetes/pki/etcd/ca.crt"
    """etcd's CA on the masters (kubeadm's path for external etcd)."""
    cert_file: str = "/etc/kubernetes/pki/apiserver-etcd-client.crt"
    """The apiserver's etcd client certificate (clientAuth)."""
    key_file: str = "/etc/kubernetes/pki/apiserver-etcd-client.key"
    """Its key. ``kubeadm init --upload-certs`` shares all three with joining masters."""

    def __post_init__(self) -> None:
        if not self.endpoints:
            raise ValueError("ExternalEtcd.endpoints: at least one member is required")
        for url in self.endpoints:
            if not re.match(r"^https://[0-9.]+:[0-9]+$", url):
                raise ValueError(f"ExternalEtcd.endpoints: {url!r} is not https://<ipv4>:<port>")
        check_unique(list(self.endpoints), "ExternalEtcd.endpoints")
        for name in ("ca_file", "cert_file", "key_file"):
            check_path(getattr(self, name), f"ExternalEtcd.{name}")


@dataclass(frozen=True)
class BootstrapSecrets:
    """Runtime secrets of a bootstrap; never part of args, never in a repr or a log line."""

    token: str = field(repr=False)
    """Bootstrap token ``[a-z0-9]{6}.[a-z0-9]{16}``; created by ``kubeadm init``, used by joins."""
    certificate_key: str = field(repr=False)
    """64 hex chars: encrypts the control-plane certificates ``kubeadm init --upload-certs`` stores.
    Empty for a worker's join (only init and control-plane joins use it)."""
    ca_cert_hash: str = field(default="", repr=False)
    """``sha256:<hex>`` of the cluster CA's public key; known after init (``CA_CERT_HASH_COMMAND``)."""

    def __post_init__(self) -> None:
        # The messages name the field and its format, never the value.
        for name, pattern in (("token", _TOKEN), ("certificate_key", _CERT_KEY), ("ca_cert_hash", _CA_HASH)):
            value = getattr(self, name)
            if (value or name == "token") and not pattern.match(value):
                raise ValueError(f"BootstrapSecrets.{name}: does not match {pattern.pattern}")


CA_CERT_HASH_COMMAND = (
    "openssl x509 -pubkey -noout -in /etc/kubernetes/pki/ca.crt | openssl pkey -pubin -outform der "
    "| openssl dgst -sha256 -hex | sed 's/^.* /sha256:/'"
)
"""Run on the first master after init: prints the discovery hash (``kubeadm join`` reference,
"--discovery-token-ca-cert-hash")."""


@dataclass(frozen=True)
class ClusterArgs:
    """Everything cluster-wide the kubeadm documents need."""

    endpoint_host: str
    """Host of ``controlPlaneEndpoint``: the API VIP (keepalived or Octavia)."""
    masters: tuple[KubernetesNode, ...]
    """Every master; the first one runs ``kubeadm init``. All their IPs go into the cert SANs."""
    pod_subnet: str
    """Pod network CIDR (spec ``network.podCidr``)."""
    service_subnet: str
    """Service network CIDR (spec ``network.serviceCidr``)."""
    node_cidr_mask_size: int
    """Each node's pod range prefix (spec ``network.podCidrNodePrefix``)."""
    event_ttl: str
    """kube-apiserver ``--event-ttl`` (spec ``kubernetes.eventTtl``, the blueprint's 1h)."""
    kubelet: KubeletSettings
    """The blueprint's reservations (spec ``kubelet``); kubeadm stores them in the ``kubelet-config``
    ConfigMap, so every node gets the same."""
    endpoint_port: int = 6443
    """Port of the API endpoint."""
    floating_ip: str | None = None
    """Floating IP in front of the VIP (spec ``network.apiFloatingIp``); added to the SANs."""
    extra_sans: tuple[str, ...] = ()
    """More SANs (DNS names or IPs clients use for the API)."""
    etcd: ExternalEtcd | None = None
    """External etcd; None: kubeadm runs stacked etcd on the masters (lab)."""
    kubernetes_version: str = KUBERNETES.version
    """``kubernetesVersion`` (without ``v``); from config/versions.py."""
    cluster_name: str = "kubernetes"
    """``clusterName``: the name in kubeconfigs."""
    image_repository: str | None = None
    """Registry path of the control-plane images (Harbor proxy for air-gapped sites); None: registry.k8s.io."""
    audit: AuditLogArgs = field(default_factory=AuditLogArgs)
    """Audit log flags and paths."""
    proxy_mode: ProxyMode = ProxyMode.IPTABLES
    """kube-proxy mode."""

    def __post_init__(self) -> None:
        if not self.masters:
            raise ValueError("ClusterArgs.masters: at least one master is required")
        check_unique([m.name for m in self.masters], "ClusterArgs.masters[].name")
        check_unique([m.address for m in self.masters], "ClusterArgs.masters[].address")
        check_ipv4(self.endpoint_host, "ClusterArgs.endpoint_host")
        check_port(self.endpoint_port, "ClusterArgs.endpoint_port")
        if self.floating_ip is not None:
            check_ipv4(self.floating_ip, "ClusterArgs.floating_ip")
        for san in self.extra_sans:
            if not _DNS_NAME.match(san):
                check_ipv4(san, "ClusterArgs.extra_sans")
        pods, services = ipaddress.IPv4Network(self.pod_subnet), ipaddress.IPv4Network(self.service_subnet)
        if pods.overlaps(services):
            raise ValueError("ClusterArgs: pod_subnet and service_subnet overlap")
        if not pods.prefixlen < self.node_cidr_mask_size <= 30:
            raise ValueError("ClusterArgs.node_cidr_mask_size: must be longer than the pod subnet's prefix, <= 30")
        if not re.match(r"^1\.[0-9]+\.[0-9]+$", self.kubernetes_version):
            raise ValueError(f"ClusterArgs.kubernetes_version: {self.kubernetes_version!r} is not 1.MINOR.PATCH")

    @property
    def endpoint(self) -> str:
        return f"{self.endpoint_host}:{self.endpoint_port}"

    @property
    def cert_sans(self) -> list[str]:
        """VIP, floating IP, every master, extras: the blueprint's "证书hosts包含所有节点ip"."""
        sans = [self.endpoint_host, *([self.floating_ip] if self.floating_ip else [])]
        sans += [m.address for m in self.masters] + list(self.extra_sans)
        return list(dict.fromkeys(sans))


def _args(pairs: Any) -> list[dict[str, str]]:
    """v1beta4 ``extraArgs``: a list of {name, value}, in the given order."""
    return [{"name": k, "value": v} for k, v in pairs]


APISERVER_FLAGS: tuple[tuple[str, str], ...] = (
    # kubeadm's default already; written out because the blueprint's access restriction relies on it.
    ("authorization-mode", "Node,RBAC"),
    # /debug/pprof is an information leak and a DoS vector (CIS Kubernetes Benchmark 1.2.x).
    ("profiling", "false"),
)
"""kube-apiserver flags besides audit and event TTL."""
CONTROLLER_FLAGS: tuple[tuple[str, str], ...] = (("leader-elect", "true"), ("profiling", "false"))
"""controller-manager and scheduler: one active instance at a time (the blueprint's HA section)."""


def _mount(name: str, path: str, path_type: str, read_only: bool) -> dict[str, Any]:
    return {"name": name, "hostPath": path, "mountPath": path, "readOnly": read_only, "pathType": path_type}


def _taints(node: KubernetesNode) -> list[dict[str, str]]:
    return [{"key": t.key, **({"value": t.value} if t.value else {}), "effect": str(t.effect)} for t in node.taints]


def _registration(node: KubernetesNode) -> dict[str, Any]:
    kubelet = [("node-ip", node.address)]
    if node.kubelet_labels:
        kubelet.append(("node-labels", ",".join(f"{k}={v}" for k, v in node.kubelet_labels.items())))
    # `taints` is always written: an empty list means "none"; a missing one means kubeadm's default.
    return {
        "name": node.name,
        "criSocket": CRI_SOCKET,
        "taints": _taints(node),
        "kubeletExtraArgs": _args(kubelet),
    }


def cluster_configuration(args: ClusterArgs) -> dict[str, Any]:
    audit = args.audit
    etcd: dict[str, Any]
    if args.etcd:
        e = args.etcd
        files = {"caFile": e.ca_file, "certFile": e.cert_file, "keyFile": e.key_file}
        etcd = {"external": {"endpoints": list(e.endpoints), **files}}
    else:
        etcd = {"local": {"dataDir": "/var/lib/etcd"}}
    document: dict[str, Any] = {
        "apiVersion": KUBEADM_API,
        "kind": "ClusterConfiguration",
        "clusterName": args.cluster_name,
        "kubernetesVersion": f"v{args.kubernetes_version}",
        "controlPlaneEndpoint": args.endpoint,
        "networking": {"podSubnet": args.pod_subnet, "serviceSubnet": args.service_subnet},
        "etcd": etcd,
        "apiServer": {
            "certSANs": args.cert_sans,
            "extraArgs": _args((*APISERVER_FLAGS, ("event-ttl", args.event_ttl), *audit.flags())),
            "extraVolumes": [
                _mount("audit-policy", audit.policy_file, "File", read_only=True),
                _mount("audit-log", audit.log_dir, "DirectoryOrCreate", read_only=False),
            ],
        },
        "controllerManager": {
            "extraArgs": _args((("node-cidr-mask-size", str(args.node_cidr_mask_size)), *CONTROLLER_FLAGS))
        },
        "scheduler": {"extraArgs": _args(CONTROLLER_FLAGS)},
    }
    if args.image_repository:
        document["imageRepository"] = args.image_repository
    return document


def kubelet_configuration(k: KubeletSettings) -> dict[str, Any]:
    """The KubeletConfiguration of every node: kubeadm stores it in the ``kubelet-config`` ConfigMap."""
    return {
        "apiVersion": KUBELET_API,
        "kind": "KubeletConfiguration",
        "cgroupDriver": "systemd",
        "containerRuntimeEndpoint": CRI_SOCKET,
        "systemReserved": dict(k.system_reserved),
        "kubeReserved": dict(k.kube_reserved),
        "evictionHard": dict(k.eviction_hard),
        "evictionMinimumReclaim": dict(k.eviction_minimum_reclaim),
        # Signals the blueprint does not name (nodefs/imagefs.inodesFree) keep their upstream
        # defaults instead of being switched off, which is what a partial evictionHard does otherwise.
        "mergeDefaultEvictionSettings": True,
        "nodeStatusUpdateFrequency": k.node_status_update_frequency,
        "evictionPressureTransitionPeriod": k.eviction_pressure_transition_period,
        "maxPods": k.max_pods,
        "rotateCertificates": True,
    }


def kube_proxy_configuration(args: ClusterArgs) -> dict[str, Any]:
    return {"apiVersion": KUBE_PROXY_API, "kind": "KubeProxyConfiguration", "mode": str(args.proxy_mode)}


def init_configuration(args: ClusterArgs, secrets: BootstrapSecrets, token_ttl: str = "2h") -> dict[str, Any]:
    if not secrets.certificate_key:
        raise ValueError("init_configuration: secrets.certificate_key is required (--upload-certs)")
    first = args.masters[0]
    return {
        "apiVersion": KUBEADM_API,
        "kind": "InitConfiguration",
        # The token the joins use, chosen by the caller so nothing has to be parsed out of init's output.
        "bootstrapTokens": [{"token": secrets.token, "ttl": token_ttl, "usages": ["signing", "authentication"]}],
        "certificateKey": secrets.certificate_key,
        "localAPIEndpoint": {"advertiseAddress": first.address, "bindPort": args.endpoint_port},
        "nodeRegistration": _registration(first),
    }


def _dump(documents: list[dict[str, Any]], what: str) -> str:
    header = f"# {GENERATED_HEADER.format(module='components/render/kubeadm.py')}\n# {what}\n"
    return header + yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)


def render_kubeadm_config(args: ClusterArgs, secrets: BootstrapSecrets) -> str:
    """``kubeadm init --config <this> --upload-certs`` on ``args.masters[0]``. Contains secrets (mode 0600)."""
    documents = [init_configuration(args, secrets), cluster_configuration(args)]
    documents += [kubelet_configuration(args.kubelet), kube_proxy_configuration(args)]
    return _dump(documents, f"kubeadm init of {args.masters[0].name}; holds the bootstrap token: mode 0600")


def render_kubelet_configuration(kubelet: KubeletSettings) -> str:
    """The KubeletConfiguration document alone, as the init config carries it (no secrets): what the
    Platform shows the policy pack (``kubeletConfigurations``)."""
    return yaml.safe_dump(kubelet_configuration(kubelet), sort_keys=False, default_flow_style=False)


def join_configuration(
    args: ClusterArgs, node: KubernetesNode, secrets: BootstrapSecrets, control_plane: bool
) -> dict[str, Any]:
    if not secrets.ca_cert_hash:
        raise ValueError("join_configuration: secrets.ca_cert_hash is required (read it after init)")
    document: dict[str, Any] = {
        "apiVersion": KUBEADM_API,
        "kind": "JoinConfiguration",
        "discovery": {
            "bootstrapToken": {
                "token": secrets.token,
                "apiServerEndpoint": args.endpoint,
                "caCertHashes": [secrets.ca_cert_hash],
            }
        },
        "nodeRegistration": _registration(node),
    }
    if control_plane:
        if not secrets.certificate_key:
            raise ValueError("join_configuration: secrets.certificate_key is required for a control-plane join")
        document["controlPlane"] = {
            "localAPIEndpoint": {"advertiseAddress": node.address, "bindPort": args.endpoint_port},
            "certificateKey": secrets.certificate_key,
        }
    return document


def render_join_config(
    args: ClusterArgs, node: KubernetesNode, secrets: BootstrapSecrets, control_plane: bool = False
) -> str:
    """``kubeadm join --config <this>`` on ``node``. Contains secrets (mode 0600, delete after the join).

    The kubelet settings come from the cluster's ``kubelet-config`` ConfigMap written at init, so
    every node gets the same reservations; only registration (name, IP, labels, taints) is per node.
    """
    if control_plane and node not in args.masters:
        raise ValueError(f"render_join_config: {node.name} is not one of args.masters")
    role = "control-plane" if control_plane else "worker"
    return _dump([join_configuration(args, node, secrets, control_plane)], f"{role} join of {node.name}; mode 0600")

"""The kubeadm bootstrap's own arguments, and how it turns them into the renderers' small args.

``KubeadmClusterArgs`` holds only what the bootstrap uses; the Platform fills it from the stack
config (components/platform_args.py). The renderers (components/render/kubeadm.py,
kubeadm_nodes.py, node_prep.py) never see the config: ``cluster_args`` and ``kubernetes_node``
here build their arguments once the deploy-time addresses are known.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components.iaas.node_pool import Node
from components.render.kubeadm import ClusterArgs, ExternalEtcd, KubeletSettings
from components.render.kubeadm_nodes import CONTROL_PLANE_TAINT, KubernetesNode, NodeTaint
from components.render.node_prep import NodePrepArgs, RegistryTrust
from components.ssh import SshAccess
from config.spec import Role, Taint

_DURATION = re.compile(r"^[0-9]+(s|m|h)$")


@dataclass(frozen=True)
class ClusterSettings:
    """The cluster-wide values of the kubeadm documents that come from the stack config."""

    pod_subnet: str
    """Pod network CIDR (``network.podCidr``)."""
    service_subnet: str
    """Service network CIDR (``network.serviceCidr``)."""
    node_cidr_mask_size: int
    """Each node's pod range prefix (``network.podCidrNodePrefix``)."""
    event_ttl: str
    """kube-apiserver ``--event-ttl`` (``kubernetes.eventTtl``)."""
    kubelet: KubeletSettings
    """The KubeletConfiguration every node gets (``kubelet``: reservations, eviction, max pods)."""
    taint_masters: bool
    """Masters get kubeadm's control-plane taint: True unless the cluster is all-in-one (no worker,
    ingress or storage machines, like the lab), where the masters must run the workloads."""


@dataclass(frozen=True)
class KubeadmClusterArgs:
    """What the bootstrap needs: the machines, how to reach them, and the layers below as Outputs."""

    cluster: ClusterSettings
    """The cluster-wide values from the stack config (CIDRs, event TTL, kubelet, master taint)."""
    node_prep: NodePrepArgs
    """Package sources, registry trust and NTP of the node preparation script (``nodeSetup``); its
    ``role`` is set per node."""
    nodes: Sequence[Node]
    """Every machine of the IaaS layer; those with a Kubernetes role (master, worker, ingress,
    storage) become nodes with their pool's labels and taints, the first master runs ``kubeadm
    init``. At least one master."""
    ssh: SshAccess
    """The stack's SSH route and credential (bastion jump or direct)."""
    endpoint_host: pulumi.Input[str]
    """The API endpoint's address (the VIP): ``controlPlaneEndpoint`` and the kubeconfig's server."""
    endpoint_port: int = 6443
    """The API endpoint's port (1-65535); default 6443."""
    cert_sans: pulumi.Input[Sequence[str]] = ()
    """Extra apiserver certificate SANs the endpoint reports (IPv4 or DNS names); the VIP, the
    floating IP and every master's address are always included. Default: none."""
    etcd_endpoints: pulumi.Input[Sequence[str]] | None = None
    """External etcd client URLs (``https://<ip>:2379``); None: kubeadm's stacked etcd. Default None."""
    etcd_ca_cert: pulumi.Input[str] | None = None
    """etcd's CA certificate, PEM; required with ``etcd_endpoints``."""
    etcd_client_cert: pulumi.Input[str] | None = None
    """The apiserver's etcd client certificate (``apiserver-etcd-client``), PEM; with ``etcd_endpoints``."""
    etcd_client_key: pulumi.Input[str] | None = None
    """Its private key, PEM, a secret Output; with ``etcd_endpoints``."""
    api_floating_ip: pulumi.Input[str] | None = None
    """The API floating IP (``network.apiFloatingIp``), added to the SANs; None without one."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What ``kubeadm init`` waits for besides the first master: the endpoint and etcd being ready."""
    drain_timeout: str = "10m"
    """``kubectl drain --timeout`` when a worker is removed (``<n>s|m|h``); default 10m."""
    platform_registries: pulumi.Input[Sequence[RegistryTrust]] | None = None
    """Registries the platform itself serves (its Harbor, with the CA the program derives), trusted
    on every node next to ``node_prep.registries``; None: none (default)."""

    def __post_init__(self) -> None:
        if not any(n.role == Role.MASTER for n in self.nodes):
            raise ValueError("KubeadmClusterArgs.nodes: no master to run kubeadm init on")
        if not 1 <= self.endpoint_port <= 65535:
            raise ValueError(f"KubeadmClusterArgs.endpoint_port: {self.endpoint_port} is not a TCP port")
        etcd = (self.etcd_endpoints, self.etcd_ca_cert, self.etcd_client_cert, self.etcd_client_key)
        if any(v is None for v in etcd) and any(v is not None for v in etcd):
            raise ValueError("KubeadmClusterArgs: etcd_endpoints, etcd_ca_cert, etcd_client_cert and "
                             "etcd_client_key are given together (external etcd) or not at all (stacked)")  # fmt: skip
        if not _DURATION.match(self.drain_timeout):
            raise ValueError(f"KubeadmClusterArgs.drain_timeout: {self.drain_timeout!r} is not <n>s|m|h")


def kubernetes_node(cluster: ClusterSettings, machine: Node, address: str) -> KubernetesNode:
    """The Kubernetes side of one machine at ``address``: its pool's labels and taints."""
    return pool_member(cluster, machine.name, address, machine.role, machine.labels, machine.taints)


def pool_member(
    cluster: ClusterSettings, name: str, address: str, role: Role, labels: Mapping[str, str], taints: Sequence[Taint]
) -> KubernetesNode:
    """A node of a pool with ``role``, ``labels`` and ``taints``; masters also get kubeadm's
    control-plane taint unless the cluster is all-in-one (``taint_masters``)."""
    registered = tuple(NodeTaint(key=t.key, effect=str(t.effect), value=t.value) for t in taints)
    if role == Role.MASTER and cluster.taint_masters:
        registered = (CONTROL_PLANE_TAINT, *registered)
    return KubernetesNode(name, address, dict(labels), registered)


def cluster_args(
    cluster: ClusterSettings,
    masters: tuple[KubernetesNode, ...],
    *,
    endpoint_host: str,
    endpoint_port: int = 6443,
    extra_sans: tuple[str, ...] = (),
    etcd_endpoints: tuple[str, ...] = (),
    floating_ip: str | None = None,
) -> ClusterArgs:
    """The kubeadm renderer's ClusterArgs once the addresses are known; ``etcd_endpoints`` empty
    means kubeadm's stacked etcd."""
    return ClusterArgs(
        endpoint_host=endpoint_host,
        endpoint_port=endpoint_port,
        masters=masters,
        pod_subnet=cluster.pod_subnet,
        service_subnet=cluster.service_subnet,
        node_cidr_mask_size=cluster.node_cidr_mask_size,
        event_ttl=cluster.event_ttl,
        kubelet=cluster.kubelet,
        floating_ip=floating_ip,
        extra_sans=extra_sans,
        etcd=ExternalEtcd(etcd_endpoints) if etcd_endpoints else None,
    )

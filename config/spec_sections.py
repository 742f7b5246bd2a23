"""The building blocks of the stack config: one pydantic model per section (nodePools, network,
kubelet, kubernetes, etcd), with their enums and field rules; the platform choices (CNI, API
endpoint, logging, storage, workloads, node setup) are in spec_platform.py. ``config/spec.py``
assembles them into ``StackSpec`` and loads it; import them from there.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from config.sizing import NodeKind

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")
_DURATION = re.compile(r"^([0-9]+(ns|us|ms|s|m|h))+$")


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


Quantity = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|m|k|M|G|T)?$")]
Duration = Annotated[str, Field(pattern=_DURATION.pattern)]


def _network(value: Any) -> Any:
    # pydantic's own message ("not a valid IPv4 network") hides why; ipaddress says "has host bits set".
    if isinstance(value, str):
        try:
            return ipaddress.IPv4Network(value)
        except ValueError as error:
            raise ValueError(f"{value!r} is not an IPv4 CIDR: {error}") from None
    return value


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_network)]
Address = ipaddress.IPv4Address


class Role(StrEnum):
    """What a pool's machines do; decides security groups, sizing row and bootstrap step."""

    MASTER = "master"
    ETCD = "etcd"
    WORKER = "worker"
    INGRESS = "ingress"
    STORAGE = "storage"
    LB = "lb"
    BASTION = "bastion"


ROLE_SIZING: dict[Role, NodeKind | None] = {
    # Dedicated etcd members keep the cluster's data like masters do, so they get the master row.
    Role.MASTER: NodeKind.MASTER,
    Role.ETCD: NodeKind.MASTER,
    Role.WORKER: NodeKind.NODE,
    Role.INGRESS: NodeKind.NODE,
    Role.STORAGE: NodeKind.NODE,
    # Load balancers and the bastion run no pods; the blueprint does not size them.
    Role.LB: None,
    Role.BASTION: None,
}
KUBERNETES_ROLES = frozenset({Role.MASTER, Role.WORKER, Role.INGRESS, Role.STORAGE})
"""Roles whose machines join the Kubernetes cluster as nodes."""
ROLLED_ROLES = frozenset({Role.MASTER, Role.ETCD})
"""Roles whose pools change one member per ``up`` (``rollout``): replacing or resizing every master or
etcd member at once takes the control plane, or etcd's quorum, away."""


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class Taint(_Model):
    key: str
    """Taint key, a Kubernetes label-style key (e.g. ``nvidia.com/gpu``)."""
    value: str = ""
    """Taint value; may be empty."""
    effect: TaintEffect
    """NoSchedule, PreferNoSchedule or NoExecute."""

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not _LABEL_KEY.match(v):
            raise ValueError(f"{v!r} is not a valid taint key (prefix/name, name <= 63 chars)")
        return v


class DataVolume(_Model):
    name: str
    """Short name, part of the volume's resource name (e.g. ``osd0``, ``etcd-data``)."""
    size_gib: int = Field(gt=0)
    """Size in GiB."""
    volume_type: str
    """Cinder volume type name."""


class AntiAffinity(StrEnum):
    SOFT = "soft-anti-affinity"
    HARD = "anti-affinity"


class NodePool(_Model):
    role: Role
    """What the pool's machines do: master, etcd, worker, ingress, storage, lb or bastion."""
    count: int = Field(ge=0)
    """Number of machines."""
    flavor: str
    """Nova flavor name. Its size is declared below because a preview may not look it up."""
    image: str
    """Glance image ID (a UUID) the boot volume is created from.

    An ID, not a name: Nova's block-device mapping (source image -> volume) takes the image by UUID
    and the program may not look a name up during a preview (``openstack image show -f value -c id
    <name>`` prints it).
    """
    vcpu: int = Field(gt=0)
    """vCPUs of the flavor (checked against the blueprint's sizing table)."""
    ram_gib: int = Field(gt=0)
    """RAM of the flavor in GiB (checked against the sizing table)."""
    disk_gib: int = Field(gt=0)
    """Boot volume size in GiB (checked against the sizing table)."""
    volume_type: str
    """Cinder volume type of the boot volume; masters and etcd must use the SSD type."""
    anti_affinity: AntiAffinity = AntiAffinity.SOFT
    """Nova server-group policy spreading members across hypervisors."""
    labels: dict[str, str] = {}
    """Kubernetes node labels applied at join time."""
    taints: tuple[Taint, ...] = ()
    """Kubernetes node taints applied at join time."""
    data_volumes: tuple[DataVolume, ...] = ()
    """Extra volumes per machine (Ceph OSD disks, etcd data); always protected."""
    rollout: tuple[int, ...] = ()
    """Master and etcd pools only: the member (its number, from 1) that takes the pool's current
    image, flavor, disk size, volume type and server group on this ``up``. The other members keep
    what they run, so a changed pool never replaces or resizes every member at once; roll one
    member per ``up`` (docs/runbooks/upgrade.md, 9.5). Default: none, every existing member keeps
    its machine and new members take the pool's values."""
    confirm_removal: int | None = None
    """Master pools only: confirms lowering ``count`` from this number, the masters the stack runs
    (recorded in its ``nodes`` output); each removed master is drained, reset and deleted
    (docs/runbooks/upgrade.md, 9.6). Stale once that ``up`` is done: a later decrease needs the new
    number. Default: none, a lower master count is refused."""

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not _LABEL_KEY.match(key):
                raise ValueError(f"label key {key!r} is not a valid Kubernetes label key")
            if not _LABEL_VALUE.match(value):
                raise ValueError(f"label value {value!r} of {key!r} is not a valid label value")
        return v


class AllocationPool(_Model):
    start: Address
    """First address Neutron may hand out by DHCP."""
    end: Address
    """Last address Neutron may hand out by DHCP."""


class Network(_Model):
    node_cidr: Cidr
    """Subnet of the machines (e.g. 10.20.0.0/22)."""
    allocation_pool: AllocationPool
    """DHCP range inside nodeCidr; addresses outside it stay free for VIPs."""
    api_vip: Address
    """Virtual IP of the API endpoint; inside nodeCidr, outside the allocation pool."""
    pod_cidr: Cidr
    """Cluster pod network (kubeadm ``podSubnet``)."""
    pod_cidr_node_prefix: int = Field(default=24, ge=16, le=28)
    """Prefix length of each node's pod range (controller-manager ``--node-cidr-mask-size``)."""
    service_cidr: Cidr
    """Cluster service network (kubeadm ``serviceSubnet``)."""
    dns_servers: tuple[Address, ...] = ()
    """Resolvers handed to the machines by DHCP."""
    external_network_id: str | None = None
    """Neutron external network for the router gateway and floating IPs."""
    external_network_name: str | None = None
    """Name of that external network; floating IPs are allocated from it by name (the provider's
    ``pool`` argument takes a name). Required when any floating IP is configured (API, ingress, bastion)."""
    existing_network_id: str | None = None
    """Use this pre-provisioned network instead of creating one."""
    existing_subnet_id: str | None = None
    """Use this pre-provisioned subnet instead of creating one (with existingNetworkId)."""
    admin_cidrs: tuple[Cidr, ...] = ()
    """Where administrators reach SSH and the API (6443) from."""
    public_ingress_cidrs: tuple[Cidr, ...] = ()
    """Where clients reach the ingress controllers on 80/443 from."""
    node_port_cidrs: tuple[Cidr, ...] = ()
    """Where NodePorts (30000-32767) may be reached from; empty closes them."""
    api_floating_ip: bool = False
    """Attach a floating IP to the API endpoint."""
    ingress_floating_ip: bool = False
    """Attach floating IPs to the ingress nodes."""


class ResourceList(_Model):
    cpu: Quantity
    """CPU, Kubernetes quantity (200m = 0.2 core)."""
    memory: Quantity
    """Memory, Kubernetes quantity (250Mi)."""


EvictionSignal = Annotated[
    str,
    Field(
        pattern=r"^(memory|nodefs|imagefs|pid)\.available$|^(nodefs|imagefs)\.inodesFree$",
        description="kubelet eviction signal",
    ),
]


class Kubelet(_Model):
    """The blueprint's kubelet reservations; the defaults are its exact flags."""

    system_reserved: ResourceList = ResourceList(cpu="200m", memory="250Mi")
    """--system-reserved."""
    kube_reserved: ResourceList = ResourceList(cpu="200m", memory="250Mi")
    """--kube-reserved."""
    eviction_hard: dict[EvictionSignal, Quantity] = {
        "memory.available": "1Gi",
        "nodefs.available": "1Gi",
        "imagefs.available": "1Gi",
    }
    """--eviction-hard thresholds (absolute quantities)."""
    eviction_minimum_reclaim: dict[EvictionSignal, Quantity] = {
        "memory.available": "500Mi",
        "nodefs.available": "500Mi",
        "imagefs.available": "1Gi",
    }
    """--eviction-minimum-reclaim."""
    node_status_update_frequency: Duration = "10s"
    """--node-status-update-frequency."""
    eviction_pressure_transition_period: Duration = "180s"
    """--eviction-pressure-transition-period."""
    max_pods: int = Field(default=100, ge=1)
    """--max-pods; must fit the per-node pod prefix and the limit below."""


UPSTREAM_LIMITS: dict[str, int] = {
    "max_nodes": 5000,
    "max_pods": 150000,
    "max_containers": 300000,
    "max_pods_per_node": 110,
}
"""Upstream's supported maxima ("Considerations for large clusters",
https://kubernetes.io/docs/setup/best-practices/cluster-large/, and the kubelet's ``maxPods``
default 110): a stack may lower a limit, never raise one past these (beyond them nothing upstream
tests holds, and the rules and policies built on the limits would wave the cluster through)."""


class Limits(_Model):
    """Kubernetes scalability limits the blueprint quotes (v1.18); checked by spec and policies.
    Each may be lowered, not raised past ``UPSTREAM_LIMITS``."""

    max_nodes: int = Field(default=5000, ge=1)
    """Nodes per cluster (default and maximum 5000)."""
    max_pods: int = Field(default=150000, ge=1)
    """Pods per cluster (default and maximum 150000)."""
    max_containers: int = Field(default=300000, ge=1)
    """Containers per cluster (default and maximum 300000)."""
    max_pods_per_node: int = Field(default=100, ge=1)
    """Pods per node. The blueprint says 100, the default; upstream supports up to 110, the maximum."""

    @field_validator(*UPSTREAM_LIMITS)
    @classmethod
    def _at_most_upstream(cls, v: int, info: Any) -> int:
        maximum = UPSTREAM_LIMITS[info.field_name]
        if v > maximum:
            raise ValueError(
                f"{v} is above upstream Kubernetes' supported maximum {maximum} "
                "(kubernetes.io/docs/setup/best-practices/cluster-large); a limit may be lowered, not raised"
            )
        return v


class Kubernetes(_Model):
    event_ttl: Duration = "1h"
    """kube-apiserver --event-ttl (the blueprint: default 1h)."""
    limits: Limits = Limits()


class EtcdTopology(StrEnum):
    STACKED = "stacked"
    EXTERNAL = "external"


ETCD_DATA_VOLUME = "etcd-data"
"""Name of the data volume an etcd member keeps its data on (``nodePools.<etcd>.dataVolumes``)."""


class S3Target(_Model):
    endpoint: str
    """S3-compatible endpoint URL (e.g. Ceph RGW)."""
    bucket: str
    retention_days: int = Field(default=30, gt=0)


class EtcdBackup(_Model):
    schedule: str = "*-*-* 00/6:00:00"
    """systemd OnCalendar expression of the snapshot timer (default every 6 hours)."""
    keep: int = Field(default=8, gt=0)
    """Snapshots kept on each member's disk."""
    s3: S3Target | None = None
    """Upload each snapshot here when set."""


class Etcd(_Model):
    topology: EtcdTopology
    """stacked (on the masters; lab only) or external (dedicated etcd pool)."""
    members: int = Field(ge=1)
    """Member count: 3 or 5 outside lab (the blueprint's recommendation), always odd."""
    backup: EtcdBackup = EtcdBackup()
    release_base_url: str = Field(
        default="https://github.com/etcd-io/etcd/releases/download", pattern=r"^https?://\S+[^/]$"
    )
    """Where the members download the pinned etcd release (config/versions.py ETCD) from:
    ``<releaseBaseUrl>/v<version>/etcd-v<version>-linux-amd64.tar.gz``. Default: GitHub releases;
    an air-gapped site points it at a mirror with the same layout (no trailing slash)."""
    release_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """sha256 of that tarball, checked before anything is installed. Default: none, and the tarball
    is checked against the ``SHA256SUMS`` file published next to it (same origin: this catches a
    damaged download, not a tampered mirror; set this to pin the checksum you verified)."""

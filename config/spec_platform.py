"""The stack config's platform choices: CNI, API endpoint, logging, storage, the capacity plan's
workloads and node setup (split from config/spec_sections.py, which holds the machine, network
and cluster sections; ``config/spec.py`` assembles both into ``StackSpec``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from config.spec_sections import Address, Quantity, _Model


class CniPlugin(StrEnum):
    CALICO = "calico"
    FLANNEL = "flannel"


class Encapsulation(StrEnum):
    IPIP = "ipip"
    """Calico IP-in-IP between all nodes (ipipMode Always): pod addresses never reach the wire."""
    VXLAN = "vxlan"
    """VXLAN between all nodes (Calico vxlanMode Always; Flannel's only backend here)."""
    NONE = "none"
    """Calico native routing over BGP, no overlay: pod (and service) addresses are on the wire, so
    every Kubernetes node's port lists the pod and service CIDRs as allowed address pairs."""


NATIVE_ROUTING: frozenset[tuple[CniPlugin, Encapsulation]] = frozenset({(CniPlugin.CALICO, Encapsulation.NONE)})
"""CNI modes that put pod addresses on the node subnet unencapsulated; Neutron's anti-spoofing drops
them unless the ports allow them (kubespray docs/cloud_providers/openstack.md)."""


class Cni(_Model):
    plugin: CniPlugin = CniPlugin.CALICO
    encapsulation: Encapsulation = Encapsulation.IPIP
    """Calico: ipip (default), vxlan or none (native routing, needs allowed address pairs);
    Flannel: vxlan only."""


class ApiEndpointKind(StrEnum):
    HAPROXY_KEEPALIVED = "haproxy-keepalived"
    OCTAVIA = "octavia"


class OctaviaLbMethod(StrEnum):
    """Octavia pool algorithms (the OVN provider implements SOURCE_IP_PORT only)."""

    ROUND_ROBIN = "ROUND_ROBIN"
    LEAST_CONNECTIONS = "LEAST_CONNECTIONS"
    SOURCE_IP_PORT = "SOURCE_IP_PORT"


class OctaviaMonitor(StrEnum):
    """Octavia health-monitor types that fit the apiserver."""

    HTTPS = "HTTPS"
    """``GET /readyz`` over TLS (what Kubernetes documents for load balancers); amphora provider."""
    TCP = "TCP"
    """Connect only; the OVN provider's choice (it has no HTTP(S) monitors)."""


class ApiEndpointOptions(_Model):
    """Tuning of the API endpoint; which fields apply depends on ``apiEndpoint``."""

    vrrp_router_id: int = Field(default=51, ge=1, le=255)
    """haproxy-keepalived: VRRP virtual_router_id, unique among VRRP groups on the node subnet's
    L2 segment (default 51, keepalived's example value)."""
    interface: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,15}$")
    """haproxy-keepalived: interface of the lb machines on the node subnet. Default: detected on
    each lb machine from its default route (``ens3`` on Ubuntu cloud images under KVM); set it
    for machines with several NICs."""
    octavia_provider: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_-]*$")
    """octavia: provider driver (``amphora``, ``ovn``); default: the cloud's default provider."""
    octavia_lb_method: OctaviaLbMethod = OctaviaLbMethod.LEAST_CONNECTIONS
    """octavia: pool algorithm (default LEAST_CONNECTIONS: API clients hold long watches)."""
    octavia_monitor: OctaviaMonitor = OctaviaMonitor.HTTPS
    """octavia: health monitor, HTTPS ``GET /readyz`` (default) or TCP."""


class LoggingPipeline(StrEnum):
    DIRECT = "direct"
    KAFKA = "kafka"


class Storage(_Model):
    ssd_volume_type: str
    """Cinder volume type backed by SSDs; required for masters and etcd."""


class Workload(_Model):
    name: str
    apps: int = Field(default=1, ge=1)
    """Number of applications with this shape."""
    replicas: int = Field(ge=1)
    """Replicas per application."""
    containers: int = Field(default=1, ge=1)
    """Containers per pod."""
    cpu: Quantity
    """CPU request per pod."""
    memory: Quantity
    """Memory request per pod."""
    pool: str = "worker"
    """Node pool the pods run on."""


class RegistryCa(_Model):
    """A registry with its own CA (the blueprint's Harbor with a self-signed certificate)."""

    host: str
    """Registry host as images name it, with ``:port`` if not 443 (e.g. ``harbor.example.com``)."""
    ca_cert: str
    """The registry's CA certificate, one PEM certificate (public, not a secret)."""


class NodeSetup(_Model):
    """Where Kubernetes nodes get their packages and whom they trust (node preparation script).

    Every default is upstream; an air-gapped site points each URL at its internal mirror."""

    apt_repository: str | None = None
    """Kubernetes apt repository (ending in ``/``). Default: pkgs.k8s.io for the pinned minor."""
    apt_key_url: str | None = None
    """Signing key of that repository. Default: ``<aptRepository>Release.key``."""
    artifact_base_url: str | None = None
    """Mirror holding the containerd, runc and CNI release files and checksums under their upstream
    names. Default: the upstream GitHub release URLs."""
    sandbox_image: str | None = None
    """Pod sandbox image (a Harbor proxy path on air-gapped sites). Default: registry.k8s.io/pause."""
    registries: tuple[RegistryCa, ...] = ()
    """Registries whose CA containerd and the system store trust (Harbor). Default: none."""
    ntp_servers: tuple[Address, ...] = ()
    """NTP servers for chrony (the blueprint's TLS troubleshooting starts with clock skew).
    Default: the distribution's pool."""

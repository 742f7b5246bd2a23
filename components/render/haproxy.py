"""haproxy in front of the kube-apiservers (the blueprint's "lvs/haproxy/nginx + keepalived").

The frontend listens in TCP mode on the API VIP: TLS goes end to end from the client to an
apiserver (client certificates keep working, haproxy never needs the cluster's keys). The backend
checks every apiserver actively with ``GET /readyz`` over TLS, the endpoint Kubernetes documents for
load balancers (https://kubernetes.io/docs/reference/using-api/health-checks/); ``/readyz`` is open
to unauthenticated callers through the default ``system:public-info-viewer`` role. The layout
follows kubeadm's "Options for software load balancing"
(https://github.com/kubernetes/kubeadm/blob/main/docs/ha-considerations.md#haproxy-configuration).

The stats frontend also answers ``READY_URI``: 200 while at least one apiserver behind this haproxy
passes its ``/readyz`` check, 503 when none does (``monitor-uri`` / ``monitor fail``). keepalived
tracks it (render/keepalived.py), so the VIP leaves a load balancer whose haproxy runs but reaches
no apiserver, not only one whose haproxy process is gone.

Binding the VIP on a BACKUP load balancer (which does not hold the VIP yet) needs the sysctl
``net.ipv4.ip_nonlocal_bind=1``; the component that installs this file sets it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from components.render._common import (
    check_ipv4,
    check_name,
    check_path,
    check_port,
    check_positive,
    check_unique,
    render,
)


class Balance(StrEnum):
    """haproxy ``balance`` algorithms that make sense for the API."""

    LEASTCONN = "leastconn"
    """Fewest open connections wins. haproxy recommends it for long sessions, and API clients hold
    long-lived watches and HTTP/2 connections (haproxy configuration manual, ``balance``)."""
    ROUNDROBIN = "roundrobin"
    """Each new connection to the next server in turn (kubeadm's example)."""


@dataclass(frozen=True)
class ApiServer:
    """One kube-apiserver behind the load balancer."""

    name: str
    """Server name in haproxy's stats and logs; a DNS label, usually the master's hostname."""
    address: str
    """IPv4 address of the master."""
    port: int = 6443
    """The apiserver's secure port (kube-apiserver ``--secure-port``, default 6443)."""

    def __post_init__(self) -> None:
        check_name(self.name, "ApiServer.name")
        check_ipv4(self.address, "ApiServer.address")
        check_port(self.port, "ApiServer.port")


@dataclass(frozen=True)
class HealthCheck:
    """Active health check timing (haproxy ``default-server`` parameters).

    With the defaults a dead apiserver is marked DOWN after the first failure plus two fast
    re-checks: about ``inter`` + 2 x ``fastinter`` (≈ 3 s), and taken back after two good checks.
    """

    inter_ms: int = 2000
    """Interval between checks of a healthy server, in ms (haproxy ``inter``; default 2000)."""
    fastinter_ms: int = 500
    """Interval while a server is changing state, in ms (``fastinter``; default 500)."""
    downinter_ms: int = 5000
    """Interval between checks of a DOWN server, in ms (``downinter``; default 5000)."""
    fall: int = 3
    """Consecutive failures that mark a server DOWN (``fall``; default 3)."""
    rise: int = 2
    """Consecutive successes that mark it UP again (``rise``; default 2)."""

    def __post_init__(self) -> None:
        for name in ("inter_ms", "fastinter_ms", "downinter_ms", "fall", "rise"):
            check_positive(getattr(self, name), f"HealthCheck.{name}")


@dataclass(frozen=True)
class Timeouts:
    """haproxy timeouts, in seconds."""

    connect_s: int = 5
    """TCP connect to an apiserver (``timeout connect``; default 5)."""
    client_s: int = 35
    """Client inactivity before the tunnel is set up (``timeout client``; kubeadm's 35)."""
    server_s: int = 35
    """Server inactivity before the tunnel is set up (``timeout server``; kubeadm's 35)."""
    tunnel_s: int = 3600
    """Inactivity of an established TCP tunnel (``timeout tunnel``; default 3600). Supersedes
    client/server once bytes flow both ways, so watches are not cut: the apiserver closes a watch
    itself after ``--min-request-timeout`` (1800 s) × a random factor in [1, 2)."""
    check_s: int = 5
    """Extra read time for a health check once connected (``timeout check``; default 5)."""
    queue_s: int = 20
    """How long a connection waits for a free server slot (``timeout queue``; default 20)."""

    def __post_init__(self) -> None:
        for name in ("connect_s", "client_s", "server_s", "tunnel_s", "check_s", "queue_s"):
            check_positive(getattr(self, name), f"Timeouts.{name}")


_WILDCARDS = frozenset({"0.0.0.0", "*", "::", ""})
READY_URI = "/apiserver-ready"
"""Path on the stats listener: 200 while haproxy has a ready apiserver, else 503."""


@dataclass(frozen=True)
class HaproxyArgs:
    """Everything ``render_haproxy_config`` needs for one load-balancer machine."""

    bind_address: str
    """Address the API frontend binds: the VIP (spec ``network.apiVip``)."""
    masters: tuple[ApiServer, ...]
    """Every master, in a stable order; the config changes (and is re-pushed) when this does."""
    stats_bind_address: str
    """Internal address of this load balancer for the stats page and ``/metrics``. Never a wildcard:
    the stats page lists the masters and their state and must not face the VIP's clients."""
    port: int = 6443
    """Port of the API frontend (default 6443, what kubeadm's controlPlaneEndpoint points at)."""
    stats_port: int = 8404
    """Port of the stats page (``/stats``) and Prometheus exporter (``/metrics``); default 8404."""
    balance: Balance = Balance.LEASTCONN
    """Balancing algorithm (default leastconn)."""
    health_check: HealthCheck = field(default_factory=HealthCheck)
    """Active ``/readyz`` check timing."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    """Connection timeouts."""
    maxconn: int = 20000
    """Global connection limit (default 20000)."""
    user: str | None = "haproxy"
    """User/group haproxy drops to after binding (Debian/Ubuntu package default); None keeps root,
    for tests that run haproxy unprivileged."""
    chroot: str | None = "/var/lib/haproxy"
    """Chroot directory (package default); None disables it (tests)."""
    admin_socket: str | None = "/run/haproxy/admin.sock"
    """Runtime API socket for ``show stat`` / draining servers; None disables it."""
    log_target: str | None = "/dev/log"
    """Syslog target (journald's socket on Ubuntu); None disables logging (tests)."""

    def __post_init__(self) -> None:
        check_ipv4(self.bind_address, "HaproxyArgs.bind_address")
        if self.stats_bind_address in _WILDCARDS:
            raise ValueError("HaproxyArgs.stats_bind_address: must be an internal address, not a wildcard")
        check_ipv4(self.stats_bind_address, "HaproxyArgs.stats_bind_address")
        if ipaddress.IPv4Address(self.stats_bind_address).is_unspecified:
            raise ValueError("HaproxyArgs.stats_bind_address: must be an internal address, not 0.0.0.0")
        check_port(self.port, "HaproxyArgs.port")
        check_port(self.stats_port, "HaproxyArgs.stats_port")
        if (self.bind_address, self.port) == (self.stats_bind_address, self.stats_port):
            raise ValueError("HaproxyArgs: the stats endpoint and the API frontend use the same address:port")
        if not self.masters:
            raise ValueError("HaproxyArgs.masters: at least one master is required")
        check_unique([m.name for m in self.masters], "HaproxyArgs.masters[].name")
        check_unique([(m.address, m.port) for m in self.masters], "HaproxyArgs.masters[].address:port")
        check_positive(self.maxconn, "HaproxyArgs.maxconn")
        if self.user is not None:
            check_name(self.user, "HaproxyArgs.user")
        for name in ("chroot", "admin_socket", "log_target"):
            value = getattr(self, name)
            if value is not None:
                check_path(value, f"HaproxyArgs.{name}")


def render_haproxy_config(args: HaproxyArgs) -> str:
    """``/etc/haproxy/haproxy.cfg`` for one load balancer in front of the apiservers."""
    return render("haproxy.cfg.j2", "components/render/haproxy.py", a=args, ready_uri=READY_URI)

"""keepalived VRRP for the API VIP on the haproxy load balancers.

One VRRP instance moves the VIP to the healthiest load balancer. Design choices:

- **Unicast** adverts (``unicast_src_ip`` / ``unicast_peer``): OpenStack networks commonly drop or
  filter multicast, and Neutron port security only passes what the security groups allow (VRRP,
  IP protocol 112, between the load balancers). The VIP itself must be in each LB port's
  ``allowed_address_pairs`` or Neutron drops its traffic; the IaaS component sets that.
- **All instances start as BACKUP** and the priority decides (first node highest) who takes the VIP
  first: no two nodes claim MASTER at boot.
- **nopreempt**: a node that recovers (rebooted, haproxy back) stays BACKUP while another holds the
  VIP, even at a higher priority. Preempting would move the VIP a second time, cutting every API
  connection and watch again, for no gain (keepalived.conf(5): nopreempt needs state BACKUP).
- **Health tracking without weight**, two checks: ``chk_haproxy`` (the process runs) and
  ``chk_apiserver`` (haproxy's ``READY_URI`` answers 200: it has a ready apiserver; render/
  haproxy.py). When either fails ``fall`` times the instance goes to FAULT and releases the VIP,
  whatever the number of nodes (keepalived.conf(5), ``vrrp_script``). A weight would not move the
  VIP under nopreempt; FAULT does. Until the first apiserver is ready no node holds the VIP; kubeadm
  init waits for the local apiserver and retries its API calls meanwhile.
- **The interface** is ``interface`` when configured; otherwise the keepalived step detects it on
  the machine (the default route's interface) and writes ``$K8S_PLATFORM_INTERFACE=<name>`` to
  ``interface_file``, which this file includes (keepalived's parameter substitution).
- **Authentication** (``auth_type PASS``) is VRRPv2's 8-character shared secret. It is cleartext
  on the wire, so it only keeps a neighbouring VRRP group with the same router id from joining;
  keepalived silently truncates longer passwords ("Truncating auth_pass to 8 characters"), so
  longer ones are rejected here instead. The rendered text contains it: components must treat
  the output as a secret (``Output.secret``).

Reference: keepalived.conf(5), https://keepalived.readthedocs.io/en/latest/configuration_synopsis.html
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from components.render._common import (
    check_ipv4,
    check_name,
    check_path,
    check_port,
    check_positive,
    check_unique,
    render,
)
from components.render.haproxy import READY_URI

_AUTH_PASS = re.compile(r"^[A-Za-z0-9._~+=@%^*,:/-]{1,8}$")
_INTERFACE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
MAX_AUTH_PASS = 8
INTERFACE_PARAMETER = "K8S_PLATFORM_INTERFACE"
"""keepalived parameter holding the detected interface (defined in ``interface_file``)."""
"""keepalived keeps the first 8 characters of ``auth_pass`` (VRRPv2 RFC 2338 simple text auth)."""


@dataclass(frozen=True)
class LoadBalancerNode:
    """One machine running haproxy + keepalived."""

    name: str
    """Hostname (a DNS label); also keepalived's ``router_id`` on that machine."""
    address: str
    """Its fixed IPv4 address on the node subnet (the unicast VRRP source/peer address)."""

    def __post_init__(self) -> None:
        check_name(self.name, "LoadBalancerNode.name")
        check_ipv4(self.address, "LoadBalancerNode.address")


@dataclass(frozen=True)
class KeepalivedArgs:
    """Everything ``render_keepalived_config`` needs for one load balancer."""

    node: str
    """Name of the machine this file is for; one of ``nodes``."""
    nodes: tuple[LoadBalancerNode, ...]
    """All load balancers in priority order: the first gets the highest priority."""
    vip: str
    """The API virtual IP (spec ``network.apiVip``)."""
    vip_prefix_len: int
    """Prefix length of the node subnet the VIP lives in (e.g. 22 for 10.20.0.0/22)."""
    virtual_router_id: int
    """VRRP router id, 1-255, unique among VRRP groups sharing the L2 segment."""
    auth_pass: str
    """VRRP shared secret, 1-8 characters of ``[A-Za-z0-9._~+=@%^*,:/-]`` (from a Pulumi secret)."""
    interface: str | None = None
    """Interface holding the node subnet; None (default): detected on the machine from its default
    route by the keepalived step and read from ``interface_file``."""
    interface_file: str = "/etc/keepalived/k8s-platform-interface.conf"
    """Where the detected interface is defined (``$K8S_PLATFORM_INTERFACE=ens3``) when ``interface``
    is None; written by the keepalived step before ``keepalived -t``."""
    ready_port: int = 8404
    """Port of this machine's haproxy stats listener, which answers ``READY_URI`` (default 8404)."""
    top_priority: int = 150
    """Priority of the first node; each next node gets ``priority_step`` less (default 150)."""
    priority_step: int = 10
    """Priority difference between consecutive nodes (default 10)."""
    advert_int_s: int = 1
    """Seconds between VRRP adverts; the backup takes over after ~3 missed adverts (default 1)."""
    check_command: str = "/usr/bin/pgrep -x haproxy"
    """Health check of the local haproxy; exit 0 = healthy. pgrep (procps) is on every Ubuntu
    image, unlike killall (psmisc). Absolute path: script security refuses PATH lookups."""
    check_interval_s: int = 2
    """Seconds between health checks (default 2)."""
    check_fall: int = 2
    """Failed checks before the instance goes FAULT and drops the VIP (default 2)."""
    check_rise: int = 2
    """Good checks before it may hold the VIP again (default 2)."""
    script_user: str = "root"
    """User the check runs as. root: the check is a root-owned binary with fixed arguments, so a
    dedicated user adds nothing, and keepalived 2.2.7 (Debian 12) kills its own ``-t`` config test
    when the script user is not root (acassen/keepalived#2617, fixed in 2.2.8)."""

    def __post_init__(self) -> None:
        if not self.nodes:
            raise ValueError("KeepalivedArgs.nodes: at least one load balancer is required")
        check_unique([n.name for n in self.nodes], "KeepalivedArgs.nodes[].name")
        check_unique([n.address for n in self.nodes], "KeepalivedArgs.nodes[].address")
        if self.node not in {n.name for n in self.nodes}:
            raise ValueError(f"KeepalivedArgs.node: {self.node!r} is not one of nodes")
        check_ipv4(self.vip, "KeepalivedArgs.vip")
        if not 1 <= self.vip_prefix_len <= 32:
            raise ValueError(f"KeepalivedArgs.vip_prefix_len: {self.vip_prefix_len} is not 1-32")
        subnet = ipaddress.IPv4Network(f"{self.vip}/{self.vip_prefix_len}", strict=False)
        for n in self.nodes:
            if ipaddress.IPv4Address(n.address) not in subnet:
                raise ValueError(f"KeepalivedArgs.nodes: {n.name} ({n.address}) is outside the VIP's subnet {subnet}")
            if n.address == self.vip:
                raise ValueError(f"KeepalivedArgs.vip: {self.vip} is also the address of {n.name}")
        if not 1 <= self.virtual_router_id <= 255:
            raise ValueError(f"KeepalivedArgs.virtual_router_id: {self.virtual_router_id} is not 1-255")
        if len(self.auth_pass) > MAX_AUTH_PASS:
            raise ValueError(
                f"KeepalivedArgs.auth_pass: {len(self.auth_pass)} characters; keepalived would silently "
                f"truncate it to {MAX_AUTH_PASS}, so use at most {MAX_AUTH_PASS}"
            )
        if not _AUTH_PASS.match(self.auth_pass):
            raise ValueError("KeepalivedArgs.auth_pass: use 1-8 characters of [A-Za-z0-9._~+=@%^*,:/-]")
        if self.interface is not None and not _INTERFACE.match(self.interface):
            raise ValueError(f"KeepalivedArgs.interface: {self.interface!r} is not an interface name")
        check_path(self.interface_file, "KeepalivedArgs.interface_file")
        check_port(self.ready_port, "KeepalivedArgs.ready_port")
        lowest = self.top_priority - self.priority_step * (len(self.nodes) - 1)
        # 255 is reserved for the address owner (RFC 3768 5.3.4); 0 means "leaving".
        if not (lowest >= 1 and self.top_priority <= 254 and self.priority_step > 0):
            raise ValueError("KeepalivedArgs: priorities must stay within 1-254 and decrease")
        if not self.check_command.startswith("/") or '"' in self.check_command or "\n" in self.check_command:
            raise ValueError("KeepalivedArgs.check_command: an absolute path and arguments, no quotes")
        for name in ("advert_int_s", "check_interval_s", "check_fall", "check_rise"):
            check_positive(getattr(self, name), f"KeepalivedArgs.{name}")
        check_name(self.script_user, "KeepalivedArgs.script_user")

    @property
    def self_node(self) -> LoadBalancerNode:
        return next(n for n in self.nodes if n.name == self.node)

    @property
    def priority(self) -> int:
        index = [n.name for n in self.nodes].index(self.node)
        return self.top_priority - self.priority_step * index

    @property
    def interface_name(self) -> str:
        """What the config says for the interface: the name, or the detected one's parameter."""
        return self.interface if self.interface is not None else "${" + INTERFACE_PARAMETER + "}"

    @property
    def apiserver_check_command(self) -> str:
        """curl of this machine's haproxy ``READY_URI``: exit 0 while haproxy has a ready apiserver.
        curl is on Ubuntu's cloud images (and installed with haproxy); -f fails on the 503."""
        timeout = self.check_interval_s
        url = f"http://{self.self_node.address}:{self.ready_port}{READY_URI}"
        return f"/usr/bin/curl -fsS -o /dev/null --max-time {timeout} {url}"

    @property
    def peers(self) -> tuple[LoadBalancerNode, ...]:
        return tuple(n for n in self.nodes if n.name != self.node)


def render_keepalived_config(args: KeepalivedArgs) -> str:
    """``/etc/keepalived/keepalived.conf`` for one load balancer. Contains the VRRP secret."""
    return render("keepalived.conf.j2", "components/render/keepalived.py", a=args)

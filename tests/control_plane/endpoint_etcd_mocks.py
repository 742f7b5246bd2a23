"""Mocks for the API endpoint and etcd tests: key material to look for, addresses that stay put.

The shared harness (tests/harness.py) leaves outputs it does not know unset, which a preview
treats as unknown; then a secret that never got a value cannot be shown to stay secret. These
mocks (``ControlPlaneMocks``) give every output the control-plane layer reads a recognisable value:

* pulumi-tls keys, requests and certificates get fake PEM text naming the resource (``fake_pem``),
  so a test can look for each key's text, raw or base64-encoded, anywhere in the registrations;
* the generated VRRP password is 8 characters derived from its resource name;
* Octavia's load balancer reports a VIP port ID;
* machine ports get an address in the stack's allocation pool derived from their pool's position
  and their index (``layout``), so adding a master moves no other machine's address (as in
  Neutron), and keepalived's check that its peers share the VIP's subnet holds.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import pulumi

from components.spec import NAMESPACE, SpecError, StackSpec, parse
from tests import harness

COMMAND = "command:remote:Command"
PASSWORD = "random:index/randomPassword:RandomPassword"
PORT = "openstack:networking/port:Port"
FLOATING_IP = "openstack:networking/floatingIp:FloatingIp"
FIP_ASSOCIATION = "openstack:networking/floatingIpAssociate:FloatingIpAssociate"
LOAD_BALANCER = "openstack:loadbalancer/loadBalancer:LoadBalancer"
LISTENER = "openstack:loadbalancer/listener:Listener"
POOL = "openstack:loadbalancer/pool:Pool"
MONITOR = "openstack:loadbalancer/monitor:Monitor"
MEMBER = "openstack:loadbalancer/member:Member"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
ENDPOINT = "k8splatform:control_plane:ApiServerEndpoint"
ETCD = "k8splatform:control_plane:EtcdCluster"
PKI = "k8splatform:control_plane:EtcdPki"
_POOL_PORT = re.compile(r"-pool-(?P<pool>[a-z0-9-]+)-(?P<index>[0-9]+)-port$")


def fake_pem(kind: str, name: str) -> str:
    """The fake PEM text the mocks give resource ``name``."""
    return f"-----BEGIN {kind}-----\nFAKE {kind} OF {name}\n-----END {kind}-----\n"


def fake_password(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def layout(spec: StackSpec) -> dict[str, int]:
    """Pool name -> integer address of its machine number 0: pools follow each other in declaration
    order from the allocation pool's start, each as wide as the largest pool plus one."""
    stride = max(pool.count for pool in spec.node_pools.values()) + 1
    start = int(spec.network.allocation_pool.start)
    return {name: start + position * stride for position, name in enumerate(spec.node_pools)}


class ControlPlaneMocks(harness._Mocks):
    """The harness's mocks plus the outputs listed in the module docstring."""

    pools: ClassVar[dict[str, int]] = {}
    """``layout`` of the stack being run (set by ``run``)."""

    def _address(self, name: str) -> str | None:
        match = _POOL_PORT.search(name)
        if not match or match["pool"] not in self.pools:
            return None
        return str(ipaddress.IPv4Address(self.pools[match["pool"]] + int(match["index"])))

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        resource_id, state = super().new_resource(args)
        if args.typ == PRIVATE_KEY:
            state["privateKeyPem"] = fake_pem("EC PRIVATE KEY", args.name)
        elif args.typ in (SELF_SIGNED, SIGNED):
            state["certPem"] = fake_pem("CERTIFICATE", args.name)
        elif args.typ == CERT_REQUEST:
            state["certRequestPem"] = fake_pem("CERTIFICATE REQUEST", args.name)
        elif args.typ == PASSWORD:
            state["result"] = fake_password(args.name)
        elif args.typ == LOAD_BALANCER:
            state["vipPortId"] = f"{args.name}-vip-port-id"
        elif args.typ == PORT and self._address(args.name):
            state["allFixedIps"] = [self._address(args.name)]
        return resource_id, state


@contextlib.contextmanager
def control_plane_mocks() -> Iterator[None]:
    original = harness._Mocks
    harness._Mocks = ControlPlaneMocks
    try:
        yield
    finally:
        harness._Mocks = original


def run(stack: str, overrides: dict[str, Any] | None = None) -> harness.ProgramRun:
    """``__main__.py`` of ``stack`` under ``ControlPlaneMocks``."""
    try:
        ControlPlaneMocks.pools = layout(parse(harness.stack_config(stack, overrides), _secret_keys(overrides)))
    except SpecError:
        ControlPlaneMocks.pools = {}  # the program reports it
    with control_plane_mocks():
        return harness.run_program(stack, overrides)


def _secret_keys(overrides: dict[str, Any] | None) -> set[str]:
    return {f"{NAMESPACE}:{k}" for k, v in (overrides or {}).items() if isinstance(v, harness.Secret)}


def plain(value: Any) -> Any:
    """The value with any Secret unwrapped (for reading, not for secrecy checks)."""
    return value.value if isinstance(value, harness.Secret) else value


def decode_payload(stdin: str) -> dict[str, tuple[str, str, str]]:
    """A step's stdin (remote_scripts.payload) -> {path: (mode, owner, content)}."""
    files = {}
    for line in stdin.splitlines():
        mode, owner, path, data = line.split(" ", 3)
        files[path] = (mode, owner, base64.b64decode(data).decode())
    return files


def plaintext_outside_secrets(value: Any, needles: set[str], path: str = "") -> list[str]:
    """Where any of ``needles`` occurs in ``value`` outside a Secret (paths, for the message)."""
    if isinstance(value, harness.Secret):
        return []
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in plaintext_outside_secrets(v, needles, f"{path}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in plaintext_outside_secrets(v, needles, f"{path}[{i}]")]
    if isinstance(value, str):
        return [f"{path} holds {needle[:30]!r}..." for needle in needles if needle in value]
    return []

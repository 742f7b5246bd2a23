"""Mocks for the API endpoint and etcd tests: addresses that stay put, and the secrets to look for.

The shared harness (tests/harness.py) leaves outputs it does not know unset, which a preview
treats as unknown. These mocks (``ControlPlaneMocks``) give the outputs the control-plane layer
reads a known value:

* Octavia's load balancer reports a VIP port ID;
* machine ports get an address in the stack's allocation pool derived from their pool's position
  and their index (``layout``), so adding a master moves no other machine's address (as in
  Neutron), and keepalived's check that its peers share the VIP's subnet holds.

The secrets the program derives from the harness's seed (``TEST_SEED``) are computed here from the
pure modules (``expected_pki``, ``derived_vrrp_password``), independently of the components, so a
test can look for each of them, raw or base64-encoded, anywhere in the registrations.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import pulumi

from components.render.etcd_pki import EtcdPki, MemberIdentity, PkiScope, build_etcd_pki
from components.render.seed import vrrp_password
from config.formats import SEED_KEY
from config.load import parse
from config.spec import NAMESPACE, SpecError, StackSpec
from tests import harness

COMMAND = "command:remote:Command"
PORT = "openstack:networking/port:Port"
FLOATING_IP = "openstack:networking/floatingIp:FloatingIp"
FIP_ASSOCIATION = "openstack:networking/floatingIpAssociate:FloatingIpAssociate"
LOAD_BALANCER = "openstack:loadbalancer/loadBalancer:LoadBalancer"
LISTENER = "openstack:loadbalancer/listener:Listener"
POOL = "openstack:loadbalancer/pool:Pool"
MONITOR = "openstack:loadbalancer/monitor:Monitor"
MEMBER = "openstack:loadbalancer/member:Member"
ENDPOINT = "k8splatform:control_plane:ApiServerEndpoint"
ETCD = "k8splatform:control_plane:EtcdCluster"
_POOL_PORT = re.compile(r"-pool-(?P<pool>[a-z0-9-]+)-(?P<index>[0-9]+)-port$")


def seed(overrides: dict[str, Any] | None = None) -> bytes:
    """The run's seed as bytes: the ``secretSeed`` override, else the harness's."""
    return bytes.fromhex(plain((overrides or {}).get(SEED_KEY)) or harness.TEST_SEED)


def derived_vrrp_password() -> str:
    """The VRRP password the program derives when ``keepalivedAuthPass`` is unset."""
    return vrrp_password(seed())


def etcd_members(program: harness.ProgramRun) -> list[dict]:
    """The etcd member machines from the exported node list: the etcd pool, or the lab's master."""
    role = "master" if program.stack == "lab" else "etcd"
    return [n for n in program.outputs["nodes"] if n["role"] == role]


def expected_pki(program: harness.ProgramRun, overrides: dict[str, Any] | None = None) -> EtcdPki:
    """The etcd PKI the run must have pushed: render/etcd_pki.py on the harness's seed, the stack's
    ``pkiEpoch`` and the members the run exported."""
    spec = spec_of(program.stack, overrides)
    members = tuple(MemberIdentity(n["name"], n["private_ip"]) for n in etcd_members(program))
    return build_etcd_pki(seed(overrides), PkiScope(f"k8s-{program.stack}", spec.pki_epoch), members)


def key_texts(pki: EtcdPki) -> set[str]:
    """Every private key of ``pki`` (PEM)."""
    pairs = [pki.apiserver_client, pki.healthcheck_client]
    pairs += [pair for certs in pki.members.values() for pair in (certs.server, certs.peer)]
    return {pair.key for pair in pairs}


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
        if args.typ == LOAD_BALANCER:
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
        ControlPlaneMocks.pools = layout(spec_of(stack, overrides))
    except SpecError:
        ControlPlaneMocks.pools = {}  # the program reports it
    with control_plane_mocks():
        return harness.run_program(stack, overrides)


def spec_of(stack: str, overrides: dict[str, Any] | None = None) -> StackSpec:
    """The stack's spec with ``overrides``; Secret overrides count as encrypted values."""
    config = {k: plain(v) for k, v in harness.stack_config(stack, overrides).items()}
    secret_keys = {f"{NAMESPACE}:{k}" for k, v in (overrides or {}).items() if isinstance(v, harness.Secret)}
    return parse(config, secret_keys)


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

"""Mocks for the bootstrap tests: what the remote hosts would print, and addresses that stay put.

The shared harness (tests/harness.py) hands out port addresses in registration order and leaves
outputs it does not know unset, which a preview treats as unknown. The bootstrap's join scripts are
built from the first master's output (the join secrets), so these tests replace the harness's mocks
with ``BootstrapMocks``:

* ports get an address of the stack's allocation pool derived from their name (pool and index),
  so removing one machine does not move any other machine's address (as in Neutron), and the
  renderers that check addresses against the node subnet accept them;
* every ``<node>-secrets`` step prints a token, a CA hash and (control plane) a certificate key
  derived from its own name, so a test can tell which node's secrets reached which script;
* the ``kubeconfig`` step prints an admin kubeconfig whose server is *not* the endpoint, so the
  rewrite is visible.

The secrets the program derives itself (init token and certificate key, the etcd keys) come from
the harness's seed (``TEST_SEED``); the tests compute them with the pure modules.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import ipaddress
import re
import zlib
from collections.abc import Iterator
from typing import Any

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from config.load import parse
from config.spec import StackSpec
from tests import harness

COMMAND = "command:remote:Command"
PORT = "openstack:networking/port:Port"
CA_CERT_HASH = "sha256:" + hashlib.sha256(b"cluster CA").hexdigest()


def _fake_pki() -> tuple[str, str, str]:
    """A CA certificate, a client certificate and its key, base64 PEM as kubeconfigs hold them.

    Real PEM, so the kubernetes provider parses the fake kubeconfig of a deployed-stack fixture
    (tests/engine/deployed.py) and finds the cluster unreachable instead of failing on the bytes.
    Ed25519 signs deterministically, so every run yields the same bytes (fixed keys, dates, serials).
    """

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    def key(label: bytes) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label).digest())

    def cert(subject: str, public, issuer: str, signer: Ed25519PrivateKey, ca: bool) -> x509.Certificate:
        start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public)
            .serial_number(1 if ca else 2)
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, None)
        )

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    ca_key, admin_key = key(b"fake cluster CA"), key(b"fake kubernetes-admin")
    ca = cert("kubernetes", ca_key.public_key(), "kubernetes", ca_key, ca=True)
    admin = cert("kubernetes-admin", admin_key.public_key(), "kubernetes", ca_key, ca=False)
    pem = serialization.Encoding.PEM
    key_pem = admin_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return b64(ca.public_bytes(pem)), b64(admin.public_bytes(pem)), b64(key_pem)


CA_DATA, ADMIN_CERT_DATA, ADMIN_KEY_DATA = _fake_pki()
"""The fake admin kubeconfig's CA, client certificate and client-key-data (the key must only ever
appear inside a Secret)."""
_PORT_NAME = re.compile(r"-pool-(?P<pool>[a-z0-9-]+)-(?P<index>[0-9]+)-port$")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def token_of(step: str) -> str:
    """The bootstrap token the ``step`` (a ``<node>-secrets`` resource name) prints."""
    h = digest(step)
    return f"{h[:6]}.{h[6:22]}"


def certificate_key_of(step: str) -> str:
    return digest(step + "/certificate-key")


def port_address(spec: StackSpec, name: str, inputs: dict[str, Any]) -> str:
    """A machine's port: an address of the allocation pool fixed by pool and index (each pool gets
    an equal block, in declaration order); another port: the address it asks for, else one of the
    last block, from its name."""
    pool = spec.network.allocation_pool
    first, size = int(pool.start), int(pool.end) - int(pool.start) + 1
    stride = size // (len(spec.node_pools) + 1)
    match = _PORT_NAME.search(name)
    if match and match["pool"] in spec.node_pools:
        index = int(match["index"])
        assert index < stride, f"{name}: more machines than the mock's block of {stride} addresses"
        return str(ipaddress.IPv4Address(first + list(spec.node_pools).index(match["pool"]) * stride + index))
    for fixed in inputs.get("fixedIps") or []:
        if fixed.get("ipAddress"):
            return fixed["ipAddress"]
    return str(ipaddress.IPv4Address(first + len(spec.node_pools) * stride + zlib.crc32(name.encode()) % stride))


def fake_kubeconfig(server: str = "https://127.0.0.1:6443") -> str:
    return f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {CA_DATA}
    server: {server}
  name: kubernetes
contexts:
- context: {{cluster: kubernetes, user: kubernetes-admin}}
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
users:
- name: kubernetes-admin
  user:
    client-certificate-data: {ADMIN_CERT_DATA}
    client-key-data: {ADMIN_KEY_DATA}
"""


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, harness.Secret) else value


class BootstrapMocks(harness._Mocks):
    """The harness's mocks plus what the bootstrap's remote steps print (see the module docstring)."""

    def __init__(self, spec: StackSpec) -> None:
        super().__init__()
        self.spec = spec
        self.addresses: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        resource_id, state = super().new_resource(args)
        if args.typ == PORT and "allFixedIps" not in args.inputs:
            address = port_address(self.spec, args.name, args.inputs)
            owner = self.addresses.setdefault(address, args.name)
            assert owner == args.name, f"{args.name} and {owner} got the same fake address"
            state["allFixedIps"] = [address]
        elif args.typ == COMMAND:
            state["stdout"] = self._stdout(args.name, str(_plain(args.inputs.get("create", ""))))
            state["stderr"] = ""
        return resource_id, state

    @staticmethod
    def _stdout(name: str, create: str) -> str:
        if name.endswith("-secrets"):
            lines = [f"token={token_of(name)}", f"ca-cert-hash={CA_CERT_HASH}"]
            if "upload-certs" in create:
                lines.append(f"certificate-key={certificate_key_of(name)}")
            return "\n".join(lines) + "\n"
        if name.endswith("-kubeconfig"):
            return fake_kubeconfig()
        return ""


@contextlib.contextmanager
def bootstrap_mocks(stack: str, overrides: dict[str, Any] | None = None) -> Iterator[None]:
    """Run ``harness.run_program(stack, overrides)`` with ``BootstrapMocks`` inside this block."""
    spec = parse(harness.stack_config(stack, overrides))
    original = harness._Mocks
    harness._Mocks = lambda: BootstrapMocks(spec)  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        harness._Mocks = original


def run_bootstrap(
    stack: str, overrides: dict[str, Any] | None = None, preview: bool = True, recorded: dict | None = None
) -> harness.ProgramRun:
    """``__main__.py`` of ``stack`` under ``BootstrapMocks`` (``preview=False``: as ``up`` runs it);
    ``recorded``: the stack outputs of its last update."""
    with bootstrap_mocks(stack, overrides):
        return harness.run_program(stack, overrides, preview=preview, recorded=recorded)

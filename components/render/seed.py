"""The stack's secret seed and every secret derived from it (pure: no Pulumi import).

One random value per stack, ``k8s-platform:secretSeed``: 32 bytes written as 64 hex characters
(``scripts/pulumi <stack> init-secrets`` stores it with ``pulumi config set --secret``). Hex, not
base64, because it has exactly one spelling per value (no padding or URL-safe variants), survives
YAML, shells and copy-paste unquoted, and ``openssl rand -hex 32`` makes one by hand. Upper-case
digits are accepted and mean the same bytes.

Every secret the program needs is HKDF-SHA256 (RFC 5869) of the seed with its own purpose label
as ``info``: distinct labels give independent values, and none of them reveals the seed or another
label's value. The labels (``LABELS`` and the ``*_label`` functions) are part of the stack's
state: renaming one rotates that secret. docs/runbooks/secrets.md lists them.

Characters are drawn from HKDF output by rejection sampling (a byte is used only below the largest
multiple of the alphabet's size), so every character is uniform; more output is derived with a
counter in the label in the (astronomically rare) case the first block runs out. Private keys use
FIPS 186-5 A.2.1 ("extra random bits"): 64 bytes reduced modulo ``n - 1``, plus 1, so the bias is
below 2^-256.
"""

from __future__ import annotations

import string

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from config.formats import SEED_BYTES

_PREFIX = "k8s-platform/v1"
"""Namespace and version of every label: a new derivation scheme is a new version, never a reuse."""

TOKEN_ALPHABET = string.ascii_lowercase + string.digits
"""kubeadm bootstrap tokens: ``[a-z0-9]{6}.[a-z0-9]{16}`` (kubeadm's token format)."""
AUTH_PASS_ALPHABET = string.ascii_letters + string.digits
"""VRRP password: letters and digits, inside keepalived's auth_pass alphabet without quoting."""
AUTH_PASS_LENGTH = 8
"""keepalived keeps 8 characters of auth_pass (render/keepalived.py MAX_AUTH_PASS)."""

LABELS = {
    "init_token": f"{_PREFIX}/kubeadm/init-token",
    "init_certificate_key": f"{_PREFIX}/kubeadm/init-certificate-key",
    "join_issuer_token": f"{_PREFIX}/kubeadm/join-issuer-token",
    "vrrp_password": f"{_PREFIX}/keepalived/auth-pass",
    "etcd_ca_key": f"{_PREFIX}/etcd-pki/ca/key",
    "registry_ca_key": f"{_PREFIX}/registry-pki/ca/key",
    "harbor_admin_password": f"{_PREFIX}/harbor/admin-password",
    "harbor_secret_key": f"{_PREFIX}/harbor/secret-key",
    "harbor_robot_secret": f"{_PREFIX}/harbor/robot/k8s-pull",
    "grafana_admin_password": f"{_PREFIX}/grafana/admin-password",
}
"""The fixed purpose labels: kubeadm init token and certificate key, the workers' join-issuer token,
VRRP password, etcd CA key, the registry (Harbor) CA key, Harbor's admin password, encryption key and
pull robot's secret, Grafana's admin password.
Per-certificate labels (leaf keys, serials) come from ``etcd_leaf_key_label`` and ``etcd_serial_label``."""

# P-256's group order (SEC 2, section 2.4.2).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def derive(seed: bytes, label: str, length: int) -> bytes:
    """``length`` bytes of HKDF-SHA256(seed, info=label); no salt: the seed is uniformly random
    (RFC 5869 section 3.1), and the label alone separates purposes."""
    if len(seed) != SEED_BYTES:
        raise ValueError(f"seed: expected {SEED_BYTES} bytes, got {len(seed)}")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label.encode()).derive(seed)


def derive_chars(seed: bytes, label: str, alphabet: str, count: int) -> str:
    """``count`` characters of ``alphabet``, each uniform (rejection sampling of HKDF bytes)."""
    limit = 256 - 256 % len(alphabet)  # bytes at or above this would favour the first characters
    out: list[str] = []
    block = 0
    while len(out) < count:
        # Block 0 is the label itself, so a label's first characters do not depend on the counter scheme.
        info = label if block == 0 else f"{label}#{block}"
        for byte in derive(seed, info, 2 * count + 16):
            if byte < limit:
                out.append(alphabet[byte % len(alphabet)])
                if len(out) == count:
                    break
        block += 1
    return "".join(out)


def bootstrap_token(seed: bytes) -> str:
    """The ``kubeadm init`` bootstrap token, ``[a-z0-9]{6}.[a-z0-9]{16}``."""
    chars = derive_chars(seed, LABELS["init_token"], TOKEN_ALPHABET, 22)
    return f"{chars[:6]}.{chars[6:]}"


def join_issuer_token(seed: bytes) -> str:
    """The bootstrap token a joining worker authenticates with to create its own short-lived join
    token (components/control_plane/worker_scripts.py): ``[a-z0-9]{6}.[a-z0-9]{16}``."""
    chars = derive_chars(seed, LABELS["join_issuer_token"], TOKEN_ALPHABET, 22)
    return f"{chars[:6]}.{chars[6:]}"


def certificate_key(seed: bytes) -> str:
    """The ``kubeadm init --upload-certs`` certificate key: 32 bytes as 64 hex characters (AES-256)."""
    return derive(seed, LABELS["init_certificate_key"], 32).hex()


def vrrp_password(seed: bytes) -> str:
    """The VRRP auth_pass when ``keepalivedAuthPass`` is unset: 8 letters and digits (~47 bits)."""
    return derive_chars(seed, LABELS["vrrp_password"], AUTH_PASS_ALPHABET, AUTH_PASS_LENGTH)


def p256_scalar(seed: bytes, label: str) -> int:
    """A P-256 private scalar in [1, n-1], uniform up to 2^-256 (FIPS 186-5 A.2.1)."""
    return int.from_bytes(derive(seed, label, 64), "big") % (P256_ORDER - 1) + 1


def serial_number(seed: bytes, label: str) -> int:
    """A certificate serial: 159 bits (positive, at most 20 octets: RFC 5280 section 4.1.2.2), never 0."""
    return (int.from_bytes(derive(seed, label, 20), "big") >> 1) or 1


def etcd_leaf_key_label(epoch: str, role: str) -> str:
    """Label of a leaf certificate's key: ``role`` is ``member/<name>/server``, ``member/<name>/peer``
    or ``client/<common name>``; ``epoch`` (``YYYY-MM-DD``) is part of it, so a new epoch is a new key."""
    return f"{_PREFIX}/etcd-pki/{epoch}/{role}/key"


def registry_leaf_key_label(epoch: str, role: str) -> str:
    """Label of a registry PKI leaf's key (``role``: ``server/<host>``); the epoch is part of it."""
    return f"{_PREFIX}/registry-pki/{epoch}/{role}/key"


def registry_serial_label(epoch: str, role: str, content: str) -> str:
    """Label of a registry PKI certificate's serial (as ``etcd_serial_label``, its own namespace)."""
    return f"{_PREFIX}/registry-pki/{epoch}/{role}/serial/{content}"


PASSWORD_ALPHABET = string.ascii_letters + string.digits
"""Web-console passwords: letters and digits (no quoting trouble in values, env vars or shells)."""
PASSWORD_LENGTH = 24
"""~143 bits: more than any brute force of a login form needs."""
_PASSWORD_CLASSES = (string.ascii_uppercase, string.ascii_lowercase, string.digits)


def password(seed: bytes, label: str, length: int = PASSWORD_LENGTH) -> str:
    """A password of ``length`` letters and digits for ``label`` (one of ``LABELS``' values), with
    at least one upper-case letter, one lower-case letter and one digit (Harbor's password policy):
    the first candidate that has all three, candidates derived with a counter in the label."""
    attempt = 0
    while True:
        candidate = derive_chars(seed, label if attempt == 0 else f"{label}@{attempt}", PASSWORD_ALPHABET, length)
        if all(any(c in group for c in candidate) for group in _PASSWORD_CLASSES):
            return candidate
        attempt += 1


def harbor_admin_password(seed: bytes) -> str:
    """Harbor's initial ``admin`` password (``harborAdminPassword``)."""
    return password(seed, LABELS["harbor_admin_password"])


def harbor_secret_key(seed: bytes) -> str:
    """Harbor's ``secretKey``: exactly 16 characters (it encrypts stored credentials with AES)."""
    return password(seed, LABELS["harbor_secret_key"], 16)


def harbor_robot_secret(seed: bytes) -> str:
    """The secret of Harbor's pull-only robot account (the tenants' image pull secrets)."""
    return password(seed, LABELS["harbor_robot_secret"])


def grafana_admin_password(seed: bytes) -> str:
    """Grafana's ``admin`` password."""
    return password(seed, LABELS["grafana_admin_password"])


def etcd_serial_label(epoch: str, role: str, content: str) -> str:
    """Label of a certificate's serial: the epoch, the role (``ca`` for the CA) and a digest of what
    the certificate says (``content``), so two different certificates never share a serial."""
    return f"{_PREFIX}/etcd-pki/{epoch}/{role}/serial/{content}"


def ssh_host_key_label(hostname: str) -> str:
    """Label of a machine's SSH host key (ed25519): one per hostname, so a rebuilt machine of the
    same name gets the same key and its pin stays valid."""
    return f"{_PREFIX}/ssh/host-key/{hostname}/ed25519"

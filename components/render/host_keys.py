"""Each machine's SSH host key, derived from the stack's seed, and the cloud-init that installs it.

The key is known before the machine exists, so the very first SSH connection already verifies it
(pulumi-command's ``connection.hostKey``) instead of trusting whatever answers on the address. An
ed25519 private key is any 32 bytes (RFC 8032 section 5.1.5), here HKDF of the seed with the
machine's own label (seed.py ``ssh_host_key_label``). cloud-init's ``ssh_keys`` installs it in
place of generated keys (https://cloudinit.readthedocs.io/en/latest/reference/modules.html#ssh,
``<type>_private``/``<type>_public``); ``ssh_genkeytypes: []`` generates no other type, so the
machine offers this key only. The user data holds the private key: it is a secret Output, and
Nova's metadata service serves it to that machine only.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from components.render._common import check_name
from components.render.seed import derive, ssh_host_key_label


@dataclass(frozen=True)
class HostKey:
    """One machine's SSH host key pair."""

    public: str
    """``ssh-ed25519 AAAA...`` (authorized_keys form, no comment): what ``hostKey`` expects."""
    private: str = field(repr=False)
    """The OpenSSH private key file's text: a secret."""


def _string(data: bytes) -> bytes:
    """An SSH wire-format string (RFC 4251 section 5): uint32 length, then the bytes."""
    return struct.pack(">I", len(data)) + data


def _openssh_private(private: bytes, public: bytes, check: bytes) -> str:
    """The unencrypted ``openssh-key-v1`` file (OpenSSH PROTOCOL.key) of an ed25519 key.

    Written here rather than by ``cryptography``, whose serialisation draws the check integer at
    random: the same key must give the same text on every run, or the user data would change.
    """
    kind = b"ssh-ed25519"
    inner = check + check + _string(kind) + _string(public) + _string(private + public) + _string(b"")
    inner += bytes(range(1, 1 + (-len(inner) % 8)))  # padding 1, 2, 3, ... to the 8-byte block
    blob = b"openssh-key-v1\0" + _string(b"none") + _string(b"none") + _string(b"") + struct.pack(">I", 1)
    blob += _string(_string(kind) + _string(public)) + _string(inner)
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 70] for i in range(0, len(text), 70)]
    return "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END OPENSSH PRIVATE KEY-----\n"


def host_key(seed: bytes, hostname: str) -> HostKey:
    """``hostname``'s ed25519 host key from the stack's seed (same seed and name, same key)."""
    check_name(hostname, "host_key.hostname")
    label = ssh_host_key_label(hostname)
    private = derive(seed, label, 32)
    key = Ed25519PrivateKey.from_private_bytes(private)
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    line = key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return HostKey(public=line, private=_openssh_private(private, public, derive(seed, label + "/check", 4)))


def render_host_key_user_data(key: HostKey) -> str:
    """The instance's user data (``#cloud-config``): install ``key`` as the only SSH host key."""
    config = {
        # Keys baked into the image (or left from its build) are removed; none other is generated.
        "ssh_deletekeys": True,
        "ssh_genkeytypes": [],
        "ssh_keys": {"ed25519_private": key.private, "ed25519_public": key.public},
    }
    return "#cloud-config\n" + yaml.safe_dump(config, sort_keys=True)

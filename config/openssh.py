"""OpenSSH public keys: the one check the stack config needs (no Pulumi import).

The stack's Nova key pair comes from ``k8s-platform:sshPublicKey``; a wrong paste (a private key,
a truncated line, a PuTTY export) should stop the program before anything is created, naming the
key, instead of failing in Nova half-way through a deployment.
"""

from __future__ import annotations

import base64
import binascii
import struct

SSH_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)
"""OpenSSH public key algorithms Nova accepts for a key pair (``ssh-keygen -t ed25519`` is the default)."""


def check_ssh_public_key(text: str) -> str:
    """``text`` stripped, if it is one OpenSSH public key; ValueError saying what is wrong otherwise.

    The key blob is decoded and its embedded algorithm name compared with the first field, as
    ``ssh-keygen -l`` would (RFC 4253 section 6.6: string algorithm, then the key data), so a
    truncated paste or a private key is caught before Nova rejects it mid-deployment.
    """
    if "\n" in text.strip():
        raise ValueError("not one OpenSSH public key: expected a single line")
    fields = text.strip().split()
    if len(fields) < 2 or fields[0] not in SSH_KEY_TYPES:
        raise ValueError(
            "not an OpenSSH public key: expected '<type> <base64> [comment]' with type one of "
            + ", ".join(sorted(SSH_KEY_TYPES))
        )
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not an OpenSSH public key: the key data is not base64") from None
    (length,) = struct.unpack(">I", blob[:4]) if len(blob) >= 4 else (0,)
    if blob[4 : 4 + length].decode("ascii", "replace") != fields[0]:
        raise ValueError(f"not an OpenSSH public key: the key data is not a {fields[0]} key (truncated paste?)")
    return " ".join(fields)

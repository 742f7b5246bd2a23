"""Formats of values that both the stack config and the renderers check (pure, imports nothing).

The config's rules reject a bad value before any resource exists, naming its key (config/load.py,
config/rules.py); the renderers' arguments check the same value again when built (components/
render/). One definition here keeps the two from drifting, and it is the only config module a
renderer may import besides the version pins (tests/test_layers.py).

- the stack's secret seed, ``k8s-platform:secretSeed``: 32 random bytes written as 64 hex
  characters; what derives from it is components/render/seed.py, the program reads it as a secret
  Output (components/secret_seed.py);
- where the Kubernetes nodes fetch packages and whom they trust (``nodeSetup``; the node
  preparation script, components/render/node_prep.py): registry hosts, CA certificates, mirror
  URLs, the sandbox image.
"""

from __future__ import annotations

import re

SEED_KEY = "secretSeed"
"""Secret config key (``k8s-platform:secretSeed``) holding the seed."""
SEED_BYTES = 32
"""256 bits: HKDF-SHA256's full strength."""
_SEED_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def seed_problem(text: str) -> str | None:
    """Why ``text`` is not a usable seed (never quoting it), or None."""
    if not _SEED_HEX.match(text.strip()):
        return (
            f"expected {2 * SEED_BYTES} hex characters ({SEED_BYTES} random bytes, e.g. `openssl rand -hex 32`); "
            "`scripts/pulumi <stack> init-secrets` stores a new one"
        )
    return None


def parse_seed(text: str) -> bytes:
    """The seed's bytes; ValueError naming the key (never the value) when malformed."""
    problem = seed_problem(text)
    if problem:
        raise ValueError(f"k8s-platform:{SEED_KEY}: {problem}")
    return bytes.fromhex(text.strip())


_HOST = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(:[0-9]{1,5})?$")
_URL = re.compile(r"^https?://[A-Za-z0-9.:/_~%+-]+$")
_PEM = re.compile(r"^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$")
_IMAGE = re.compile(r"^[a-z0-9.:/_-]+(:[A-Za-z0-9._-]+)?$")

Problem = tuple[str, str]
"""(argument, what is wrong with it): the caller names the argument its own way (a key path, a field)."""


def registry_problem(host: str, ca_pem: str) -> Problem | None:
    """What is wrong with a registry trusted with its own CA: ``host[:port]`` and one PEM certificate."""
    if not _HOST.match(host):
        return "host", f"{host!r} is not host[:port]"
    if not _PEM.match(ca_pem.strip() + "\n"):
        return "ca_pem", f"not one PEM certificate for {host}"
    return None


def node_source_problems(
    apt_repository: str | None, apt_key_url: str | None, artifact_base_url: str | None, sandbox_image: str | None
) -> list[Problem]:
    """What is wrong with the places nodes fetch from (None: the upstream default, always fine)."""
    urls = {"apt_repository": apt_repository, "apt_key_url": apt_key_url, "artifact_base_url": artifact_base_url}
    out = [(n, f"{v!r} is not an http(s) URL") for n, v in urls.items() if v is not None and not _URL.match(v)]
    if apt_repository is not None and not apt_repository.endswith("/"):
        out.append(("apt_repository", "must end with '/' (a flat repository directory)"))
    if sandbox_image is not None and not _IMAGE.match(sandbox_image):
        out.append(("sandbox_image", f"{sandbox_image!r} is not an image reference"))
    return out

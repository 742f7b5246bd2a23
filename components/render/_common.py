"""Shared plumbing of the renderers: one Jinja2 environment and the input validators.

Validation happens in the args dataclasses (``__post_init__``) so a bad value fails when the
program builds its args, naming the field, instead of producing a file the daemon rejects at boot.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parent / "templates"

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    # A missing variable is a bug in the renderer, never an empty string in a production file.
    undefined=StrictUndefined,
    # Config files and shell scripts, not HTML: escaping would corrupt them.
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Every value interpolated into a shell script goes through |shq (POSIX single-quote quoting).
_ENV.filters["shq"] = shlex.quote

GENERATED_HEADER = "Rendered by k8s-platform ({module}); changes made on the host are overwritten."


def render(template: str, module: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``; ``module`` names the source in the header."""
    return _ENV.get_template(template).render(header=GENERATED_HEADER.format(module=module), **context)


_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_PATH = re.compile(r"^/[A-Za-z0-9._/@+-]*$")


def check_name(value: str, field: str) -> None:
    """A DNS label (RFC 1123): member, server and node names end up in URLs, units and configs."""
    if not _NAME.match(value):
        raise ValueError(f"{field}: {value!r} is not a DNS label (a-z, 0-9, '-', at most 63 chars)")


def check_ipv4(value: str, field: str) -> None:
    """A literal IPv4 address (no host names: the configs must not depend on DNS at boot)."""
    try:
        ipaddress.IPv4Address(value)
    except ValueError as error:
        raise ValueError(f"{field}: {value!r} is not an IPv4 address") from error


def check_port(value: int, field: str) -> None:
    if not 1 <= value <= 65535:
        raise ValueError(f"{field}: {value} is not a TCP port (1-65535)")


def check_path(value: str, field: str) -> None:
    """An absolute path of plain characters: rendered unquoted into units and configs."""
    if not _PATH.match(value) or "//" in value or (value != "/" and value.endswith("/")):
        raise ValueError(f"{field}: {value!r} must be an absolute path of [A-Za-z0-9._/@+-]")


def check_positive(value: int, field: str) -> None:
    if value <= 0:
        raise ValueError(f"{field}: {value} must be > 0")


def check_unique(values: list[Any], field: str) -> None:
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field}: {value!r} appears twice")
        seen.add(value)

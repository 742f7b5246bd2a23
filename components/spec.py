"""The whole stack configuration as one typed, validated model (sections in spec_sections.py and
spec_platform.py).

Every key of the ``k8s-platform`` config namespace is parsed here (unknown keys are rejected) and
the cross-field rules in ``components/rules.py`` run before the program registers any resource.
Field names are camelCase in the stack files (Pulumi's convention) and snake_case in Python.
A default is declared once, on its field; the blueprint's numbers are the defaults.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, field_validator

from components import yaml_strict
from components.openssh import check_ssh_public_key
from components.render.seed import SEED_KEY, seed_problem
from components.sizing import Environment
from components.spec_platform import (
    NATIVE_ROUTING,
    ApiEndpointKind,
    ApiEndpointOptions,
    Cni,
    CniPlugin,
    Encapsulation,
    LoggingPipeline,
    NodeSetup,
    OctaviaLbMethod,
    OctaviaMonitor,
    RegistryCa,
    Storage,
    Workload,
)
from components.spec_sections import (
    _DNS_LABEL,
    ETCD_DATA_VOLUME,
    KUBERNETES_ROLES,
    ROLE_SIZING,
    ROLLED_ROLES,
    Address,
    AllocationPool,
    AntiAffinity,
    Cidr,
    DataVolume,
    Duration,
    Etcd,
    EtcdBackup,
    EtcdTopology,
    EvictionSignal,
    Kubelet,
    Kubernetes,
    Limits,
    Network,
    NodePool,
    Quantity,
    ResourceList,
    Role,
    S3Target,
    Taint,
    TaintEffect,
    _Model,
)

NAMESPACE = "k8s-platform"
"""The Pulumi project name, and so the namespace of every config key the program reads."""
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _pki_epoch(value: Any) -> date:
    """A real calendar date, ``YYYY-MM-DD``, not after today (UTC, the certificates' clock)."""
    if isinstance(value, datetime):  # YAML reads `2026-12-01 10:00` as a timestamp
        raise ValueError("expected a date YYYY-MM-DD, not a timestamp")
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a real date (YYYY-MM-DD)") from None
    if not isinstance(value, date):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    today = datetime.now(UTC).date()
    if value > today:
        # Certificates issued from it would not be valid yet ("x509: certificate is not yet valid").
        raise ValueError(f"{value} is in the future (today is {today}, UTC): certificates would not be valid yet")
    return value


PkiEpoch = Annotated[date, BeforeValidator(_pki_epoch)]


class StackSpec(_Model):
    environment: Environment
    """lab, test or prod: the row of the sizing table this stack follows."""
    network: Network
    storage: Storage
    node_pools: dict[str, NodePool]
    """Pools by name; the name is part of every resource name of the pool."""
    kubelet: Kubelet = Kubelet()
    kubernetes: Kubernetes = Kubernetes()
    etcd: Etcd
    cni: Cni = Cni()
    api_endpoint: ApiEndpointKind = ApiEndpointKind.HAPROXY_KEEPALIVED
    api_endpoint_options: ApiEndpointOptions = ApiEndpointOptions()
    """VRRP router id and interface (haproxy-keepalived); provider, algorithm, monitor (octavia)."""
    logging: LoggingPipeline = LoggingPipeline.KAFKA
    node_setup: NodeSetup = NodeSetup()
    """Package mirrors, trusted registries (Harbor CA) and NTP servers of the Kubernetes nodes."""
    workloads: tuple[Workload, ...] = ()
    """Inventory for the capacity plan: apps x replicas x requests."""
    ssh_public_key: str
    """OpenSSH public key (one line, ``ssh-ed25519 AAAA... comment``) installed on every machine as
    the stack's Nova key pair; the bootstrap layer logs in with its private half. Not a secret."""

    ssh_user: str = Field(default="ubuntu", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    """Login user of the images (Ubuntu cloud images: ``ubuntu``); needs passwordless sudo."""
    pki_epoch: PkiEpoch
    """Issue date (``YYYY-MM-DD``, UTC, not in the future) of the etcd certificates: their validity
    starts that day (CA 10 years, leaves 2 years) and their keys and serials derive from it, so the
    same date gives byte-identical certificates and a later date re-issues them (rotation:
    docs/runbooks/secrets.md). No default: each stack states when its certificates were issued."""

    @field_validator("ssh_public_key")
    @classmethod
    def _ssh_public_key(cls, v: str) -> str:
        return check_ssh_public_key(v)

    @field_validator("node_pools")
    @classmethod
    def _pool_names(cls, v: dict[str, NodePool]) -> dict[str, NodePool]:
        for name in v:
            if not _DNS_LABEL.match(name):
                raise ValueError(f"pool name {name!r} must be a DNS label (a-z, 0-9, '-'), <= 32 chars")
        return v

    def pools(self, *roles: Role) -> list[tuple[str, NodePool]]:
        """Pools with one of ``roles`` (all pools when none given), in declaration order."""
        return [(n, p) for n, p in self.node_pools.items() if not roles or p.role in roles]

    def count(self, *roles: Role) -> int:
        """Machines in pools with one of ``roles``."""
        return sum(p.count for _, p in self.pools(*roles))


# --------------------------------------------------------------------------- loading and errors


class SpecError(Exception):
    """The stack config broke one or more rules; ``str()`` is one line per violation."""

    def __init__(self, violations: list[tuple[str, str]]):
        self.violations = violations
        super().__init__("\n".join(f"{path}: {rule}" for path, rule in violations))


def config_path(loc: tuple[Any, ...]) -> str:
    """``("network", "podCidr")`` -> ``k8s-platform:network.podCidr`` (the ``--path`` form)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{NAMESPACE}:{text}"


def _pydantic_violations(error: ValidationError) -> list[tuple[str, str]]:
    out = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if p not in ("function-after",))
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (not part of the config schema; check the spelling)"
        elif item["type"] == "missing":
            message = "required key is missing"
        elif item["type"] == "value_error":  # our own validators' text, without pydantic's prefix
            message = message.removeprefix("Value error, ")
        out.append((config_path(loc), message))
    return out


def _decode(value: Any) -> Any:
    """Pulumi hands structured config values to the program as JSON text."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


SECRET_KEYS: dict[str, str] = {
    SEED_KEY: (
        "the stack's random seed (32 bytes, 64 hex characters): every generated secret derives from it "
        "(components/render/seed.py; created by `scripts/pulumi <stack> init-secrets`)"
    ),
    "sshPrivateKey": "private key the program's SSH steps log in with (default: the operator's ssh-agent)",
    "keepalivedAuthPass": "VRRP password of the API load balancers (default: derived from secretSeed)",
    "etcdBackupS3Credentials": (
        "S3 credentials of the etcd snapshot uploads (etcd.backup.s3) as ACCESS_KEY_ID:SECRET_ACCESS_KEY "
        "(the s3fs passwd-file format; default: the operator provides /etc/etcd/backup-s3.env)"
    ),
}
"""Config keys that hold secrets. They never enter StackSpec (which may be printed or exported):
components read them with ``pulumi.Config().get_secret`` so they stay secret Outputs."""


def parse(
    config: dict[str, Any],
    secret_keys: set[str] | frozenset[str] = frozenset(),
    *,
    seed_required_for: str | None = None,
) -> StackSpec:
    """Validate a ``{"k8s-platform:key": value}`` map (other namespaces ignored).

    ``secret_keys`` lists the full keys the engine holds encrypted; a stack file's ``{secure: ...}``
    values count as encrypted too. ``seed_required_for``: the stack the program runs, which needs
    ``secretSeed`` (a stack file read for the capacity plan does not). Raises SpecError naming each
    offending key path and the rule.
    """
    from components.rules import check  # rules import this module's types

    prefix = NAMESPACE + ":"
    data = {k[len(prefix) :]: _decode(v) for k, v in config.items() if k.startswith(prefix)}
    secret_problems = [
        (config_path((key,)), "holds a secret: set it with `pulumi config set --secret`, never in plain text")
        for key in SECRET_KEYS
        if key in data and f"{prefix}{key}" not in secret_keys and not _is_secure(data[key])
    ]
    secret_problems += _seed_violations(data, {path for path, _ in secret_problems}, seed_required_for)
    for key in SECRET_KEYS:
        data.pop(key, None)
    try:
        spec = StackSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(secret_problems + _pydantic_violations(error)) from None
    violations = secret_problems + check(spec)
    if violations:
        raise SpecError(violations)
    return spec


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _seed_violations(data: dict[str, Any], reported: set[str], stack: str | None) -> list[tuple[str, str]]:
    """The seed missing (when the program needs it) or malformed; the value is never quoted."""
    path = config_path((SEED_KEY,))
    if path in reported:
        return []
    value = data.get(SEED_KEY)
    if value is None:
        if stack is None:
            return []
        return [(path, f"not set: run `scripts/pulumi {stack} init-secrets` (stores the stack's random seed, "
                       "encrypted; docs/runbooks/secrets.md)")]  # fmt: skip
    if _is_secure(value):  # ciphertext of a stack file read directly: checked when the engine decrypts it
        return []
    problem = seed_problem(value) if isinstance(value, str) else "expected a string of hex characters"
    return [(path, problem)] if problem else []


def read_stack_document(path: str | Path) -> dict[str, Any]:
    """A whole ``Pulumi.<stack>.yaml`` document; a key written twice is a SpecError naming it (YAML
    parsers, PyYAML and the CLI's alike, would keep the last one without a word)."""
    try:
        return yaml_strict.load(Path(path).read_text(), str(path)) or {}
    except yaml_strict.DuplicateKeyError as error:
        raise SpecError([(_stack_file_path(d.path), yaml_strict.describe(d)) for d in error.duplicates]) from None


def read_stack_file(path: str | Path) -> dict[str, Any]:
    """The ``config:`` map of a ``Pulumi.<stack>.yaml`` file (see ``read_stack_document``)."""
    return read_stack_document(path).get("config") or {}


def _stack_file_path(path: tuple[str | int, ...]) -> str:
    """A stack file's ``config`` / ``k8s-platform:key`` / ... as the key path (other paths dotted)."""
    prefix = NAMESPACE + ":"
    if len(path) >= 2 and path[0] == "config" and isinstance(path[1], str) and path[1].startswith(prefix):
        return config_path((path[1][len(prefix) :], *path[2:]))
    return yaml_strict.dotted(path)


def load_stack_file(path: str | Path) -> StackSpec:
    """Parse and validate a stack file, as the program does with the engine's config."""
    return parse(read_stack_file(path))


__all__ = [
    "ETCD_DATA_VOLUME",
    "KUBERNETES_ROLES",
    "NAMESPACE",
    "NATIVE_ROUTING",
    "ROLE_SIZING",
    "ROLLED_ROLES",
    "SECRET_KEYS",
    "Address",
    "AllocationPool",
    "AntiAffinity",
    "ApiEndpointKind",
    "ApiEndpointOptions",
    "Cidr",
    "Cni",
    "CniPlugin",
    "DataVolume",
    "Duration",
    "Encapsulation",
    "Etcd",
    "EtcdBackup",
    "EtcdTopology",
    "EvictionSignal",
    "Kubelet",
    "Kubernetes",
    "Limits",
    "LoggingPipeline",
    "Network",
    "NodePool",
    "NodeSetup",
    "OctaviaLbMethod",
    "OctaviaMonitor",
    "PkiEpoch",
    "Quantity",
    "RegistryCa",
    "ResourceList",
    "Role",
    "S3Target",
    "SpecError",
    "StackSpec",
    "Storage",
    "Taint",
    "TaintEffect",
    "Workload",
    "config_path",
    "load_stack_file",
    "parse",
    "read_stack_document",
    "read_stack_file",
]

"""Reading a stack's config: the engine's map or a ``Pulumi.<stack>.yaml`` file, into a StackSpec.

``parse`` validates the model (config/spec.py), keeps secrets out of it, then runs the cross-field
rules (config/rules.py); every problem is a SpecError line naming the config key path. This module
sits above both, so the spec never imports its rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config import yaml_strict
from config.formats import SEED_KEY, seed_problem
from config.rules import check, check_pool_stack
from config.rules_pools import (
    PLATFORM_SECRETS,
    POOL_STACK_KEYS,
    StackOutputs,
    platform_keys,
    platform_pool_stacks,
    pool_stack,
)
from config.rules_rollout import master_removal
from config.spec import NAMESPACE, PoolStackSpec, SpecError, StackSpec, config_path


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


EMPTY_IS_UNSET = ("sshPublicKey", "pkiEpoch", "platformStack")
"""String keys Pulumi.yaml declares with the default ``""``: a platform stack must set the first two,
a pool stack none of them but ``platformStack``, so the CLI may demand neither (an empty object or
list is unset for every key: the spec's field default applies, or a required key is named missing)."""


def parse(
    config: dict[str, Any],
    secret_keys: set[str] | frozenset[str] = frozenset(),
    *,
    seed_required_for: str | None = None,
    deployed: Mapping[str, int] | None = None,
    outputs: StackOutputs | None = None,
) -> StackSpec | PoolStackSpec:
    """Validate a ``{"k8s-platform:key": value}`` map (other namespaces ignored): a platform stack's
    (StackSpec), or a pool stack's when ``platformStack`` is set (PoolStackSpec, docs/scaling.md).

    ``secret_keys`` lists the full keys the engine holds encrypted; a stack file's ``{secure: ...}``
    values count as encrypted too. ``seed_required_for``: the stack the program runs, which needs
    ``secretSeed`` (a stack file read for the capacity plan does not). Raises SpecError naming each
    offending key path and the rule. ``deployed``: pool -> machines the stack runs (its recorded
    ``nodes`` output), for the rules that compare with it (a lower master count); None: unknown.
    ``outputs``: reads any stack's recorded outputs, for the rules across a platform and its pool
    stacks (config/rules_pools.py; with ``seed_required_for`` naming this stack); None: not checked.
    """
    prefix = NAMESPACE + ":"
    data = {k[len(prefix) :]: _decode(v) for k, v in config.items() if k.startswith(prefix)}
    data = {k: v for k, v in data.items() if not _empty(v) and not (k in EMPTY_IS_UNSET and v == "")}
    secret_problems = [
        (config_path((key,)), "holds a secret: set it with `pulumi config set --secret`, never in plain text")
        for key in SECRET_KEYS
        if key in data and f"{prefix}{key}" not in secret_keys and not _is_secure(data[key])
    ]
    secret_problems += _seed_violations(data, {path for path, _ in secret_problems}, seed_required_for)
    platform = data.get("platformStack")
    if platform is not None:
        secret_problems += [
            (config_path((key,)), f"is a secret of the platform stack ({platform}), which a pool stack does not use")
            for key in PLATFORM_SECRETS
            if key in data
        ]
    for key in SECRET_KEYS:
        data.pop(key, None)
    if platform is not None:
        return _parse_pool_stack(data, secret_problems, seed_required_for, outputs)
    try:
        spec = StackSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(secret_problems + _pydantic_violations(error)) from None
    violations = secret_problems + check(spec)
    if not violations and deployed:
        violations = list(master_removal(spec, deployed))
    if not violations and outputs is not None and seed_required_for is not None:
        violations = list(platform_pool_stacks(spec, seed_required_for, outputs(seed_required_for), outputs))
    if violations:
        raise SpecError(violations)
    return spec


def _parse_pool_stack(
    data: dict[str, Any], problems: list[tuple[str, str]], stack: str | None, outputs: StackOutputs | None
) -> PoolStackSpec:
    """A pool stack's config: its own keys only, its own rules, then those against its platform."""
    problems = problems + list(platform_keys(data, str(data["platformStack"])))
    try:
        spec = PoolStackSpec.model_validate({k: v for k, v in data.items() if k in POOL_STACK_KEYS})
    except ValidationError as error:
        raise SpecError(problems + _pydantic_violations(error)) from None
    violations = problems + check_pool_stack(spec)
    if not violations and outputs is not None and stack is not None:
        violations = list(pool_stack(spec, stack, outputs))
    if violations:
        raise SpecError(violations)
    return spec


def _empty(value: Any) -> bool:
    return isinstance(value, dict | list) and not value


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


def load_stack_file(path: str | Path) -> StackSpec | PoolStackSpec:
    """Parse and validate a stack file, as the program does with the engine's config."""
    return parse(read_stack_file(path))

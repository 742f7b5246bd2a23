"""Pulumi.yaml's config block matches the spec, so the real CLI accepts every committed stack file.

The CLI demands a value for every declared key of the project's namespace that has no ``default``
(pkg/workspace/config.go, ``mergeConfig``) and merges declared defaults into the stack config the
program receives. So: keys both kinds of stack require (a platform's StackSpec, a pool stack's
PoolStackSpec) are declared without a default; keys only one of them requires with the empty
default (``{}``, ``""``), which config/load.py reads as unset; optional ones with ``{}`` / ``[]``
(objects, lists: the spec's field defaults apply) or exactly the spec's default (strings); optional
secrets are not declared (a default would be plain text). The real CLI runs the committed
files in tests/engine (every preview goes through scripts/pulumi with this Pulumi.yaml).
"""

from __future__ import annotations

from enum import Enum

import pytest
import yaml
from pydantic import TypeAdapter

from config.load import EMPTY_IS_UNSET, SECRET_KEYS
from config.spec import NAMESPACE, PoolStackSpec, StackSpec
from tests.harness import ROOT, STACKS

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
DECLARED: dict[str, dict] = {key.removeprefix(f"{NAMESPACE}:"): spec for key, spec in PROJECT["config"].items()}
FIELDS = {field.alias: field for field in StackSpec.model_fields.values()}
POOL_FIELDS = {field.alias: field for field in PoolStackSpec.model_fields.values()}
ALL_FIELDS = {**FIELDS, **POOL_FIELDS}
REQUIRED_SECRETS = {"secretSeed"}


def test_project_name_is_the_config_namespace():
    assert PROJECT["name"] == NAMESPACE
    assert all(key.startswith(f"{NAMESPACE}:") for key in PROJECT["config"])


def test_every_spec_key_is_declared_with_a_description():
    assert set(DECLARED) == set(ALL_FIELDS) | REQUIRED_SECRETS
    assert all(spec.get("description") for spec in DECLARED.values())


def test_optional_secrets_are_not_declared_and_required_ones_are_secret():
    assert set(SECRET_KEYS) - REQUIRED_SECRETS, "expected optional secrets in config/spec.py"
    for key in set(SECRET_KEYS) - REQUIRED_SECRETS:
        assert key not in DECLARED, f"{key}: the CLI would demand it, or default it to plain text"
        assert f"{NAMESPACE}:{key}" in (ROOT / "Pulumi.yaml").read_text(), f"{key} is described in a comment"
    for key in REQUIRED_SECRETS:
        assert DECLARED[key].get("secret") is True and "default" not in DECLARED[key]


def _required(fields: dict, key: str) -> bool:
    return key in fields and fields[key].is_required()


@pytest.mark.parametrize("key", sorted(ALL_FIELDS))
def test_a_key_has_a_default_exactly_when_the_spec_has_one(key):
    field, declared = ALL_FIELDS[key], DECLARED[key]
    if _required(FIELDS, key) and _required(POOL_FIELDS, key):
        assert "default" not in declared, f"{key} is required by both kinds of stack: no default in Pulumi.yaml"
        return
    if _required(FIELDS, key) or _required(POOL_FIELDS, key):
        # Required by one kind of stack, absent from the other: the empty default, which parse drops.
        assert declared.get("default") in ({}, ""), f"{key}: one kind of stack lacks it, so its default is empty"
        assert declared["default"] == {} or key in EMPTY_IS_UNSET, f"{key}: config/load.py must read '' as unset"
        return
    assert "default" in declared, f"{key} is optional in the spec: the CLI would demand it without a default"
    default = field.get_default(call_default_factory=True)
    if isinstance(default, Enum | str):
        want = default.value if isinstance(default, Enum) else default
        assert declared["default"] == want, f"{key}: Pulumi.yaml says {declared['default']!r}, the spec {want!r}"
    else:
        # An empty object or list is "unset": parsed by the field, it gives the field's own default.
        assert declared["default"] in ({}, []), f"{key}: objects and lists default to empty (the spec fills them)"
        assert TypeAdapter(field.annotation).validate_python(declared["default"]) == default


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_file_sets_every_required_key(stack):
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    keys = {key.removeprefix(f"{NAMESPACE}:") for key in config}
    missing = {key for key, spec in DECLARED.items() if "default" not in spec} - keys - REQUIRED_SECRETS
    missing |= {key for key, field in FIELDS.items() if field.is_required()} - keys
    assert not missing, f"Pulumi.{stack}.yaml lacks {sorted(missing)}: the CLI refuses the stack"

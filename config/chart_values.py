"""Typed chart values: the base of every add-on's values model, the check of a stack's
``addons.<addon>.values`` override against it, and the merge of the two.

A values model declares the chart keys the program sets (field names in snake_case, the chart's
camelCase keys as aliases) with their types. The program builds an instance from the add-on's
args; the stack may override any declared key (``ChartAddon.values``). ``override_problems``
checks an override key by key (a partial model: only what the override states), so a wrong key
or type fails at config load, naming the key path; ``merged`` applies it and validates the whole.
Keys a model does not declare cannot be overridden: add them to the model (a reviewed change).
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from pydantic.alias_generators import to_camel


class Values(BaseModel):
    """Chart values: unknown keys rejected, camelCase keys, frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, use_attribute_docstrings=True
    )

    def dump(self) -> dict[str, Any]:
        """The values as the chart reads them (aliases, unset optional keys left out)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model class of a field typed ``M`` or ``M | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else None
    return None


def override_problems(model: type[BaseModel], override: Any, loc: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """(key path below the override, what is wrong) for each key of ``override`` that ``model``
    does not declare or whose value has the wrong type (strict: ``"3"`` is not an integer)."""
    if not isinstance(override, dict):
        yield loc, f"expected a map of {model.__name__} keys, got {type(override).__name__}"
        return
    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    for key, value in override.items():
        field = fields.get(key)
        if field is None:
            yield (*loc, key), f"not a key of {model.__name__} ({', '.join(sorted(fields))})"
            continue
        sub = _model_of(field.annotation)
        if sub is not None and isinstance(value, dict):
            yield from override_problems(sub, value, (*loc, key))
            continue
        typ = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        adapter = TypeAdapter(typ)
        try:
            adapter.validate_json(json.dumps(value), strict=True)
        except ValidationError as error:
            for item in error.errors():
                yield (*loc, key, *item["loc"]), item["msg"]


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: maps merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def merged(values: Values, override: dict[str, Any]) -> Values:
    """``values`` with the stack's override applied, validated as a whole."""
    # The full dump (None kept): an optional key the program left unset stays unset.
    return type(values).model_validate(deep_merge(values.model_dump(by_alias=True, mode="json"), override))


# ------------------------------------------------------------------ blocks most charts share


class Toleration(Values):
    """A pod toleration (core/v1 Toleration)."""

    key: str | None = None
    operator: typing.Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: typing.Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None


class ResourceAmounts(Values):
    cpu: str | None = None
    memory: str | None = None


class Resources(Values):
    """A container's requests and limits (core/v1 ResourceRequirements)."""

    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None

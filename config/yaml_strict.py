"""YAML documents read without silently losing a key written twice.

YAML 1.2 requires mapping keys to be unique, but PyYAML (like many parsers) keeps the last value of
a repeated key without a word: a pool written twice in a stack file would quietly replace the first
one. Every reader of a stack file in this project goes through ``load`` so such a file is refused,
naming the key, before anything is planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml


@dataclass(frozen=True)
class DuplicateKey:
    """A mapping key that appears more than once."""

    path: tuple[str | int, ...]
    """Keys and list indices from the document's root down to the repeated key (included)."""
    lines: tuple[int, ...]
    """1-based lines of every occurrence."""


class DuplicateKeyError(ValueError):
    """The document repeats one or more mapping keys; ``duplicates`` lists each."""

    def __init__(self, source: str, duplicates: list[DuplicateKey]):
        self.source = source
        self.duplicates = duplicates
        super().__init__(
            "\n".join(f"{source}: {dotted(d.path)}: {describe(d)}" for d in duplicates),
        )


def describe(duplicate: DuplicateKey) -> str:
    lines = " and ".join(str(n) for n in duplicate.lines)
    return f"key written {len(duplicate.lines)} times (lines {lines}); YAML would keep only the last, remove the others"


def dotted(path: tuple[str | int, ...]) -> str:
    """``("config", "k8s-platform:nodePools", "worker")`` -> ``config.k8s-platform:nodePools.worker``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def duplicates(text: str) -> list[DuplicateKey]:
    """Every repeated mapping key of every document in ``text``, in document order."""
    found: list[DuplicateKey] = []
    for root in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if root is not None:
            _walk(root, (), found)
    return found


def _walk(node: yaml.Node, path: tuple[str | int, ...], found: list[DuplicateKey]) -> None:
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), found)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    seen: dict[str, list[int]] = {}
    for key, value in node.value:
        name = str(key.value) if isinstance(key, yaml.ScalarNode) else key.start_mark.line
        if name == "<<":  # a merge key may repeat; its entries are merged, not replaced
            continue
        seen.setdefault(str(name), []).append(key.start_mark.line + 1)
        _walk(value, (*path, str(name)), found)
    found.extend(DuplicateKey((*path, name), tuple(lines)) for name, lines in seen.items() if len(lines) > 1)


def load(text: str, source: str = "<yaml>") -> Any:
    """``yaml.safe_load(text)``, but a repeated mapping key raises DuplicateKeyError."""
    repeated = duplicates(text)
    if repeated:
        raise DuplicateKeyError(source, repeated)
    return yaml.safe_load(text)

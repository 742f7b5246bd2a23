"""The stack's secret seed (``k8s-platform:secretSeed``) as a secret Output, and what derives from it.

The derivations themselves are pure (components/render/seed.py); this module only reads the seed
from the engine's config, where it is stored encrypted, and keeps every value computed from it a
secret Output (principle 9), so neither the seed nor a derived secret reaches the state or a log in
plain text. The program checks that the seed is set and well-formed before it registers anything
(config.load.parse with ``seed_required_for``), so ``require_secret`` here never fails in practice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pulumi

from config.formats import SEED_KEY, parse_seed
from config.spec import NAMESPACE

T = TypeVar("T")


def stack_seed() -> pulumi.Output[bytes]:
    """The seed's 32 bytes, a secret Output."""
    return pulumi.Output.secret(pulumi.Config(NAMESPACE).require_secret(SEED_KEY).apply(parse_seed))


def derived_secret(derive: Callable[[bytes], T]) -> pulumi.Output[T]:
    """``derive(seed)`` as a secret Output (``derive`` is one of render/seed.py's functions)."""
    return pulumi.Output.secret(stack_seed().apply(derive))

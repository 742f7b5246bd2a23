"""The real Pulumi engine (the CLI from scripts/bootstrap) on a temporary local backend."""

from __future__ import annotations

import pytest

from tests.engine.cli import ROOT, Engine
from tests.harness import STACKS, stack_config

_PREVIEWS: dict = {}


@pytest.fixture(scope="session")
def engine(tmp_path_factory) -> Engine:
    return Engine(tmp_path_factory.mktemp("engine"))


@pytest.fixture(params=STACKS)
def committed_preview(request, engine):
    """``(stack, preview)`` of a committed stack file, with the policy pack; one run per stack."""
    stack = request.param
    if stack not in _PREVIEWS:
        _PREVIEWS[stack] = engine.preview(stack_config(stack), policy_packs=[str(ROOT / "policies")])
    return stack, _PREVIEWS[stack]

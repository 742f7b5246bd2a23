"""Previews of the committed stacks through the project's entry (scripts/pulumi), one per stack."""

from __future__ import annotations

import pytest

from tests.engine.project import Workspace
from tests.harness import STACKS

_PREVIEWS: dict = {}


@pytest.fixture(params=STACKS)
def committed_preview(request, tmp_path_factory, toolchain):
    """``(stack, run)``: scripts/pulumi preview of a committed stack file; one run per stack."""
    stack = request.param
    if stack not in _PREVIEWS:
        # A newcomer's first preview: the committed files in place, no passphrase (a trial stack).
        workspace = Workspace(tmp_path_factory.mktemp(f"preview-{stack}"), in_place=True, passphrase=None)
        _PREVIEWS[stack] = workspace.preview(stack)
    return stack, _PREVIEWS[stack]

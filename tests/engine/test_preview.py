"""The real `pulumi preview` of every stack, with the policy pack, on a local backend, offline.

Needs the whole toolchain (language host and the openstack/command/tls/random provider plugins),
which the Go module proxy of this workplace does not serve (docs/toolchain.md), so these are
deselected by default: run `scripts/test -m engine_full` where scripts/bootstrap completes.
"""

from __future__ import annotations

import pytest

from tests.harness import run_program

pytestmark = [pytest.mark.engine, pytest.mark.engine_full]


def test_preview_succeeds(committed_preview):
    _stack, preview = committed_preview
    assert preview.ok, preview.stderr[-4000:]
    assert preview.diagnostics("error") == []


def test_preview_plans_what_the_mocks_register(committed_preview):
    """One source of truth: the engine plans exactly the types and counts the mock run registers."""
    stack, preview = committed_preview
    assert preview.type_counts() == run_program(stack).type_counts()


def test_policy_pack_was_loaded_and_ran(committed_preview):
    _stack, preview = committed_preview
    assert "k8s-platform-gates" in preview.stdout, preview.stdout[-3000:]
    assert preview.policy_violations() == []

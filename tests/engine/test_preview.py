"""The real `pulumi preview` of every stack, with the policy pack, on a local backend, offline."""

from __future__ import annotations

import pytest

from tests.harness import run_program, stack_config

pytestmark = pytest.mark.engine


def test_preview_succeeds(committed_preview):
    _stack, preview = committed_preview
    assert preview.returncode == 0, preview.stdout[-4000:] + preview.stderr[-4000:]
    assert preview.diagnostics("error") == []


def test_preview_plans_what_the_mocks_register(committed_preview):
    """One source of truth: the engine plans exactly the types and counts the mock run registers."""
    stack, preview = committed_preview
    assert preview.type_counts() == run_program(stack).type_counts()


def test_policy_pack_was_loaded_and_ran(committed_preview):
    _stack, preview = committed_preview
    assert "k8s-platform-gates" in preview.policy_packs_run(), preview.stdout[-3000:]
    assert preview.policy_violations() == []


def test_bad_config_fails_the_preview_naming_the_key_without_traceback(engine):
    preview = engine.preview(stack_config("prod", {"etcd.members": 4}))
    assert preview.returncode != 0
    text = preview.stdout + preview.stderr
    assert "k8s-platform:etcd.members: outside lab etcd runs 3 or 5 members" in text
    assert "Traceback" not in text
    assert preview.type_counts() == {}

"""The real `pulumi preview` of every committed stack through scripts/pulumi: the committed
Pulumi.yaml and stack file, the real CLI, the project's provider plugins and the policy pack."""

from __future__ import annotations

import re

import pytest

from tests.harness import ROOT, run_program

pytestmark = pytest.mark.engine

PACK = "k8s-platform-gates"
POLICIES = set(re.findall(r"^\| `([a-z0-9-]+)` \|", (ROOT / "docs" / "policies.md").read_text(), re.M))
"""The policies docs/policies.md documents: exactly the ones the pack must run."""


def test_preview_succeeds(committed_preview):
    _stack, run = committed_preview
    assert run.ok, run.stderr[-4000:] + run.stdout[-4000:]
    assert run.diagnostics("error") == []
    assert "Traceback" not in run.stdout + run.stderr


def test_preview_plans_what_the_mocks_register(committed_preview):
    """One source of truth: the engine plans exactly the types and counts the mock run registers."""
    stack, run = committed_preview
    assert run.ops().keys() == {"create"}
    assert run.type_counts("create") == run_program(stack).type_counts()


def test_policy_pack_was_loaded_and_every_policy_ran(committed_preview):
    _stack, run = committed_preview
    assert len(POLICIES) == 8, POLICIES
    assert run.policies_run() == {PACK: POLICIES}
    assert run.policy_violations() == []
    # The entry prints the results after the engine's own output.
    results = run.stdout[run.stdout.index("Policy results:") :]
    assert PACK in results and all(name in results for name in POLICIES)


def test_the_readme_preview_writes_the_pr_report(tmp_path, toolchain):
    """`scripts/preview prod --report FILE`: the README's command, its real preview's report."""
    import subprocess

    from tests.engine.project import Workspace

    workspace = Workspace(tmp_path / "ws", in_place=True, passphrase=None)
    report = tmp_path / "report.md"
    done = subprocess.run(
        [str(ROOT / "scripts" / "preview"), "prod", "--report", str(report)],
        env=workspace.env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = report.read_text()
    assert "The preview passes: 0 errors, no mandatory policy violation." in text
    creates = run_program("prod").type_counts()
    # The report counts what the program creates, the add-ons' explicit provider included; the
    # engine's Stack and default providers aside (scripts/report.py engine_own).
    assert f"| create | {sum(creates.values())} |" in text
    assert "Nothing is replaced or deleted." in text
    assert all(f"| {name} | pass |  |" in text for name in POLICIES)
    assert "| worker | 236120m / 889980 MiB / 248 | 7500m / 63812 MiB / 94 | 32 | 32 |" in text
    assert "- Pods: 578 of 150000 (216 workloads + 362 the platform's own; the nodes could hold 4700)" in text

"""scripts/pulumi, the one entry for engine operations: secrets setup, the policy pack on every
preview, its results after the engine's output, and the exit status."""

from __future__ import annotations

import re
import stat
import textwrap
from pathlib import Path

import pytest
import yaml

from scripts.engine import POLICY_CONFIG_DIR, POLICY_DIR, POLICY_LAUNCHER, policy_results, with_our_pack
from tests.engine.deployed import deployed_workspace
from tests.harness import ROOT

SEED = "k8s-platform:secretSeed"


def working_copy(workspace, stack: str) -> dict:
    return yaml.safe_load((workspace.state / "project" / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.mark.engine
def test_first_preview_stores_one_encrypted_seed_and_never_replaces_it(workspace):
    workspace.write_stack("lab")
    first = workspace.preview("lab")
    assert first.ok, first.stderr[-3000:]
    assert "a new random seed is stored" in first.stderr
    stored = working_copy(workspace, "lab")[SEED]
    assert set(stored) == {"secure"}, "the seed is kept encrypted only"
    again = workspace.pulumi("lab", "init-secrets")
    assert again.ok and "kept" in again.stdout
    assert working_copy(workspace, "lab")[SEED] == stored


@pytest.mark.engine
def test_no_new_seed_for_a_stack_that_has_resources(tmp_path, toolchain):
    from tests.engine.project import Workspace

    workspace = deployed_workspace(Workspace(tmp_path / "w"), "test")
    removed = workspace.pulumi("test", "config", "rm", SEED)
    assert removed.ok, removed.stderr
    refused = workspace.pulumi("test", "init-secrets")
    assert refused.code == 2
    assert re.search(r"stack test has \d{3} resources but no k8s-platform:secretSeed", refused.stderr), refused.stderr
    assert "Restore the seed from its backup" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert SEED not in working_copy(workspace, "test")


FAILING_PACK = """
from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy

def _always(args, report):
    report("this test pack rejects every stack")

PolicyPack(name="always-fails", enforcement_level=EnforcementLevel.MANDATORY,
           policies=[StackValidationPolicy(name="reject-everything", description="test", validate=_always)])
"""


@pytest.mark.engine
def test_a_mandatory_violation_fails_the_preview_and_is_reported(workspace, tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\ndescription: test pack\n")
    (pack / "__main__.py").write_text(textwrap.dedent(FAILING_PACK))
    launcher = pack / "run-pack"
    launcher.write_text(f'#!/bin/sh\nexec {ROOT}/policies/venv/bin/python -u -m pulumi.policy "$@" {pack}\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    workspace.write_stack("lab")
    run = workspace.preview("lab", "--policy-pack", str(launcher))
    assert run.code != 0
    violations = run.policy_violations()
    assert [v["policyName"] for v in violations] == ["reject-everything"]
    assert violations[0]["enforcementLevel"] == "mandatory"
    # The project's own pack still ran beside it, and both reach the printed results.
    assert set(run.policies_run()) == {"k8s-platform-gates", "always-fails"}
    results = run.stdout[run.stdout.index("Policy results:") :]
    assert "[mandatory] reject-everything" in results and "this test pack rejects every stack" in results


def test_our_pack_is_passed_once_first_with_the_stacks_config():
    args = ["--diff", "--policy-pack", str(POLICY_DIR), f"--policy-pack={POLICY_LAUNCHER}", "--policy-pack", "/other"]
    config = str(POLICY_CONFIG_DIR / "lab.json")
    assert with_our_pack(args, "lab", False, Path("/none.json")) == [
        "--diff",
        *("--policy-pack", str(POLICY_LAUNCHER), "--policy-pack", "/other"),
        *("--policy-pack-config", config, "--policy-pack-config", "/none.json"),
    ]
    # The official language host runs the pack's directory; a stack without a config file gets none.
    assert with_our_pack([], "nosuchstack", True, Path("/none.json")) == ["--policy-pack", str(POLICY_DIR)]


def test_a_users_policy_config_is_for_our_pack(tmp_path):
    mine = tmp_path / "lower.json"
    got = with_our_pack(["--policy-pack-config", str(mine)], "prod", False, Path("/none.json"))
    assert got == ["--policy-pack", str(POLICY_LAUNCHER), "--policy-pack-config", str(mine)]


def test_policy_results_count_each_policy_and_keep_violations():
    events = [
        {"policyAnalyzeSummaryEvent": {"policyPackName": "p", "policyPackVersion": "1", "passed": ["a", "b"]}},
        {
            "policyAnalyzeSummaryEvent": {
                "policyPackName": "p",
                "policyPackVersion": "1",
                "passed": ["a"],
                "failed": ["b"],
            }
        },
        {"policyAnalyzeStackSummaryEvent": {"policyPackName": "p", "policyPackVersion": "1", "passed": ["s"]}},
        {"policyEvent": {"policyPackName": "p", "policyPackVersion": "1", "policyName": "b", "message": "no"}},
    ]
    result = policy_results(events)["p@1"]
    assert {k: dict(v) for k, v in result["policies"].items()} == {
        "a": {"passed": 2, "failed": 0},
        "b": {"passed": 1, "failed": 1},
        "s": {"passed": 1, "failed": 0},
    }
    assert [v["policyName"] for v in result["violations"]] == ["b"]

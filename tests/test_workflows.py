"""The GitHub workflows (.github/workflows): actionlint with shellcheck on every run: block, and
what they must do for this project: preview each changed stack on a pull request with the policy
pack and the stack's policy config, deploy test then prod behind their environments, one update
per stack at a time, state and passphrase from secrets."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scripts.changed_stacks import changed_stacks, committed_stacks
from tests.engine.cli import toolchain_dir
from tests.harness import ROOT, STACKS

WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+")
"""``owner/repo@vX.Y.Z``: an exact release tag, not a moving major tag or a branch."""
SECRETS = (
    "PULUMI_BACKEND_URL",
    "PULUMI_CONFIG_PASSPHRASE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "OS_AUTH_URL",
    "OS_APPLICATION_CREDENTIAL_ID",
    "OS_APPLICATION_CREDENTIAL_SECRET",
)
"""What docs/pr-previews.md tells the team to store as secrets."""


def load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean True.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").split("@")[0] == action]


def actionlint() -> str:
    """The actionlint of scripts/bootstrap --test-tools (or one on PATH); skips naming what is missing."""
    failed = os.environ.get("K8S_PLATFORM_TOOLCHAIN_FAILED")
    if failed is not None and "actionlint" in failed.split():
        pytest.skip("scripts/bootstrap failed to provide actionlint")
    found = toolchain_dir() / "bin" / "actionlint"
    if found.exists():
        return str(found)
    on_path = shutil.which("actionlint")
    if on_path:
        return on_path
    if failed is not None:  # scripts/test ran the step, so it must be there
        pytest.fail(f"scripts/bootstrap --test-tools reported actionlint but it is not in {found.parent}")
    pytest.skip(f"no actionlint in {found.parent} or on PATH: run scripts/bootstrap --test-tools")


def run_actionlint(files: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    # shellcheck given explicitly: actionlint silently skips run: blocks when it finds none on PATH.
    shellcheck = ROOT / "venv" / "bin" / "shellcheck"
    return subprocess.run(
        [actionlint(), "-shellcheck", str(shellcheck), "-no-color", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


@pytest.mark.realtool
def test_workflows_pass_actionlint_with_shellcheck():
    assert {f.name for f in FILES} == {"preview.yml", "deploy.yml", "up.yml"}
    result = run_actionlint(FILES, ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.realtool
def test_action_inputs_are_the_actions_own(tmp_path):
    """actionlint knows the inputs of popular actions by major tag (``pulumi/actions@v6``), not by the
    exact release pinned here: lint a copy pinned to the majors so that a misspelt input fails."""
    copy = tmp_path / ".github" / "workflows"
    copy.mkdir(parents=True)
    for f in FILES:
        (copy / f.name).write_text(re.sub(r"@(v\d+)\.\d+\.\d+", r"@\1", f.read_text()))
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = run_actionlint(sorted(copy.glob("*.yml")), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_release():
    for f in FILES:
        for uses in re.findall(r"uses:\s*(\S+)", f.read_text()):
            assert uses.startswith("./") or PINNED.fullmatch(uses), f"{f.name}: {uses} is not pinned to vX.Y.Z"


def test_changed_stacks_are_the_committed_stack_files():
    stacks = committed_stacks()
    assert stacks == sorted(STACKS) == sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))
    for program_path in (
        "__main__.py",
        "components/platform.py",
        "config/spec.py",
        "planning/capacity.py",
        "policies/sizing.py",
        "scripts/engine.py",
    ):
        assert changed_stacks([program_path], stacks) == stacks, program_path
    assert changed_stacks(["Pulumi.prod.yaml", "docs/stacks.md"], stacks) == ["prod"]
    assert changed_stacks(["policies/config/lab.json"], stacks) == ["lab"]
    assert changed_stacks(["Pulumi.staging.yaml"], stacks) == [], "a deleted stack file has nothing to preview"
    assert changed_stacks(["README.md", "tests/test_spec.py", "bench/preview.py"], stacks) == []
    # The script as the workflow's `changes` job runs it: the runner's python3, paths on stdin.
    out = subprocess.run(
        ["python3", str(ROOT / "scripts" / "changed_stacks.py")],
        input="docs/capacity.md\nPulumi.test.yaml\nPulumi.lab.yaml\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == '["lab","test"]\n'


def test_preview_runs_each_changed_stack_with_the_pack_its_config_and_the_report():
    workflow = load("preview.yml")
    assert "pull_request" in workflow["on"]
    changes, preview = workflow["jobs"]["changes"], workflow["jobs"]["preview"]
    assert any("scripts/changed_stacks.py" in s.get("run", "") for s in changes["steps"])
    assert changes["outputs"]["stacks"] == "${{ steps.changed.outputs.stacks }}"
    assert preview["needs"] == "changes"
    assert preview["strategy"]["matrix"] == {"stack": "${{ fromJSON(needs.changes.outputs.stacks) }}"}
    assert preview["strategy"]["fail-fast"] is False
    assert "needs.changes.outputs.stacks != '[]'" in preview["if"]

    runs = [s for s in steps_using(preview, "pulumi/actions") if s.get("with", {}).get("command")]
    assert len(runs) == 1
    inputs = runs[0]["with"]
    assert inputs["command"] == "preview" and inputs["stack-name"] == "${{ matrix.stack }}"
    assert inputs["comment-on-pr"] is True
    assert inputs["policyPacks"] == "policies"
    assert inputs["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
    assert inputs["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"

    report = [s for s in preview["steps"] if "--report" in s.get("run", "")]
    assert [s["run"] for s in report] == ['scripts/preview "$STACK" --report report.md']
    assert preview["env"]["STACK"] == "${{ matrix.stack }}"
    (sticky,) = steps_using(preview, "marocchino/sticky-pull-request-comment")
    assert sticky["with"] == {"header": "preview-${{ matrix.stack }}", "path": "report.md"}
    assert preview["steps"].index(report[0]) < preview["steps"].index(sticky)
    _secrets_from_github(preview)


def test_pool_stacks_of_a_platform_are_the_files_naming_it(tmp_path):
    from scripts.changed_stacks import pool_stacks_of

    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  k8s-platform:environment: prod\n")
    (tmp_path / "Pulumi.prod-pool-a.yaml").write_text("config:\n  k8s-platform:platformStack: prod\n")
    (tmp_path / "Pulumi.prod-pool-b.yaml").write_text('config:\n  k8s-platform:platformStack: "prod"\n')
    (tmp_path / "Pulumi.test-pool.yaml").write_text("config:\n  k8s-platform:platformStack: test\n")
    assert pool_stacks_of("prod", tmp_path) == ["prod-pool-a", "prod-pool-b"]
    assert pool_stacks_of("test", tmp_path) == ["test-pool"] and pool_stacks_of("lab", tmp_path) == []
    assert pool_stacks_of("prod") == [], "no pool stack is committed (docs/scaling.md shows one)"


def test_deploy_updates_test_then_prod_behind_their_environments():
    workflow = load("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    jobs = dict(workflow["jobs"])
    listing, pools = jobs.pop("pool-stacks"), jobs.pop("prod-pools")
    assert {name: job["with"]["stack"] for name, job in jobs.items()} == {"test": "test", "prod": "prod"}
    assert all(job["uses"] == "./.github/workflows/up.yml" and job["secrets"] == "inherit" for job in jobs.values())
    assert jobs["prod"]["needs"] == "test"
    assert set(j["with"]["stack"] for j in jobs.values()) <= set(committed_stacks())
    # prod's pool stacks after prod, in parallel, each through the same up.yml as its own environment.
    assert listing["needs"] == "prod" and "--pool-stacks-of prod" in listing["steps"][-1]["run"]
    assert pools["needs"] == "pool-stacks" and pools["uses"] == "./.github/workflows/up.yml"
    assert pools["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.pool-stacks.outputs.stacks) }}"
    assert pools["with"]["stack"] == "${{ matrix.stack }}" and pools["secrets"] == "inherit"

    up_workflow = load("up.yml")
    assert set(up_workflow["on"]) == {"workflow_call"}
    (up,) = up_workflow["jobs"].values()
    # The environment is the stack: prod's required reviewers (repository settings) gate prod's up.
    assert up["environment"] == "${{ inputs.stack }}"
    assert up["concurrency"] == {"group": "pulumi-up-${{ inputs.stack }}", "cancel-in-progress": False}
    # A preview with the pack gates the up: the action's up skips its own preview, and a stack
    # policy would judge the stack only after the changes.
    gate, run = [s for s in steps_using(up, "pulumi/actions") if s.get("with", {}).get("command")]
    assert (gate["with"]["command"], run["with"]["command"]) == ("preview", "up")
    for step in (gate, run):
        assert step["with"]["stack-name"] == "${{ inputs.stack }}"
        assert step["with"]["policyPacks"] == "policies"
        assert step["with"]["policyPackConfigs"] == "policies/config/${{ inputs.stack }}.json"
        assert step["with"]["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
    _secrets_from_github(up)


def _secrets_from_github(job: dict) -> None:
    """The state backend, its S3 credentials, the passphrase and the cloud's application credential
    come from the repository's (or the environment's) secrets, never from the workflow file."""
    for name in SECRETS:
        assert job["env"][name] == f"${{{{ secrets.{name} }}}}", name


def test_docs_name_every_secret_the_workflows_read():
    docs = (ROOT / "docs" / "pr-previews.md").read_text()
    read = set()
    for f in FILES:
        read |= set(re.findall(r"secrets\.([A-Z_]+)", f.read_text())) - {"GITHUB_TOKEN"}
    assert read == set(SECRETS)
    assert [name for name in SECRETS if f"`{name}`" not in docs] == []

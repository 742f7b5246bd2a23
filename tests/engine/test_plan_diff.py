"""scripts/plan-diff between two commits of a throwaway clone, through the real engine; the diff
itself on hand-made steps.

The expected resources come from the program under mocks (tests/harness.py), not from plan-diff's
own reading of the engine: the names a config change adds or removes there are the ones the two
real previews must differ by, and nothing else may differ.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from scripts.plan_diff import changed_paths, diff_steps
from tests.harness import ROOT, run_program

PLAN_DIFF = ROOT / "scripts" / "plan-diff"
OTHER_IMAGE = "0c1d3a55-7e3e-4a1c-9a5e-5b8d0d2c4f10"
LINE = re.compile(r"^([+~-]) (urn:pulumi:\S+?)(?:: (.*))?$")


def _env() -> dict[str, str]:
    # Nothing of the caller's backend, passphrase or cloud (plan-diff drops them too; this makes sure).
    return {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "OS_")) or k == "PULUMI_HOME"}


def _git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=plan-diff test", "-c", "user.email=plan-diff@test.invalid"]
    return subprocess.run(["git", "-C", str(repo), *identity, *args], check=True, capture_output=True, text=True).stdout


def _commit(repo: Path, stack: str, old: str, new: str, message: str) -> str:
    path = repo / f"Pulumi.{stack}.yaml"
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path.name}"
    path.write_text(text.replace(old, new))
    _git(repo, "commit", "-q", "-am", message)
    return _git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A clone of this repository's HEAD with two commits on top: ``base`` (HEAD as committed),
    ``more`` (a fourth worker in the test stack), ``image`` (``more`` with another worker image)."""
    repo = tmp_path_factory.mktemp("plan-diff") / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
    commits = {"base": _git(repo, "rev-parse", "HEAD").strip()}
    pool = "    worker:\n      role: worker\n      count: {}\n"
    commits["more"] = _commit(repo, "test", pool.format(3), pool.format(4), "test: a fourth worker")
    worker = (repo / "Pulumi.test.yaml").read_text().split("    worker:\n", 1)[1].split("    ingress:\n", 1)[0]
    image = re.search(r"image: (\S+)", worker).group(1)
    commits["image"] = _commit(repo, "test", worker, worker.replace(image, OTHER_IMAGE), "test: another worker image")
    return repo, commits


def plan_diff(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(PLAN_DIFF), *args], cwd=repo, env=_env(), capture_output=True, text=True, timeout=900)


def parse(stdout: str) -> dict[str, dict[str, str]]:
    """``+``/``-``/``~`` -> {urn: what changed}; every other line must be the header or the summary."""
    out: dict[str, dict[str, str]] = {"+": {}, "-": {}, "~": {}}
    lines = stdout.splitlines()
    assert lines[0].startswith("plan-diff test: ") and re.fullmatch(r"\d+ appear, .* unchanged.*", lines[-1])
    for line in lines[1:-1]:
        match = LINE.match(line)
        assert match, line
        out[match.group(1)][match.group(2)] = match.group(3) or ""
    return out


def names(urns) -> set[tuple[str, str]]:
    """(type, name) of each URN: the mock harness builds parent chains differently."""
    return {(urn.split("::")[-2].split("$")[-1], urn.split("::")[-1]) for urn in urns}


PLATFORM = ("k8splatform:index:Platform", "platform")


def platform_paths(diff: dict) -> list[str]:
    (what,) = [what for urn, what in diff["~"].items() if urn.endswith("::platform")]
    return what.removeprefix("inputs ").split(", ")


def expected_new_workers() -> set[tuple[str, str]]:
    base, more = run_program("test"), run_program("test", {"nodePools.worker.count": 4})
    return names(r.urn for r in more.resources) - names(r.urn for r in base.resources)


@pytest.mark.engine
def test_a_new_worker_appears_and_nothing_else_changes(clone, toolchain):
    repo, commits = clone
    run = plan_diff(repo, commits["base"], commits["more"], "test")
    assert run.returncode == 0, run.stderr[-3000:]
    diff = parse(run.stdout)
    expected = expected_new_workers()
    assert {name for _, name in expected} >= {"platform-iaas-pool-worker-4", "platform-iaas-pool-worker-4-port"}
    assert names(diff["+"]) == expected
    assert diff["-"] == {}
    # Beside them only the capacity plan the Platform exposes to the policy pack (a component input).
    assert names(diff["~"]) == {PLATFORM}
    assert all(path.startswith("capacityPlan.") for path in platform_paths(diff))
    assert "capacityPlan.total_nodes" in platform_paths(diff)
    appear = [line for line in run.stdout.splitlines() if line.startswith("+ ")]
    assert appear == sorted(appear)
    assert run.stdout.splitlines()[-1].startswith(f"{len(expected)} appear, 0 disappear, 1 change, ")
    assert "Traceback" not in run.stderr


@pytest.mark.engine
def test_going_back_removes_the_worker_and_names_the_changed_input(clone, toolchain):
    repo, commits = clone
    run = plan_diff(repo, commits["image"], commits["base"], "test")
    assert run.returncode == 0, run.stderr[-3000:]
    diff = parse(run.stdout)
    assert names(diff["-"]) == expected_new_workers()
    assert diff["+"] == {}
    # The image is each worker's boot volume source; nothing else of the workers changes (and the
    # Platform's capacity plan counts one worker fewer).
    assert names(diff["~"]) == {PLATFORM} | {
        ("openstack:compute/instance:Instance", f"platform-iaas-pool-worker-{i}") for i in (1, 2, 3)
    }
    workers = {urn: what for urn, what in diff["~"].items() if "Instance::" in urn}
    assert set(workers.values()) == {"inputs blockDevices[0].uuid"}
    assert OTHER_IMAGE not in run.stdout, "values are never printed, only key names"


def test_unknown_ref_and_unknown_stack_are_one_line_errors(clone):
    repo, commits = clone
    for args, message in [
        (("no-such-ref", commits["base"], "test"), "unknown git ref 'no-such-ref'"),
        ((commits["base"], "HEAD", "staging"), "has no Pulumi.staging.yaml (stacks there: lab, prod, test)"),
        (("HEAD", "test"), "usage: scripts/plan-diff <git-ref-a> <git-ref-b> <stack>"),
    ]:
        run = plan_diff(repo, *args)
        assert run.returncode == 2 and run.stdout == ""
        assert run.stderr.startswith("scripts/plan-diff: error: ") and message in run.stderr, run.stderr
        assert "Traceback" not in run.stderr


def test_changed_paths_name_nested_keys_and_skip_the_bridge_defaults():
    a = {"__defaults": ["x"], "name": "n", "metadata": {"k8s-platform.role": "worker"}, "ports": [{"cidr": "a"}]}
    b = {"__defaults": [], "name": "n", "metadata": {"k8s-platform.role": "gpu"}, "ports": [{"cidr": "b"}], "new": 1}
    assert list(changed_paths(a, b)) == ['metadata["k8s-platform.role"]', "new", "ports[0].cidr"]
    assert list(changed_paths({"l": [1]}, {"l": [1, 2]})) == ["l"]
    assert list(changed_paths(a, a)) == []


def test_diff_steps_by_urn_with_options():
    def step(urn, protect=False, **inputs):
        return {"urn": urn, "newState": {"inputs": inputs, **({"protect": True} if protect else {})}}

    a = [step("u:gone"), step("u:same", size=1), step("u:vol", size=1)]
    b = [step("u:vol", protect=True, size=2), step("u:same", size=1), step("u:new")]
    diff = diff_steps(a, b)
    assert (diff.appear, diff.disappear, diff.unchanged) == (["u:new"], ["u:gone"], 1)
    assert diff.changed == {"u:vol": (["size"], ["protect"])}

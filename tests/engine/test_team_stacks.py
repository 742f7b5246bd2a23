"""Pulumi-native stacks (scripts/stacks.py): the committed stack file holds the whole config, its
secrets as ciphertext; operators and CI share the backend and the passphrase, never generated here.

Clones are copies of this checkout (its files as they are now, venvs shared) in temporary
directories; "committing" a stack file is copying the clone that changed it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.engine.deployed import build_deployment
from tests.engine.project import Workspace
from tests.harness import NAMESPACE, ROOT, SEED_KEY, TEST_SEED

pytestmark = pytest.mark.engine

STACK = "test"
SEED = f"{NAMESPACE}:{SEED_KEY}"
TEAM_PASSPHRASE = "the-team-passphrase-from-its-secret-store"
SKIP = shutil.ignore_patterns(".git", "venv", ".state", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache")


def clone(source: Path, dest: Path) -> Path:
    """Another checkout of ``source`` (its files, not its venvs or state), using this checkout's venvs."""
    shutil.copytree(source, dest, ignore=SKIP, symlinks=True)
    for venv in ("venv", "policies/venv"):
        (dest / venv).unlink(missing_ok=True)
        (dest / venv).symlink_to(ROOT / venv)
    return dest


def stack_document(checkout: Path) -> dict:
    return yaml.safe_load((checkout / f"Pulumi.{STACK}.yaml").read_text())


@pytest.fixture(scope="module")
def team(tmp_path_factory, toolchain):
    """Operator A's clone after initialising the stack (salt and the team's seed in the stack file)
    and deploying it (the fictive ``up`` of tests/engine/deployed.py) to the shared backend."""
    tmp = tmp_path_factory.mktemp("team")
    backend = tmp / "backend"
    backend.mkdir()
    url = f"file://{backend}"
    a = clone(ROOT, tmp / "a")
    ws = Workspace(tmp / "ws-a", checkout=a, in_place=True, passphrase=TEAM_PASSPHRASE, backend=url)
    seeded = ws.pulumi(STACK, "config", "set", "--secret", SEED, stdin=TEST_SEED)
    assert seeded.ok, seeded.stderr
    deployment = tmp / "deployment.json"
    deployment.write_text(json.dumps(build_deployment(ws, STACK)))
    imported = ws.pulumi(STACK, "stack", "import", "--file", str(deployment))
    assert imported.ok, imported.stderr
    return tmp, a, url, ws


def test_the_stack_file_holds_the_salt_and_only_ciphertext(team):
    _tmp, a, _url, _ws = team
    document = stack_document(a)
    assert document["encryptionsalt"].startswith("v1:")
    assert set(document["config"][SEED]) == {"secure"}
    assert TEST_SEED not in (a / f"Pulumi.{STACK}.yaml").read_text()
    # Every committed value is still there, unchanged; the seed is the only key added.
    committed = stack_document(ROOT)["config"]
    assert {k: v for k, v in document["config"].items() if k != SEED} == committed


def test_a_second_clone_with_the_backend_and_passphrase_plans_no_change(team):
    tmp, a, url, _ws = team
    b = clone(a, tmp / "b")
    run = Workspace(tmp / "ws-b", checkout=b, in_place=True, passphrase=TEAM_PASSPHRASE, backend=url).preview(STACK)
    assert run.ok, run.stderr[-3000:] + run.stdout[-2000:]
    assert run.program_steps(), "the deployed stack's resources are all in the plan"
    assert run.changed() == {}, run.changed()  # same seed, same PKI, same tokens
    assert "a new random seed" not in run.stderr
    assert (b / f"Pulumi.{STACK}.yaml").read_text() == (a / f"Pulumi.{STACK}.yaml").read_text()


@pytest.mark.parametrize("command", [("preview",), ("up", "--yes"), ("config", "get", SEED)])
def test_a_clone_without_the_passphrase_is_refused_and_changes_nothing(team, command):
    tmp, a, url, ws = team
    c = clone(a, tmp / f"c-{command[0]}")
    before_file = (c / f"Pulumi.{STACK}.yaml").read_bytes()
    before_state = ws.pulumi(STACK, "stack", "export").stdout
    run = Workspace(tmp / f"ws-c-{command[0]}", checkout=c, in_place=True, passphrase=None, backend=url).pulumi(
        STACK, *command
    )
    assert run.code == 2
    assert "PULUMI_CONFIG_PASSPHRASE" in run.stderr and "Nothing was changed" in run.stderr
    assert "Traceback" not in run.stderr
    assert (c / f"Pulumi.{STACK}.yaml").read_bytes() == before_file
    assert ws.pulumi(STACK, "stack", "export").stdout == before_state


def test_a_wrong_passphrase_fails_naming_it(team):
    tmp, a, url, _ws = team
    d = clone(a, tmp / "d")
    run = Workspace(tmp / "ws-d", checkout=d, in_place=True, passphrase="not-the-team-one", backend=url).preview(STACK)
    assert not run.ok
    assert "passphrase" in run.stderr.lower() and "Traceback" not in run.stderr
    assert (d / f"Pulumi.{STACK}.yaml").read_text() == (a / f"Pulumi.{STACK}.yaml").read_text()


def test_a_newcomers_first_preview_is_a_trial_that_changes_nothing_committed(tmp_path, toolchain):
    checkout = clone(ROOT, tmp_path / "newcomer")
    before = {p.name: p.read_bytes() for p in checkout.glob("Pulumi*.yaml")}
    ws = Workspace(tmp_path / "ws", checkout=checkout, in_place=True, passphrase=None)
    run = ws.preview("prod")
    assert run.ok, run.stderr[-3000:]
    assert {p.name: p.read_bytes() for p in checkout.glob("Pulumi*.yaml")} == before
    explained = run.stderr[run.stderr.index("==> trial preview") :]
    for need in ("PULUMI_CONFIG_PASSPHRASE", "init-secrets", "sshPrivateKey", "etcdBackupS3Credentials", "OS_CLOUD"):
        assert need in explained, need
    # The trial's throwaway passphrase, seed and backend live in the state directory, said so.
    assert str(ws.state / "trial") in explained
    assert (ws.state / "trial" / "passphrase").stat().st_mode & 0o077 == 0
    refused = ws.pulumi("prod", "up", "--yes")
    assert refused.code == 2 and "PULUMI_CONFIG_PASSPHRASE" in refused.stderr

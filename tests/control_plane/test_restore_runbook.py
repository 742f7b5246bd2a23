"""The etcd restore runbook says what the program installs (issue 16, item 6): the restore script
on the etcd members only, so a master of an external etcd parks and restores its apiserver manifest
with the runbook's own commands, at the paths the script (lab) uses."""

from __future__ import annotations

import re

import pytest

from components.control_plane.etcd_cluster import RESTORE_PATH
from components.render.etcd_restore import EtcdRestoreArgs
from tests.control_plane.endpoint_etcd_mocks import decode_payload, etcd_members, plain, run
from tests.harness import ROOT, STACKS

RUNBOOK = (ROOT / "docs" / "runbooks" / "etcd-restore.md").read_text()
COMMAND = "command:remote:Command"


def carriers(stack: str) -> tuple[set[str], set[str]]:
    """Names of the SSH steps whose pushed files include the restore script, and the etcd members."""
    program = run(stack)
    out = set()
    for step in program.of_type(COMMAND):
        stdin = plain(step.inputs.get("stdin"))
        is_payload = isinstance(stdin, str) and stdin and all(len(x.split(" ", 3)) == 4 for x in stdin.splitlines())
        if is_payload and RESTORE_PATH in decode_payload(stdin):
            out.add(step.name)
    return out, {m["name"] for m in etcd_members(program)}


@pytest.mark.parametrize("stack", STACKS)
def test_the_restore_script_is_installed_on_every_etcd_member_and_nowhere_else(stack):
    steps, members = carriers(stack)
    assert steps == {f"platform-etcd-{member}-backup" for member in members}


def test_the_runbook_says_where_the_script_is_and_gives_the_masters_their_own_commands():
    row = next(line for line in RUNBOOK.splitlines() if line.startswith("| restore script |"))
    assert "every etcd member" in row and "and every master" not in row
    assert "**not** on the masters of an external etcd" in row
    manifest = EtcdRestoreArgs.__dataclass_fields__["apiserver_manifest"].default
    parked = EtcdRestoreArgs.__dataclass_fields__["apiserver_parked"].default
    step1 = RUNBOOK.split("## Step 1", 1)[1].split("## Step 2", 1)[0]
    step4 = RUNBOOK.split("## Step 4", 1)[1].split("## Verify", 1)[0]
    assert f"mv {manifest} {parked}" in step1
    assert f"mv {parked} {manifest}" in step4
    # The script is offered to the lab's master only (where it exists), never as every master's step.
    for step in (step1, step4):
        assert not re.search(r"every master\*\*:\s*```sh\s*etcd-restore", step)

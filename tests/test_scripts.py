"""The project's own shell scripts pass shellcheck; the stack-config working copy keeps local state."""

from __future__ import annotations

import subprocess

import pytest

from scripts.stacks import merged
from tests.harness import ROOT

SCRIPTS = sorted(
    p for p in [*ROOT.joinpath("scripts").rglob("*"), ROOT / ".ci" / "run"] if p.is_file() and p.suffix in ("", ".sh")
)


@pytest.mark.realtool
@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_script_passes_shellcheck(script):
    shellcheck = ROOT / "venv" / "bin" / "shellcheck"
    result = subprocess.run(
        [str(shellcheck), "-x", "--severity=style", str(script)], cwd=script.parent, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_working_copy_keeps_salt_and_local_secrets_but_committed_values_win():
    committed = {"config": {"k8s-platform:environment": "prod", "k8s-platform:logging": "kafka"}}
    local = {
        "encryptionsalt": "v1:abc",
        "config": {
            "k8s-platform:environment": "lab",
            "k8s-platform:sshPrivateKey": {"secure": "v1:xyz"},
            "k8s-platform:stale": "plain values are not carried over",
        },
    }
    assert merged(committed, local) == {
        "encryptionsalt": "v1:abc",
        "config": {
            "k8s-platform:environment": "prod",
            "k8s-platform:logging": "kafka",
            "k8s-platform:sshPrivateKey": {"secure": "v1:xyz"},
        },
    }

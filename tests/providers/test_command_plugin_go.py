"""The Go tests of providers/command (the project's own command:remote:Command plugin), run
against real OpenSSH servers they start on 127.0.0.1 (see providers/command/README.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.sshd import MISSING, sshd_binary

MODULE = Path(__file__).resolve().parents[2] / "providers" / "command"

pytestmark = pytest.mark.realtool


def test_go_tests_of_the_command_plugin_pass():
    go = shutil.which("go")
    assert go, "go is not on PATH: the command plugin is a Go module (see README.md)"
    if sshd_binary() is None:
        pytest.skip(MISSING)  # the Go tests would only skip themselves
    # -count=1: never a cached result, the tests are about the real sshd on this machine.
    env = {**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false"}
    proc = subprocess.run(
        [go, "test", "-count=1", "./..."], cwd=MODULE, env=env, capture_output=True, text=True, timeout=1800
    )
    failed = [line for line in proc.stdout.splitlines() if line.startswith(("--- FAIL", "FAIL"))]
    assert proc.returncode == 0, f"go test ./... in {MODULE} failed: {failed}\n{proc.stdout}\n{proc.stderr}"

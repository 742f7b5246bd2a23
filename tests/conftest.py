"""Shared fixtures: the program under Pulumi mocks, once per stack, reusable by every component test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.harness import STACKS, ProgramRun, run_program  # noqa: E402

_RUNS: dict[str, ProgramRun] = {}


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    """Each committed stack in turn: lab, test, prod."""
    return request.param


@pytest.fixture
def program(stack: str) -> ProgramRun:
    """The committed stack's program run under mocks (cached: runs are read-only)."""
    if stack not in _RUNS:
        _RUNS[stack] = run_program(stack)
    return _RUNS[stack]


@pytest.fixture
def cluster(tmp_path: Path):
    """A running 3-member TLS etcd cluster on loopback (tests/render/etcd_cluster.py); every
    process it started is killed afterwards."""
    from tests.render.etcd_cluster import Cluster

    etcd = Cluster(tmp_path / "etcd")
    try:
        etcd.start_all()
        yield etcd
    finally:
        etcd.kill_everything()


# ------------------------------------------------------------------------ the real engine (tests/engine)


@pytest.fixture(scope="session")
def toolchain() -> None:
    """Skips (naming what is missing) when the CLI or the program's provider plugins are not there."""
    from tests.engine.project import PLUGINS, missing_toolchain

    reason = missing_toolchain(*PLUGINS)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def engine(tmp_path_factory, toolchain):
    """The real CLI for inline programs of the tests' own (Automation API, tests/engine/cli.py)."""
    from tests.engine.cli import Engine

    return Engine(tmp_path_factory.mktemp("engine"))


@pytest.fixture
def workspace(tmp_path, toolchain):
    """An empty workspace for scripts/pulumi: its own stack files, backend and passphrase."""
    from tests.engine.project import Workspace

    return Workspace(tmp_path / "workspace")


@pytest.fixture(scope="session")
def kubeadm() -> str:
    """The kubeadm binary of the pinned version, built (or found cached) by scripts/build-kubeadm
    (tests/render/test_kubeadm_real.py, tests/control_plane/test_kubeadm_cluster.py)."""
    result = subprocess.run([str(ROOT / "scripts" / "build-kubeadm")], capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        pytest.fail(f"scripts/build-kubeadm failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip().splitlines()[-1]

"""Shared fixtures: the program under Pulumi mocks, once per stack, reusable by every component test."""

from __future__ import annotations

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

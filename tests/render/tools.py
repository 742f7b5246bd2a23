"""Helpers of the real-tool tests: finding programs, free ports, bounded waits, the etcd PKI, results.

A missing program is a failure, never a skip: CI installs them (scripts/system-packages for the
Debian ones, requirements-dev.txt for shellcheck), so a missing one means a broken machine.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from components.render.etcd_pki import MemberIdentity, PkiScope, build_etcd_pki

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")
PKI_TEST_SEED = bytes.fromhex("7e57" * 16)
"""The real-tool tests' seed (a test value, nothing deployed uses it)."""


# shellcheck's optional checks every rendered script is held to. Left out on purpose: the ones that
# flag deliberate idioms (functions in `if`/`||`, `$(date)` inside a string) or pure style (braces
# around every variable).
SHELLCHECK_OPTIONAL = (
    "add-default-case",
    "avoid-negated-conditions",
    "avoid-nullary-conditions",
    "check-unassigned-uppercase",
    "deprecate-which",
    "quote-safe-variables",
    "require-double-brackets",
    "useless-use-of-cat",
)


def shellcheck(script: Path) -> subprocess.CompletedProcess:
    """The real shellcheck on a bash script, style level, with the optional checks above."""
    return subprocess.run(
        [
            tool("shellcheck"),
            "--shell=bash",
            "--severity=style",
            f"--enable={','.join(SHELLCHECK_OPTIONAL)}",
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def tool(name: str) -> str:
    """Absolute path of a program the test needs; fails the test when it is not installed."""
    venv_bin = Path(os.environ.get("VIRTUAL_ENV", ROOT / "venv")) / "bin"
    path = os.pathsep.join([os.environ.get("PATH", ""), str(venv_bin), *_SBIN])
    found = shutil.which(name, path=path)
    if not found:
        pytest.fail(f"{name} is not installed: run scripts/system-packages (Debian) / pip -r requirements-dev.txt")
    return found


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll ``condition`` until true; fail after ``timeout`` seconds. Returns the monotonic time."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return time.monotonic()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def make_pki(
    directory: Path, members: tuple[str, ...] = ("etcd-0",), epoch: date | None = None, seed: bytes = PKI_TEST_SEED
) -> dict[str, Path]:
    """The project's etcd PKI (components/render/etcd_pki.py) for ``members`` on 127.0.0.1, as files.

    The same certificates the program pushes to the members: each member's serving and peer
    certificate (SANs: its name, localhost, 127.0.0.1), the healthcheck client (``client_*``, what
    etcdctl uses on the members) and the apiserver client. ``epoch`` defaults to 30 days ago, so
    a test can still issue a later epoch (rotation). Keys: ``ca``, ``client_cert``/``client_key``,
    ``apiserver_cert``/``apiserver_key``, ``<member>/server_cert`` (also ``_key``, ``peer_cert``,
    ``peer_key``), and ``server_cert``/``server_key``/``peer_cert``/``peer_key`` of the first member.
    """
    directory.mkdir(parents=True, exist_ok=True)
    epoch = epoch or datetime.now(UTC).date() - timedelta(days=30)
    identities = tuple(MemberIdentity(name, "127.0.0.1") for name in members)
    pki = build_etcd_pki(seed, PkiScope("k8s-platform-test", epoch), identities)
    files: dict[str, Path] = {}

    def write(key: str, name: str, text: str, mode: int = 0o644) -> None:
        path = directory / name
        path.write_text(text)
        path.chmod(mode)
        files[key] = path

    write("ca", "ca.crt", pki.ca_cert)
    for prefix, issued in (("client", pki.healthcheck_client), ("apiserver", pki.apiserver_client)):
        write(f"{prefix}_cert", f"{prefix}.crt", issued.cert)
        write(f"{prefix}_key", f"{prefix}.key", issued.key, 0o600)
    for name, certs in pki.members.items():
        for role, issued in (("server", certs.server), ("peer", certs.peer)):
            write(f"{name}/{role}_cert", f"{name}-{role}.crt", issued.cert)
            write(f"{name}/{role}_key", f"{name}-{role}.key", issued.key, 0o600)
    for kind in ("server_cert", "server_key", "peer_cert", "peer_key"):
        files[kind] = files[f"{members[0]}/{kind}"]
    return files


def write_result(name: str, data: dict) -> Path:
    """Write a benchmark result to bench/results/<name>.json (git-ignored) and print it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n{path.relative_to(ROOT)}: {json.dumps(data, sort_keys=True)}")
    return path


def validate(kubeadm: str, text: str, tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return subprocess.run(
        [kubeadm, "config", "validate", "--config", str(path)], capture_output=True, text=True, timeout=60
    )


def assert_valid(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "ok" in output.lower(), output
    for bad in ("unknown field", "strict decoding", "deprecated", "WARNING"):
        assert bad not in output, output

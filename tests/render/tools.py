"""Helpers of the real-tool tests: finding programs, free ports, bounded waits, test PKI, results.

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
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
_SBIN = ("/usr/local/sbin", "/usr/sbin", "/sbin")


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


def make_pki(directory: Path) -> dict[str, Path]:
    """A CA and server/peer/client certificates for 127.0.0.1 and localhost, made with openssl.

    Server and peer certificates carry serverAuth and clientAuth (etcd peers use theirs both ways,
    like kubeadm's etcd certificates). EC P-256 keys: fast to generate.
    """
    openssl = tool("openssl")
    directory.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True, timeout=30)

    run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2", "-subj", "/CN=k8s-platform-test-ca",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-out", "ca.crt")  # fmt: skip
    usages = {"server": "serverAuth,clientAuth", "peer": "serverAuth,clientAuth", "client": "clientAuth"}
    for name, usage in usages.items():
        (directory / f"{name}.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage={usage}\n"
        )
        run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key")
        run("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={name}", "-out", f"{name}.csr")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-sha256", "-extfile", f"{name}.ext", "-out", f"{name}.crt")  # fmt: skip
    files = {"ca": directory / "ca.crt"}
    for name in usages:
        files[f"{name}_cert"] = directory / f"{name}.crt"
        files[f"{name}_key"] = directory / f"{name}.key"
    return files


def write_result(name: str, data: dict) -> Path:
    """Write a benchmark result to bench/results/<name>.json (git-ignored) and print it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n{path.relative_to(ROOT)}: {json.dumps(data, sort_keys=True)}")
    return path

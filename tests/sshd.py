"""A real OpenSSH server for tests (Debian's openssh-server).

``Sshd(directory, role=...)`` runs ``sshd -D -E <log> -f <config>`` on a free 127.0.0.1 port with
its own host keys, ``authorized_keys`` and log under ``directory``; use it as a context manager (or
call ``stop()``) so the process is killed. Every session gets ``SSHD_ROLE=<role>`` (sshd's
``SetEnv``), so a test can tell on which server a command ran, e.g. a target behind a bastion.
The Go tests of providers/command have their own copy of this in Go (internal/sshdtest).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
MISSING = "sshd is not installed (Debian package openssh-server; scripts/system-packages installs it)"


def sshd_binary() -> str | None:
    """Absolute path of sshd (it re-executes itself and refuses relative paths), or None."""
    for path in SSHD_PATHS:
        if os.access(path, os.X_OK):
            return path
    found = shutil.which("sshd")
    return found if found and os.path.isabs(found) else None


def require_sshd() -> str:
    """sshd's path; skips the calling test, saying why, when there is none."""
    path = sshd_binary()
    if path is None:
        pytest.skip(MISSING)
    return path


@dataclass(frozen=True)
class ClientKey:
    path: Path
    private: str
    public: str
    """authorized_keys line"""


def new_client_key(directory: Path, name: str = "id_ed25519") -> ClientKey:
    """A fresh passphrase-less ed25519 key made by ssh-keygen."""
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)], check=True)
    return ClientKey(path, path.read_text(), (directory / f"{name}.pub").read_text().strip())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers_ssh(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.settimeout(2)
            return s.recv(8).startswith(b"SSH-")
    except OSError:
        return False


@dataclass
class Sshd:
    directory: Path
    role: str = "target"
    authorized_keys: list[str] = field(default_factory=list)
    extra_config: list[str] = field(default_factory=list)
    port: int = 0
    host_keys: dict[str, str] = field(default_factory=dict)
    """key type -> public key, authorized_keys format (what ``connection.hostKey`` takes)"""
    _process: subprocess.Popen | None = None

    @property
    def user(self) -> str:
        return getpass.getuser()

    @property
    def log_path(self) -> Path:
        return self.directory / "sshd.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 15) -> Sshd:
        binary = require_sshd()
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # Debian's service creates sshd's privilege separation directory; we never start it.
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        for kind in ("ed25519", "rsa"):
            key = self.directory / f"host_{kind}"
            if not key.exists():
                subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(key)], check=True)
            self.host_keys[kind] = key.with_suffix(".pub").read_text().strip()
        keys = self.directory / "authorized_keys"
        keys.write_text("".join(f"{k}\n" for k in self.authorized_keys))
        self.port = self.port or free_port()
        config = self.directory / "sshd_config"
        config.write_text("\n".join([*self._config(keys), *self.extra_config]) + "\n")
        self.log_path.unlink(missing_ok=True)
        self._process = subprocess.Popen(
            [binary, "-D", "-E", str(self.log_path), "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                raise RuntimeError(f"sshd exited with {self._process.returncode}: {err}\n{self.log()}")
            if _answers_ssh(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd did not answer on 127.0.0.1:{self.port} within {timeout}s\n{self.log()}")

    def _config(self, keys: Path) -> list[str]:
        return [
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.directory / 'host_ed25519'}",
            f"HostKey {self.directory / 'host_rsa'}",
            "PidFile none",
            f"AuthorizedKeysFile {keys}",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "AcceptEnv PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR TEST_*",
            f"SetEnv SSHD_ROLE={self.role}",
            "AllowTcpForwarding yes",
            "X11Forwarding no",
            "PrintMotd no",
            "UseDNS no",
            # DEBUG1 logs direct-tcpip channels (a bastion's forwards) and keep-alive requests.
            "LogLevel DEBUG1",
        ]

    def stop(self) -> None:
        """Kill sshd and its per-connection processes (one process group)."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=10)
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None

    def __enter__(self) -> Sshd:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

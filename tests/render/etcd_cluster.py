"""A real etcd cluster on loopback, started from the units this project renders.

By default the Debian packages' etcd 3.4 runs (offline snapshot commands through etcdctl); with
``K8S_PLATFORM_ETCD_BIN=<dir>`` the same tests run another build, such as the 3.6 pinned in
``config/versions.py``, whose etcdctl no longer has them (the scripts then use etcdutl). Such a
build comes from the Go module proxy: a scratch module requiring ``go.etcd.io/etcd/{server,etcdctl,
etcdutl}/v3`` at the pinned version, with ``etcdmain.Main(os.Args)``, etcdctl's ``main.go`` and
etcdutl's ``main.go``/``ctl.go`` as its three commands (``go install ...@v3.x`` refuses these modules
because of their ``replace`` directives).

``systemctl`` is played by ``svc``, a small script that starts a member with exactly the argv of
its rendered unit's ``ExecStart`` (parsed, never re-typed) and stops it with SIGTERM; the restore
script calls it through its configurable start/stop commands. Every process started is recorded
so the fixture can kill whatever is left, whatever the test did.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from components.render.etcd import EtcdClientTls, EtcdMemberArgs, EtcdPeer, EtcdServerTls, render_etcd_unit
from tests.render.tools import free_port, make_pki, tool, wait_until

ETCD_BIN_ENV = "K8S_PLATFORM_ETCD_BIN"
"""Directory with etcd, etcdctl and etcdutl to test instead of the Debian packages (3.4, no etcdutl)."""

SVC = r"""#!/usr/bin/env bash
# Stand-in for systemctl: start/stop one etcd member of the test cluster.
set -euo pipefail
dir="$(dirname "$0")"
action=$1 member=$2
echo "$action $member" >>"$dir/calls.log"
pidfile="$dir/$member.pid"
alive() { [[ -r /proc/$1/stat ]] && [[ "$(cut -d ' ' -f 3 "/proc/$1/stat")" != Z ]]; }
case $action in
  start)
    setsid "$dir/$member.exec" >>"$dir/$member.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    echo $! >>"$dir/all.pids"
    ;;
  stop)
    if [[ -f "$pidfile" ]]; then
      pid="$(cat "$pidfile")"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    fi
    ;;
esac
"""


def exec_start(unit: str) -> list[str]:
    """argv of a systemd unit's ExecStart (line continuations joined, shell-style words)."""
    joined = re.sub(r"\\\n", " ", unit)
    lines = [line for line in joined.splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1, "exactly one ExecStart"
    return shlex.split(lines[0].removeprefix("ExecStart="))


@dataclass
class Cluster:
    root: Path
    size: int = 3
    token: str = "k8s-platform-test"
    pki: dict[str, Path] = field(init=False)
    members: list[EtcdMemberArgs] = field(init=False)

    def __post_init__(self) -> None:
        override = os.environ.get(ETCD_BIN_ENV)
        if override:
            # Another etcd build, e.g. the version pinned for the nodes built from the Go module proxy.
            self.etcd, self.etcdctl_bin, self.etcdutl_bin = (
                str(Path(override) / name) for name in ("etcd", "etcdctl", "etcdutl")
            )
            for binary in (self.etcd, self.etcdctl_bin, self.etcdutl_bin):
                assert os.access(binary, os.X_OK), f"{ETCD_BIN_ENV}: {binary} is not an executable"
        else:
            self.etcd = tool("etcd")
            self.etcdctl_bin = tool("etcdctl")
            self.etcdutl_bin = shutil.which("etcdutl") or "/usr/bin/etcdutl"  # absent on etcd 3.4
        names = tuple(f"etcd-{i}" for i in range(self.size))
        # The program's own PKI (components/render/etcd_pki.py): each member its own certificates.
        self.pki = make_pki(self.root / "pki", names)
        self.svc_dir = self.root / "svc"
        self.svc_dir.mkdir()
        self.svc = self.svc_dir / "svc"
        self.svc.write_text(SVC)
        self.svc.chmod(0o755)
        (self.svc_dir / "calls.log").touch()
        cluster = tuple(EtcdPeer(name, "127.0.0.1", client_port=free_port(), peer_port=free_port()) for name in names)
        self.client_tls = EtcdClientTls(
            ca_file=str(self.pki["ca"]), cert_file=str(self.pki["client_cert"]), key_file=str(self.pki["client_key"])
        )
        self.members = []
        for peer in cluster:
            volume = self.root / peer.name  # stands in for the data volume's mount point
            volume.mkdir()
            member = EtcdMemberArgs(
                member=peer.name,
                cluster=cluster,
                cluster_token=self.token,
                data_dir=str(volume / "default.etcd"),
                tls=self.server_tls(peer.name),
                binary=self.etcd,
                user=None,
                metrics_port=free_port(),
            )
            argv = exec_start(render_etcd_unit(member))
            launcher = self.svc_dir / f"{peer.name}.exec"
            launcher.write_text(f"#!/bin/sh\nexec {shlex.join(argv)}\n")
            launcher.chmod(0o755)
            self.members.append(member)

    def server_tls(self, member: str) -> EtcdServerTls:
        """The member's certificate files (the same paths whatever epoch they hold)."""
        return EtcdServerTls(
            ca_file=str(self.pki["ca"]),
            cert_file=str(self.pki[f"{member}/server_cert"]),
            key_file=str(self.pki[f"{member}/server_key"]),
            peer_cert_file=str(self.pki[f"{member}/peer_cert"]),
            peer_key_file=str(self.pki[f"{member}/peer_key"]),
        )

    @property
    def endpoints(self) -> str:
        return ",".join(p.client_url for p in self.members[0].cluster)

    def svc_command(self, action: str, member: str) -> str:
        return f"{self.svc} {action} {member}"

    def calls(self) -> list[str]:
        return (self.svc_dir / "calls.log").read_text().splitlines()

    def start_all(self) -> None:
        for member in self.members:
            subprocess.run([str(self.svc), "start", member.member], check=True, timeout=10)
        self.wait_healthy(60)

    def stop_all(self) -> None:
        for member in self.members:
            subprocess.run([str(self.svc), "stop", member.member], check=True, timeout=30)

    def etcdctl(
        self,
        *args: str,
        endpoints: str | None = None,
        stdin: str | None = None,
        timeout: float = 60,
        tls: EtcdClientTls | None = None,
    ):
        """etcdctl with the cluster's client certificate (or ``tls``'s files)."""
        tls = tls or self.client_tls
        command = [
            self.etcdctl_bin,
            f"--endpoints={endpoints or self.endpoints}",
            f"--cacert={tls.ca_file}",
            f"--cert={tls.cert_file}",
            f"--key={tls.key_file}",
            *args,
        ]
        env = {**os.environ, "ETCDCTL_API": "3"}
        return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout, env=env)

    def healthy(self) -> bool:
        return self.etcdctl("endpoint", "health", "--cluster", timeout=20).returncode == 0

    def wait_healthy(self, timeout: float) -> float:
        return wait_until(self.healthy, timeout, "every etcd member healthy", interval=0.5)

    def load(self, count: int, prefix: str = "/k8s-platform-test/", batch: int = 128) -> dict[str, str]:
        """Put ``count`` keys with transactions of ``batch`` puts (etcd's default --max-txn-ops)."""
        data = {f"{prefix}key-{i:05d}": f"value-{i:05d}-" + "x" * 200 for i in range(count)}
        items = list(data.items())
        for start in range(0, count, batch):
            puts = "".join(f"put {k} {v}\n" for k, v in items[start : start + batch])
            result = self.etcdctl("txn", stdin=f"\n{puts}\n\n")
            assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stderr
        return data

    def dump(self, prefix: str = "/k8s-platform-test/") -> dict[str, str]:
        result = self.etcdctl("get", "--prefix", prefix, timeout=120)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        return dict(zip(lines[0::2], lines[1::2], strict=True))

    def kill_everything(self) -> None:
        """Teardown: SIGKILL every etcd this cluster ever started that is still running."""
        pids = self.svc_dir / "all.pids"
        if not pids.exists():
            return
        for line in pids.read_text().split():
            pid = int(line)
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(self.etcd.encode() + b"\0"):  # not a recycled pid
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)

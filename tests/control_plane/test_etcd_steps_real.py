"""The etcd members' removal and health steps against a real 3-member TLS etcd cluster on loopback.

The cluster comes from tests/render/etcd_cluster.py (the units this project renders). The steps run
as registered, except for three paths a test machine cannot offer: etcdctl's install path, the
certificate directory (``/etc/etcd/pki``) and ``systemctl`` (a recorder on PATH).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from components.control_plane.etcd_scripts import ETCD_HEALTH, ETCD_MEMBER_REMOVE
from components.control_plane.remote_scripts import command_line, script
from components.render.etcd import PKI_DIR
from tests.render.etcd_cluster import Cluster

pytestmark = pytest.mark.realtool


def _run(cluster: Cluster, body: str, values: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    text = script(body, values)
    text = text.replace("/usr/local/bin/etcdctl", cluster.etcdctl_bin)
    for name, path in (
        ("ca.crt", cluster.client_tls.ca_file),
        ("etcdctl.crt", cluster.client_tls.cert_file),
        ("etcdctl.key", cluster.client_tls.key_file),
    ):
        text = text.replace(f"{PKI_DIR}/{name}", path)
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    (stubs / "systemctl").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/systemctl.log\n')
    (stubs / "systemctl").chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"}
    argv = shlex.split(command_line(text))[2:]  # without sudo -n
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


def _remove(cluster: Cluster, index: int, tmp_path: Path, wait_s: int = 60) -> subprocess.CompletedProcess:
    member = cluster.members[index]
    values = {
        "MEMBER": member.member,
        "PEER_URL": member.peer.peer_url,
        "ENDPOINTS": cluster.endpoints,
        "DATA_DIR": member.data_dir,
        "WAIT_S": wait_s,
    }
    return _run(cluster, ETCD_MEMBER_REMOVE, values, tmp_path)


def _names(cluster: Cluster) -> list[str]:
    result = cluster.etcdctl("member", "list", "-w", "simple")
    assert result.returncode == 0, result.stderr
    return sorted(line.split(", ")[2] for line in result.stdout.splitlines())


def test_removal_removes_exactly_its_member_and_retires_its_data(cluster: Cluster, tmp_path: Path) -> None:
    result = _remove(cluster, 1, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "removed etcd-1" in result.stdout
    assert _names(cluster) == ["etcd-0", "etcd-2"]
    data_dir = Path(cluster.members[1].data_dir)
    assert not data_dir.exists() and list(data_dir.parent.glob("default.etcd.removed-*"))
    assert (tmp_path / "systemctl.log").read_text().splitlines() == [
        "disable --now etcd-backup.timer",
        "disable --now etcd",
    ]
    # The remaining members pass the health step; running the removal again changes nothing.
    rest = [m.peer for m in cluster.members if m.member != "etcd-1"]
    health = {
        "ENDPOINTS": ",".join(p.client_url for p in rest),
        "PEER_URLS": " ".join(p.peer_url for p in rest),
        "WAIT_S": 60,
    }
    checked = _run(cluster, ETCD_HEALTH, health, tmp_path)
    assert checked.returncode == 0, checked.stderr
    again = _remove(cluster, 1, tmp_path)
    assert again.returncode == 0 and "already removed" in again.stdout


def test_the_last_member_is_not_removed(cluster: Cluster, tmp_path: Path) -> None:
    assert _remove(cluster, 2, tmp_path).returncode == 0
    assert _remove(cluster, 1, tmp_path).returncode == 0
    last = _remove(cluster, 0, tmp_path)
    assert last.returncode == 0, last.stderr
    assert "last member" in last.stdout
    assert _names(cluster) == ["etcd-0"]


def test_without_quorum_the_removal_fails_and_keeps_the_machine(cluster: Cluster, tmp_path: Path) -> None:
    for index in (1, 2):
        subprocess.run([str(cluster.svc), "stop", cluster.members[index].member], check=True, timeout=30)
    result = _remove(cluster, 0, tmp_path, wait_s=10)
    assert result.returncode == 1
    assert "could not remove etcd-0" in result.stderr and "the machine is kept" in result.stderr
    assert Path(cluster.members[0].data_dir).exists()
    assert not (tmp_path / "systemctl.log").exists()


def test_health_fails_while_a_member_is_down(cluster: Cluster, tmp_path: Path) -> None:
    subprocess.run([str(cluster.svc), "stop", cluster.members[2].member], check=True, timeout=30)
    peers = [m.peer for m in cluster.members]
    health = {
        "ENDPOINTS": ",".join(p.client_url for p in peers),
        "PEER_URLS": " ".join(p.peer_url for p in peers),
        "WAIT_S": 1,
    }
    result = _run(cluster, ETCD_HEALTH, health, tmp_path)
    assert result.returncode == 1
    assert "did not become healthy" in result.stderr

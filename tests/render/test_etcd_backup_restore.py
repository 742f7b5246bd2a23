"""The project's backup and restore scripts against a real 3-member TLS etcd cluster on loopback.

The cluster runs with the flags of the rendered units; the scripts are the rendered scripts, with
only their machine-specific settings (paths, ports, the start/stop commands) pointed at the test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from components.render.etcd_backup import (
    LAST_SIZE_METRIC,
    LAST_SUCCESS_METRIC,
    LAST_UPLOAD_METRIC,
    METRIC_FILE,
    UPLOAD_METRIC_FILE,
    EtcdBackupArgs,
    S3Upload,
    render_backup_script,
)
from components.render.etcd_restore import EXIT_REFUSED, EtcdRestoreArgs, render_restore_script
from tests.render.etcd_cluster import Cluster
from tests.render.tools import tool, write_result

KEYS = 10_000

pytestmark = pytest.mark.realtool


def backup_script(cluster: Cluster, directory: Path, **overrides) -> Path:
    peer = cluster.members[0].peer
    args = EtcdBackupArgs(
        member=peer.name,
        endpoint=peer.client_url,
        tls=cluster.client_tls,
        backup_dir=str(directory),
        etcdctl=cluster.etcdctl_bin,
        etcdutl=cluster.etcdutl_bin,
        **{"textfile_dir": str(directory.parent / "textfile"), **overrides},
    )
    path = cluster.root / f"etcd-backup-{len(list(cluster.root.glob('etcd-backup-*')))}.sh"
    path.write_text(render_backup_script(args))
    path.chmod(0o755)
    return path


def restore_script(cluster: Cluster, index: int | None, apiserver: Path | None = None) -> Path:
    """The restore script of member ``index`` (None: a master without etcd)."""
    member = cluster.members[index] if index is not None else None
    name = member.member if member else "master"
    args = EtcdRestoreArgs(
        cluster=cluster.members[0].cluster,
        member=member,
        tls=cluster.client_tls,
        etcdctl=cluster.etcdctl_bin,
        etcdutl=cluster.etcdutl_bin,
        stop_etcd_command=cluster.svc_command("stop", name),
        start_etcd_command=cluster.svc_command("start", name),
        apiserver_manifest=str(apiserver / "manifests" / "kube-apiserver.yaml") if apiserver else None,
        apiserver_parked=str(apiserver / "kube-apiserver.yaml") if apiserver else "/etc/kubernetes/kube-apiserver.yaml",
        # Stand-in for the kubelet: "kube-apiserver runs" while its manifest is in the manifest dir.
        apiserver_running_command=f"test -f {apiserver}/manifests/kube-apiserver.yaml" if apiserver else "false",
        wait_s=60,
    )
    path = cluster.root / f"etcd-restore-{name}.sh"
    path.write_text(render_restore_script(args))
    path.chmod(0o755)
    return path


def run(script: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=timeout)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(directory: Path) -> dict[str, int]:
    """Relative path -> inode of everything under ``directory``: a replaced file gets a new inode."""
    return {str(p.relative_to(directory)): p.stat().st_ino for p in sorted(directory.rglob("*"))}


def cluster_id(cluster: Cluster) -> int:
    result = cluster.etcdctl("endpoint", "status", "--write-out=json")
    assert result.returncode == 0, result.stderr
    ids = {status["Status"]["header"]["cluster_id"] for status in json.loads(result.stdout)}
    assert len(ids) == 1, ids
    return ids.pop()


def revision(cluster: Cluster) -> int:
    result = cluster.etcdctl("endpoint", "status", "--write-out=json")
    assert result.returncode == 0, result.stderr
    return max(status["Status"]["header"]["revision"] for status in json.loads(result.stdout))


def test_backup_and_whole_cluster_restore(cluster: Cluster, tmp_path: Path) -> None:
    old_cluster_id = cluster_id(cluster)
    started = time.monotonic()
    data = cluster.load(KEYS)
    load_s = time.monotonic() - started

    started = time.monotonic()
    result = run(backup_script(cluster, tmp_path / "backups"))
    backup_s = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    snapshot = Path(result.stdout.strip())
    assert snapshot.is_file() and snapshot.name.startswith("etcd-etcd-0-")
    snapshot_revision = revision(cluster)  # nothing written since the backup
    assert (snapshot.parent / f"{snapshot.name}.sha256").read_text() == f"{sha256(snapshot)}  {snapshot.name}\n"
    assert not list(snapshot.parent.glob(".*")), "no temporary files left behind"

    # The master parks kube-apiserver first (runbook step 1).
    kubernetes = tmp_path / "kubernetes"
    (kubernetes / "manifests").mkdir(parents=True)
    (kubernetes / "manifests" / "kube-apiserver.yaml").write_text("kind: Pod\n")
    master = restore_script(cluster, None, apiserver=kubernetes)
    result = run(master, "stop-apiserver")
    assert result.returncode == 0, result.stderr
    assert (kubernetes / "kube-apiserver.yaml").exists()

    # Disaster: every member down; two data dirs gone, the third damaged in place.
    cluster.stop_all()
    for member in cluster.members[:2]:
        shutil.rmtree(member.data_dir)
    damaged = Path(cluster.members[2].data_dir)
    (damaged / "member" / "snap" / "db").write_bytes(b"not a bbolt database")

    # Runbook step 2 on every member, then step 3.
    calls_before = len(cluster.calls())
    started = time.monotonic()
    member_s = []
    bumps = os.access(cluster.etcdutl_bin, os.X_OK)  # etcdutl (>= 3.5.x) bumps; 3.4's etcdctl cannot
    for index in range(len(cluster.members)):
        member_started = time.monotonic()
        result = run(restore_script(cluster, index), "restore", str(snapshot))
        member_s.append(round(time.monotonic() - member_started, 3))
        assert result.returncode == 0, result.stderr
        said = "restoring with --bump-revision=1000000000 --mark-compacted" if bumps else "cannot bump revisions"
        assert said in result.stderr, result.stderr
    result = run(restore_script(cluster, 0), "health")
    restore_s = time.monotonic() - started
    assert result.returncode == 0, result.stderr

    # Step 4: the master waits for etcd health and puts kube-apiserver back.
    result = run(master, "start-apiserver")
    assert result.returncode == 0, result.stderr
    assert (kubernetes / "manifests" / "kube-apiserver.yaml").exists()
    assert not (kubernetes / "kube-apiserver.yaml").exists()

    # Revisions: bumped past everything a watcher saw before (and the old ones compacted) where the
    # tool can; otherwise the snapshot's own revision, which the runbook's restarts make up for.
    restored_revision = revision(cluster)
    if bumps:
        assert restored_revision >= snapshot_revision + 1_000_000_000
        old_read = cluster.etcdctl("get", "/k8s-platform-test/", "--prefix", f"--rev={snapshot_revision}")
        assert old_read.returncode != 0 and "compacted" in old_read.stderr, old_read
    else:
        assert snapshot_revision <= restored_revision < 1_000_000_000

    started = time.monotonic()
    assert cluster.dump() == data, "every key is back with its value"
    verify_s = time.monotonic() - started
    assert cluster.healthy()
    members = cluster.etcdctl("member", "list").stdout.splitlines()
    assert sorted(line.split(", ")[2] for line in members) == ["etcd-0", "etcd-1", "etcd-2"]
    assert cluster.etcdctl("put", "/after-restore", "ok").returncode == 0, "the restored cluster takes writes"
    assert cluster_id(cluster) != old_cluster_id, "a new logical cluster: old members cannot rejoin it"
    # The damaged data dir was moved aside, never deleted: the roll-back is still there.
    aside = list(damaged.parent.glob("default.etcd.bak-*"))
    assert len(aside) == 1 and (aside[0] / "member" / "snap" / "db").read_bytes() == b"not a bbolt database"
    # Each member: its own etcd stopped only after its snapshot restored, then started again.
    assert cluster.calls()[calls_before:] == [f"{a} etcd-{i}" for i in range(3) for a in ("stop", "start")]

    write_result(
        "etcd-restore",
        {
            "etcd": subprocess.run([cluster.etcd, "--version"], capture_output=True, text=True).stdout.split("\n")[0],
            "members": len(cluster.members),
            "keys": len(data),
            "value_bytes": len(next(iter(data.values()))),
            "load_s": round(load_s, 3),
            "snapshot_bytes": snapshot.stat().st_size,
            "backup_s": round(backup_s, 3),
            "restore_per_member_s": member_s,
            "restore_to_healthy_s": round(restore_s, 3),
            "verify_all_keys_s": round(verify_s, 3),
        },
    )


def test_damaged_snapshot_is_refused_and_nothing_changes(cluster: Cluster, tmp_path: Path) -> None:
    cluster.load(200)
    result = run(backup_script(cluster, tmp_path / "backups"))
    assert result.returncode == 0, result.stderr
    good = Path(result.stdout.strip())
    checksum = good.parent / f"{good.name}.sha256"

    flipped = tmp_path / "flipped.db"  # one byte changed, the original checksum kept
    blob = bytearray(good.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    flipped.write_bytes(bytes(blob))
    shutil.copy(checksum, f"{flipped}.sha256")

    truncated = tmp_path / "truncated.db"  # half a file with a matching checksum: status must fail
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    Path(f"{truncated}.sha256").write_text(f"{sha256(truncated)}  truncated.db\n")

    unchecked = tmp_path / "unchecked.db"  # a good file without its checksum
    shutil.copy(good, unchecked)

    data_dir = Path(cluster.members[0].data_dir)
    before_tree, before_inode = tree(data_dir), data_dir.stat().st_ino
    before_volume = sorted(p.name for p in data_dir.parent.iterdir())
    calls_before = cluster.calls()
    script = restore_script(cluster, 0)
    for candidate, reason in ((flipped, "checksum mismatch"), (truncated, "snapshot status"), (unchecked, "missing")):
        result = run(script, "restore", str(candidate))
        assert result.returncode == EXIT_REFUSED, (candidate, result.stderr)
        assert reason in result.stderr
        assert run(script, "verify", str(candidate)).returncode == EXIT_REFUSED

    assert cluster.calls() == calls_before, "etcd was never stopped or started"
    assert data_dir.stat().st_ino == before_inode and tree(data_dir) == before_tree, "data dir untouched"
    assert sorted(p.name for p in data_dir.parent.iterdir()) == before_volume, "no staging or moved-aside dirs"
    assert cluster.healthy() and len(cluster.dump()) == 200
    assert run(script, "verify", str(good)).returncode == 0


def test_backup_keeps_the_newest_and_uploads(cluster: Cluster, tmp_path: Path) -> None:
    cluster.load(50)
    bucket = tmp_path / "bucket"
    log = tmp_path / "rclone.log"
    rclone = tmp_path / "rclone"
    # Stand-in for rclone: records its arguments, copies "remote:bucket/path" into a directory.
    rclone.write_text(
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        f'echo "$*" >>{log}\n'
        'if [[ $1 == copyto ]]; then dest="${@: -1}"; dest="' + str(bucket) + '/${dest#*:}"; '
        'mkdir -p "$(dirname "$dest")"; cp "${@: -2:1}" "$dest"; fi\n'
    )
    rclone.chmod(0o755)
    s3 = S3Upload(bucket="etcd-backups", prefix="test/etcd-0", retention_days=7, rclone=str(rclone))
    textfiles = tmp_path / "textfile"
    script = backup_script(cluster, tmp_path / "backups", keep=2, s3=s3)
    made = []
    for _ in range(3):
        before = int(time.time())
        result = run(script)
        assert result.returncode == 0, result.stderr
        made.append(Path(result.stdout.strip()))
    # The node-exporter textfile metrics of the last run: its snapshot's time and size, its upload.
    snapshot = textfile_metrics(textfiles / METRIC_FILE)
    member = cluster.members[0].peer.name
    assert before <= snapshot[(LAST_SUCCESS_METRIC, member)] <= time.time()
    assert snapshot[(LAST_SIZE_METRIC, member)] == made[-1].stat().st_size
    upload = textfile_metrics(textfiles / UPLOAD_METRIC_FILE)
    assert before <= upload[(LAST_UPLOAD_METRIC, member)] <= time.time()
    assert not list(textfiles.glob(".*")), "no temporary metric file left behind"
    kept = sorted((tmp_path / "backups").glob("*.db"))
    assert kept == sorted(made[1:]), "the newest two are kept"
    assert sorted(p.name for p in (tmp_path / "backups").glob("*.sha256")) == sorted(f"{p.name}.sha256" for p in kept)
    sha256sum = tool("sha256sum")
    check = subprocess.run([sha256sum, "-c", *[f"{p.name}.sha256" for p in kept]], cwd=tmp_path / "backups")
    assert check.returncode == 0
    uploaded = sorted(p.name for p in (bucket / "etcd-backups" / "test" / "etcd-0").iterdir())
    assert uploaded == sorted([p.name for p in made] + [f"{p.name}.sha256" for p in made])
    calls = log.read_text().splitlines()
    assert "delete --min-age 7d --include etcd-etcd-0-* -- etcdbackup:etcd-backups/test/etcd-0/" in calls

    # A failed upload fails the run (the unit turns red) but keeps the local snapshot, whose
    # metric is fresh while the upload's ages (its alert fires, not the snapshot's).
    rclone.write_text("#!/usr/bin/env bash\nexit 1\n")
    time.sleep(1.1)
    result = run(script)
    assert result.returncode != 0
    assert len(list((tmp_path / "backups").glob("*.db"))) == 2
    assert (
        textfile_metrics(textfiles / METRIC_FILE)[(LAST_SUCCESS_METRIC, member)]
        > snapshot[(LAST_SUCCESS_METRIC, member)]
    )
    assert textfile_metrics(textfiles / UPLOAD_METRIC_FILE) == upload


def textfile_metrics(path: Path) -> dict[tuple[str, str], float]:
    """(metric, member label) -> value of a node-exporter textfile, every sample line checked."""
    samples = {}
    for line in path.read_text().splitlines():
        if line.startswith("# "):
            assert line.split()[1] in ("HELP", "TYPE"), line
            continue
        match = re.fullmatch(r'([a-z_]+)\{member="([a-z0-9-]+)"\} ([0-9]+)', line)
        assert match, f"not a sample line: {line!r}"
        samples[(match[1], match[2])] = float(match[3])
    return samples


def test_backup_fails_cleanly_without_etcd(cluster: Cluster, tmp_path: Path) -> None:
    cluster.stop_all()
    backups = tmp_path / "backups"
    result = run(backup_script(cluster, backups, command_timeout_s=5), timeout=60)
    assert result.returncode != 0
    assert list(backups.iterdir()) == [], "no snapshot and no temporary file"

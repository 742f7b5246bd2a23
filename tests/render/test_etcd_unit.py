"""etcd member unit, backup and restore renderers: pure checks (no etcd needed)."""

from __future__ import annotations

import pytest

from components.control_plane.etcd_cluster import backup_args
from components.render.etcd import ClusterState, EtcdMemberArgs, EtcdPeer, render_etcd_unit
from components.render.etcd_backup import (
    EtcdBackupArgs,
    S3Upload,
    render_backup_script,
    render_backup_service,
    render_backup_timer,
    render_s3_env_file,
)
from components.render.etcd_restore import EtcdRestoreArgs, render_restore_script
from config.load import load_stack_file
from tests.render.etcd_cluster import exec_start
from tests.render.tools import ROOT

CLUSTER = tuple(EtcdPeer(f"etcd-{i}", f"10.20.0.{30 + i}") for i in range(3))


def member(name: str = "etcd-1", **overrides) -> EtcdMemberArgs:
    return EtcdMemberArgs(member=name, cluster=CLUSTER, cluster_token="k8s-prod-etcd", **overrides)


def flags(unit: str) -> dict[str, str]:
    argv = exec_start(unit)
    return dict(arg.removeprefix("--").split("=", 1) for arg in argv[1:])


def test_unit_runs_a_tls_member_with_its_own_identity() -> None:
    unit = render_etcd_unit(member())
    assert exec_start(unit)[0] == "/usr/local/bin/etcd"
    f = flags(unit)
    assert f["name"] == "etcd-1"
    assert f["data-dir"] == "/var/lib/etcd/default.etcd"
    assert f["listen-client-urls"] == "https://10.20.0.31:2379,https://127.0.0.1:2379"
    assert f["advertise-client-urls"] == "https://10.20.0.31:2379"
    assert f["listen-peer-urls"] == f["initial-advertise-peer-urls"] == "https://10.20.0.31:2380"
    assert f["initial-cluster"] == (
        "etcd-0=https://10.20.0.30:2380,etcd-1=https://10.20.0.31:2380,etcd-2=https://10.20.0.32:2380"
    )
    assert f["initial-cluster-token"] == "k8s-prod-etcd"
    assert f["initial-cluster-state"] == "new"
    assert f["client-cert-auth"] == f["peer-client-cert-auth"] == "true"
    assert f["trusted-ca-file"] == f["peer-trusted-ca-file"] == "/etc/etcd/pki/ca.crt"
    assert {"cert-file", "key-file", "peer-cert-file", "peer-key-file"} <= f.keys()
    assert f["listen-metrics-urls"] == "http://127.0.0.1:2381"
    assert "Type=notify" in unit and "User=etcd" in unit
    assert "RequiresMountsFor=/var/lib/etcd/default.etcd" in unit


def test_five_members_and_joining_state() -> None:
    five = tuple(EtcdPeer(f"etcd-{i}", f"10.20.0.{30 + i}") for i in range(5))
    args = EtcdMemberArgs(member="etcd-4", cluster=five, cluster_token="t", initial_cluster_state=ClusterState.EXISTING)
    f = flags(render_etcd_unit(args))
    assert f["initial-cluster"].count("=https://") == 5
    assert f["initial-cluster-state"] == "existing"


def test_loopback_member_listens_once() -> None:
    local = (EtcdPeer("a", "127.0.0.1", 12379, 12380),)
    f = flags(render_etcd_unit(EtcdMemberArgs(member="a", cluster=local, cluster_token="t", metrics_port=None)))
    assert f["listen-client-urls"] == "https://127.0.0.1:12379"
    assert "listen-metrics-urls" not in f


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"election_timeout_ms": 400}, "5 x heartbeat"),
        ({"data_dir": "/etcd"}, "subdirectory"),
        ({"data_dir": "relative/dir"}, "absolute path"),
        ({"quota_backend_bytes": 16 * 1024**3}, "8 GiB"),
    ],
)
def test_member_args_are_validated(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        member(**overrides)


def test_cluster_is_validated() -> None:
    with pytest.raises(ValueError, match="not in cluster"):
        member("etcd-9")
    twice = (EtcdPeer("a", "10.0.0.1"), EtcdPeer("b", "10.0.0.1"))
    with pytest.raises(ValueError, match="appears twice"):
        EtcdMemberArgs(member="a", cluster=twice, cluster_token="t")


def test_backup_units_follow_the_spec() -> None:
    spec = load_stack_file(ROOT / "Pulumi.prod.yaml")
    args = backup_args(spec.etcd.backup, member="etcd-1", stack="prod")
    timer = render_backup_timer(args)
    assert f"OnCalendar={spec.etcd.backup.schedule}" in timer
    assert "Persistent=true" in timer
    assert f"readonly KEEP={spec.etcd.backup.keep}" in render_backup_script(args)
    service = render_backup_service(args)
    assert "Type=oneshot" in service and "ExecStart=/usr/local/sbin/etcd-backup" in service
    assert args.s3 is not None and args.s3.bucket == spec.etcd.backup.s3.bucket
    assert args.s3.prefix == "prod/etcd-1" and args.s3.retention_days == spec.etcd.backup.s3.retention_days
    assert "EnvironmentFile=/etc/etcd/backup-s3.env" in service


def test_backup_without_s3_has_no_upload() -> None:
    args = EtcdBackupArgs(member="etcd-0")
    script = render_backup_script(args)
    assert "rclone" not in script.lower()
    assert "EnvironmentFile" not in render_backup_service(args)


def test_credentials_live_in_the_env_file_only() -> None:
    s3 = S3Upload(bucket="etcd-backups-prod", prefix="prod/etcd-1")
    args = EtcdBackupArgs(member="etcd-1", s3=s3)
    env = render_s3_env_file(s3, "https://rgw.storage.internal", "AKIDEXAMPLE", "s3cr3t-key")
    assert "RCLONE_CONFIG_ETCDBACKUP_SECRET_ACCESS_KEY=s3cr3t-key" in env
    assert "RCLONE_CONFIG_ETCDBACKUP_PROVIDER=Ceph" in env
    for text in (render_backup_script(args), render_backup_service(args), render_backup_timer(args)):
        assert "s3cr3t-key" not in text and "AKIDEXAMPLE" not in text
    with pytest.raises(ValueError, match="env file"):
        render_s3_env_file(s3, "https://rgw", "AK", "with space")


def test_backup_args_are_validated() -> None:
    with pytest.raises(ValueError, match="keep"):
        EtcdBackupArgs(member="etcd-0", keep=0)
    with pytest.raises(ValueError, match="bucket"):
        S3Upload(bucket="Bad_Bucket", prefix="p")
    with pytest.raises(ValueError, match="OnCalendar"):
        EtcdBackupArgs(member="etcd-0", schedule="daily; rm -rf /")


def test_restore_script_carries_the_members_identity() -> None:
    script = render_restore_script(EtcdRestoreArgs(cluster=CLUSTER, member=member(), apiserver_manifest=None))
    assert "readonly MEMBER=etcd-1" in script
    assert "readonly PEER_URL=https://10.20.0.31:2380" in script
    assert "readonly CLUSTER_TOKEN=k8s-prod-etcd" in script
    assert "readonly DATA_DIR=/var/lib/etcd/default.etcd" in script
    assert "chown -R -- etcd:etcd" in script
    assert "systemctl stop etcd" in script and "systemctl start --no-block etcd" in script
    assert "no kube-apiserver runs on this machine" in script


def test_restore_args_are_validated() -> None:
    other = tuple(EtcdPeer(f"etcd-{i}", f"10.20.0.{40 + i}") for i in range(3))
    with pytest.raises(ValueError, match="cluster differs"):
        EtcdRestoreArgs(cluster=other, member=member())
    with pytest.raises(ValueError, match="outside the manifest directory"):
        EtcdRestoreArgs(cluster=CLUSTER, apiserver_parked="/etc/kubernetes/manifests/kube-apiserver.yaml.bak")
    with pytest.raises(ValueError, match="shell command"):
        EtcdRestoreArgs(cluster=CLUSTER, stop_etcd_command="systemctl stop etcd\nrm -rf /")

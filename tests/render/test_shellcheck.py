"""Every shell script the project renders passes shellcheck, in every shape it can take."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components.render.etcd import EtcdMemberArgs, EtcdPeer
from components.render.etcd_backup import EtcdBackupArgs, S3Upload, render_backup_script
from components.render.etcd_restore import EtcdRestoreArgs, render_restore_script
from tests.render.tools import shellcheck

CLUSTER = tuple(EtcdPeer(f"etcd-{i}", f"10.20.0.{30 + i}") for i in range(3))
MEMBER = EtcdMemberArgs(member="etcd-0", cluster=CLUSTER, cluster_token="k8s-prod-etcd")
S3 = S3Upload(bucket="etcd-backups-prod", prefix="prod/etcd-0")


SCRIPTS = {
    "backup-local": lambda: render_backup_script(EtcdBackupArgs(member="etcd-0")),
    "backup-s3": lambda: render_backup_script(EtcdBackupArgs(member="etcd-0", s3=S3, keep=24)),
    "restore-etcd-member": lambda: render_restore_script(
        EtcdRestoreArgs(cluster=CLUSTER, member=MEMBER, apiserver_manifest=None)
    ),
    "restore-master": lambda: render_restore_script(EtcdRestoreArgs(cluster=CLUSTER)),
    "restore-stacked": lambda: render_restore_script(EtcdRestoreArgs(cluster=CLUSTER, member=MEMBER)),
    "restore-no-chown": lambda: render_restore_script(
        EtcdRestoreArgs(
            cluster=CLUSTER,
            member=EtcdMemberArgs(member="etcd-0", cluster=CLUSTER, cluster_token="t", user=None),
            stop_etcd_command="/opt/test/svc stop etcd-0",
            start_etcd_command="/opt/test/svc start etcd-0",
            apiserver_running_command="test -f /tmp/manifests/kube-apiserver.yaml",
        )
    ),
}


@pytest.mark.realtool
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_rendered_script_passes_shellcheck(name: str, tmp_path: Path) -> None:
    text = SCRIPTS[name]()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    script = tmp_path / f"{name}.sh"
    script.write_text(text)
    result = shellcheck(script)
    assert result.returncode == 0, result.stdout


@pytest.mark.realtool
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_rendered_script_parses_and_prints_usage(name: str, tmp_path: Path) -> None:
    """bash -n on every script, and the restore scripts refuse unknown subcommands with usage."""
    script = tmp_path / f"{name}.sh"
    script.write_text(SCRIPTS[name]())
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, timeout=30).returncode == 0
    if name.startswith("restore"):
        result = subprocess.run(["bash", str(script), "bogus"], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2 and "usage: etcd-restore" in result.stderr

"""Scheduled etcd snapshots: a backup script, its systemd service and timer, the S3 env file.

The blueprint's backup is a periodic ``etcdctl snapshot save`` (数据备份-etcd). The script adds
what makes a snapshot usable in a disaster:

1. ``etcdctl snapshot save`` to a hidden temporary name in the backup directory;
2. verify it offline with ``snapshot status`` (``etcdutl`` when installed: etcd 3.5 deprecated the
   offline commands in etcdctl and 3.6 removed them; the Debian 3.4 used in tests has etcdctl only);
3. record its sha256 next to it (``<name>.sha256``, ``sha256sum -c`` format), which the restore
   script checks before touching anything;
4. rename both into place (atomic on one filesystem: a reader never sees half a snapshot);
5. keep the newest ``keep`` snapshots of this member, delete older ones;
6. when S3 is configured, upload snapshot + checksum with rclone and delete remote snapshots older
   than the retention. rclone is in Ubuntu's archive, speaks S3 to Ceph RGW (``provider = Ceph``)
   and reads its whole remote definition, credentials included, from ``RCLONE_CONFIG_<REMOTE>_*``
   environment variables (https://rclone.org/docs/#config-file), so credentials live only in the
   root-only env file systemd loads, never in the script. ``rclone delete --min-age`` is the
   retention; no bucket lifecycle admin rights are needed.

7. write node-exporter textfile metrics into ``textfile_dir``: the time and size of the last good
   snapshot once it is in place (``etcd-backup.prom``) and, with S3, the time of the last upload
   (``etcd-backup-upload.prom``). Only a run that got that far writes them, so a timer that stops
   or fails lets the timestamp age and the monitoring add-on's backup-age alerts fire
   (components/render/prometheus_rules.py). The directory is the one Debian's
   ``prometheus-node-exporter`` reads by default; the monitoring add-on's DaemonSet reads it on
   Kubernetes nodes too (https://github.com/prometheus/node_exporter#textfile-collector).

Snapshots stay on the boot disk (``/var/backups/etcd``), not on the etcd data volume: losing that
volume must not take the local backups with it. Reference:
https://etcd.io/docs/v3.5/op-guide/recovery/#snapshotting-the-keyspace
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from components.render._common import check_name, check_path, check_positive, render
from components.render.etcd import EtcdClientTls

_REMOTE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
_CALENDAR = re.compile(r"^[A-Za-z0-9*/:.,~ -]+$")

TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
"""The textfile collector directory of Debian's and Ubuntu's ``prometheus-node-exporter`` package
(its default ``--collector.textfile.directory``)."""
METRIC_FILE = "etcd-backup.prom"
"""The local snapshot's metric file in the textfile directory."""
UPLOAD_METRIC_FILE = "etcd-backup-upload.prom"
"""The upload's metric file (a file of its own: a failed upload keeps the snapshot's metrics fresh)."""
LAST_SUCCESS_METRIC = "etcd_backup_last_success_timestamp_seconds"
"""Unix time of the last snapshot that was saved, verified and checksummed (label ``member``)."""
LAST_SIZE_METRIC = "etcd_backup_last_size_bytes"
"""Size of that snapshot in bytes."""
LAST_UPLOAD_METRIC = "etcd_backup_last_upload_timestamp_seconds"
"""Unix time of the last completed S3 upload (only written with S3)."""


@dataclass(frozen=True)
class S3Upload:
    """Where snapshots are copied off the machine (spec ``etcd.backup.s3``)."""

    bucket: str
    """Bucket name (created by the storage layer; the backup credentials need put/list/delete)."""
    prefix: str
    """Key prefix, e.g. ``<stack>/<member>``: members never delete each other's snapshots."""
    retention_days: int = 30
    """Remote snapshots older than this many days are deleted after each upload (default 30)."""
    remote: str = "etcdbackup"
    """rclone remote name; its settings come from ``RCLONE_CONFIG_ETCDBACKUP_*`` in the env file."""
    rclone: str = "/usr/bin/rclone"
    """The rclone binary (Ubuntu package ``rclone``); tests point it at a stand-in."""
    env_file: str = "/etc/etcd/backup-s3.env"
    """Root-only (0600) env file with the endpoint and credentials (``render_s3_env_file``)."""

    def __post_init__(self) -> None:
        if not _BUCKET.match(self.bucket):
            raise ValueError(f"S3Upload.bucket: {self.bucket!r} is not a valid S3 bucket name")
        if not _PREFIX.match(self.prefix):
            raise ValueError(f"S3Upload.prefix: {self.prefix!r} must be path segments of [A-Za-z0-9._-]")
        check_positive(self.retention_days, "S3Upload.retention_days")
        if not _REMOTE.match(self.remote):
            raise ValueError(f"S3Upload.remote: {self.remote!r} must match [a-z][a-z0-9_]*")
        check_path(self.rclone, "S3Upload.rclone")
        check_path(self.env_file, "S3Upload.env_file")


@dataclass(frozen=True)
class EtcdBackupArgs:
    """Everything the backup renderers need for one member."""

    member: str
    """Member name; part of every snapshot's file name (``etcd-<member>-<UTC time>.db``)."""
    endpoint: str = "https://127.0.0.1:2379"
    """Client URL of the local member (the unit listens on 127.0.0.1 too)."""
    tls: EtcdClientTls = field(default_factory=EtcdClientTls)
    """Client certificate etcdctl presents."""
    backup_dir: str = "/var/backups/etcd"
    """Local snapshot directory, on the boot disk (default /var/backups/etcd)."""
    keep: int = 8
    """Snapshots of this member kept locally (spec ``etcd.backup.keep``; default 8)."""
    schedule: str = "*-*-* 00/6:00:00"
    """systemd OnCalendar expression (spec ``etcd.backup.schedule``; default every 6 hours)."""
    randomized_delay_s: int = 300
    """Timer jitter (``RandomizedDelaySec``) so the members do not snapshot at the same second."""
    s3: S3Upload | None = None
    """Upload target; None keeps snapshots local only."""
    etcdctl: str = "/usr/local/bin/etcdctl"
    """etcdctl binary (online ``snapshot save``)."""
    etcdutl: str = "/usr/local/bin/etcdutl"
    """etcdutl binary (offline ``snapshot status``), used when executable; else etcdctl's."""
    command_timeout_s: int = 300
    """etcdctl ``--command-timeout`` for the save. etcdctl's default (5 s) covers the whole
    transfer and is too short for a large database (default 300)."""
    script_path: str = "/usr/local/sbin/etcd-backup"
    """Where the component installs the script; the service's ExecStart."""
    textfile_dir: str = TEXTFILE_DIR
    """node-exporter's textfile directory the script writes ``etcd-backup.prom`` into (created if
    missing; default ``TEXTFILE_DIR``)."""

    def __post_init__(self) -> None:
        check_name(self.member, "EtcdBackupArgs.member")
        if not re.match(r"^https://[A-Za-z0-9.-]+:[0-9]+$", self.endpoint):
            raise ValueError(f"EtcdBackupArgs.endpoint: {self.endpoint!r} is not https://host:port")
        for name in ("backup_dir", "etcdctl", "etcdutl", "script_path", "textfile_dir"):
            check_path(getattr(self, name), f"EtcdBackupArgs.{name}")
        check_positive(self.keep, "EtcdBackupArgs.keep")
        check_positive(self.command_timeout_s, "EtcdBackupArgs.command_timeout_s")
        if self.randomized_delay_s < 0:
            raise ValueError("EtcdBackupArgs.randomized_delay_s: must be >= 0")
        if not _CALENDAR.match(self.schedule):
            raise ValueError(f"EtcdBackupArgs.schedule: {self.schedule!r} is not an OnCalendar expression")


def render_backup_script(args: EtcdBackupArgs) -> str:
    """The backup script (``args.script_path``); prints the new snapshot's path on stdout."""
    return render(
        "etcd-backup.sh.j2",
        "components/render/etcd_backup.py",
        a=args,
        metric_file=METRIC_FILE,
        upload_file=UPLOAD_METRIC_FILE,
        success_metric=LAST_SUCCESS_METRIC,
        size_metric=LAST_SIZE_METRIC,
        upload_metric=LAST_UPLOAD_METRIC,
    )


def render_backup_service(args: EtcdBackupArgs) -> str:
    """``etcd-backup.service``: one run of the script (oneshot)."""
    return render("etcd-backup.service.j2", "components/render/etcd_backup.py", a=args)


def render_backup_timer(args: EtcdBackupArgs) -> str:
    """``etcd-backup.timer``: runs the service on ``args.schedule``, catching up missed runs."""
    return render("etcd-backup.timer.j2", "components/render/etcd_backup.py", a=args)


def render_s3_env_file(s3: S3Upload, endpoint: str, access_key_id: str, secret_access_key: str) -> str:
    """The env file defining the rclone remote. Contains credentials: treat the text as secret."""
    for name, value in (("endpoint", endpoint), ("access_key_id", access_key_id), ("key", secret_access_key)):
        if not value or any(c in value for c in "\n\r\"'\\ $`"):
            raise ValueError(f"render_s3_env_file: {name} is empty or has characters an env file cannot hold")
    if not re.match(r"^https?://", endpoint):
        raise ValueError(f"render_s3_env_file: endpoint {endpoint!r} must be an http(s) URL")
    return render(
        "etcd-backup-s3.env.j2",
        "components/render/etcd_backup.py",
        prefix=f"RCLONE_CONFIG_{s3.remote.upper()}_",
        endpoint=endpoint,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
    )

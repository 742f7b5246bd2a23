"""The whole-cluster etcd restore script (blueprint 数据备份-etcd, binary variant).

The blueprint's procedure: stop kube-apiserver and etcd, move the data directory aside, run
``etcdctl snapshot restore`` on every member with its own ``--name``, ``--initial-cluster``,
``--initial-cluster-token`` and ``--initial-advertise-peer-urls``, then start etcd and kube-apiserver.
etcd's disaster-recovery guide (https://etcd.io/docs/v3.5/op-guide/recovery/) adds that every
member must restore the *same* snapshot file. The script is one file with subcommands, run on each
machine in this order (``docs/runbooks/etcd-restore.md`` has the details):

1. every master: ``etcd-restore stop-apiserver`` (parks the static pod manifest outside
   ``/etc/kubernetes/manifests``, as the blueprint's ``mv``, and waits until the process is gone);
2. every etcd member: ``etcd-restore restore SNAPSHOT``;
3. any member: ``etcd-restore health`` (waits until every member reports healthy);
4. every master: ``etcd-restore start-apiserver``.

Each member restores with the token ``<cluster token>-restore-<first 12 hex of the snapshot's
sha256>``: the same on every member without coordination, and different from the token the old
cluster was bootstrapped with. etcd derives member and cluster IDs from the peer URLs and that
token, so the restored cluster gets new IDs, as etcd's recovery guide intends ("a new logical
cluster"): a member still holding old data, or one restored from another snapshot, is refused
instead of mixing histories. The token only matters at bootstrap; the unit's own
``--initial-cluster-token`` is ignored once the data dir exists.

``restore`` refuses (exit 3, nothing touched, etcd not stopped) a snapshot whose ``.sha256``
(written by the backup script) is missing or does not match, or that ``snapshot status`` cannot
read. It restores into a staging directory next to the data directory first, so a failed restore
also leaves the member as it was; only then it stops etcd, renames the data directory aside
(``<data-dir>.bak-<UTC time>``, never deleted: the roll-back) and renames the staging directory in.
etcd is started without waiting (``systemctl start --no-block``): a member cannot report ready
before a quorum of members is restored, and the operator restores them one after the other.

Where the offline tool supports them (etcdutl, etcd >= 3.5.x; the pinned 3.6 has them, Debian's
3.4 etcdctl does not), the restore adds ``--bump-revision --mark-compacted``: revisions never go
backwards for the apiserver's watch caches (https://etcd.io/docs/v3.6/op-guide/recovery/,
"Restoring a cluster"; etcd-io/etcd#16028). The script detects the flags from the tool's own
``--help`` rather than parsing versions, and says which way it restored.

The script is installed on every etcd member (the lab's master is one); a master of an external
etcd has no etcdctl, so its two steps (park and restore the apiserver manifest) are commands in the
runbook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.render._common import check_path, check_positive, render
from components.render.etcd import (
    EtcdClientTls,
    EtcdMemberArgs,
    EtcdPeer,
    check_cluster,
    initial_cluster,
)

EXIT_REFUSED = 3
"""Exit status when the snapshot fails its integrity check (nothing was changed)."""


def _check_command(value: str, field_name: str) -> None:
    if not value.strip() or "\n" in value or "\r" in value:
        raise ValueError(f"{field_name}: one non-empty shell command line is required")


@dataclass(frozen=True)
class EtcdRestoreArgs:
    """Everything ``render_restore_script`` needs for one machine (etcd member, master, or both)."""

    cluster: tuple[EtcdPeer, ...]
    """Every etcd member; ``health`` checks them all."""
    member: EtcdMemberArgs | None = None
    """The member on this machine, exactly as its unit was rendered (name, peer URL, initial
    cluster, token, data dir, user); None on a master of an external etcd (``restore`` refuses)."""
    tls: EtcdClientTls = field(default_factory=EtcdClientTls)
    """Client certificate for the health checks (on masters: the apiserver's etcd client cert)."""
    etcdctl: str = "/usr/local/bin/etcdctl"
    """etcdctl binary (health checks; offline commands with etcd 3.4)."""
    etcdutl: str = "/usr/local/bin/etcdutl"
    """etcdutl binary, used for ``snapshot status``/``restore`` when executable (etcd ≥ 3.5)."""
    stop_etcd_command: str = "systemctl stop etcd"
    """Stops the local member and returns once it is down (the blueprint's command)."""
    start_etcd_command: str = "systemctl start --no-block etcd"
    """Starts the local member without waiting for it to be ready (it needs a quorum first)."""
    apiserver_manifest: str | None = "/etc/kubernetes/manifests/kube-apiserver.yaml"
    """kube-apiserver static pod manifest; None where no apiserver runs (dedicated etcd machines)."""
    apiserver_parked: str = "/etc/kubernetes/kube-apiserver.yaml"
    """Where the manifest waits during the restore (the blueprint's ``/etc/kubernetes``: outside
    the directory the kubelet watches, same filesystem)."""
    apiserver_running_command: str = "pgrep -x kube-apiserver >/dev/null"
    """Exit 0 while a kube-apiserver process runs on this machine."""
    wait_s: int = 300
    """Upper bound of every wait (apiserver stop/start, cluster health), in seconds (default 300)."""
    bump_revision: int = 1_000_000_000
    """Revisions ``snapshot restore --bump-revision`` adds (with ``--mark-compacted``) where the
    offline tool has the flags (etcdutl from 3.5.x; detected from its ``--help``): the restored
    revision then exceeds any revision a client saw before the disaster, so watch caches and
    informers get "compacted" and re-list instead of silently missing what the restore undid.
    Default one billion, the figure etcd's and Kubernetes' restore guides use; it must exceed the
    writes between the snapshot and the restore."""

    def __post_init__(self) -> None:
        check_cluster(self.cluster, "EtcdRestoreArgs.cluster")
        if self.member is not None and self.member.cluster != self.cluster:
            raise ValueError("EtcdRestoreArgs.member: its cluster differs from EtcdRestoreArgs.cluster")
        check_path(self.etcdctl, "EtcdRestoreArgs.etcdctl")
        check_path(self.etcdutl, "EtcdRestoreArgs.etcdutl")
        for name in ("stop_etcd_command", "start_etcd_command", "apiserver_running_command"):
            _check_command(getattr(self, name), f"EtcdRestoreArgs.{name}")
        if self.apiserver_manifest is not None:
            check_path(self.apiserver_manifest, "EtcdRestoreArgs.apiserver_manifest")
            check_path(self.apiserver_parked, "EtcdRestoreArgs.apiserver_parked")
            if self.apiserver_parked.rsplit("/", 1)[0] == self.apiserver_manifest.rsplit("/", 1)[0]:
                raise ValueError("EtcdRestoreArgs.apiserver_parked: must be outside the manifest directory")
        check_positive(self.wait_s, "EtcdRestoreArgs.wait_s")
        check_positive(self.bump_revision, "EtcdRestoreArgs.bump_revision")

    @property
    def endpoints(self) -> str:
        return ",".join(p.client_url for p in self.cluster)


def render_restore_script(args: EtcdRestoreArgs) -> str:
    """The restore script (installed as ``/usr/local/sbin/etcd-restore``)."""
    member = args.member
    return render(
        "etcd-restore.sh.j2",
        "components/render/etcd_restore.py",
        a=args,
        m=member,
        peer_url=member.peer.peer_url if member else "",
        initial_cluster=initial_cluster(args.cluster),
        exit_refused=EXIT_REFUSED,
    )

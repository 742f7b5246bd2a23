"""EtcdCluster: the Kubernetes datastore as systemd units, bootstrapped over SSH, with backups.

Where: the dedicated etcd pool (``etcd.topology: external``, test and prod: 3 or 5 members) or,
in the lab, the master itself (``stacked``). Either way the same unit runs (render/etcd.py chose
the blueprint's binary/systemd variant for both), and kubeadm treats it as external etcd at
``endpoints`` with the ``client_cert``/``client_key`` pair.

Per member, one SSH step (remote.Command, etcd_scripts.ETCD_MEMBER) prepares the SSD data
volume (formatted only when blank, mounted by UUID), installs the pinned release
(versions.ETCD, from ``etcd.releaseBaseUrl``, checksum verified), pushes the unit and the
certificates (stdin, a secret Output; keys 0600) and starts etcd without blocking. The members'
steps run in parallel, because a new member's ``Type=notify`` start only completes once a quorum
has started. One health step on the first member then waits for every member to be healthy, and
a backup step per member installs the snapshot script, service and timer (and the S3 env file
and the restore script) from render/etcd_backup.py and render/etcd_restore.py.

The certificates are computed, not resources (etcd_pki.py, render/etcd_pki.py): from the stack's
seed and spec ``pkiEpoch``, byte-identical on every run. A new epoch changes every member step's
stdin, so ``pulumi up`` re-runs those steps, which rewrite the files; etcd re-reads its own
certificate on each new connection and the CA key stays the same, so no member restarts.

Removing a member from the config: its bootstrap step has a ``delete`` command,
``etcdctl member remove`` of itself (etcd_scripts.ETCD_MEMBER_REMOVE). The step depends on the
member's instance (the instance ID is part of its script), so Pulumi deletes the step, running
that command, before the machine. Edge cases, all of which stop the update with the machine kept:

- no quorum (or a removal that would leave fewer started members than a quorum: etcd's
  ``--strict-reconfig-check``): the command retries for ``REMOVE_WAIT_S`` and then fails;
- the machine is already gone (unreachable over SSH): the command cannot run; remove the member by
  hand (``etcdctl member remove``) and drop the step with ``pulumi state delete``;
- the last member (``pulumi destroy``): nothing to remove it from; the command says so and succeeds;
- the member's data volume is protected (IaaS layer): the update stops there until it is
  unprotected (``pulumi state unprotect``), which is the explicit step principle 8 asks for.

Adding a member to a running cluster is not automated: it needs ``etcdctl member add`` and
``--initial-cluster-state=existing``; the bootstrap step refuses (instead of forming a second
cluster) when the others already run without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pulumi
import pulumi_command as command

from components.control_plane.etcd_pki import EtcdIdentity, EtcdPki, EtcdPkiArgs, KeyPair, etcd_pki
from components.control_plane.etcd_scripts import (
    ETCD_BACKUP_APPLY,
    ETCD_BACKUP_REMOVE,
    ETCD_HEALTH,
    ETCD_MEMBER,
    ETCD_MEMBER_REMOVE,
)
from components.control_plane.remote_scripts import RemoteFile, command_line, payload, script
from components.iaas.node_pool import Node
from components.render.etcd import DATA_DIR, PKI_DIR, EtcdClientTls, EtcdMemberArgs, EtcdPeer, render_etcd_unit
from components.render.etcd_backup import (
    EtcdBackupArgs,
    S3Upload,
    render_backup_script,
    render_backup_service,
    render_backup_timer,
    render_s3_env_file,
)
from components.render.etcd_restore import EtcdRestoreArgs, render_restore_script
from components.secret_seed import stack_seed
from components.ssh import SshAccess, ssh_step
from config.spec import ETCD_DATA_VOLUME, NAMESPACE, Etcd, EtcdBackup, EtcdTopology, Role
from config.versions import ETCD

CLIENT_PORT = 2379
"""etcd's client port (IANA)."""
DATA_MOUNT = DATA_DIR.rsplit("/", 1)[0]
"""Mount point of the data volume; the data dir is a subdirectory (render/etcd.py explains why)."""
UNIT_PATH = "/etc/systemd/system/etcd.service"
RESTORE_PATH = "/usr/local/sbin/etcd-restore"
"""Where the restore script lives on every member (docs/runbooks/etcd-restore.md)."""
HEALTH_WAIT_S = 900
"""How long the health step waits for every member (first boot: downloads and quorum)."""
REMOVE_WAIT_S = 300
"""How long a member's delete step retries ``member remove``."""
S3_CREDENTIALS_KEY = "etcdBackupS3Credentials"
"""Secret config key: ``ACCESS_KEY_ID:SECRET_ACCESS_KEY`` of the snapshot uploads."""


def member_nodes(topology: EtcdTopology, nodes: Sequence[Node]) -> list[Node]:
    """The machines etcd runs on: the etcd pool (external) or the masters (stacked)."""
    role = Role.ETCD if topology == EtcdTopology.EXTERNAL else Role.MASTER
    return [n for n in nodes if n.role == role]


def release_url(base_url: str) -> str:
    """Download URL of the pinned etcd tarball under ``base_url`` (GitHub's release layout)."""
    return f"{base_url}/v{ETCD.version}/etcd-v{ETCD.version}-linux-amd64.tar.gz"


def backup_args(backup: EtcdBackup, member: str, stack: str, **overrides) -> EtcdBackupArgs:
    """The backup renderer's args for one member from the stack's ``etcd.backup``.

    The S3 prefix is ``<stack>/<member>``; ``overrides`` set any other field (paths, certs).
    """
    s3 = None
    if backup.s3 is not None:
        s3 = S3Upload(bucket=backup.s3.bucket, prefix=f"{stack}/{member}", retention_days=backup.s3.retention_days)
    return EtcdBackupArgs(member=member, keep=backup.keep, schedule=backup.schedule, s3=s3, **overrides)


@dataclass(frozen=True)
class EtcdClusterArgs:
    etcd: Etcd
    """The stack's ``etcd`` section: topology, member count, backups, release mirror and checksum."""
    pki_epoch: date
    """``pkiEpoch``: issue date of the etcd certificates (their keys and serials derive from it)."""
    nodes: Sequence[Node]
    """Every machine of the IaaS layer; the members are picked by ``member_nodes``."""
    ssh: SshAccess
    """How the SSH steps reach the machines."""
    cluster_name: str
    """``k8s-<stack>``: the cluster token is ``<cluster_name>-etcd``."""
    stack: str
    """Stack name, the first part of the S3 key prefix (``<stack>/<member>``)."""


class EtcdCluster(pulumi.ComponentResource):
    """etcd members with TLS, a health gate and scheduled snapshots."""

    endpoints: pulumi.Output[list[str]]
    """Client URLs of every member (``https://<ip>:2379``), kubeadm's ``etcd.external.endpoints``."""
    ca_cert: pulumi.Output[str]
    """The etcd CA certificate (PEM), kubeadm's ``etcd.external.caFile`` content."""
    client_cert: pulumi.Output[str]
    """``kube-apiserver-etcd-client`` certificate (PEM)."""
    client_key: pulumi.Output[str]
    """Its key (PEM), a secret Output."""
    addresses: pulumi.Output[list[str]]
    """The members' private IPv4 addresses (Prometheus scrapes them)."""
    monitoring_client: KeyPair
    """``prometheus-etcd-client`` certificate and key (secret) for the monitoring add-on."""
    ready: list[pulumi.Resource]
    """Depend on these before using the cluster: the health step (all members healthy)."""

    def __init__(self, name: str, args: EtcdClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:control_plane:EtcdCluster", name, None, opts)
        members = member_nodes(args.etcd.topology, args.nodes)
        if len(members) != args.etcd.members:  # the spec rules make this impossible; fail loudly anyway
            raise ValueError(f"etcd.members is {args.etcd.members} but {len(members)} machines run etcd")
        self._args, self._members = args, members
        self._token = f"{args.cluster_name}-etcd"
        self._cluster = pulumi.Output.all(*[n.private_ip for n in members]).apply(
            lambda ips: tuple(EtcdPeer(n.name, ip, client_port=CLIENT_PORT) for n, ip in zip(members, ips, strict=True))
        )
        # Certificates from the stack's seed and spec pkiEpoch: computed here, no resources (etcd_pki.py).
        pki = etcd_pki(
            EtcdPkiArgs(args.cluster_name, args.pki_epoch, [EtcdIdentity(n.name, n.private_ip) for n in members]),
            stack_seed(),
            warn_on=self,
        )
        bootstraps = [self._bootstrap(name, node, pki) for node in members]
        health = ssh_step(
            f"{name}-health",
            self,
            args.ssh.connection(members[0].private_ip, members[0].host_key),
            create=self._cluster.apply(
                lambda c: command_line(
                    script(
                        ETCD_HEALTH,
                        {
                            "ENDPOINTS": ",".join(p.client_url for p in c),
                            "PEER_URLS": " ".join(p.peer_url for p in c),
                            "WAIT_S": HEALTH_WAIT_S,
                        },
                    )
                )
            ),
            depends_on=bootstraps,
        )
        s3_env = self._s3_env()
        for node in members:
            self._backups(name, node, pki.healthcheck_client, s3_env, health)
        self.endpoints = self._cluster.apply(lambda c: [p.client_url for p in c])
        self.ca_cert = pki.ca_cert
        self.client_cert = pki.apiserver_client.cert
        self.client_key = pulumi.Output.secret(pki.apiserver_client.key)
        self.addresses = pulumi.Output.all(*[n.private_ip for n in members])
        self.monitoring_client = pki.monitoring_client
        self.ready = [health]
        self.register_outputs(
            {
                "endpoints": self.endpoints,
                "ca_cert": self.ca_cert,
                "client_cert": self.client_cert,
                "client_key": self.client_key,
            }
        )

    def _member_args(self, node: Node, cluster: tuple[EtcdPeer, ...]) -> EtcdMemberArgs:
        return EtcdMemberArgs(member=node.name, cluster=cluster, cluster_token=self._token)

    def _bootstrap(self, name: str, node: Node, pki: EtcdPki) -> command.remote.Command:
        """The member's SSH step: volume, release, certificates, unit, start; removal on delete."""
        etcd = self._args.etcd
        certs, client = pki.members[node.name], pki.healthcheck_client
        volume_id = node.data_volume_ids.get(ETCD_DATA_VOLUME)
        unit = self._cluster.apply(lambda c: render_etcd_unit(self._member_args(node, c)))
        tls = EtcdClientTls()
        files = pulumi.Output.all(
            unit,
            pki.ca_cert,
            certs.server.cert,
            certs.server.key,
            certs.peer.cert,
            certs.peer.key,
            client.cert,
            client.key,
        ).apply(
            lambda v: payload(
                [
                    RemoteFile(UNIT_PATH, v[0]),
                    RemoteFile(tls.ca_file, v[1]),
                    RemoteFile(f"{PKI_DIR}/server.crt", v[2]),
                    RemoteFile(f"{PKI_DIR}/server.key", v[3], mode="0600", owner="etcd:etcd"),
                    RemoteFile(f"{PKI_DIR}/peer.crt", v[4]),
                    RemoteFile(f"{PKI_DIR}/peer.key", v[5], mode="0600", owner="etcd:etcd"),
                    RemoteFile(tls.cert_file, v[6]),
                    RemoteFile(tls.key_file, v[7], mode="0600"),
                ]
            )
        )

        def create(values: list) -> str:
            cluster, instance_id, volume = values[0], values[1], values[2] if len(values) > 2 else ""
            me = next(p for p in cluster if p.name == node.name)
            return command_line(
                script(
                    ETCD_MEMBER,
                    {
                        "MEMBER": node.name,
                        "PEER_URL": me.peer_url,
                        "PEER_ENDPOINTS": ",".join(p.client_url for p in cluster if p.name != node.name),
                        "INSTANCE_ID": instance_id,
                        "VOLUME_ID": volume,
                        "DATA_MOUNT": DATA_MOUNT,
                        "DATA_DIR": DATA_DIR,
                        "PKI_DIR": PKI_DIR,
                        "ETCD_VERSION": ETCD.version,
                        "ETCD_URL": release_url(etcd.release_base_url),
                        "ETCD_SUMS_URL": f"{etcd.release_base_url}/v{ETCD.version}/SHA256SUMS",
                        "ETCD_SHA256": etcd.release_sha256 or "",
                    },
                )
            )

        def delete(cluster: tuple[EtcdPeer, ...]) -> str:
            me = next(p for p in cluster if p.name == node.name)
            values = {
                "MEMBER": node.name,
                "PEER_URL": me.peer_url,
                "ENDPOINTS": ",".join(p.client_url for p in cluster),
                "DATA_DIR": DATA_DIR,
                "WAIT_S": REMOVE_WAIT_S,
            }
            return command_line(script(ETCD_MEMBER_REMOVE, values))

        inputs = [self._cluster, node.instance_id] + ([volume_id] if volume_id is not None else [])
        return ssh_step(
            f"{name}-{node.name}-member",
            self,
            self._args.ssh.connection(node.private_ip, node.host_key),
            create=pulumi.Output.all(*inputs).apply(create),
            delete=self._cluster.apply(delete),
            stdin=pulumi.Output.secret(files),
        )

    def _s3_env(self) -> pulumi.Output[str] | None:
        """The rclone env file's text (secret), or None without S3 or without credentials."""
        s3 = self._args.etcd.backup.s3
        if s3 is None:
            return None
        credentials = pulumi.Config(NAMESPACE).get_secret(S3_CREDENTIALS_KEY)
        if credentials is None:
            pulumi.log.warn(
                f"etcd.backup.s3 is set but {NAMESPACE}:{S3_CREDENTIALS_KEY} is not: put the rclone env file "
                "/etc/etcd/backup-s3.env on every etcd member yourself, or uploads fail (see etcd-backup.service)",
                self,
            )
            return None
        # Every member's env file is the same; the prefix (stack/member) lives in the script.
        upload = backup_args(self._args.etcd.backup, self._members[0].name, self._args.stack).s3

        def render(value: str) -> str:
            access_key, sep, secret_key = value.partition(":")
            if not (sep and access_key and secret_key):
                # Never echo the value: name the key and the expected shape only.
                raise ValueError(f"{NAMESPACE}:{S3_CREDENTIALS_KEY}: expected ACCESS_KEY_ID:SECRET_ACCESS_KEY")
            return render_s3_env_file(upload, s3.endpoint, access_key, secret_key)

        return pulumi.Output.secret(credentials.apply(render))

    def _backups(
        self,
        name: str,
        node: Node,
        client: KeyPair,
        s3_env: pulumi.Output[str] | None,
        health: command.remote.Command,
    ) -> command.remote.Command:
        """Snapshot script, service and timer, S3 env file, restore script; the timer enabled."""
        args = self._args
        backup = backup_args(args.etcd.backup, node.name, args.stack)
        stacked = args.etcd.topology == EtcdTopology.STACKED

        def files(values: list) -> str:
            cluster = values[0]
            restore = EtcdRestoreArgs(
                cluster=cluster,
                member=self._member_args(node, cluster),
                # A dedicated member runs no apiserver; the lab's master does (the default path).
                **({} if stacked else {"apiserver_manifest": None}),
            )
            out = [
                RemoteFile(backup.script_path, render_backup_script(backup), mode="0755"),
                RemoteFile("/etc/systemd/system/etcd-backup.service", render_backup_service(backup)),
                RemoteFile("/etc/systemd/system/etcd-backup.timer", render_backup_timer(backup)),
                RemoteFile(RESTORE_PATH, render_restore_script(restore), mode="0755"),
            ]
            if len(values) > 1 and backup.s3 is not None:
                out.append(RemoteFile(backup.s3.env_file, values[1], mode="0600"))
            return payload(out)

        stdin = pulumi.Output.all(self._cluster, *([s3_env] if s3_env is not None else [])).apply(files)
        create = node.instance_id.apply(
            lambda instance_id: command_line(
                script(
                    ETCD_BACKUP_APPLY,
                    {
                        "MEMBER": node.name,
                        "INSTANCE_ID": instance_id,
                        "WITH_S3": "yes" if backup.s3 else "no",
                        # A stacked member is a master: the monitoring add-on's DaemonSet serves its metrics.
                        "NODE_EXPORTER": "no" if stacked else "yes",
                    },
                )
            )
        )
        return ssh_step(
            f"{name}-{node.name}-backup",
            self,
            args.ssh.connection(node.private_ip, node.host_key),
            create=create,
            delete=command_line(script(ETCD_BACKUP_REMOVE, {})),
            stdin=pulumi.Output.secret(stdin) if s3_env is not None else stdin,
            depends_on=[health],
        )

"""KubeadmCluster: the machines of the IaaS layer turned into a Kubernetes cluster, by kubeadm over SSH.

The bootstrap sequence of the blueprint's kubeadm deployment, as resources with explicit
dependencies (every step is a pulumi-command ``remote.Command`` through ``SshAccess``; the scripts
are rendered by ``kubeadm_scripts.py`` and ``components/render/``)::

    <node>-prep       each Kubernetes node, in parallel: its role's node preparation script
    init              first master: etcd client files, rendered config, `kubeadm init --upload-certs`
    kubeconfig        first master: admin.conf, read back as a secret whose server is the endpoint
    <master>-secrets  first master: a fresh token and certificate key for that master } one master
    <master>-join     that master: `kubeadm join --control-plane`                      } at a time
    <worker>-secrets  first master: a fresh token for that worker          } after the whole control
    <worker>-join     that worker: `kubeadm join` with its pool's labels   } plane; workers in parallel
    <worker>-node     first master: annotate, label, taint the Node; on delete: cordon, drain, delete it

Why this shape (kubeadm HA guide: https://kubernetes.io/docs/setup/production-environment/tools/
kubeadm/high-availability/):

* **Control-plane joins one at a time.** Each ``upload-certs`` re-encrypts the shared
  ``kubeadm-certs`` Secret with a new key, so a join still holding the previous key would fail;
  and a master that fails to join stops the sequence before the next one touches the cluster.
  Each ``<master>-secrets`` waits for the previous join.
* **The init's secrets come from the stack's seed.** ``kubeadm init`` needs a bootstrap token and
  a certificate key before the cluster exists; both are HKDF derivations of ``secretSeed``
  (components/render/seed.py), secret Outputs, the same on every run, so the init step's input is
  stable from one ``pulumi up`` to the next without keeping anything in the state.
* **Fresh, short-lived secrets per join.** Tokens live 30 minutes and are created right before
  their join (after the control plane, for workers), so a long first deployment never joins with an
  expired token, and a token leaked from one node's state is dead long before anyone could use it.
  They flow as secret Outputs into the join script on stdin; no command line holds one.
* **Everything per node.** A node's steps depend on that node, the first master and the control
  plane only. Adding a worker adds its steps and changes nothing else; removing one deletes its
  steps, and ``<worker>-node``'s delete (drain from the first master) runs before its machine goes,
  because that step depends on the machine (its instance ID is part of the step).
* **A replaced machine is bootstrapped again**: the per-node steps carry its instance ID as a
  trigger (the port, and so the address, survives a rebuild).

What re-applies on a running cluster, and what needs the runbook: docs/runbooks/upgrade.md, sections 8-9.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pulumi
import pulumi_command as command

from components.control_plane.kubeadm_args import KubeadmClusterArgs, cluster_args, kubernetes_node
from components.control_plane.kubeadm_scripts import (
    READ_KUBECONFIG,
    EtcdClientFiles,
    kubeconfig_with_server,
    parse_join_secrets,
    remote_script_command,
    render_init_script,
    render_join_script,
    render_join_secrets_command,
    render_node_command,
    render_node_removal_command,
)
from components.iaas.node_pool import Node
from components.render.kubeadm import BootstrapSecrets, ClusterArgs
from components.render.node_prep import NodeRole, render_node_prep
from components.render.seed import bootstrap_token, certificate_key
from components.secret_seed import derived_secret
from components.ssh import ssh_step
from config.spec import KUBERNETES_ROLES, Role

TYPE = "k8splatform:control_plane:KubeadmCluster"


def init_secrets(seed: bytes) -> BootstrapSecrets:
    """The init's bootstrap token and certificate key, derived from the stack's seed (render/seed.py)."""
    return BootstrapSecrets(token=bootstrap_token(seed), certificate_key=certificate_key(seed))


class KubeadmCluster(pulumi.ComponentResource):
    """The bootstrap of one cluster: prepared nodes, initialised control plane, joined and labelled nodes."""

    kubeconfig: pulumi.Output[str]
    """The admin kubeconfig (secret), its server ``https://<endpoint_host>:<endpoint_port>``."""
    node_names: list[str]
    """Every Kubernetes node, in the IaaS layer's order (Node object name = hostname)."""
    ready: list[pulumi.Resource]
    """The control plane is up: init, the kubeconfig read, every master joined (add-ons wait for it)."""
    workers_ready: list[pulumi.Resource]
    """Every worker joined and labelled (add-ons that need schedulable workers wait for it)."""

    def __init__(self, name: str, args: KubeadmClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name, self._args = name, args
        nodes = [n for n in args.nodes if n.role in KUBERNETES_ROLES]
        masters = [n for n in nodes if n.role == Role.MASTER]
        workers = [n for n in nodes if n.role != Role.MASTER]
        first = masters[0]
        self._first = args.ssh.connection(first.private_ip)
        self.node_names = [n.name for n in nodes]
        prep = {n.name: self._prepare(n) for n in nodes}
        cluster = self._cluster_args(masters)
        etcd = None
        if args.etcd_endpoints is not None:
            etcd = pulumi.Output.all(args.etcd_ca_cert, args.etcd_client_cert, args.etcd_client_key).apply(
                lambda v: EtcdClientFiles(ca_cert=v[0], client_cert=v[1], client_key=v[2])
            )

        # kubeadm init needs its token and certificate key before the cluster exists: derived from
        # the stack's seed (secret Outputs), so the init step's input is the same on every run.
        init_stdin = pulumi.Output.all(cluster, derived_secret(init_secrets), etcd).apply(
            lambda v: render_init_script(v[0], v[1], v[2])
        )
        init = self._command(
            "init",
            self._first,
            create=remote_script_command("kubeadm-init"),
            stdin=pulumi.Output.secret(init_stdin),
            triggers=[first.instance_id],
            depends_on=[prep[first.name], *args.depends_on],
            secret=True,
        )
        read = self._command(
            "kubeconfig",
            self._first,
            create=READ_KUBECONFIG,
            triggers=[first.instance_id],
            depends_on=[init],
            secret=True,
        )
        server = pulumi.Output.concat("https://", args.endpoint_host, f":{args.endpoint_port}")
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(read.stdout, server).apply(lambda v: kubeconfig_with_server(v[0], v[1]))
        )

        control_plane: list[pulumi.Resource] = [init]
        for master in masters[1:]:
            # Sequential: this master's secrets wait for the previous join (see the module docstring).
            control_plane.append(self._join(master, cluster, etcd, prep[master.name], after=[control_plane[-1]]))
        self.ready = [*control_plane, read]
        self.workers_ready = []
        for worker in workers:
            join = self._join(worker, cluster, None, prep[worker.name], after=control_plane)
            self.workers_ready.append(self._node_object(worker, join))
        self.register_outputs({"kubeconfig": self.kubeconfig, "node_names": self.node_names})

    # ------------------------------------------------------------------------------------- steps

    def _command(
        self,
        step: str,
        connection: command.remote.ConnectionArgs,
        *,
        create: pulumi.Input[str],
        stdin: pulumi.Input[str] | None = None,
        delete: str | None = None,
        triggers: list | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
        secret: bool = False,
    ) -> command.remote.Command:
        """One SSH step named ``<component>-<step>`` (``ssh_step``; ``secret``: its output is never
        logged and is a secret Output)."""
        return ssh_step(
            f"{self._name}-{step}",
            self,
            connection,
            create=create,
            stdin=stdin,
            delete=delete,
            triggers=triggers,
            depends_on=depends_on,
            secret=secret,
            # The previous run's stdout (secret) would be sent back to the host as an environment variable.
            previous_output_in_env=False,
        )

    def _prepare(self, node: Node) -> command.remote.Command:
        """The role's preparation script; re-runs when the script changes (idempotent by design)."""
        role = NodeRole.MASTER if node.role == Role.MASTER else NodeRole.WORKER
        prep = dataclasses.replace(self._args.node_prep, role=role)
        script: pulumi.Input[str] = render_node_prep(prep)
        if self._args.platform_registries is not None:
            # The platform's Harbor CA derives from the seed (a secret Output); the certificate is public.
            script = pulumi.Output.unsecret(
                pulumi.Output.from_input(self._args.platform_registries).apply(
                    lambda extra: render_node_prep(dataclasses.replace(prep, registries=(*prep.registries, *extra)))
                )
            )
        return self._command(
            f"{node.name}-prep",
            self._args.ssh.connection(node.private_ip),
            create=remote_script_command("node-prep", keep=True),
            stdin=script,
            triggers=[node.instance_id],
        )

    def _cluster_args(self, masters: list[Node]) -> pulumi.Output[ClusterArgs]:
        """The cluster-wide kubeadm inputs, once every master's address and the endpoint are known."""
        args = self._args
        values = pulumi.Output.all(
            host=args.endpoint_host,
            sans=args.cert_sans,
            etcd=args.etcd_endpoints,
            fip=args.api_floating_ip,
            ips=pulumi.Output.all(*[m.private_ip for m in masters]),
        )
        return values.apply(
            lambda v: cluster_args(
                args.cluster,
                tuple(kubernetes_node(args.cluster, m, ip) for m, ip in zip(masters, v["ips"], strict=True)),
                etcd_endpoints=tuple(v["etcd"] or ()),
                floating_ip=v["fip"],
                endpoint_host=v["host"],
                endpoint_port=args.endpoint_port,
                extra_sans=tuple(v["sans"] or ()),
            )
        )

    def _join(
        self,
        node: Node,
        cluster: pulumi.Output[ClusterArgs],
        etcd: pulumi.Output[EtcdClientFiles] | None,
        prep: pulumi.Resource,
        after: Sequence[pulumi.Resource],
    ) -> command.remote.Command:
        """Fresh secrets on the first master, then ``kubeadm join`` on ``node`` (skipped once joined)."""
        settings, control_plane = self._args.cluster, node.role == Role.MASTER
        secrets = self._command(
            f"{node.name}-secrets",
            self._first,
            create=render_join_secrets_command(node.name, control_plane),
            triggers=[node.instance_id],
            depends_on=after,
            secret=True,
        )
        stdin = pulumi.Output.all(cluster, node.private_ip, secrets.stdout, etcd).apply(
            lambda v: render_join_script(
                v[0],
                kubernetes_node(settings, node, v[1]),
                parse_join_secrets(v[2], control_plane),
                control_plane,
                v[3],
            )
        )
        return self._command(
            f"{node.name}-join",
            self._args.ssh.connection(node.private_ip),
            create=remote_script_command("kubeadm-join"),
            stdin=pulumi.Output.secret(stdin),
            triggers=[node.instance_id],
            depends_on=[prep, *after],
            secret=True,
        )

    def _node_object(self, node: Node, join: pulumi.Resource) -> command.remote.Command:
        """From the first master: annotate and label the joined Node; its delete drains and removes it.

        The instance ID in the create command makes this step depend on the machine, so Pulumi
        deletes it (drain) before the machine; a rebuilt machine updates the annotation only.
        """
        settings = self._args.cluster
        create = pulumi.Output.all(node.private_ip, node.instance_id).apply(
            lambda v: render_node_command(kubernetes_node(settings, node, v[0]), v[1])
        )
        return self._command(
            f"{node.name}-node",
            self._first,
            create=create,
            delete=render_node_removal_command(node.name, self._args.drain_timeout),
            depends_on=[join],
        )

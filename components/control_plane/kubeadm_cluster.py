"""KubeadmCluster: the machines of the IaaS layer turned into a Kubernetes cluster, by kubeadm over SSH.

The bootstrap sequence of the blueprint's kubeadm deployment, as resources with explicit
dependencies (every step is a pulumi-command ``remote.Command`` through ``SshAccess``; the scripts
are rendered by ``kubeadm_scripts.py``, ``worker_scripts.py`` and ``components/render/``)::

    <master>-prep       each master, in parallel: the master's node preparation script
    <first>-rejoin-secrets  master 2, when master 1's instance changes: join material for it
    init                first master: etcd client files, rendered config, `kubeadm init --upload-certs`
                        once per cluster; a rebuilt first master joins instead (kubeadm_masters.py)
    kubeconfig          first master: admin.conf, read back as a secret whose server is the endpoint
    <master>-secrets    first master: a fresh token and certificate key for that master } one master
    <master>-join       that master: `kubeadm join --control-plane`                      } at a time
    <master>-member     that master: its membership; on delete: drain, `kubeadm reset`, delete its Node
    join-issuer         first master: the workers' join issuer (a seed-derived token that may only
                        create join tokens), after the whole control plane
    <worker>-join       that worker, workers in parallel: node preparation, its own fresh token
                        (through the API endpoint, with the issuer), `kubeadm join` with its pool's labels
    pool-<pool>-nodes   first master, after the pool's joins: annotate, label, taint its Nodes; drain
                        and delete those that left the pool; on delete: drain them all

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
* **Fresh, short-lived tokens per join.** Tokens live 30 minutes and are created right before
  their join, so a long first deployment never joins with an expired token. A worker creates its
  own in the join step itself, so a join retried hours after a failure (``kubeadm reset``, then
  ``pulumi up``) works; they flow as secret Outputs or stay on the host, never on a command line.
* **Three resources per worker** (port, instance, join; issue 14): what a worker needs from a
  master (its token) it gets through the API endpoint, and what a master does to its Node object
  (labels, taints, the drain) is one step per pool, so a 5000-node platform has ~15 000 resources
  instead of ~30 000.
* **Everything per node or per pool.** A worker's join depends on that worker, the first master
  and the control plane only. Adding a worker adds its three resources and updates its pool's
  Node step (labels for the new member); removing one deletes its three and updates that step,
  which drains and deletes the Node first: Pulumi deletes removed resources after every update, and
  the pool step depends on every member's machine, so even a destroyed pool drains before its VMs go.
* **A replaced machine is bootstrapped again**: the per-node steps carry its instance ID as a
  trigger (the port, and so the address, survives a rebuild).

The workers' steps are worker_steps.py's, which a pool stack (components/pool_stack.py) registers
too, with what this component exposes for it (``cluster_args``, ``worker_join``).

What re-applies on a running cluster, and what needs the runbook: docs/runbooks/upgrade.md, sections 8-9.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pulumi
import pulumi_command as command

from components.control_plane.kubeadm_args import KubeadmClusterArgs, cluster_args, kubernetes_node
from components.control_plane.kubeadm_masters import (
    parse_rejoin_secrets,
    render_init_script,
    render_master_member_command,
    render_master_removal_command,
    render_rejoin_secrets_command,
)
from components.control_plane.kubeadm_scripts import (
    READ_KUBECONFIG,
    EtcdClientFiles,
    kubeconfig_with_server,
    parse_join_secrets,
    remote_script_command,
    render_join_script,
    render_join_secrets_command,
)
from components.control_plane.worker_scripts import WorkerJoin, cluster_ca, render_join_issuer_script
from components.control_plane.worker_steps import WorkerSteps, join_step, kubeadm_step, worker_steps
from components.iaas.node_pool import Node
from components.render.kubeadm import BootstrapSecrets, ClusterArgs
from components.render.node_prep import NodeRole, render_node_prep
from components.render.seed import bootstrap_token, certificate_key, join_issuer_token
from components.secret_seed import derived_secret
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
    worker_join: pulumi.Output[WorkerJoin] | None
    """What a worker's join shares (preparation, pinned CA, the join issuer's token; secret), for
    the pool stacks (a platform with pool stacks has workers of its own: config/rules.py); None
    without workers."""
    cluster_args: pulumi.Output[ClusterArgs]
    """The cluster-wide kubeadm inputs (endpoint, masters, kubelet), for the pool stacks."""

    def __init__(self, name: str, args: KubeadmClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        self._name, self._args = name, args
        nodes = [n for n in args.nodes if n.role in KUBERNETES_ROLES]
        masters = [n for n in nodes if n.role == Role.MASTER]
        workers = [n for n in nodes if n.role != Role.MASTER]
        first = masters[0]
        self._first = args.ssh.connection(first.private_ip, first.host_key)
        self.node_names = [n.name for n in nodes]
        prep = {n.name: self._prepare(n) for n in masters}  # a worker's preparation is part of its join
        cluster = self._cluster_args(masters)
        etcd = None
        if args.etcd_endpoints is not None:
            etcd = pulumi.Output.all(args.etcd_ca_cert, args.etcd_client_cert, args.etcd_client_key).apply(
                lambda v: EtcdClientFiles(ca_cert=v[0], client_cert=v[1], client_key=v[2])
            )

        # kubeadm init needs its token and certificate key before the cluster exists: derived from
        # the stack's seed (secret Outputs), so the init step's input is the same on every run.
        # A rebuilt master 1 joins the running cluster instead, with material from master 2.
        rejoin = self._rejoin(first, masters)
        init_stdin = pulumi.Output.all(
            cluster, derived_secret(init_secrets), etcd, rejoin.stdout if rejoin else None
        ).apply(lambda v: render_init_script(v[0], v[1], v[2], parse_rejoin_secrets(v[3]) if v[3] else None))
        init = self._command(
            "init",
            self._first,
            create=remote_script_command("kubeadm-init"),
            stdin=pulumi.Output.secret(init_stdin),
            triggers=[first.instance_id],
            depends_on=[prep[first.name], *args.depends_on, *([rejoin] if rejoin else [])],
            secret=True,
        )
        # No instance trigger: a rebuilt master 1 rejoins the same cluster (same CA), so the admin
        # kubeconfig read once stays valid, and a replaced read step would make the add-ons' provider
        # input unknown, which replaces the provider and with it every add-on (the engine refuses:
        # namespaces and data releases are protected).
        read = self._command(
            "kubeconfig",
            self._first,
            create=READ_KUBECONFIG,
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
            self._master_member(master, control_plane[-1])
        self.ready = [*control_plane, read]
        self.worker_join: pulumi.Output[WorkerJoin] | None = None
        self.cluster_args = cluster
        self.workers_ready = self._workers(workers, cluster, read, after=control_plane) if workers else []
        self.register_outputs({"kubeconfig": self.kubeconfig, "node_names": self.node_names})

    # ------------------------------------------------------------------------------------- steps

    def _command(self, step: str, connection: command.remote.ConnectionArgs, **kw) -> command.remote.Command:
        """One SSH step named ``<component>-<step>`` (``kubeadm_step``; ``secret=True``: its output is
        never logged and is a secret Output)."""
        return kubeadm_step(f"{self._name}-{step}", self, connection, **kw)

    def _prep_script(self, role: NodeRole) -> pulumi.Output[str]:
        """The role's node preparation script, trusting ``nodeSetup``'s registries and the
        platform's own (its Harbor)."""
        prep = dataclasses.replace(self._args.node_prep, role=role)
        # The platform's Harbor CA derives from the seed (a secret Output); the certificate is public.
        extra = pulumi.Output.from_input(self._args.platform_registries or ())
        return pulumi.Output.unsecret(
            extra.apply(lambda more: render_node_prep(dataclasses.replace(prep, registries=(*prep.registries, *more))))
        )

    def _prepare(self, node: Node) -> command.remote.Command:
        """A master's preparation script; re-runs when the script changes (idempotent by design)."""
        return self._command(
            f"{node.name}-prep",
            self._args.ssh.connection(node.private_ip, node.host_key),
            create=remote_script_command("node-prep", keep=True),
            stdin=self._prep_script(NodeRole.MASTER),
            triggers=[node.instance_id],
        )

    def _rejoin(self, first: Node, masters: list[Node]) -> command.remote.Command | None:
        """On master 2, whenever master 1's instance changes: join material for a rebuilt master 1
        (kubeadm_masters.py), or ``cluster=none`` before the cluster exists. None with one master."""
        if len(masters) < 2:
            return None
        return self._command(
            f"{first.name}-rejoin-secrets",
            self._args.ssh.connection(masters[1].private_ip, masters[1].host_key),
            create=render_rejoin_secrets_command(first.name),
            triggers=[first.instance_id],
            secret=True,
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
        return join_step(self._name, self, self._args.ssh, node, stdin, [prep, *after])

    def _master_member(self, node: Node, join: pulumi.Resource) -> command.remote.Command:
        """On a further master: its control-plane membership; its delete (the master removed from
        the pool) drains it, runs ``kubeadm reset`` and deletes its Node (kubeadm_masters.py).

        The instance ID in the create command makes it go before the machine, and makes a rebuilt
        machine an update (the create re-runs), never a delete: a replacement resets nothing.
        """
        return self._command(
            f"{node.name}-member",
            self._args.ssh.connection(node.private_ip, node.host_key),
            create=node.instance_id.apply(lambda i: render_master_member_command(node.name, i)),
            delete=render_master_removal_command(node.name, self._args.drain_timeout),
            depends_on=[join],
        )

    # ---------------------------------------------------------------------------------- workers

    def _workers(
        self,
        workers: list[Node],
        cluster: pulumi.Output[ClusterArgs],
        read: command.remote.Command,
        after: Sequence[pulumi.Resource],
    ) -> list[pulumi.Resource]:
        """The join issuer, each worker's join (in parallel), then one Node step per pool (worker_steps.py)."""
        token = derived_secret(join_issuer_token)
        issuer = self._command(
            "join-issuer",
            self._first,
            create=remote_script_command("join-issuer"),
            stdin=pulumi.Output.secret(token.apply(render_join_issuer_script)),
            depends_on=after,
            secret=True,
        )
        # What every worker's join shares, computed once (thousands of workers): the CA pinned from
        # the first master's admin kubeconfig, the issuer, the preparation script.
        # Workers pull from the platform's Harbor too: their preparation trusts it like a master's.
        self.worker_join = pulumi.Output.secret(
            pulumi.Output.all(read.stdout.apply(cluster_ca), token, self._prep_script(NodeRole.WORKER)).apply(
                lambda v: WorkerJoin(prep_script=v[2], ca_cert=v[0][0], ca_cert_hash=v[0][1], issuer_token=v[1])
            )
        )
        steps = WorkerSteps(
            settings=self._args.cluster,
            cluster=cluster,
            join=self.worker_join,
            ssh=self._args.ssh,
            first_master=self._first,
            drain_timeout=self._args.drain_timeout,
            after=[*after, issuer],
        )
        return worker_steps(self._name, self, steps, workers)

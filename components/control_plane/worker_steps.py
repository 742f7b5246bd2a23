"""The workers' kubeadm steps, for a platform stack's KubeadmCluster and a pool stack's PoolStack alike.

Per worker one ``<worker>-join`` step (preparation, its own fresh token, ``kubeadm join``), per pool
one ``pool-<pool>-nodes`` step on the first master (labels, taints, drains): the scripts and why are
worker_scripts.py's and kubeadm_cluster.py's. What a join needs of the control plane is
``WorkerSteps``: in a platform stack from its own layers, in a pool stack from the platform stack's
outputs (components/pool_stack.py). This module registers the steps under the caller's component,
with the caller's names: a platform stack's workers keep the URNs they had before this module
existed; a pool stack names them after its own component and carries aliases for moved pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.control_plane.kubeadm_args import ClusterSettings, kubernetes_node
from components.control_plane.kubeadm_scripts import remote_script_command
from components.control_plane.worker_scripts import (
    WorkerJoin,
    pool_members,
    render_pool_nodes_command,
    render_pool_removal_command,
    render_worker_join_script,
)
from components.iaas.node_pool import Node
from components.render.kubeadm import ClusterArgs
from components.ssh import SshAccess, ssh_step


def kubeadm_step(
    name: str,
    parent: pulumi.Resource,
    connection: command.remote.ConnectionArgs,
    *,
    aliases: Sequence[pulumi.Alias] = (),
    **step,
) -> command.remote.Command:
    """One kubeadm SSH step (``ssh_step``) whose previous stdout (secret) is never sent back to the
    host as an environment variable; ``aliases``: names it had before (a pool moved between stacks)."""
    return ssh_step(name, parent, connection, previous_output_in_env=False, aliases=aliases, **step)


@dataclass(frozen=True)
class WorkerSteps:
    """What the workers' steps need of the control plane."""

    settings: ClusterSettings
    """The cluster-wide kubeadm values (the workers' KubeletConfiguration)."""
    cluster: pulumi.Output[ClusterArgs]
    """The kubeadm inputs of the join configuration (endpoint, kubelet)."""
    join: pulumi.Output[WorkerJoin]
    """Preparation script, pinned CA and the join issuer's token (secret)."""
    ssh: SshAccess
    """The route and credential of the steps."""
    first_master: command.remote.ConnectionArgs
    """Where the pool steps run (kubectl with the admin kubeconfig)."""
    drain_timeout: str
    """``kubectl drain --timeout`` of a removed worker or pool."""
    after: Sequence[pulumi.Resource] = ()
    """What every join waits for (the control plane and the join issuer); none in a pool stack,
    whose platform stack is deployed already."""


def worker_steps(
    prefix: str,
    parent: pulumi.Resource,
    args: WorkerSteps,
    workers: Sequence[Node],
    renamed_from: str | None = None,
) -> list[pulumi.Resource]:
    """Each worker's ``<prefix>-<worker>-join`` (in parallel), then ``<prefix>-pool-<pool>-nodes`` per
    pool; returns the pool steps. ``renamed_from``: the prefix the steps had in the stack they were
    moved from with ``pulumi state move`` (registered there at the stack's root: docs/scaling.md)."""
    pools: dict[str, list[tuple[Node, pulumi.Resource]]] = {}
    join = pulumi.Output.secret(args.join)
    for worker in workers:
        step = _worker_join(prefix, parent, args, worker, join, renamed_from)
        pools.setdefault(worker.pool, []).append((worker, step))
    return [_pool_nodes(prefix, parent, args, pool, members, renamed_from) for pool, members in pools.items()]


def _moved(renamed_from: str | None, step: str) -> list[pulumi.Alias]:
    if renamed_from is None:
        return []
    return [pulumi.Alias(name=f"{renamed_from}-{step}", parent=pulumi.ROOT_STACK_RESOURCE)]


def join_step(
    prefix: str,
    parent: pulumi.Resource,
    ssh: SshAccess,
    node: Node,
    stdin: pulumi.Output[str],
    after: Sequence[pulumi.Resource],
    renamed_from: str | None = None,
) -> command.remote.Command:
    """``<node>-join`` on ``node``: the rendered join script on secret stdin, again on a rebuilt machine."""
    return kubeadm_step(
        f"{prefix}-{node.name}-join",
        parent,
        ssh.connection(node.private_ip, node.host_key),
        create=remote_script_command("kubeadm-join"),
        stdin=pulumi.Output.secret(stdin),
        triggers=[node.instance_id],
        depends_on=after,
        secret=True,
        aliases=_moved(renamed_from, f"{node.name}-join"),
    )


def _worker_join(
    prefix: str,
    parent: pulumi.Resource,
    args: WorkerSteps,
    node: Node,
    join: pulumi.Output[WorkerJoin],
    renamed_from: str | None,
) -> command.remote.Command:
    """On the worker: its preparation, its own fresh token (through the API endpoint), ``kubeadm
    join`` (skipped once joined). One step, so a retried join always creates a new token."""
    settings = args.settings
    stdin = pulumi.Output.all(args.cluster, node.private_ip, join).apply(
        lambda v: render_worker_join_script(v[0], kubernetes_node(settings, node, v[1]), v[2])
    )
    return join_step(prefix, parent, args.ssh, node, stdin, args.after, renamed_from)


def _pool_nodes(
    prefix: str,
    parent: pulumi.Resource,
    args: WorkerSteps,
    pool: str,
    members: list[tuple[Node, pulumi.Resource]],
    renamed_from: str | None,
) -> command.remote.Command:
    """From the first master, after the pool's joins: annotate, label and taint its Nodes; drain
    and delete those that left the pool; on delete (the pool or its stack goes), drain them all.

    No triggers: a replacement would run the delete (drain the whole pool). The members' instance
    IDs are its input, so it depends on every machine of the pool and Pulumi deletes it (drain)
    before any of them; a removed member is drained by its update, which runs before the deletes.
    """
    settings, timeout = args.settings, args.drain_timeout
    sample = members[0][0]
    cluster_name = sample.name.rsplit("-", 1)[0].removesuffix(f"-{pool}")  # <cluster>-<pool>-<n>
    create = pulumi.Output.all(sample.private_ip).apply(
        lambda v: render_pool_nodes_command(cluster_name, pool, kubernetes_node(settings, sample, v[0]), timeout)
    )
    stdin = pulumi.Output.all(*[n.instance_id for n, _ in members]).apply(
        lambda ids: pool_members([(n.name, i) for (n, _), i in zip(members, ids, strict=True)])
    )
    return kubeadm_step(
        f"{prefix}-pool-{pool}-nodes",
        parent,
        args.first_master,
        create=create,
        stdin=stdin,
        delete=render_pool_removal_command(cluster_name, pool, timeout),
        depends_on=[join for _, join in members],
        aliases=_moved(renamed_from, f"pool-{pool}-nodes"),
    )

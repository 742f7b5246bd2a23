"""PoolStack: worker pools of a platform stack's cluster, managed as a stack of their own (issue 14).

A 5000-node platform is one platform stack (network, control plane, add-ons, a first few hundred
workers) plus pool stacks of a few hundred workers each (docs/scaling.md): each previews and
applies on its own, in parallel, and an ``up`` checkpoints only its own state. A pool stack's
config is ``environment``, ``platformStack`` and ``nodePools`` (config/spec.py ``PoolStackSpec``);
everything else comes from the platform stack's outputs (components/pool_contract.py): the plain
``pool_stack`` output, read with the stack's config before any resource, and the secret
``worker_join`` output, through a ``pulumi.StackReference``, so it stays a secret here too.

Per worker the same three resources as in a platform stack (port, instance, ``<worker>-join``) and
per pool its Node step on the platform's first master (components/control_plane/worker_steps.py).
Machines are named after the platform's cluster (``k8s-prod-<pool>-<n>``), as they would be in the
platform stack, and every resource carries an alias to the name it has at a stack's root after
``pulumi state move`` out of the platform stack: a pool moved here keeps its machines
(docs/scaling.md section 4). Destroying the stack deletes each pool's Node step first, which
drains the pool's nodes before any machine goes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.control_plane.worker_steps import WorkerSteps, worker_steps
from components.iaas.node_pool import Node, NodePool, NodePoolArgs
from components.pool_contract import (
    BUDGETS_OUTPUT,
    POOL_STACK_OUTPUT,
    WORKER_JOIN_OUTPUT,
    PlatformForPools,
    load_join,
    load_platform,
)
from components.ssh import SshAccess
from config.spec import PoolStackSpec, config_path

TYPE = "k8splatform:index:PoolStack"
PLATFORM_NAMES = ("platform-iaas-pool", "platform-kubeadm")
"""The name prefixes a pool's NodePool and its kubeadm steps have in a platform stack (the Platform
``platform``, its Iaas ``platform-iaas``, its KubeadmCluster ``platform-kubeadm``, __main__.py): after
``pulumi state move`` they sit at the destination's root under these names."""


@dataclass(frozen=True)
class PoolStackArgs:
    spec: PoolStackSpec
    """The pool stack's validated config: its worker pools and its platform stack's name."""
    platform: PlatformForPools
    """The platform stack's recorded ``pool_stack`` output (plain)."""
    capacity_plan: dict
    """The platform stack's recorded capacity plan, which counts this stack's budget: what the
    policy pack judges the cluster's limits on (the sum across stacks)."""
    node_budget: int
    """The most machines this stack may run (``poolStacks.<stack>.nodes`` of the platform): the
    policy pack checks the stack's instances against it, as the config rules do."""


class PoolStack(pulumi.ComponentResource):
    """Worker pools joined to another stack's cluster."""

    nodes: list[Node]
    """Every machine of every pool, in declaration order."""

    def __init__(self, name: str, args: PoolStackArgs, opts: pulumi.ResourceOptions | None = None):
        spec, platform = args.spec, args.platform
        inputs = {
            "platformStack": spec.platform_stack,
            "nodeBudget": args.node_budget,
            "capacityPlan": args.capacity_plan,
            "kubeletConfigurations": {pool: platform.kubelet_configuration for pool in spec.node_pools},
        }
        super().__init__(TYPE, name, inputs, opts)
        reference = pulumi.StackReference(
            f"{name}-platform",
            stack_name=f"{pulumi.get_organization()}/{pulumi.get_project()}/{spec.platform_stack}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        join = pulumi.Output.secret(reference.require_output(WORKER_JOIN_OUTPUT).apply(load_join))
        iaas_prefix, kubeadm_prefix = PLATFORM_NAMES
        self.nodes = []
        for pool_name, pool in spec.node_pools.items():
            node_pool = NodePool(
                f"{name}-pool-{pool_name}",
                NodePoolArgs(
                    pool_name=pool_name,
                    pool=pool,
                    environment=spec.environment.value,
                    cluster_name=platform.cluster_name,
                    network_id=platform.network_id,
                    subnet_id=platform.subnet_id,
                    security_group_ids=platform.security_group_ids,
                    key_pair=platform.key_pair,
                    allowed_address_pairs=platform.allowed_address_pairs,
                ),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # Its children follow: their names start with the pool's (``<pool>-<n>-port``).
                    aliases=[pulumi.Alias(name=f"{iaas_prefix}-{pool_name}", parent=pulumi.ROOT_STACK_RESOURCE)],
                ),
            )
            self.nodes += node_pool.nodes
        ssh = SshAccess.from_config(
            platform.ssh_user,
            bastion_host=_known(platform.bastion_host),
            bastion_host_key=_known(platform.bastion_host_key),
        )
        steps = WorkerSteps(
            settings=platform.settings,
            cluster=pulumi.Output.from_input(platform.cluster),
            join=join,
            ssh=ssh,
            first_master=ssh.connection(platform.first_master, platform.first_master_host_key),
            drain_timeout=platform.drain_timeout,
        )
        worker_steps(name, self, steps, self.nodes, renamed_from=kubeadm_prefix)
        self.register_outputs({"nodes": [n.to_output() for n in self.nodes]})


def _known(value: str | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.from_input(value)


def pool_stack_args(spec: PoolStackSpec, recorded: dict) -> PoolStackArgs:
    """The args from the platform stack's recorded outputs (``recorded``), which the config rules
    found to list this stack (config/rules_pools.py); a RunError when they predate pool stacks."""
    try:
        platform = load_platform(recorded.get(POOL_STACK_OUTPUT))
    except ValueError:
        raise pulumi.RunError(
            f"stack config rejected, nothing was changed:\n{config_path(('platformStack',))}: the platform stack "
            f"{spec.platform_stack} recorded no usable `{POOL_STACK_OUTPUT}` output: run its up with this version "
            "of the program"
        ) from None
    budget = (recorded.get(BUDGETS_OUTPUT) or {})[pulumi.get_stack()]  # checked by the config rules
    return PoolStackArgs(
        spec=spec,
        platform=platform,
        capacity_plan=dict(recorded.get("capacity_plan") or {}),
        node_budget=int(budget["nodes"]),
    )

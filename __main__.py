"""The platform, layer by layer; all logic lives in components/. A pool stack (``platformStack``
set) registers only its worker pools against its platform stack (components/pool_stack.py)."""

import pulumi

from components.platform import Platform, PlatformArgs, load_spec, stack_outputs
from components.pool_contract import BUDGETS_OUTPUT, POOL_STACK_OUTPUT, WORKER_JOIN_OUTPUT
from components.pool_stack import PoolStack, pool_stack_args
from config.spec import PoolStackSpec

spec = load_spec()
pulumi.export("environment", spec.environment.value)

if isinstance(spec, PoolStackSpec):
    pools = PoolStack("pools", pool_stack_args(spec, stack_outputs(spec.platform_stack)))
    pulumi.export("platform_stack", spec.platform_stack)
    pulumi.export("nodes", [node.to_output() for node in pools.nodes])
else:
    platform = Platform("platform", PlatformArgs(spec=spec))
    pulumi.export("capacity_plan", platform.capacity_plan)

    # IaaS
    pulumi.export("network_id", platform.iaas.network_id)
    pulumi.export("subnet_id", platform.iaas.subnet_id)
    pulumi.export("security_group_ids", platform.iaas.security_group_ids)
    pulumi.export("nodes", [node.to_output() for node in platform.nodes])
    pulumi.export("api_floating_ip", platform.iaas.api_floating_ip)

    # Control plane: API endpoint and etcd
    pulumi.export("api_endpoint_host", platform.api_endpoint.host)
    pulumi.export("api_endpoint_port", platform.api_endpoint.port)
    pulumi.export("etcd_endpoints", platform.etcd.endpoints)

    # Kubernetes (kubeadm): the admin kubeconfig, a secret output
    pulumi.export("kubeconfig", platform.kubeadm.kubeconfig)

    # Pool stacks (docs/scaling.md): their budgets, and what they read of this stack
    pulumi.export(BUDGETS_OUTPUT, {name: budget.model_dump(mode="json") for name, budget in spec.pool_stacks.items()})
    if platform.for_pools is not None:
        pulumi.export(POOL_STACK_OUTPUT, platform.for_pools[0])
        pulumi.export(WORKER_JOIN_OUTPUT, platform.for_pools[1])

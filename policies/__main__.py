"""The policy pack: wraps the rule modules' pure checks into CrossGuard policies.

Every policy is mandatory and configurable through the pack's config (``--policy-pack-config``;
scripts/pulumi passes ``policies/config/<stack>.json`` when it exists); the defaults are the
blueprint's limits. The capacity policies read the plan the program exposes as the Platform's
``capacityPlan`` input, and the per-pool KubeletConfigurations it renders (``kubeletConfigurations``).
"""

from capacity import capacity_violations
from limits import (
    DEFAULTS,
    PLAN_CARRIERS,
    POOL_STACK,
    budget_violations,
    containers_violations,
    max_pods_violations,
    nodes_violations,
    pods_violations,
)
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from data_safety import VOLUME, unprotected_violations
from exposure import SECURITY_GROUP_RULE, world_open_violations
from sizing import INSTANCE, instance_sizing_violations, kubernetes_nodes, node_count_violations


def _report(messages: list[str], report: ReportViolation, urn: str | None = None) -> None:
    for message in messages:
        report(message, urn)


def _limit(name: str, description: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={name: {"type": "integer", "minimum": 0, "default": DEFAULTS[name],
                                                 "description": description}})  # fmt: skip


def _sizing(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == INSTANCE:
        _report(instance_sizing_violations(args.props, args.get_config().get("flavors")), report)


def _exposure(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == SECURITY_GROUP_RULE:
        _report(world_open_violations(args.props), report)


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == VOLUME:
        _report(unprotected_violations(args.name, args.opts.protect), report)


def _node_limit(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = int(args.get_config()["maxNodes"])
    instances = [r.props for r in args.resources if r.resource_type == INSTANCE]
    _report(node_count_violations(instances, limit), report)
    # Across stacks: the plan a platform or pool stack carries counts every pool stack's budget,
    # and a pool stack stays within its own.
    for resource in args.resources:
        if resource.resource_type in PLAN_CARRIERS:
            _report(nodes_violations(resource.props.get("capacityPlan") or {}, limit), report, resource.urn)
        if resource.resource_type == POOL_STACK:
            nodes = kubernetes_nodes(instances)
            _report(budget_violations(nodes, resource.props.get("nodeBudget")), report, resource.urn)


def _on_platform(check):
    """A resource policy judging the inputs of the Platform component, or of a pool stack's PoolStack
    (its platform's plan): ``check(inputs, config)`` -> messages."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in PLAN_CARRIERS:
            _report(check(args.props, args.get_config()), report)

    return validate


def _pod_limit(inputs: dict, config: dict) -> list[str]:
    return pods_violations(inputs["capacityPlan"], int(config["maxPods"]))


def _container_limit(inputs: dict, config: dict) -> list[str]:
    return containers_violations(inputs["capacityPlan"], int(config["maxContainers"]))


def _pods_per_node(inputs: dict, config: dict) -> list[str]:
    limit = int(config["maxPodsPerNode"])
    pools = sorted(inputs["kubeletConfigurations"].items())
    return [message for pool, kubelet in pools for message in max_pods_violations(pool, kubelet, limit)]


def _capacity(inputs: dict, config: dict) -> list[str]:
    return capacity_violations(inputs["capacityPlan"])


FLAVORS = PolicyConfigSchema(
    properties={
        "flavors": {
            "type": "object",
            "default": {},
            "description": "The cloud's flavors, name -> {vcpu, ramGib}: judge the flavor an instance uses, "
            "not only the numbers its pool declares",
            "additionalProperties": {
                "type": "object",
                "properties": {"vcpu": {"type": "integer"}, "ramGib": {"type": "integer"}},
                "required": ["vcpu", "ramGib"],
            },
        }
    }
)

POLICIES = [
    ResourceValidationPolicy(
        name="instance-meets-sizing-table",
        description="Every instance meets its environment's row of the blueprint's sizing table.",
        validate=_sizing,
        config_schema=FLAVORS,
    ),
    ResourceValidationPolicy(
        name="no-world-open-admin-ports",
        description="Only ingress 80/443 may be reachable from 0.0.0.0/0.",
        validate=_exposure,
    ),
    ResourceValidationPolicy(
        name="data-volumes-protected",
        description="Standalone volumes hold etcd/Ceph/Harbor data and must be protected.",
        validate=_protected,
    ),
    StackValidationPolicy(
        name="cluster-node-limit",
        description="At most maxNodes Kubernetes nodes per cluster (blueprint: 5000).",
        validate=_node_limit,
        config_schema=_limit("maxNodes", "Kubernetes nodes per cluster"),
    ),
    ResourceValidationPolicy(
        name="capacity-sufficient",
        description="Every pool has the nodes the capacity plan needs (demand x 1.2 + reservations).",
        validate=_on_platform(_capacity),
    ),
    *(
        ResourceValidationPolicy(
            name=name,
            description=f"At most {key} {what} (blueprint: {DEFAULTS[key]}).",
            validate=_on_platform(check),
            config_schema=_limit(key, what),
        )
        for name, key, what, check in (
            ("cluster-pod-limit", "maxPods", "pods planned per cluster, workloads and platform", _pod_limit),
            ("cluster-container-limit", "maxContainers", "containers planned per cluster", _container_limit),
            ("pods-per-node-limit", "maxPodsPerNode", "pods per node (every pool's kubelet maxPods)", _pods_per_node),
        )
    ),
]

PolicyPack(name="k8s-platform-gates", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)

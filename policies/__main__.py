"""The policy pack: wraps the rule modules' pure checks into CrossGuard policies."""

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from data_safety import VOLUME, unprotected_violations
from exposure import SECURITY_GROUP_RULE, world_open_violations
from sizing import INSTANCE, instance_sizing_violations, node_count_violations


def _report(messages: list[str], report: ReportViolation) -> None:
    for message in messages:
        report(message)


def _sizing(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == INSTANCE:
        _report(instance_sizing_violations(args.props), report)


def _exposure(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == SECURITY_GROUP_RULE:
        _report(world_open_violations(args.props), report)


def _protected(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == VOLUME:
        _report(unprotected_violations(args.name, args.opts.protect), report)


def _node_limit(args: StackValidationArgs, report: ReportViolation) -> None:
    instances = [r.props for r in args.resources if r.resource_type == INSTANCE]
    _report(node_count_violations(instances), report)


POLICIES = [
    ResourceValidationPolicy(
        name="instance-meets-sizing-table",
        description="Every instance declares at least its environment's row of the blueprint's sizing table.",
        validate=_sizing,
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
        description="At most 5000 Kubernetes nodes per cluster (the blueprint's limit).",
        validate=_node_limit,
    ),
]

PolicyPack(name="k8s-platform-gates", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)

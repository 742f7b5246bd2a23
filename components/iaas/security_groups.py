"""SecurityGroups: one Neutron group per role present (plus ``node``), one resource per rule.

The rules themselves are data (``rules_table.py``); this component only registers them. Each
group is created with ``delete_default_rules=True``: Neutron adds allow-all egress rules to a new
group that no program manages, so they are removed and the egress the machines need is one of the
table's rules, reviewable like the rest
(https://www.pulumi.com/registry/packages/openstack/api-docs/networking/secgroup/).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.iaas.rules_table import GROUP_DESCRIPTIONS, RulesInput, groups, rules


@dataclass(frozen=True)
class SecurityGroupsArgs:
    rules_input: RulesInput
    """What decides the rules (roles present, CNI, API endpoint, source CIDRs); see rules_table.py."""
    cluster_name: str
    """Prefix of the groups' Neutron names (e.g. ``k8s-prod`` -> ``k8s-prod-master``)."""


class SecurityGroups(pulumi.ComponentResource):
    """The stack's security groups and their rules."""

    group_ids: dict[str, pulumi.Output[str]]
    """Group key (role value or ``node``) -> Neutron security group ID."""

    def __init__(self, name: str, args: SecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:iaas:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        created = {
            key: openstack.networking.SecGroup(
                f"{name}-{key}",
                name=f"{args.cluster_name}-{key}",
                description=f"k8s-platform {args.cluster_name}: {GROUP_DESCRIPTIONS[key]}",
                delete_default_rules=True,
                opts=child,
            )
            for key in groups(args.rules_input)
        }
        for rule in rules(args.rules_input):
            openstack.networking.SecGroupRule(
                f"{name}-{rule.name}",
                security_group_id=created[rule.group].id,
                direction=rule.direction,
                ethertype="IPv4",
                protocol=rule.protocol,
                port_range_min=rule.port_min,
                port_range_max=rule.port_max,
                remote_group_id=created[rule.remote_group].id if rule.remote_group else None,
                remote_ip_prefix=rule.remote_cidr,
                description=rule.description,
                opts=child,
            )
        self.group_ids = {key: group.id for key, group in created.items()}
        self.register_outputs({"group_ids": self.group_ids})

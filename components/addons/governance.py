"""Governance: one namespace per tenant with its quota, default limits, access and network
isolation (the blueprint: namespaces for isolation, RBAC and NetworkPolicy).

Per tenant (``addons.governance.tenants[]``):

* Namespace ``<name>``, protected: deleting it deletes every workload in it, so removing a tenant
  from the config fails until the operator unprotects it (``pulumi state unprotect``), on purpose;
* ResourceQuota (requests.cpu, requests.memory, pods) and LimitRange (default requests and limits
  for containers that state none, so the quota can be charged);
* RoleBinding of the tenant's group to the built-in ``admin`` or ``edit`` ClusterRole;
* NetworkPolicies: default-deny of ingress and egress, then allow DNS to kube-system's CoreDNS,
  traffic within the namespace, and (when the ingress add-on runs) ingress from ingress-nginx.

Calico enforces NetworkPolicy; under Flannel, kube-network-policies does (components/addons/cni.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.addons.cluster import ClusterAccess
from config.charts import INGRESS_NGINX
from config.spec_addons import Tenant

TYPE = "k8splatform:addons:Governance"
NAME_LABEL = "kubernetes.io/metadata.name"
"""The label Kubernetes sets on every namespace to its name (selects a namespace in a policy)."""

net = kubernetes.networking.v1
ALL_PODS = kubernetes.meta.v1.LabelSelectorArgs()


@dataclass(frozen=True)
class GovernanceArgs:
    tenants: Sequence[Tenant]
    """The tenants (``addons.governance.tenants``), names valid and unique (config rules)."""
    allow_ingress_controller: bool = False
    """Let the ingress controller's namespace reach the tenants' pods (the ingress add-on runs)."""


def _from_namespace(name: str) -> net.NetworkPolicyPeerArgs:
    return net.NetworkPolicyPeerArgs(
        namespace_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={NAME_LABEL: name})
    )


def policies(args: GovernanceArgs) -> dict[str, net.NetworkPolicySpecArgs]:
    """The NetworkPolicies every tenant namespace gets, by name."""
    dns = net.NetworkPolicyPeerArgs(
        namespace_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={NAME_LABEL: "kube-system"}),
        pod_selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
    )
    out = {
        "default-deny": net.NetworkPolicySpecArgs(pod_selector=ALL_PODS, policy_types=["Ingress", "Egress"]),
        "allow-dns": net.NetworkPolicySpecArgs(
            pod_selector=ALL_PODS,
            policy_types=["Egress"],
            egress=[
                net.NetworkPolicyEgressRuleArgs(
                    to=[dns], ports=[net.NetworkPolicyPortArgs(protocol=p, port=53) for p in ("UDP", "TCP")]
                )
            ],
        ),
        "allow-same-namespace": net.NetworkPolicySpecArgs(
            pod_selector=ALL_PODS,
            policy_types=["Ingress", "Egress"],
            ingress=[net.NetworkPolicyIngressRuleArgs(from_=[net.NetworkPolicyPeerArgs(pod_selector=ALL_PODS)])],
            egress=[net.NetworkPolicyEgressRuleArgs(to=[net.NetworkPolicyPeerArgs(pod_selector=ALL_PODS)])],
        ),
    }
    if args.allow_ingress_controller:
        out["allow-ingress-controller"] = net.NetworkPolicySpecArgs(
            pod_selector=ALL_PODS,
            policy_types=["Ingress"],
            ingress=[net.NetworkPolicyIngressRuleArgs(from_=[_from_namespace(INGRESS_NGINX.namespace)])],
        )
    return out


class Governance(pulumi.ComponentResource):
    """Every tenant's namespace, quota, limits, role binding and network policies."""

    def __init__(
        self, name: str, args: GovernanceArgs, cluster: ClusterAccess, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(TYPE, name, None, opts)
        specs = policies(args)
        for tenant in args.tenants:
            self._tenant(f"{name}-{tenant.name}", tenant, specs, cluster)
        self.register_outputs({})

    def _tenant(self, prefix: str, tenant: Tenant, specs: dict, cluster: ClusterAccess) -> None:
        child = cluster.options(self)
        namespace = kubernetes.core.v1.Namespace(
            prefix,
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=tenant.name, labels={"k8s-platform/tenant": tenant.name}),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True)),
        )
        inside = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))

        def meta(what: str) -> kubernetes.meta.v1.ObjectMetaArgs:
            return kubernetes.meta.v1.ObjectMetaArgs(name=what, namespace=tenant.name)

        quota, limits = tenant.quota, tenant.limits
        kubernetes.core.v1.ResourceQuota(
            f"{prefix}-quota",
            metadata=meta("tenant-quota"),
            spec=kubernetes.core.v1.ResourceQuotaSpecArgs(
                hard={"requests.cpu": quota.cpu, "requests.memory": quota.memory, "pods": str(quota.pods)}
            ),
            opts=inside,
        )
        kubernetes.core.v1.LimitRange(
            f"{prefix}-limits",
            metadata=meta("tenant-defaults"),
            spec=kubernetes.core.v1.LimitRangeSpecArgs(
                limits=[kubernetes.core.v1.LimitRangeItemArgs(
                    type="Container",
                    default_request={"cpu": limits.cpu_request, "memory": limits.memory_request},
                    default={"cpu": limits.cpu_limit, "memory": limits.memory_limit},
                )]
            ),
            opts=inside,
        )  # fmt: skip
        kubernetes.rbac.v1.RoleBinding(
            f"{prefix}-{tenant.role.value}",
            metadata=meta(f"tenant-{tenant.role.value}"),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=tenant.role.value
            ),
            subjects=[
                kubernetes.rbac.v1.SubjectArgs(kind="Group", name=tenant.group, api_group="rbac.authorization.k8s.io")
            ],
            opts=inside,
        )
        for policy, spec in specs.items():
            net.NetworkPolicy(f"{prefix}-{policy}", metadata=meta(policy), spec=spec, opts=inside)

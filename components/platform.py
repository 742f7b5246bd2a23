"""Platform: the whole container platform, wiring the blueprint's layers in order.

IaaS -> API endpoint -> etcd -> kubeadm -> CNI -> add-ons. Each layer is its own component in
its own module; this one only passes one layer's outputs to the next. Layers land issue by issue;
until a layer exists, the Platform registers the capacity plan and what is there.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

import pulumi

from components.control_plane.api_endpoint import ApiServerEndpoint, ApiServerEndpointArgs
from components.control_plane.etcd_cluster import EtcdCluster, EtcdClusterArgs
from components.control_plane.kubeadm_args import KubeadmClusterArgs
from components.control_plane.kubeadm_cluster import KubeadmCluster
from components.iaas.iaas import Iaas
from components.iaas.node_pool import Node
from components.platform_addons import AddonLayer, addon_layer
from components.platform_args import (
    cluster_settings,
    endpoint_settings,
    iaas_args,
    kubelet_settings,
    node_prep_args,
)
from components.platform_data import data_addons, registry_trust
from components.render.kubeadm import render_kubelet_configuration
from components.ssh import SshAccess
from config.load import parse
from config.spec import KUBERNETES_ROLES, Role, SpecError, StackSpec
from planning.capacity import plan


@dataclass(frozen=True)
class PlatformArgs:
    spec: StackSpec
    """The validated stack config (see config/spec.py)."""


class Platform(pulumi.ComponentResource):
    """All layers of one environment's platform."""

    capacity_plan: pulumi.Output[dict]
    """The blueprint's capacity plan for this stack (planning/capacity.py)."""
    iaas: Iaas
    """The IaaS layer: network, security groups, node pools, floating IPs (components/iaas/)."""
    nodes: list[Node]
    """Every machine with its role, private IP, labels and taints, for the bootstrap layers."""
    ssh: SshAccess
    """The route and credential of every SSH step (through the bastion when the stack has one)."""
    api_endpoint: ApiServerEndpoint
    """The API endpoint (VIP:6443), haproxy + keepalived or Octavia (components/control_plane/)."""
    etcd: EtcdCluster
    """The etcd cluster kube-apiserver uses as external etcd (components/control_plane/)."""
    kubeadm: KubeadmCluster
    """The kubeadm bootstrap: prepared, initialised and joined nodes, the admin kubeconfig (secret)."""
    addons: AddonLayer
    """The add-on layer: its Kubernetes provider and each enabled add-on (components/addons/)."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        spec = args.spec
        capacity_plan = plan(spec).to_output()
        super().__init__("k8splatform:index:Platform", name, policy_inputs(spec, capacity_plan), opts)
        child = pulumi.ResourceOptions(parent=self)
        self.capacity_plan = pulumi.Output.from_input(capacity_plan)
        # OpenStack names carry the stack (k8s-prod-worker-1): unique per stack in one project.
        cluster_name = f"k8s-{pulumi.get_stack()}"
        iaas = dataclasses.replace(iaas_args(spec, cluster_name), legacy_hosts=legacy_hosts())
        self.iaas = Iaas(f"{name}-iaas", iaas, opts=child)
        self.nodes = self.iaas.nodes
        unverified = sorted(n.name for n in self.nodes if n.host_key is None)
        if unverified:
            pulumi.log.warn(
                f"SSH host keys not verified for {', '.join(unverified)}: they booted before the program "
                "injected host keys; roll or rebuild them to verify (docs/runbooks/troubleshooting.md, host keys)",
                self,
            )
        bastions = [n for n in self.nodes if n.role == Role.BASTION and n.floating_ip is not None]
        self.ssh = SshAccess.from_config(
            spec.ssh_user,
            bastion_host=bastions[0].floating_ip if bastions else None,
            bastion_host_key=bastions[0].host_key if bastions else None,
        )
        self.api_endpoint = ApiServerEndpoint(
            f"{name}-api-endpoint",
            ApiServerEndpointArgs(
                settings=endpoint_settings(spec),
                cluster_name=cluster_name,
                nodes=self.nodes,
                network_id=self.iaas.network_id,
                subnet_id=self.iaas.subnet_id,
                security_group_ids=self.iaas.security_group_ids,
                ssh=self.ssh,
                api_floating_ip=self.iaas.api_floating_ip,
            ),
            opts=child,
        )
        self.etcd = EtcdCluster(
            f"{name}-etcd",
            EtcdClusterArgs(
                etcd=spec.etcd,
                pki_epoch=spec.pki_epoch,
                nodes=self.nodes,
                ssh=self.ssh,
                cluster_name=cluster_name,
                stack=pulumi.get_stack(),
            ),
            opts=child,
        )
        self.kubeadm = KubeadmCluster(
            f"{name}-kubeadm",
            KubeadmClusterArgs(
                cluster=cluster_settings(spec),
                node_prep=node_prep_args(spec.node_setup),
                nodes=self.nodes,
                ssh=self.ssh,
                endpoint_host=self.api_endpoint.host,
                endpoint_port=self.api_endpoint.port,
                cert_sans=self.api_endpoint.sans,
                etcd_endpoints=self.etcd.endpoints,
                etcd_ca_cert=self.etcd.ca_cert,
                etcd_client_cert=self.etcd.client_cert,
                etcd_client_key=self.etcd.client_key,
                api_floating_ip=self.iaas.api_floating_ip,
                depends_on=[*self.api_endpoint.ready, *self.etcd.ready],
                platform_registries=registry_trust(spec, cluster_name),
            ),
            opts=child,
        )
        self.addons = addon_layer(
            f"{name}-addons",
            self,
            spec,
            self.kubeadm,
            api_floating_ip=self.iaas.api_floating_ip,
            api_port=self.api_endpoint.port,
        )
        data_addons(f"{name}-addons", self, spec, self.addons, self.nodes, self.etcd, cluster_name)
        self.register_outputs({"capacity_plan": self.capacity_plan, "nodes": [n.to_output() for n in self.nodes]})


def policy_inputs(spec: StackSpec, capacity_plan: dict) -> dict:
    """The Platform's inputs, which is what the policy pack sees of it (policies/limits.py): the
    capacity plan, and per Kubernetes pool the KubeletConfiguration its nodes get. The pack judges
    these; it never recomputes the formula or re-renders the kubelet's config."""
    kubelet = render_kubelet_configuration(kubelet_settings(spec.kubelet))
    return {
        "capacityPlan": capacity_plan,
        "kubeletConfigurations": {name: kubelet for name, _ in spec.pools(*KUBERNETES_ROLES)},
    }


READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"
"""The engine's builtin invoke behind StackReference: a stack's outputs from its last update."""


def recorded_nodes() -> list[dict]:
    """The machines the stack runs: its ``nodes`` output as the last update recorded it (the
    engine reads the stack's own state; nothing is looked up in the cloud). Empty for a stack
    never deployed."""
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": name})
    nodes = ((result.value or {}).get("outputs") or {}).get("nodes") or []
    return [n for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)]


def deployed_pools() -> dict[str, int]:
    """Machines per pool the stack runs (``recorded_nodes``)."""
    return dict(Counter(n["pool"] for n in recorded_nodes() if isinstance(n.get("pool"), str)))


def legacy_hosts() -> frozenset[str]:
    """Machines the stack runs that booted without an injected SSH host key: recorded with none."""
    return frozenset(n["name"] for n in recorded_nodes() if not n.get("host_key"))


def load_spec() -> StackSpec:
    """The stack config as the engine hands it to the program, validated.

    A broken rule ends the program with pulumi.RunError: the CLI prints the message alone
    (no traceback) and nothing has been registered yet.
    """
    from pulumi.runtime import config as runtime_config

    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {key for key in config if runtime_config.is_config_secret(key)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env())
    try:
        # The program needs the stack's seed (components/render/seed.py); the capacity CLI does not.
        return parse(config, secret_keys, seed_required_for=pulumi.get_stack(), deployed=deployed_pools())
    except SpecError as error:
        count = len(error.violations)
        raise pulumi.RunError(
            f"stack config rejected ({count} problem{'s' if count > 1 else ''}), nothing was changed:\n{error}"
        ) from None

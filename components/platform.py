"""Platform: the whole container platform, wiring the blueprint's layers in order.

IaaS -> API endpoint -> etcd -> kubeadm -> CNI -> add-ons. Each layer is its own component in
its own module; this one only passes one layer's outputs to the next. Layers land issue by issue;
until a layer exists, the Platform registers the capacity plan and what is there.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pulumi

from components.control_plane.api_endpoint import ApiServerEndpoint, ApiServerEndpointArgs
from components.control_plane.etcd_cluster import EtcdCluster, EtcdClusterArgs
from components.control_plane.kubeadm_args import KubeadmClusterArgs
from components.control_plane.kubeadm_cluster import KubeadmCluster
from components.iaas.iaas import Iaas, IaasArgs, allowed_address_pairs
from components.iaas.node_pool import Node
from components.iaas.rules_table import memberships
from components.platform_addons import AddonLayer, addon_layer
from components.platform_args import (
    cluster_settings,
    endpoint_settings,
    iaas_args,
    kubelet_settings,
    node_prep_args,
    platform_cluster_name,
)
from components.platform_data import data_addons, registry_trust
from components.pool_contract import PlatformForPools, dump_join, dump_platform
from components.render.kubeadm import render_kubelet_configuration
from components.ssh import SshAccess
from config.load import parse
from config.rules_pools import machines
from config.spec import KUBERNETES_ROLES, PoolStackSpec, Role, SpecError, StackSpec
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
    for_pools: tuple[pulumi.Output[dict], pulumi.Output[dict]] | None
    """With pool stacks (``poolStacks``): what they read of this stack, the plain ``pool_stack`` and
    the secret ``worker_join`` outputs (components/pool_contract.py); None without."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        spec = args.spec
        capacity_plan = plan(spec).to_output()
        super().__init__("k8splatform:index:Platform", name, policy_inputs(spec, capacity_plan), opts)
        child = pulumi.ResourceOptions(parent=self)
        self.capacity_plan = pulumi.Output.from_input(capacity_plan)
        # OpenStack names carry the stack (k8s-prod-worker-1): unique per stack in one project.
        cluster_name = platform_cluster_name(pulumi.get_stack())
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
        self.for_pools = self._for_pools(spec, iaas) if spec.pool_stacks else None
        self.register_outputs({"capacity_plan": self.capacity_plan, "nodes": [n.to_output() for n in self.nodes]})

    def _for_pools(self, spec: StackSpec, iaas: IaasArgs) -> tuple[pulumi.Output[dict], pulumi.Output[dict]]:
        """The ``pool_stack`` output (plain) and the ``worker_join`` output (secret) its pool stacks read
        (components/pool_contract.py)."""
        first = next(n for n in self.nodes if n.role == Role.MASTER)
        groups = [self.iaas.security_group_ids[g] for g in memberships(Role.WORKER)]
        settings = cluster_settings(spec)
        values = pulumi.Output.all(
            network=self.iaas.network_id,
            subnet=self.iaas.subnet_id,
            groups=pulumi.Output.all(*groups),
            bastion=self.ssh.bastion_host,
            bastion_key=self.ssh.bastion_host_key,
            first=first.private_ip,
            first_key=first.host_key,
            cluster=self.kubeadm.cluster_args,
        )
        plain = values.apply(
            lambda v: dump_platform(
                PlatformForPools(
                    cluster_name=iaas.cluster_name,
                    network_id=v["network"],
                    subnet_id=v["subnet"],
                    security_group_ids=tuple(v["groups"]),
                    key_pair=self.iaas.key_pair_name,
                    allowed_address_pairs=allowed_address_pairs(iaas, Role.WORKER),
                    environment=spec.environment.value,
                    ssh_user=spec.ssh_user,
                    bastion_host=v["bastion"],
                    bastion_host_key=v["bastion_key"],
                    first_master=v["first"],
                    first_master_host_key=v["first_key"],
                    settings=settings,
                    cluster=v["cluster"],
                    drain_timeout=KubeadmClusterArgs.drain_timeout,
                    kubelet_configuration=render_kubelet_configuration(settings.kubelet),
                )
            )
        )
        join = self.kubeadm.worker_join
        assert join is not None  # a platform with pool stacks has workers (config/rules.py _pool_stacks)
        return plain, pulumi.Output.secret(join.apply(dump_join))


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
UNKNOWN_STACK = "unknown stack"
"""The engine's error for a stack the backend does not have (a pool stack's platform, mistyped)."""
"""The engine's builtin invoke behind StackReference: a stack's outputs from its last update."""


def stack_outputs(stack: str) -> dict[str, Any]:
    """A stack's plain outputs as its last update recorded them (the engine reads its backend; nothing
    is looked up in the cloud). Empty for a stack never deployed, or one the backend does not have."""
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{stack}"
    try:
        result = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": name})
    except Exception as error:  # the SDK raises a bare Exception with the engine's message
        if UNKNOWN_STACK in str(error):
            return {}  # the rules say what a missing stack means where they read it
        # Anything else (a backend that does not answer) stops the program: the rules that compare
        # with what is deployed must not pass on missing data.
        raise pulumi.RunError(
            f"reading the recorded outputs of stack {stack} failed, nothing was changed: {error}"
        ) from None
    value = result.value or {}
    # Secret outputs (the kubeconfig, worker_join) are left out: what this returns is read as plain
    # config; a pool stack reads worker_join through a StackReference, which keeps it secret.
    secret = set(value.get("secretOutputNames") or ())
    return {k: v for k, v in (value.get("outputs") or {}).items() if k not in secret}


def recorded_nodes() -> list[dict]:
    """The machines the stack runs: its ``nodes`` output as the last update recorded it."""
    return machines(stack_outputs(pulumi.get_stack()))


def deployed_pools() -> dict[str, int]:
    """Machines per pool the stack runs (``recorded_nodes``)."""
    return dict(Counter(n["pool"] for n in recorded_nodes() if isinstance(n.get("pool"), str)))


def legacy_hosts() -> frozenset[str]:
    """Machines the stack runs that booted without an injected SSH host key: recorded with none."""
    return frozenset(n["name"] for n in recorded_nodes() if not n.get("host_key"))


def load_spec() -> StackSpec | PoolStackSpec:
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
        return parse(
            config, secret_keys, seed_required_for=pulumi.get_stack(), deployed=deployed_pools(), outputs=stack_outputs
        )
    except SpecError as error:
        count = len(error.violations)
        raise pulumi.RunError(
            f"stack config rejected ({count} problem{'s' if count > 1 else ''}), nothing was changed:\n{error}"
        ) from None

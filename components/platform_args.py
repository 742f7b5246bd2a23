"""How the Platform turns the stack config into each component's arguments (ARCHITECTURE.md principle 2).

Every component takes its own frozen args holding only what it uses, and no component sees the
whole StackSpec. The Platform (platform.py) is the one place that maps the spec onto them: a
section passed whole (``etcd``) stays inline there, anything built from several keys is a function
here. What only exists at deploy time (addresses, IDs, certificates) the Platform adds from the
layer below; these functions read the config alone, so they are pure.
"""

from __future__ import annotations

from components.control_plane.endpoint_parts import EndpointSettings
from components.control_plane.kubeadm_args import ClusterSettings
from components.iaas.iaas import IaasArgs
from components.iaas.rules_table import RulesInput
from components.render.kubeadm import KubeletSettings
from components.render.node_prep import NodePrepArgs, NodeRole, RegistryTrust
from config.spec import NATIVE_ROUTING, ApiEndpointKind, Kubelet, NodeSetup, Role, StackSpec


def platform_cluster_name(stack: str) -> str:
    """The prefix of every OpenStack name of a platform stack's cluster (``k8s-prod``): unique per
    stack in one project, and shared by its pool stacks' machines (``k8s-prod-<pool>-<n>``)."""
    return f"k8s-{stack}"


def iaas_args(spec: StackSpec, cluster_name: str) -> IaasArgs:
    """The IaaS layer's args: the network and pools as configured, what decides their groups and pairs."""
    return IaasArgs(
        cluster_name=cluster_name,
        environment=spec.environment.value,
        ssh_public_key=spec.ssh_public_key,
        network=spec.network,
        pools=dict(spec.node_pools),
        rules_input=RulesInput.from_spec(spec),
        keepalived_vip=spec.api_endpoint == ApiEndpointKind.HAPROXY_KEEPALIVED,
        native_routing=(spec.cni.plugin, spec.cni.encapsulation) in NATIVE_ROUTING,
    )


def endpoint_settings(spec: StackSpec) -> EndpointSettings:
    """What the config decides about the API endpoint (the Platform adds the IaaS layer's IDs)."""
    net = spec.network
    return EndpointSettings(
        kind=spec.api_endpoint,
        vip=str(net.api_vip),
        vip_prefix_len=net.node_cidr.prefixlen,
        allowed_cidrs=(*(str(c) for c in net.admin_cidrs), str(net.node_cidr)),
        options=spec.api_endpoint_options,
    )


def kubelet_settings(kubelet: Kubelet) -> KubeletSettings:
    """The renderer's form of the ``kubelet`` section (the same values, plain mappings)."""
    return KubeletSettings(
        system_reserved=kubelet.system_reserved.model_dump(),
        kube_reserved=kubelet.kube_reserved.model_dump(),
        eviction_hard=dict(kubelet.eviction_hard),
        eviction_minimum_reclaim=dict(kubelet.eviction_minimum_reclaim),
        node_status_update_frequency=kubelet.node_status_update_frequency,
        eviction_pressure_transition_period=kubelet.eviction_pressure_transition_period,
        max_pods=kubelet.max_pods,
    )


def cluster_settings(spec: StackSpec) -> ClusterSettings:
    """The cluster-wide values of the kubeadm documents (the Platform adds the endpoint and etcd)."""
    net = spec.network
    return ClusterSettings(
        pod_subnet=str(net.pod_cidr),
        service_subnet=str(net.service_cidr),
        node_cidr_mask_size=net.pod_cidr_node_prefix,
        event_ttl=spec.kubernetes.event_ttl,
        kubelet=kubelet_settings(spec.kubelet),
        # An all-in-one cluster (the lab) runs its workloads on the masters.
        taint_masters=spec.count(Role.WORKER, Role.INGRESS, Role.STORAGE) > 0,
    )


def node_prep_args(setup: NodeSetup, role: NodeRole = NodeRole.WORKER) -> NodePrepArgs:
    """The node preparation script's args from ``nodeSetup`` (unset keys keep the upstream defaults)."""
    optional = {
        "apt_repository": setup.apt_repository,
        "apt_key_url": setup.apt_key_url,
        "artifact_base_url": setup.artifact_base_url,
        "sandbox_image": setup.sandbox_image,
    }
    return NodePrepArgs(
        role=role,
        registries=tuple(RegistryTrust(r.host, r.ca_cert) for r in setup.registries),
        ntp_servers=tuple(str(a) for a in setup.ntp_servers),
        **{k: v for k, v in optional.items() if v is not None},
    )

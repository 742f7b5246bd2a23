"""How the add-ons reach the cluster: one explicit Kubernetes provider from KubeadmCluster's admin
kubeconfig, and the dependencies every add-on waits for.

The kubeconfig's server is the API endpoint (the VIP, on the tenant network). A Pulumi host
outside that network reaches the apiserver through the API floating IP when the stack has one
(``network.apiFloatingIp``; it is in the apiserver certificate's SANs), so the provider's
kubeconfig points there. Without one (prod: a bastion, no API floating IP) the host that runs
``pulumi up`` must be on the tenant network or route to it (docs/addons-network.md, "Reaching the
cluster"). On a new stack the kubeconfig is unknown during the preview, so the engine does not
configure the provider and every add-on previews offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.control_plane.kubeadm_scripts import kubeconfig_with_server


@dataclass(frozen=True)
class ClusterAccess:
    """What every add-on component gets from the Platform to reach the cluster."""

    provider: kubernetes.Provider
    """The explicit provider (``cluster_provider``); no add-on uses the ambient kubeconfig."""
    depends_on: Sequence[pulumi.Resource]
    """What must be done first: the control plane and every worker join (KubeadmCluster.ready and
    workers_ready) and, for all but the CNI, the CNI's release (pods need a pod network)."""

    def after(self, *resources: pulumi.Resource) -> ClusterAccess:
        """The same access, also waiting for ``resources``."""
        return ClusterAccess(self.provider, (*self.depends_on, *resources))

    def options(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options of an add-on's child: its parent, the provider, the dependencies."""
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, depends_on=list(self.depends_on))


def cluster_provider(
    name: str,
    kubeconfig: pulumi.Output[str],
    *,
    api_floating_ip: pulumi.Input[str] | None,
    api_port: int,
    parent: pulumi.Resource,
) -> kubernetes.Provider:
    """The provider of ``kubeconfig`` (secret), its server the API floating IP when there is one."""
    if api_floating_ip is not None:
        server = pulumi.Output.concat("https://", api_floating_ip, f":{api_port}")
        kubeconfig = pulumi.Output.all(kubeconfig, server).apply(lambda v: kubeconfig_with_server(v[0], v[1]))
    return kubernetes.Provider(
        name,
        kubeconfig=pulumi.Output.secret(kubeconfig),
        opts=pulumi.ResourceOptions(parent=parent),
    )

"""Network: the machines' tenant network, subnet and router, or a pre-provisioned network by ID.

The subnet's DHCP allocation pool comes from ``network.allocationPool``; the addresses of the node
CIDR outside it (below ``.32`` in the committed stacks) are never handed out, so the API VIP and
other fixed addresses stay free. The router's gateway on ``network.externalNetworkId`` gives the
machines egress (packages, images) and makes floating IPs reachable
(https://docs.openstack.org/neutron/latest/admin/intro-os-networking.html).

Many clouds pre-provision the tenant network: with ``network.existingNetworkId`` and
``existingSubnetId`` nothing is created and the IDs are passed through. The program cannot check
such a subnet (no lookups during a preview); it must match ``nodeCidr`` and keep the VIP outside
its allocation pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from config.spec import Network as NetworkSpec


@dataclass(frozen=True)
class NetworkArgs:
    spec: NetworkSpec
    """The ``network`` section of the stack config."""
    cluster_name: str
    """Prefix of the Neutron names (e.g. ``k8s-prod`` -> ``k8s-prod-net``)."""


class Network(pulumi.ComponentResource):
    """Tenant network, subnet, router with external gateway and router interface."""

    network_id: pulumi.Output[str]
    """Neutron network ID of the machines' ports."""
    subnet_id: pulumi.Output[str]
    """Neutron subnet ID (the node CIDR)."""
    router_id: pulumi.Output[str] | None
    """Router ID; None when an existing network is used."""
    ready: list[pulumi.Resource]
    """Resources a machine must wait for before it boots (the router interface: metadata, egress)."""

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:iaas:Network", name, None, opts)
        spec = args.spec
        if spec.existing_network_id:
            self.network_id = pulumi.Output.from_input(spec.existing_network_id)
            self.subnet_id = pulumi.Output.from_input(spec.existing_subnet_id or "")
            self.router_id = None
            self.ready = []
        else:
            self._create(name, args)
        self.register_outputs({"network_id": self.network_id, "subnet_id": self.subnet_id, "router_id": self.router_id})

    def _create(self, name: str, args: NetworkArgs) -> None:
        spec, cluster = args.spec, args.cluster_name
        child = pulumi.ResourceOptions(parent=self)
        network = openstack.networking.Network(
            f"{name}-net",
            name=f"{cluster}-net",
            description=f"k8s-platform {cluster}: machines of the Kubernetes platform",
            admin_state_up=True,
            opts=child,
        )
        subnet = openstack.networking.Subnet(
            f"{name}-subnet",
            name=f"{cluster}-nodes",
            network_id=network.id,
            cidr=str(spec.node_cidr),
            ip_version=4,
            enable_dhcp=True,
            # DHCP hands out only this range; the VIP and other fixed addresses live outside it.
            allocation_pools=[
                openstack.networking.SubnetAllocationPoolArgs(
                    start=str(spec.allocation_pool.start), end=str(spec.allocation_pool.end)
                )
            ],
            dns_nameservers=[str(a) for a in spec.dns_servers] or None,
            opts=child,
        )
        router = openstack.networking.Router(
            f"{name}-router",
            name=f"{cluster}-router",
            external_network_id=spec.external_network_id,
            admin_state_up=True,
            opts=child,
        )
        interface = openstack.networking.RouterInterface(
            f"{name}-router-interface", router_id=router.id, subnet_id=subnet.id, opts=child
        )
        self.network_id = network.id
        self.subnet_id = subnet.id
        self.router_id = router.id
        self.ready = [interface]

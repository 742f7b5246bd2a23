"""ApiServerEndpoint: the one address every client of the Kubernetes API uses.

The blueprint's HA section puts several stateless apiservers behind "lvs/haproxy/nginx +
keepalived". Two implementations stand behind this one interface, picked by ``apiEndpoint``
(ARCHITECTURE.md principle 7):

- ``haproxy-keepalived`` (endpoint_haproxy.py): haproxy on the lb machines, keepalived moving
  the VIP between them; the VIP is reserved by a Neutron port;
- ``octavia`` (endpoint_octavia.py): an OpenStack load balancer whose VIP is the same address.

Either way the endpoint is ``network.apiVip:6443``: kubeadm's ``controlPlaneEndpoint`` and a SAN
of the apiserver certificate, with the API floating IP (allocated by the IaaS layer so it
survives a rebuilt endpoint) associated to the port holding the VIP and added to the SANs.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_openstack as openstack

from components.control_plane.endpoint_haproxy import build_haproxy_keepalived
from components.control_plane.endpoint_octavia import build_octavia
from components.control_plane.endpoint_parts import API_PORT, ApiServerEndpointArgs, EndpointParts
from config.spec import ApiEndpointKind

Builder = Callable[[pulumi.Resource, str, ApiServerEndpointArgs], EndpointParts]
BUILDERS: dict[ApiEndpointKind, Builder] = {
    ApiEndpointKind.HAPROXY_KEEPALIVED: build_haproxy_keepalived,
    ApiEndpointKind.OCTAVIA: build_octavia,
}
"""One builder per ``apiEndpoint`` value; each registers its resources as children of the endpoint."""


class ApiServerEndpoint(pulumi.ComponentResource):
    """The API endpoint (VIP:6443) in front of every kube-apiserver."""

    host: pulumi.Output[str]
    """The VIP: kubeadm's ``controlPlaneEndpoint`` host, reachable from every node."""
    port: int
    """The endpoint's port, 6443."""
    sans: pulumi.Output[list[str]]
    """Addresses the apiserver certificate must list: the VIP, and the floating IP when there is one."""
    ready: list[pulumi.Resource]
    """Depend on these before using the endpoint (configured proxies or Octavia members, FIP)."""

    def __init__(self, name: str, args: ApiServerEndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:control_plane:ApiServerEndpoint", name, None, opts)
        vip = args.settings.vip
        parts = BUILDERS[args.settings.kind](self, name, args)
        ready = list(parts.ready)
        addresses: list[pulumi.Input[str]] = [vip]
        if args.api_floating_ip is not None:
            # The address NATs to whatever port holds the VIP; clients outside the subnet use it.
            association = openstack.networking.FloatingIpAssociate(
                f"{name}-fip-association",
                floating_ip=args.api_floating_ip,
                port_id=parts.vip_port_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            ready.append(association)
            addresses.append(args.api_floating_ip)
        self.host = pulumi.Output.from_input(vip)
        self.port = API_PORT
        self.sans = pulumi.Output.all(*addresses).apply(list)
        self.ready = ready
        self.register_outputs({"host": self.host, "port": self.port, "sans": self.sans})

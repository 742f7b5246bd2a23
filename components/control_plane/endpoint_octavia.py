"""The Octavia API endpoint: an OpenStack load balancer on the node subnet, VIP = ``network.apiVip``.

Resources (children of the ApiServerEndpoint), in Octavia's order: load balancer -> TCP listener
on 6443 -> pool -> health monitor -> one member per master. Octavia accepts one change at a time
per load balancer (it is PENDING_UPDATE meanwhile), so the members are chained one after the
other instead of racing each other.

- TCP, not HTTPS: TLS goes end to end to the apiservers, client certificates keep working.
- ``allowed_cidrs`` (Octavia API >= 2.12): the admin networks and the node subnet; nothing else
  reaches the VIP (https://docs.openstack.org/octavia/latest/user/guides/basic-cookbook.html).
- Listener data timeouts of one hour: Octavia's default (50 s) would cut idle watches, which the
  apiserver itself ends after ``--min-request-timeout`` (1800 s) x [1, 2); same as haproxy's
  ``timeout tunnel`` (https://docs.openstack.org/api-ref/load-balancer/v2/#create-a-listener).
- Health monitor ``HTTPS GET /readyz`` expecting 200 (the amphora checks TLS without verifying the
  certificate, and ``/readyz`` is open to anonymous callers), or TCP for providers without HTTP
  monitors (OVN); ``apiEndpointOptions.octaviaMonitor``.
"""

from __future__ import annotations

import pulumi
import pulumi_openstack as openstack

from components.control_plane.endpoint_parts import API_PORT, ApiServerEndpointArgs, EndpointParts
from config.spec import OctaviaMonitor, Role

DATA_TIMEOUT_MS = 3_600_000
"""Listener ``timeout_client_data``/``timeout_member_data``: one hour, as haproxy's tunnel timeout."""
CONNECT_TIMEOUT_MS = 5_000
"""Listener ``timeout_member_connect``: 5 s, as haproxy's ``timeout connect``."""


def build_octavia(parent: pulumi.Resource, name: str, args: ApiServerEndpointArgs) -> EndpointParts:
    """Load balancer, listener, pool, monitor and one member per master."""
    cluster, settings, options = args.cluster_name, args.settings, args.settings.options
    child = pulumi.ResourceOptions(parent=parent)
    balancer = openstack.loadbalancer.LoadBalancer(
        f"{name}-lb",
        name=f"{cluster}-api",
        description=f"k8s-platform {cluster}: Kubernetes API endpoint",
        vip_subnet_id=args.subnet_id,
        vip_address=settings.vip,
        loadbalancer_provider=options.octavia_provider,
        opts=child,
    )
    listener = openstack.loadbalancer.Listener(
        f"{name}-listener",
        name=f"{cluster}-api-{API_PORT}",
        loadbalancer_id=balancer.id,
        protocol="TCP",
        protocol_port=API_PORT,
        allowed_cidrs=list(settings.allowed_cidrs),
        timeout_client_data=DATA_TIMEOUT_MS,
        timeout_member_data=DATA_TIMEOUT_MS,
        timeout_member_connect=CONNECT_TIMEOUT_MS,
        opts=child,
    )
    pool = openstack.loadbalancer.Pool(
        f"{name}-pool",
        name=f"{cluster}-apiservers",
        listener_id=listener.id,
        protocol="TCP",
        lb_method=options.octavia_lb_method.value,
        opts=child,
    )
    https = options.octavia_monitor == OctaviaMonitor.HTTPS
    monitor = openstack.loadbalancer.Monitor(
        f"{name}-monitor",
        name=f"{cluster}-apiserver-readyz" if https else f"{cluster}-apiserver-tcp",
        pool_id=pool.id,
        type=options.octavia_monitor.value,
        # Down after 3 failed checks 5 s apart (~15 s), up again after 2 good ones.
        delay=5,
        timeout=3,
        max_retries=2,
        max_retries_down=3,
        http_method="GET" if https else None,
        url_path="/readyz" if https else None,
        expected_codes="200" if https else None,
        opts=child,
    )
    previous: pulumi.Resource = monitor
    members = []
    for node in (n for n in args.nodes if n.role == Role.MASTER):
        previous = openstack.loadbalancer.Member(
            f"{name}-member-{node.name}",
            name=node.name,
            pool_id=pool.id,
            address=node.private_ip,
            protocol_port=API_PORT,
            subnet_id=args.subnet_id,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[previous]),
        )
        members.append(previous)
    return EndpointParts(vip_port_id=balancer.vip_port_id, ready=[listener, monitor, *members])

"""The API endpoint's interface types: its args, read by both builders, and what a builder hands back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from components.iaas.node_pool import Node
from components.ssh import SshAccess
from config.spec import ApiEndpointKind, ApiEndpointOptions

API_PORT = 6443
"""kube-apiserver's secure port and the endpoint's (kubeadm's default ``bindPort``)."""


@dataclass(frozen=True)
class EndpointParts:
    """The parts of a built endpoint the interface needs."""

    vip_port_id: pulumi.Output[str]
    """Neutron port holding the VIP: the API floating IP is associated with it."""
    ready: Sequence[pulumi.Resource]
    """The resources after which the endpoint forwards to the masters."""


@dataclass(frozen=True)
class EndpointSettings:
    """What the stack config decides about the endpoint."""

    kind: ApiEndpointKind
    """``apiEndpoint``: which builder stands behind the interface (haproxy-keepalived or octavia)."""
    vip: str
    """``network.apiVip``: the endpoint's IPv4 address on the node subnet."""
    vip_prefix_len: int
    """Prefix length of the node subnet (``network.nodeCidr``): keepalived adds the VIP with it."""
    allowed_cidrs: tuple[str, ...]
    """Sources the Octavia listener accepts: ``network.adminCidrs``, then the node subnet."""
    options: ApiEndpointOptions
    """``apiEndpointOptions``: VRRP router id and interface (haproxy-keepalived); provider,
    algorithm and monitor (octavia)."""


@dataclass(frozen=True)
class ApiServerEndpointArgs:
    """What the endpoint needs: its settings, the machines and the IaaS layer's network."""

    settings: EndpointSettings
    """The endpoint's kind, VIP and options from the stack config."""
    cluster_name: str
    """Prefix of OpenStack names (``k8s-<stack>``)."""
    nodes: Sequence[Node]
    """Every machine; the masters are the backends, the lb machines (haproxy-keepalived) the proxies."""
    network_id: pulumi.Input[str]
    """Neutron network of the node subnet (the VIP port lives on it)."""
    subnet_id: pulumi.Input[str]
    """Node subnet: the VIP's subnet, Octavia's VIP and member subnet."""
    security_group_ids: Mapping[str, pulumi.Input[str]]
    """Group key -> ID from the IaaS layer (the VIP port carries ``lb``)."""
    ssh: SshAccess
    """How the SSH steps reach the lb machines."""
    api_floating_ip: pulumi.Input[str] | None = None
    """Address of the IaaS layer's API floating IP, associated here; None without ``apiFloatingIp``."""

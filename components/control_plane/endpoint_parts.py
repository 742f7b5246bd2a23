"""What an API endpoint builder hands back to ApiServerEndpoint (shared by both builders)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

API_PORT = 6443
"""kube-apiserver's secure port and the endpoint's (kubeadm's default ``bindPort``)."""


@dataclass(frozen=True)
class EndpointParts:
    """The parts of a built endpoint the interface needs."""

    vip_port_id: pulumi.Output[str]
    """Neutron port holding the VIP: the API floating IP is associated with it."""
    ready: Sequence[pulumi.Resource]
    """The resources after which the endpoint forwards to the masters."""

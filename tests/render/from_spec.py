"""Renderer args from a committed stack's spec, as the Platform and the components build them.

The renderers take small typed args and never see the config; these helpers let the renderer
tests start from the real stack files through the same functions the program uses
(components/platform_args.py, components/control_plane/kubeadm_args.py).
"""

from __future__ import annotations

import dataclasses

from components.control_plane.kubeadm_args import cluster_args, pool_member
from components.platform_args import cluster_settings
from components.render.kubeadm import ClusterArgs
from components.render.kubeadm_nodes import KubernetesNode
from config.spec import StackSpec


def pool_node(spec: StackSpec, pool: str, name: str, address: str) -> KubernetesNode:
    """One machine of ``pool`` with the pool's labels and taints (and the master taint when wanted)."""
    config = spec.node_pools[pool]
    return pool_member(cluster_settings(spec), name, address, config.role, config.labels, config.taints)


def pool_nodes(spec: StackSpec, pool: str, addresses: tuple[str, ...]) -> tuple[KubernetesNode, ...]:
    """The nodes of ``pool``, named ``<pool>-<i>``, one per address."""
    assert len(addresses) == spec.node_pools[pool].count, (pool, addresses)
    return tuple(pool_node(spec, pool, f"{pool}-{i}", a) for i, a in enumerate(addresses))


def cluster_args_from_spec(
    spec: StackSpec,
    masters: tuple[KubernetesNode, ...],
    etcd_endpoints: tuple[str, ...] = (),
    floating_ip: str | None = None,
    **overrides,
) -> ClusterArgs:
    """ClusterArgs for the stack with the VIP as endpoint; ``overrides`` replace any field."""
    args = cluster_args(
        cluster_settings(spec),
        masters,
        endpoint_host=str(spec.network.api_vip),
        etcd_endpoints=etcd_endpoints,
        floating_ip=floating_ip,
    )
    return dataclasses.replace(args, **overrides)

"""What a pool stack needs of its platform stack, as the platform stack records it (docs/scaling.md).

The platform stack exports it as two outputs; a pool stack reads them before any resource:

* ``pool_stack`` (plain): where its machines go (network, subnet, the workers' security groups, the
  key pair, the cluster's name prefix), how its steps reach the cluster (SSH user, bastion, first
  master, each with its host key) and the kubeadm inputs of a worker's join (``ClusterArgs``);
* ``worker_join`` (secret, read through a ``pulumi.StackReference``): the preparation script, the
  pinned CA and the join issuer's token (``WorkerJoin``).

Both are frozen dataclasses turned into JSON-shaped data and back by pydantic, so what the pool
stack reads is validated against the same types the platform wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from components.control_plane.kubeadm_args import ClusterSettings
from components.control_plane.worker_scripts import WorkerJoin
from components.render.kubeadm import ClusterArgs

POOL_STACK_OUTPUT = "pool_stack"
WORKER_JOIN_OUTPUT = "worker_join"
BUDGETS_OUTPUT = "pool_stacks"
"""The platform stack's output of its pool stacks' node budgets (``poolStacks``), always exported."""


@dataclass(frozen=True)
class PlatformForPools:
    """The platform stack's ``pool_stack`` output: everything of it a pool stack uses but the secret."""

    cluster_name: str
    """The platform's machine name prefix (``k8s-prod``): pool stack machines are ``<it>-<pool>-<n>``."""
    network_id: str
    subnet_id: str
    security_group_ids: tuple[str, ...]
    """The groups of a worker's port (components/iaas/rules_table.py ``memberships``)."""
    key_pair: str
    """The platform's Nova key pair (its machines' and the pool stacks' machines' login)."""
    allowed_address_pairs: tuple[str, ...]
    """Extra source addresses of a Kubernetes node's port (native-routing CNI: pod, service CIDRs)."""
    environment: str
    ssh_user: str
    first_master: str
    """The first master's private address: the pool steps (labels, taints, drains) run there."""
    settings: ClusterSettings
    cluster: ClusterArgs
    drain_timeout: str
    kubelet_configuration: str
    """The workers' rendered KubeletConfiguration (the policy pack's ``kubeletConfigurations``)."""
    # Optional, with defaults: the engine hands a stack output's null values to the program as
    # missing keys (a platform without a bastion, a first master recorded without a host key).
    bastion_host: str | None = None
    bastion_host_key: str | None = None
    first_master_host_key: str | None = None


_PLATFORM = TypeAdapter(PlatformForPools)
_JOIN = TypeAdapter(WorkerJoin)


def dump_platform(value: PlatformForPools) -> dict[str, Any]:
    return _PLATFORM.dump_python(value, mode="json")


def load_platform(data: Any) -> PlatformForPools:
    """The ``pool_stack`` output as recorded; a ValueError when it does not have that shape."""
    return _PLATFORM.validate_python(data)


def dump_join(value: WorkerJoin) -> dict[str, Any]:
    return _JOIN.dump_python(value, mode="json")


def load_join(data: Any) -> WorkerJoin:
    return _JOIN.validate_python(data)

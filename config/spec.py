"""The whole stack configuration as one typed, validated model (sections in spec_sections.py and
spec_platform.py).

Every key of the ``k8s-platform`` config namespace is modelled here (unknown keys are rejected);
config/load.py reads a stack's config into it and runs the cross-field rules of config/rules.py
before the program registers any resource.
Field names are camelCase in the stack files (Pulumi's convention) and snake_case in Python.
A default is declared once, on its field; the blueprint's numbers are the defaults.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from config.openssh import check_ssh_public_key
from config.sizing import Environment
from config.spec_addons import Addons
from config.spec_platform import (
    NATIVE_ROUTING,
    ApiEndpointKind,
    ApiEndpointOptions,
    Cni,
    CniPlugin,
    Encapsulation,
    LoggingPipeline,
    NodeSetup,
    OctaviaLbMethod,
    OctaviaMonitor,
    RegistryCa,
    Storage,
    Workload,
)
from config.spec_sections import (
    _DNS_LABEL,
    ETCD_DATA_VOLUME,
    KUBERNETES_ROLES,
    ROLE_SIZING,
    ROLLED_ROLES,
    Address,
    AllocationPool,
    AntiAffinity,
    Cidr,
    DataVolume,
    Duration,
    Etcd,
    EtcdBackup,
    EtcdTopology,
    EvictionSignal,
    Kubelet,
    Kubernetes,
    Limits,
    Network,
    NodePool,
    Quantity,
    ResourceList,
    Role,
    S3Target,
    Taint,
    TaintEffect,
    _Model,
)

NAMESPACE = "k8s-platform"
"""The Pulumi project name, and so the namespace of every config key the program reads."""
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _pki_epoch(value: Any) -> date:
    """A real calendar date, ``YYYY-MM-DD``, not after today (UTC, the certificates' clock)."""
    if isinstance(value, datetime):  # YAML reads `2026-12-01 10:00` as a timestamp
        raise ValueError("expected a date YYYY-MM-DD, not a timestamp")
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a real date (YYYY-MM-DD)") from None
    if not isinstance(value, date):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    today = datetime.now(UTC).date()
    if value > today:
        # Certificates issued from it would not be valid yet ("x509: certificate is not yet valid").
        raise ValueError(f"{value} is in the future (today is {today}, UTC): certificates would not be valid yet")
    return value


PkiEpoch = Annotated[date, BeforeValidator(_pki_epoch)]


STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
"""A Pulumi stack name (letters, digits, ``-``, ``_``, ``.``), as ``poolStacks`` and ``platformStack`` name them."""


def _stack_name(value: str) -> str:
    if not STACK_NAME.match(value):
        raise ValueError(f"{value!r} is not a stack name (letters, digits, '-', '_', '.'; at most 100)")
    return value


StackName = Annotated[str, BeforeValidator(lambda v: _stack_name(v) if isinstance(v, str) else v)]


class PoolStackBudget(_Model):
    """What a platform stack grants one of its pool stacks (docs/scaling.md)."""

    nodes: int = Field(ge=1)
    """The most machines the pool stack may run, in all its pools."""
    pools: tuple[str, ...] = Field(min_length=1)
    """The names of its pools. The platform owns every pool name of its cluster (machines are
    ``<cluster>-<pool>-<n>`` and a pool's Node step selects its Nodes by that name), so each is
    listed once, here or in the platform's own ``nodePools``."""

    @field_validator("pools")
    @classmethod
    def _names(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for name in v:
            if not _DNS_LABEL.match(name):
                raise ValueError(f"pool name {name!r} must be a DNS label (a-z, 0-9, '-'), <= 32 chars")
        if len(set(v)) != len(v):
            raise ValueError("a pool name appears twice")
        return v


class _PooledSpec(_Model):
    """What every stack has: its environment and its node pools."""

    environment: Environment
    """lab, test or prod: the row of the sizing table this stack follows."""
    node_pools: dict[str, NodePool]
    """Pools by name; the name is part of every resource name of the pool."""

    @field_validator("node_pools")
    @classmethod
    def _pool_names(cls, v: dict[str, NodePool]) -> dict[str, NodePool]:
        for name in v:
            if not _DNS_LABEL.match(name):
                raise ValueError(f"pool name {name!r} must be a DNS label (a-z, 0-9, '-'), <= 32 chars")
        return v

    def pools(self, *roles: Role) -> list[tuple[str, NodePool]]:
        """Pools with one of ``roles`` (all pools when none given), in declaration order."""
        return [(n, p) for n, p in self.node_pools.items() if not roles or p.role in roles]

    def count(self, *roles: Role) -> int:
        """Machines in pools with one of ``roles``."""
        return sum(p.count for _, p in self.pools(*roles))


class StackSpec(_PooledSpec):
    """A platform stack: the whole platform, and the node budgets of its pool stacks."""

    network: Network
    storage: Storage
    kubelet: Kubelet = Kubelet()
    kubernetes: Kubernetes = Kubernetes()
    etcd: Etcd
    cni: Cni = Cni()
    api_endpoint: ApiEndpointKind = ApiEndpointKind.HAPROXY_KEEPALIVED
    api_endpoint_options: ApiEndpointOptions = ApiEndpointOptions()
    """VRRP router id and interface (haproxy-keepalived); provider, algorithm, monitor (octavia)."""
    logging: LoggingPipeline = LoggingPipeline.KAFKA
    addons: Addons = Addons()
    """The add-on layer on the cluster (config/spec_addons.py): switches, chart source, settings."""
    node_setup: NodeSetup = NodeSetup()
    """Package mirrors, trusted registries (Harbor CA) and NTP servers of the Kubernetes nodes."""
    workloads: tuple[Workload, ...] = ()
    """Inventory for the capacity plan: apps x replicas x requests."""
    pool_stacks: dict[StackName, PoolStackBudget] = Field(default_factory=dict)
    """Pool stacks of this platform (docs/scaling.md) by stack name -> ``{nodes, pools}``: the most
    machines that stack may run and the names of its pools. The budgets count towards the
    cluster's limits, addresses and pod ranges here, and each pool stack refuses a count above its
    own or a pool not listed for it. Default: none."""
    ssh_public_key: str
    """OpenSSH public key (one line, ``ssh-ed25519 AAAA... comment``) installed on every machine as
    the stack's Nova key pair; the bootstrap layer logs in with its private half. Not a secret."""

    ssh_user: str = Field(default="ubuntu", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    """Login user of the images (Ubuntu cloud images: ``ubuntu``); needs passwordless sudo."""
    pki_epoch: PkiEpoch
    """Issue date (``YYYY-MM-DD``, UTC, not in the future) of the etcd certificates: their validity
    starts that day (CA 10 years, leaves 2 years) and their keys and serials derive from it, so the
    same date gives byte-identical certificates and a later date re-issues them (rotation:
    docs/runbooks/secrets.md). No default: each stack states when its certificates were issued."""

    @field_validator("ssh_public_key")
    @classmethod
    def _ssh_public_key(cls, v: str) -> str:
        return check_ssh_public_key(v)

    def budgeted(self) -> int:
        """Machines the pool stacks may run (the sum of ``poolStacks``)."""
        return sum(budget.nodes for budget in self.pool_stacks.values())

    def cluster_nodes(self) -> int:
        """Kubernetes nodes of the whole cluster as planned: this stack's and its pool stacks' budgets."""
        return self.count(*KUBERNETES_ROLES) + self.budgeted()


class PoolStackSpec(_PooledSpec):
    """A pool stack (docs/scaling.md): worker pools joined to the cluster of ``platform_stack``,
    whose outputs give it everything else (network, groups, endpoint, join material, kubelet)."""

    platform_stack: StackName
    """The platform stack this one's workers join (a stack of this project, same backend)."""

    @field_validator("node_pools")
    @classmethod
    def _workers_only(cls, v: dict[str, NodePool]) -> dict[str, NodePool]:
        for name, pool in v.items():
            if pool.role != Role.WORKER:
                raise ValueError(
                    f"pool {name!r} has role {pool.role.value}: a pool stack runs worker pools only "
                    "(ingress, storage and the control plane stay in the platform stack, whose add-ons use them)"
                )
        return v


# --------------------------------------------------------------------------- loading and errors


class SpecError(Exception):
    """The stack config broke one or more rules; ``str()`` is one line per violation."""

    def __init__(self, violations: list[tuple[str, str]]):
        self.violations = violations
        super().__init__("\n".join(f"{path}: {rule}" for path, rule in violations))


def config_path(loc: tuple[Any, ...]) -> str:
    """``("network", "podCidr")`` -> ``k8s-platform:network.podCidr`` (the ``--path`` form)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"{NAMESPACE}:{text}"


__all__ = [
    "ETCD_DATA_VOLUME",
    "KUBERNETES_ROLES",
    "NAMESPACE",
    "NATIVE_ROUTING",
    "ROLE_SIZING",
    "ROLLED_ROLES",
    "STACK_NAME",
    "Addons",
    "Address",
    "AllocationPool",
    "AntiAffinity",
    "ApiEndpointKind",
    "ApiEndpointOptions",
    "Cidr",
    "Cni",
    "CniPlugin",
    "DataVolume",
    "Duration",
    "Encapsulation",
    "Etcd",
    "EtcdBackup",
    "EtcdTopology",
    "EvictionSignal",
    "Kubelet",
    "Kubernetes",
    "Limits",
    "LoggingPipeline",
    "Network",
    "NodePool",
    "NodeSetup",
    "OctaviaLbMethod",
    "OctaviaMonitor",
    "PkiEpoch",
    "PoolStackBudget",
    "PoolStackSpec",
    "Quantity",
    "RegistryCa",
    "ResourceList",
    "Role",
    "S3Target",
    "SpecError",
    "StackSpec",
    "Storage",
    "Taint",
    "TaintEffect",
    "Workload",
    "config_path",
]

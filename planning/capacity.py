"""The blueprint's capacity formula as pure functions, and a command that prints the plan.

Seed, "容量规划": app resources = apps x replicas per app x cpu/memory per app, plus 20 % headroom
for business growth and failover drift. What a node can give is its capacity minus the kubelet's
system-reserved and kube-reserved, minus the hard eviction threshold for memory (the kubelet
evicts before that memory is used, see
https://kubernetes.io/docs/tasks/administer-cluster/reserve-compute-resources/#node-allocatable).

    python -m planning.capacity Pulumi.prod.yaml   (exit 0 sufficient, 1 insufficient, 2 config rejected)
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import asdict, astuple, dataclass
from fractions import Fraction

import yaml

from config.load import load_stack_file
from config.quantity import mebibytes, millicores
from config.spec import (
    EtcdTopology,
    Kubelet,
    Limits,
    NodePool,
    PoolStackSpec,
    Role,
    SpecError,
    StackSpec,
    Workload,
)
from planning.platform_pods import PlatformPods, platform_pods

HEADROOM = Fraction(6, 5)
"""+20 % (the blueprint's 预留冗余), kept exact so the plan never rounds a node away."""


def platform_units(spec: StackSpec) -> dict[str, int]:
    """How many of each ``PlatformPods.per`` unit the stack has."""
    masters = spec.count(Role.MASTER)
    return {
        # The pool stacks' nodes run the same DaemonSets: their budgets count as nodes of the cluster.
        "node": spec.cluster_nodes(),
        "master": masters,
        "stacked-etcd-master": masters if spec.etcd.topology == EtcdTopology.STACKED else 0,
        "cluster": 1,
        "ingress-node": spec.count(Role.INGRESS),
    }


def platform_pool(spec: StackSpec) -> str:
    """Where the platform's Deployments are counted: the largest worker pool without taints (where the
    scheduler puts pods that tolerate nothing; ties by name), else the first master pool (all-in-one).
    By size, not by declaration order: the engine hands the program ``nodePools`` with its keys
    sorted, so "the first" would be ``ssd`` in prod through the engine and ``worker`` from the file."""
    untainted = [(name, pool) for name, pool in spec.pools(Role.WORKER) if not pool.taints]
    if untainted:
        return min(untainted, key=lambda item: (-item[1].count, item[0]))[0]
    return sorted(name for name, _ in spec.pools(Role.MASTER))[0]


def daemon_rows(spec: StackSpec, pool: NodePool, rows: tuple[PlatformPods, ...], name: str = "") -> list[PlatformPods]:
    """The DaemonSet rows whose pods run on every node of ``pool`` (named ``name``)."""
    return [
        r
        for r in rows
        if r.per == "node"
        or (r.per == "ingress-node" and pool.role == Role.INGRESS)
        or (r.per == "pool-node" and r.pool == name)
    ]


def row_units(spec: StackSpec, row: PlatformPods, units: dict[str, int]) -> int:
    """How many times ``row``'s pods run: its ``per`` unit's count, or its pool's nodes (``pool-node``)."""
    return spec.node_pools[row.pool].count if row.per == "pool-node" and row.pool else units[row.per]


@dataclass(frozen=True)
class Demand:
    """What workloads ask of a pool, headroom included for CPU and memory."""

    cpu_millicores: int
    memory_mib: int
    pods: int
    containers: int


@dataclass(frozen=True)
class Allocatable:
    """What one node gives to pods."""

    cpu_millicores: int
    memory_mib: int
    pods: int


@dataclass(frozen=True)
class PoolPlan:
    """Required against configured nodes for one pool, with the dimension that decides."""

    pool: str
    demand: Demand
    """Workloads with 20 % headroom plus the platform's Deployments counted on this pool."""
    allocatable: Allocatable
    """Per node, after the kubelet's reservations and the platform's DaemonSets on it."""
    required_nodes: int
    configured_nodes: int
    bound_by: str
    """cpu, memory or pods: the dimension needing the most nodes."""
    platform: Demand = Demand(0, 0, 0, 0)
    """The platform's Deployments counted here (part of ``demand``, no headroom: fixed requests)."""

    @property
    def sufficient(self) -> bool:
        return self.configured_nodes >= self.required_nodes


@dataclass(frozen=True)
class CapacityPlan:
    pools: tuple[PoolPlan, ...]
    workload_pods: int
    workload_containers: int
    platform_pods: int
    """The platform's own pods (planning/platform_pods.py over the stack's nodes and masters)."""
    platform_containers: int
    total_nodes: int
    pod_capacity: int
    """What the nodes could hold: every Kubernetes node times its kubelet's maxPods."""
    limits: Limits

    @property
    def total_pods(self) -> int:
        return self.workload_pods + self.platform_pods

    @property
    def total_containers(self) -> int:
        return self.workload_containers + self.platform_containers

    @property
    def sufficient(self) -> bool:
        return all(p.sufficient for p in self.pools)

    def to_output(self) -> dict:
        """Plain data for a stack output (snake_case keys, like the attributes)."""
        return {
            "pools": [asdict(p) | {"sufficient": p.sufficient} for p in self.pools],
            "workload_pods": self.workload_pods,
            "workload_containers": self.workload_containers,
            "platform_pods": self.platform_pods,
            "platform_containers": self.platform_containers,
            "total_pods": self.total_pods,
            "total_containers": self.total_containers,
            "total_nodes": self.total_nodes,
            "pod_capacity": self.pod_capacity,
            "limits": self.limits.model_dump(),
            "sufficient": self.sufficient,
        }


def with_headroom(value: int) -> int:
    """``value`` plus 20 %, rounded up to a whole unit."""
    return math.ceil(value * HEADROOM)


def demand(workloads: list[Workload] | tuple[Workload, ...]) -> Demand:
    """Σ apps x replicas x request, then +20 % on CPU and memory (pods are counted as they are)."""
    cpu = sum(w.apps * w.replicas * millicores(w.cpu) for w in workloads)
    memory = sum(w.apps * w.replicas * mebibytes(w.memory) for w in workloads)
    pods = sum(w.apps * w.replicas for w in workloads)
    containers = sum(w.apps * w.replicas * w.containers for w in workloads)
    return Demand(with_headroom(cpu), with_headroom(memory), pods, containers)


def allocatable(pool: NodePool, kubelet: Kubelet) -> Allocatable:
    """Node capacity minus system-reserved, kube-reserved and the memory eviction threshold."""
    cpu = pool.vcpu * 1000 - millicores(kubelet.system_reserved.cpu) - millicores(kubelet.kube_reserved.cpu)
    memory = (
        pool.ram_gib * 1024
        - mebibytes(kubelet.system_reserved.memory)
        - mebibytes(kubelet.kube_reserved.memory)
        - mebibytes(kubelet.eviction_hard.get("memory.available", "0"))
    )
    return Allocatable(max(cpu, 0), max(memory, 0), kubelet.max_pods)


def required_nodes(need: Demand, per_node: Allocatable) -> tuple[int, str]:
    """The most nodes any dimension needs, and which dimension that is."""
    by_dimension = {
        "cpu": _ceil_div(need.cpu_millicores, per_node.cpu_millicores),
        "memory": _ceil_div(need.memory_mib, per_node.memory_mib),
        "pods": _ceil_div(need.pods, per_node.pods),
    }
    bound_by = max(by_dimension, key=lambda k: by_dimension[k])
    return by_dimension[bound_by], bound_by


def _ceil_div(need: int, per_node: int) -> int:
    if need == 0:
        return 0
    if per_node <= 0:
        # A node that gives nothing can never hold the demand; report it as unbounded.
        return sys.maxsize
    return -(-need // per_node)


def rows_demand(rows: list[PlatformPods] | tuple[PlatformPods, ...], units: int = 1) -> Demand:
    """What ``rows`` request, ``units`` times over (no headroom: they are the platform's fixed requests)."""
    return Demand(
        sum(units * r.pods * millicores(r.cpu) for r in rows),
        sum(units * r.pods * mebibytes(r.memory) for r in rows),
        sum(units * r.pods for r in rows),
        sum(units * r.pods * r.containers for r in rows),
    )


def plan(spec: StackSpec) -> CapacityPlan:
    """The capacity plan of every pool that has workloads or the platform's Deployments or DaemonSets
    of its own (ingress), with the DaemonSets' requests taken off each node's allocatable."""
    rows = platform_pods(spec)
    by_pool: dict[str, list[Workload]] = {}
    for workload in spec.workloads:
        by_pool.setdefault(workload.pool, []).append(workload)
    home = platform_pool(spec)
    # Deployments count on the platform pool unless pinned to a pool of their own (Ceph's, on storage).
    placed = [(r.pool or home) if r.per == "cluster" else None for r in rows]
    pinned = [r.pool for r in rows if r.pool is not None]
    planned = [
        *by_pool,
        home,
        *(n for n, _ in spec.pools(Role.INGRESS) if any(r.per == "ingress-node" for r in rows)),
        *pinned,
    ]
    pools = []
    for name in dict.fromkeys(planned):
        pool = spec.node_pools[name]
        own = rows_demand([r for r, where in zip(rows, placed, strict=True) if where == name])
        work = demand(by_pool.get(name, []))
        need = Demand(*(a + b for a, b in zip(astuple(work), astuple(own), strict=True)))
        node = allocatable(pool, spec.kubelet)
        daemons = rows_demand(daemon_rows(spec, pool, rows, name))
        per_node = Allocatable(
            max(node.cpu_millicores - daemons.cpu_millicores, 0),
            max(node.memory_mib - daemons.memory_mib, 0),
            max(node.pods - daemons.pods, 0),
        )
        nodes, bound_by = required_nodes(need, per_node)
        pools.append(PoolPlan(name, need, per_node, nodes, pool.count, bound_by, own))
    total = demand(spec.workloads)
    units = platform_units(spec)
    own_pods = sum(p.pods * row_units(spec, p, units) for p in rows)
    own_containers = sum(p.pods * p.containers * row_units(spec, p, units) for p in rows)
    return CapacityPlan(
        tuple(pools),
        total.pods,
        total.containers,
        own_pods,
        own_containers,
        spec.cluster_nodes(),
        spec.cluster_nodes() * spec.kubelet.max_pods,
        spec.kubernetes.limits,
    )


def format_plan(spec: StackSpec, result: CapacityPlan) -> str:
    """A readable table of the plan."""
    lines = [
        f"Capacity plan for the {spec.environment.value} stack (demand includes +20 % headroom on CPU and memory)",
        "",
        f"{'pool':<10} {'flavor':<20} {'cpu need':>10} {'mem need':>11} {'pods':>6} "
        f"{'alloc/node':>19} {'need':>5} {'have':>5}  status",
    ]
    for p in result.pools:
        pool = spec.node_pools[p.pool]
        alloc = f"{p.allocatable.cpu_millicores}m/{p.allocatable.memory_mib}Mi"
        status = "ok" if p.sufficient else f"SHORT by {p.required_nodes - p.configured_nodes}"
        lines.append(
            f"{p.pool:<10} {pool.flavor:<20} {p.demand.cpu_millicores:>9}m {p.demand.memory_mib:>9}Mi "
            f"{p.demand.pods:>6} {alloc:>19} {p.required_nodes:>5} {p.configured_nodes:>5}  "
            f"{status} (bound by {p.bound_by}; {pool.vcpu}C/{pool.ram_gib}G nodes)"
        )
    limits = result.limits
    budgets = ", ".join(f"{name} {budget.nodes}" for name, budget in spec.pool_stacks.items())
    lines += [
        "",
        f"cluster nodes {result.total_nodes:>7} / {limits.max_nodes}"
        + (f"  (with the pool stacks' budgets, {spec.budgeted()}: {budgets})" if spec.pool_stacks else ""),
        f"pods          {result.total_pods:>7} / {limits.max_pods}"
        f"  ({result.workload_pods} workloads + {result.platform_pods} the platform's own; "
        f"the nodes could hold {result.pod_capacity})",
        f"containers    {result.total_containers:>7} / {limits.max_containers}"
        f"  ({result.workload_containers} workloads + {result.platform_containers} the platform's own)",
        "",
        "plan: " + ("sufficient" if result.sufficient else "INSUFFICIENT: add nodes to the pools marked SHORT"),
    ]
    return "\n".join(lines)


EXIT_SUFFICIENT = 0
EXIT_INSUFFICIENT = 1
"""The config is valid and the plan is short of nodes: add nodes to the pools marked SHORT."""
EXIT_REJECTED = 2
"""No plan: the stack file is missing, unreadable or breaks a config rule (argparse's usage code)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m planning.capacity",
        description="Print the blueprint's capacity plan of a stack file (docs/capacity.md).",
        epilog=(
            f"exit status: {EXIT_SUFFICIENT} the plan is sufficient; {EXIT_INSUFFICIENT} the plan is "
            f"insufficient (a pool is SHORT of nodes); {EXIT_REJECTED} the config is rejected (no such "
            "file, a rule broken: one line per problem naming the key) or the usage is wrong"
        ),
    )
    parser.add_argument("stack_file", help="a Pulumi.<stack>.yaml file")
    return parser


def main(argv: list[str]) -> int:
    stack_file = _parser().parse_args(argv).stack_file
    try:
        spec = load_stack_file(stack_file)
    except FileNotFoundError:
        print(f"error: no stack file {stack_file}", file=sys.stderr)
        return EXIT_REJECTED
    except yaml.YAMLError as error:
        print(f"error: config rejected: {stack_file} is not YAML: {error}", file=sys.stderr)
        return EXIT_REJECTED
    except SpecError as error:
        print(f"error: config rejected: {stack_file} is not a valid stack config:\n{error}", file=sys.stderr)
        return EXIT_REJECTED
    if isinstance(spec, PoolStackSpec):
        # Its nodes are planned by its platform stack, as that stack's budget for it (docs/scaling.md).
        pools = ", ".join(f"{name} {pool.count}" for name, pool in spec.pools())
        print(f"Pool stack of the platform stack {spec.platform_stack}: {spec.count()} workers ({pools}).")
        print(f"Its capacity is planned in Pulumi.{spec.platform_stack}.yaml, whose poolStacks budgets its nodes.")
        return EXIT_SUFFICIENT
    result = plan(spec)
    print(format_plan(spec, result))
    return EXIT_SUFFICIENT if result.sufficient else EXIT_INSUFFICIENT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

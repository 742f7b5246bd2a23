"""planning/capacity.py: the blueprint's formula, by example and by property."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.load import load_stack_file
from config.quantity import mebibytes, millicores, parse_quantity
from config.spec import Kubelet, NodePool, Workload
from planning.capacity import Allocatable, Demand, allocatable, demand, plan, required_nodes, with_headroom
from tests.harness import ROOT, STACKS, capacity_cli

KUBELET = Kubelet()


def _pool(vcpu: int, ram: int) -> NodePool:
    return NodePool(
        role="worker", count=1, flavor="f", image="i", vcpu=vcpu, ram_gib=ram, disk_gib=500, volume_type="v"
    )


def test_quantities():
    assert millicores("200m") == 200 and millicores("2") == 2000 and millicores("0.5") == 500
    assert mebibytes("250Mi") == 250 and mebibytes("1Gi") == 1024 and mebibytes("1G") == 954
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity("1 GB")


def test_allocatable_of_the_blueprints_prod_node():
    # 8C/64G minus 200m+200m CPU, minus 250Mi+250Mi+1Gi memory (system, kube, eviction-hard).
    assert allocatable(_pool(8, 64), KUBELET) == Allocatable(7600, 65536 - 250 - 250 - 1024, 100)


def test_demand_is_apps_times_replicas_times_requests_plus_20_percent():
    workloads = [Workload(name="a", apps=10, replicas=3, containers=2, cpu="500m", memory="1Gi")]
    assert demand(workloads) == Demand(cpu_millicores=18000, memory_mib=36864, pods=30, containers=60)


def test_required_nodes_takes_the_tightest_dimension():
    per_node = Allocatable(cpu_millicores=1000, memory_mib=1000, pods=10)
    assert required_nodes(Demand(2500, 100, 1, 1), per_node) == (3, "cpu")
    assert required_nodes(Demand(100, 4001, 1, 1), per_node) == (5, "memory")
    assert required_nodes(Demand(100, 100, 61, 61), per_node) == (7, "pods")
    assert required_nodes(Demand(0, 0, 0, 0), per_node) == (0, "cpu")


def test_prod_plan_shows_how_many_8c64g_workers_are_needed():
    result = plan(load_stack_file(ROOT / "Pulumi.prod.yaml"))
    worker = next(p for p in result.pools if p.pool == "worker")
    # 20x3x500m + 40x3x1 + 10x2x2 = 30+120+40 = 190 cores, +20 % = 228 cores, plus the platform's
    # Deployments on the worker pool (3 CoreDNS x 100m, the DNS autoscaler's 20m, 2 metrics-server
    # x 100m, kube-eventer's 50m: 570m; the data add-ons: Rook's operator and toolbox 300m,
    # Prometheus 2 x 500m, Alertmanager 3 x 50m, Grafana 100m, ECK 100m, Elasticsearch 3 x 1,
    # Kibana 200m, Strimzi 200m, Kafka 3 x 500m, Logstash 2 x 500m: 7550m), over 7.5 per node
    # (7.6 less filebeat's 100m on every node).
    assert worker.platform.cpu_millicores == 570 + 7550
    assert worker.demand.cpu_millicores == 228000 + 8120
    assert worker.allocatable.cpu_millicores == 7500
    assert worker.required_nodes == math.ceil(236120 / 7500) == 32
    assert result.sufficient


@pytest.mark.parametrize("stack", STACKS)
def test_capacity_cli_prints_each_plan(stack):
    result = subprocess.run(
        [sys.executable, "-m", "planning.capacity", f"Pulumi.{stack}.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"Capacity plan for the {stack} stack" in result.stdout
    assert "pods" in result.stdout and "/ 150000" in result.stdout and "/ 300000" in result.stdout


def test_capacity_cli_exits_non_zero_when_a_pool_is_short(tmp_path):
    result = capacity_cli(tmp_path, "prod", {"nodePools.worker.count": 10})
    assert result.returncode == 1
    assert "SHORT by 22" in result.stdout


# ---------------------------------------------------------------------------------- properties

cpu = st.integers(min_value=1, max_value=16000).map(lambda m: f"{m}m")
memory = st.integers(min_value=1, max_value=65536).map(lambda m: f"{m}Mi")
workload = st.builds(
    Workload,
    name=st.just("w"),
    apps=st.integers(1, 200),
    replicas=st.integers(1, 50),
    containers=st.integers(1, 5),
    cpu=cpu,
    memory=memory,
)
node = st.builds(_pool, vcpu=st.integers(1, 128), ram=st.integers(1, 1024))


@given(st.lists(workload, min_size=1, max_size=5), st.integers(1, 10))
def test_demand_is_monotonic_in_replicas(workloads, extra):
    bigger = [workloads[0].model_copy(update={"replicas": workloads[0].replicas + extra}), *workloads[1:]]
    before, after = demand(workloads), demand(bigger)
    assert after.cpu_millicores >= before.cpu_millicores
    assert after.memory_mib >= before.memory_mib
    assert after.pods > before.pods


@given(st.lists(workload, min_size=1, max_size=5))
def test_headroom_is_exactly_20_percent(workloads):
    raw_cpu = sum(w.apps * w.replicas * millicores(w.cpu) for w in workloads)
    raw_mem = sum(w.apps * w.replicas * mebibytes(w.memory) for w in workloads)
    result = demand(workloads)
    # Exact: ceil(raw * 6 / 5), never more than one unit of rounding above 1.2 x raw.
    assert result.cpu_millicores == -(-raw_cpu * 6 // 5)
    assert result.memory_mib == -(-raw_mem * 6 // 5)
    assert 0 <= result.cpu_millicores * 5 - raw_cpu * 6 < 5
    assert with_headroom(100) == 120


@settings(max_examples=200)
@given(st.lists(workload, min_size=1, max_size=5), node)
def test_never_fewer_workers_than_needed(workloads, pool):
    need = demand(workloads)
    per_node = allocatable(pool, KUBELET)
    nodes, _ = required_nodes(need, per_node)
    if per_node.cpu_millicores == 0 or per_node.memory_mib == 0:
        assert nodes == sys.maxsize
        return
    # The required nodes hold the demand in every dimension...
    assert nodes * per_node.cpu_millicores >= need.cpu_millicores
    assert nodes * per_node.memory_mib >= need.memory_mib
    assert nodes * per_node.pods >= need.pods
    # ...and one node fewer would not.
    assert (
        (nodes - 1) * per_node.cpu_millicores < need.cpu_millicores
        or (nodes - 1) * per_node.memory_mib < need.memory_mib
        or (nodes - 1) * per_node.pods < need.pods
    )

"""The pack's capacity and limit checks on the plan the program exposes (the Platform's inputs)."""

from __future__ import annotations

import yaml
from capacity import capacity_violations
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import DEFAULTS, containers_violations, kubelet_max_pods, max_pods_violations, pods_violations

from components.platform import policy_inputs
from config.load import load_stack_file
from config.spec import Kubelet, Limits
from planning.capacity import plan
from sizing import instance_sizing_violations, node_count_violations
from tests.harness import ROOT, STACKS, stack_config
from tests.policies.test_rules import _instance


def _plan(stack: str, overrides: dict | None = None) -> dict:
    """The program's own plan of a stack (with overrides), as the Platform hands it to the pack."""
    from config.load import parse

    spec = parse(stack_config(stack, overrides), set())
    return policy_inputs(spec, plan(spec).to_output())


def test_the_blueprints_limits_are_the_defaults():
    assert DEFAULTS == {"maxNodes": 5000, "maxPods": 150000, "maxContainers": 300000, "maxPodsPerNode": 100}
    # The pack is an independent gate with its own table, kept equal to the program's defaults.
    assert Limits().model_dump(by_alias=True) == DEFAULTS


def test_committed_stacks_pass_every_capacity_check():
    for stack in STACKS:
        inputs = _plan(stack)
        assert capacity_violations(inputs["capacityPlan"]) == [], stack
        assert pods_violations(inputs["capacityPlan"], DEFAULTS["maxPods"]) == []
        assert containers_violations(inputs["capacityPlan"], DEFAULTS["maxContainers"]) == []
        for pool, kubelet in inputs["kubeletConfigurations"].items():
            assert max_pods_violations(pool, kubelet, DEFAULTS["maxPodsPerNode"]) == []


def test_pods_count_the_platforms_own_and_report_the_capacity_beside():
    spec = load_stack_file(ROOT / "Pulumi.prod.yaml")
    own = plan(spec)
    assert own.platform_pods > 0 and own.total_pods == own.workload_pods + own.platform_pods
    # kube-proxy and calico-node on all 47 nodes, 3 static pods on each of 3 masters, 3 CoreDNS (the
    # DNS autoscaler's count), Calico's operator, 3 Typhas, kube-controllers and 2 API servers, the
    # DNS autoscaler, 2 metrics-servers, kube-eventer, and ingress-nginx on the 2 ingress nodes.
    network = 2 * 47 + 9 + 3 + (1 + 3 + 1 + 2) + 1 + 2 + 1 + 2
    # The data add-ons: ceph-csi's two node plugins, node-exporter and filebeat on every node; Rook's
    # operators, provisioners and toolbox; per storage node 2 OSDs, a crash collector and an
    # exporter; 3 mons, 2 mgrs, 2 RGWs, 2 MDS; Harbor's 7; Prometheus' operator and
    # kube-state-metrics, 2 Prometheus, 3 Alertmanager, Grafana; ECK, 3 Elasticsearch, Kibana;
    # Strimzi, 3 Kafka, its entity operator, 2 Logstash.
    data = 4 * 47 + (1 + 1 + 4 + 1) + 4 * 3 + (3 + 2 + 2 + 2) + 7 + (2 + 2 + 3 + 1) + (1 + 3 + 1) + (1 + 3 + 1 + 2)
    assert own.platform_pods == network + data
    (message,) = pods_violations(own.to_output(), own.workload_pods)
    assert f"plans {own.total_pods} pods" in message and f"limit of {own.workload_pods}" in message
    assert own.pod_capacity == 47 * 100 and "could hold 4700:" in message


@given(planned=st.integers(0, 10**6), limit=st.integers(0, 10**6))
def test_a_count_fails_exactly_above_its_limit(planned, limit):
    plan_ = {"total_pods": planned, "total_containers": planned, "pools": []}
    assert bool(pods_violations(plan_, limit)) is (planned > limit)
    assert bool(containers_violations(plan_, limit)) is (planned > limit)


def _as_the_engine_sends(value):
    """Inputs reach the pack as protobuf Struct values: every number a double."""
    if isinstance(value, dict):
        return {k: _as_the_engine_sends(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_the_engine_sends(v) for v in value]
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def test_a_short_pool_is_named_with_its_numbers():
    inputs = _as_the_engine_sends(_plan("prod", {"nodePools.worker.count": 25}))
    (message,) = capacity_violations(inputs["capacityPlan"])
    assert message.startswith("pool worker: 25 nodes, the capacity plan needs 32 (bound by cpu: 236120m CPU")
    (message,) = pods_violations(inputs["capacityPlan"], 10)
    assert "plans 536 pods" in message and "could hold 4000:" in message


# No deadline: each case loads the stack and plans it (~100 ms alone), and a wall-clock limit on a
# shared machine fails on load, not on the code.
@settings(deadline=None)
@given(workers=st.integers(1, 60))
def test_the_pack_agrees_with_the_programs_plan(workers):
    """One formula: the pack flags a pool exactly when the program's own plan says it is short."""
    spec_plan = _plan("prod", {"nodePools.worker.count": workers})["capacityPlan"]
    short = {p["pool"] for p in spec_plan["pools"] if not p["sufficient"]}
    assert {m.split(":")[0].removeprefix("pool ") for m in capacity_violations(spec_plan)} == short


def test_max_pods_is_read_from_the_rendered_kubelet_configuration():
    rendered = _plan("test")["kubeletConfigurations"]
    assert set(rendered) == {"master", "worker", "ingress"}
    assert {kubelet_max_pods(k) for k in rendered.values()} == {100}
    assert max_pods_violations("worker", rendered["worker"], 99) == [
        "pool worker: kubelet maxPods is 100, over the limit of 99 pods per node"
    ]
    without = yaml.safe_dump({"kind": "KubeletConfiguration", "apiVersion": "kubelet.config.k8s.io/v1beta1"})
    assert "sets no maxPods" in max_pods_violations("gpu", without, 100)[0]
    assert kubelet_max_pods(yaml.safe_dump({"kind": "KubeProxyConfiguration"})) is None
    assert Kubelet().max_pods == 100


def test_node_limit_is_configurable():
    nodes = [_instance("lab", "master", 2, 2, 40)] * 11
    assert node_count_violations(nodes, 11) == []
    assert node_count_violations(nodes, 10) == ["the stack has 11 Kubernetes nodes, over the limit of 10"]


def _flavored(flavor: str, vcpu: int = 8, ram: int = 64, boot_gib: int | None = 500) -> dict:
    props = _instance("prod", "worker", vcpu, ram, 500) | {"flavorName": flavor}
    if boot_gib is not None:
        props["blockDevices"] = [{"bootIndex": 0, "volumeSize": boot_gib, "sourceType": "image"}]
    return props


FLAVORS = {"k8s.node.8c64g": {"vcpu": 8, "ramGib": 64}, "k8s.small": {"vcpu": 4, "ramGib": 16}}


def test_sizing_judges_the_flavor_the_instance_uses():
    assert instance_sizing_violations(_flavored("k8s.node.8c64g"), FLAVORS) == []
    # Declared 8C/64G on a 4C/16G flavor: below the row, and the declaration is called out as wrong.
    problems = instance_sizing_violations(_flavored("k8s.small"), FLAVORS)
    assert "on flavor k8s.small has 4 vCPU, the sizing table asks at least 8" in problems[0]
    assert "declares 8 vCPU/64 GiB but flavor k8s.small has 4 vCPU/16 GiB" in problems[-1]
    assert "does not list" in instance_sizing_violations(_flavored("m1.huge"), FLAVORS)[0]
    # The disk is the boot volume the instance really gets.
    assert "100 GiB disk" in instance_sizing_violations(_flavored("k8s.node.8c64g", boot_gib=100), FLAVORS)[0]
    # Without a table only the declared numbers are judged (the flavor name is not looked up).
    assert instance_sizing_violations(_flavored("m1.huge")) == []


def test_committed_policy_configs_list_every_flavor_the_stacks_use():
    import json

    for stack in STACKS:
        config = json.loads((ROOT / "policies" / "config" / f"{stack}.json").read_text())
        flavors = config["instance-meets-sizing-table"]["flavors"]
        spec = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
        for name, pool in spec.node_pools.items():
            assert flavors[pool.flavor] == {"vcpu": pool.vcpu, "ramGib": pool.ram_gib}, (stack, name)


def test_the_node_limit_holds_on_the_sum_of_the_platform_and_its_pool_stacks_budgets():
    """A platform's plan counts every pool stack's budget; a pool stack carries that plan (issue 14)."""
    from limits import nodes_violations

    budgets = {"prod-pool-a": {"nodes": 150, "pools": ["a"]}, "prod-pool-b": {"nodes": 50, "pools": ["b"]}}
    inputs = _plan("prod", {"poolStacks": budgets})
    planned = inputs["capacityPlan"]["total_nodes"]
    assert planned == _plan("prod")["capacityPlan"]["total_nodes"] + 200
    assert nodes_violations(inputs["capacityPlan"], planned) == []
    assert nodes_violations(inputs["capacityPlan"], planned - 1) == [
        f"the cluster plans {planned} Kubernetes nodes (with its pool stacks' budgets), over the limit of {planned - 1}"
    ]


def test_a_pool_stack_stays_within_its_budget_in_the_pack_too():
    from limits import budget_violations

    assert budget_violations(40, 40) == [] and budget_violations(3, None) == []
    assert budget_violations(41, 40) == [
        "the pool stack has 41 Kubernetes nodes, over its budget of 40 from its platform stack"
    ]

"""The add-on layer's foundation: the addons config, the chart table and cache, typed values
overrides, the cluster provider, and the platform's own pods in the capacity plan."""

from __future__ import annotations

import hashlib

import pytest
import yaml

from config.chart_values import merged, override_problems
from config.charts import CHARTS, ChartCacheError, cached_chart
from config.load import load_stack_file
from config.spec import SpecError
from config.spec_addons import ADDON_DEFAULTS, Addons
from config.values_network import IngressNginxValues
from planning.capacity import plan
from planning.platform_pods import coredns_replicas, typha_replicas
from tests.control_plane.kubeadm_mocks import run_bootstrap
from tests.harness import ROOT, STACKS, Secret, stack_config


def _spec(stack: str, overrides: dict | None = None):
    from config.load import parse

    return parse(stack_config(stack, overrides))


def _problems(stack: str, overrides: dict) -> list[str]:
    with pytest.raises(SpecError) as caught:
        _spec(stack, overrides)
    return str(caught.value).splitlines()


def test_every_addon_has_a_default_per_environment_and_a_config_key():
    keys = {f.alias for f in Addons.model_fields.values()} - {"chartSource", "chartCache", "chartSha256"}
    assert set(ADDON_DEFAULTS) == keys
    assert all(len(row) == 3 for row in ADDON_DEFAULTS.values())


def test_enabled_overrides_the_blueprint_default():
    lab = _spec("lab")
    assert not lab.addons.is_enabled("metricsServer", lab.environment)
    on = _spec("lab", {"addons": {"metricsServer": {"enabled": True}}})
    assert on.addons.is_enabled("metricsServer", on.environment)


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            {"ingress": {"values": {"controller": {"kind": 3}}}},
            "addons.ingress.values.controller.kind: Input should be",
        ),
        (
            {"ingress": {"values": {"controller": {"replicaCount": 2}}}},
            "addons.ingress.values.controller.replicaCount: not a key of Controller",
        ),
        (
            {"dnsAutoscaler": {"values": {"config": {"linear": {"min": "2"}}}}},
            "addons.dnsAutoscaler.values.config.linear.min: Input should be a valid integer",
        ),
        ({"cni": {"values": {"installation": "on"}}}, "addons.cni.values.installation: Input should be"),
        ({"metricsServer": {"replicas": "two"}}, "addons.metricsServer.replicas: Input should be a valid integer"),
        ({"ingress": {"pool": "worker"}}, "addons.ingress.pool: 'worker' is not a pool with role ingress"),
        ({"events": {"webhookUrl": None}}, "addons.events.webhookUrl: kube-eventer needs the webhook"),
        ({"chartSource": "cache"}, "addons.chartCache: chartSource cache needs the directory"),
        ({"chartSha256": {"nginx": "0" * 64}}, "addons.chartSha256.nginx: not a chart of config/charts.py"),
        ({"dnsAutoscaler": {"minReplicas": 1}}, "addons.dnsAutoscaler.minReplicas: Input should be greater than"),
        ({"unknown": {}}, "addons.unknown: unknown key"),
    ],
)
def test_bad_addon_config_names_the_key(override, line):
    problems = _problems("test", {"addons": {"events": {"webhookUrl": "https://hooks.example/x"}} | override})
    assert any(line in p for p in problems), problems


def test_the_cni_values_are_checked_against_the_chosen_plugins_chart():
    # flannel's podCidr is not a tigera-operator key, and the other way round.
    assert any(
        "addons.cni.values.podCidr: not a key" in p
        for p in _problems("test", {"addons.cni": {"values": {"podCidr": "x"}}})
    )
    assert _spec("lab", {"addons": {"cni": {"values": {"podCidr": "10.244.0.0/16"}}}})


def test_a_values_override_merges_key_by_key():
    base = IngressNginxValues.model_validate(
        {
            "controller": {
                "hostPort": {"enabled": True},
                "service": {"type": "ClusterIP"},
                "nodeSelector": {},
                "tolerations": [],
            }
        }
    )
    assert list(override_problems(IngressNginxValues, {"controller": {"hostPort": {"ports": {"http": 8080}}}})) == []
    out = merged(base, {"controller": {"hostPort": {"ports": {"http": 8080}}}}).dump()
    assert out["controller"]["hostPort"] == {"enabled": True, "ports": {"http": 8080, "https": 443}}


def test_the_chart_cache_refuses_a_missing_unrecorded_or_different_file(tmp_path):
    pin = CHARTS["metrics-server"]
    assert pin.sha256 is None  # nothing is pinned that was not measured (config/charts.py)
    with pytest.raises(ChartCacheError, match="no sha256 recorded"):
        cached_chart(pin, tmp_path, {})
    with pytest.raises(ChartCacheError, match="does not exist"):
        cached_chart(pin, tmp_path, {pin.name: "0" * 64})
    (tmp_path / pin.filename).write_bytes(b"chart bytes")
    with pytest.raises(ChartCacheError, match="differs from the recorded"):
        cached_chart(pin, tmp_path, {pin.name: "0" * 64})
    digest = hashlib.sha256(b"chart bytes").hexdigest()
    assert cached_chart(pin, tmp_path, {pin.name: digest}) == tmp_path / pin.filename


def test_a_cache_without_the_enabled_charts_fails_before_any_resource(tmp_path):
    problems = _problems("lab", {"addons": {"chartSource": "cache", "chartCache": str(tmp_path)}})
    assert problems == [
        "k8s-platform:addons.chartCache: cni: flannel-v0.28.9.tgz: no sha256 recorded; record the digest of the "
        "file you pulled and reviewed (`sha256sum flannel-v0.28.9.tgz`) as addons.chartSha256.flannel"
    ]


def test_the_provider_reaches_the_api_floating_ip_when_the_stack_has_one():
    servers = {}
    for stack in ("lab", "prod"):
        run = run_bootstrap(stack, preview=False)
        (provider,) = run.of_type("pulumi:providers:kubernetes")
        config = provider.inputs["kubeconfig"]
        assert isinstance(config, Secret)
        servers[stack] = yaml.safe_load(config.value)["clusters"][0]["cluster"]["server"]
    # lab: the API floating IP (in the apiserver's SANs); prod (no API floating IP): the VIP.
    assert (
        servers["lab"]
        == f"https://{run_bootstrap('lab', preview=False).named('platform-iaas-api-fip').outputs['address']}:6443"
    )
    assert servers["prod"] == "https://10.20.0.10:6443"


def test_dns_replicas_follow_the_linear_formula_with_two_at_least():
    prod = load_stack_file(ROOT / "Pulumi.prod.yaml")
    # 46 nodes / 16 per replica = 3; 368 cores / 256 = 2.
    assert coredns_replicas(prod) == 3
    assert coredns_replicas(_spec("test")) == 2
    assert coredns_replicas(_spec("test", {"addons.dnsAutoscaler": {"nodesPerReplica": 1, "maxReplicas": 4}})) == 4


def test_typha_follows_the_operators_scale():
    assert [typha_replicas(n) for n in (1, 2, 3, 4, 5, 199, 200, 400, 3600)] == [1, 1, 2, 2, 3, 3, 3, 4, 20]


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_counts_the_addons_where_they_run(stack):
    spec = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    result = plan(spec)
    assert result.sufficient
    off = plan(_spec(stack, {"addons": {k: {"enabled": False} for k in ADDON_DEFAULTS}}))
    assert result.platform_pods > off.platform_pods
    pools = {p.pool: p for p in result.pools}
    home = "master" if stack == "lab" else "worker"
    assert pools[home].platform.cpu_millicores > 0
    if "ingress" in pools:  # the controller DaemonSet's request comes off each ingress node
        worker = pools["worker"].allocatable
        assert pools["ingress"].allocatable.cpu_millicores == worker.cpu_millicores - 100

"""DNS autoscaling, metrics-server and ingress-nginx under mocks: values per stack, placement on
the ingress pool, and add-ons that are off register nothing."""

from __future__ import annotations

import pytest

from tests.harness import run_program

RELEASE = "kubernetes:helm.sh/v3:Release"


def _values(run, chart: str) -> dict:
    (release,) = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == chart]
    return release.inputs["values"]


@pytest.fixture(scope="module")
def prod():
    return run_program("prod")


def test_the_dns_autoscaler_scales_coredns_linearly_with_two_at_least(prod):
    values = _values(prod, "cluster-proportional-autoscaler")
    assert values["config"]["linear"] == {
        "coresPerReplica": 256,
        "nodesPerReplica": 16,
        "min": 2,
        "max": 0,
        "preventSinglePointFailure": True,
        "includeUnschedulableNodes": False,
    }
    assert values["options"] == {"target": "deployment/coredns", "namespace": "kube-system", "logToStdErr": True}
    tuned = run_program("test", {"addons.dnsAutoscaler": {"nodesPerReplica": 4, "maxReplicas": 6}})
    assert _values(tuned, "cluster-proportional-autoscaler")["config"]["linear"]["nodesPerReplica"] == 4


def test_metrics_server_has_two_replicas_and_a_budget(prod):
    values = _values(prod, "metrics-server")
    assert values["replicas"] == 2 and values["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}
    one = _values(run_program("test", {"addons.metricsServer": {"replicas": 1}}), "metrics-server")
    assert one["podDisruptionBudget"] == {"enabled": False}  # a budget of 1 of 1 would block every drain


def test_ingress_runs_on_the_ingress_pool_tolerating_exactly_its_taint(prod):
    controller = _values(prod, "ingress-nginx")["controller"]
    assert controller["kind"] == "DaemonSet"
    assert controller["nodeSelector"] == {"node-role.kubernetes.io/ingress": ""}
    assert controller["tolerations"] == [
        {"key": "node-role.kubernetes.io/ingress", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert controller["hostPort"] == {"enabled": True, "ports": {"http": 80, "https": 443}}
    assert controller["service"]["type"] == "ClusterIP"


def test_a_taint_with_a_value_is_tolerated_with_that_value():
    taint = [{"key": "dedicated", "value": "edge", "effect": "NoExecute"}]
    controller = _values(run_program("test", {"nodePools.ingress.taints": taint}), "ingress-nginx")["controller"]
    assert controller["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "edge", "effect": "NoExecute"}
    ]


def test_node_port_exposure_uses_the_configured_ports():
    run = run_program("test", {"addons.ingress": {"exposure": "nodePort", "httpNodePort": 30180}})
    controller = _values(run, "ingress-nginx")["controller"]
    assert controller["hostPort"]["enabled"] is False
    assert controller["service"] == {"type": "NodePort", "nodePorts": {"http": 30180, "https": 30443}}


# Switching one add-on off may take what needs it along: the hosts served through the ingress
# controller (Harbor needs one, so the registry goes too), the tenants' pull secrets with their
# namespaces. (overrides that go with it, name prefixes that go too, charts that go.)
_INGRESS_USERS = {
    "addons.registry": {"enabled": False},
    "addons.monitoring.grafanaHost": None,
    "addons.logging.kibanaHost": None,
}


@pytest.mark.parametrize(
    ("key", "component", "extra", "also", "charts"),
    [
        ("dnsAutoscaler", "DnsAutoscaler", {}, (), {"cluster-proportional-autoscaler"}),
        ("metricsServer", "MetricsServer", {}, (), {"metrics-server"}),
        (
            "ingress",
            "Ingress",
            _INGRESS_USERS,
            ("platform-addons-registry", "platform-addons-logging-kibana-ingress"),
            {"ingress-nginx", "harbor"},
        ),
        ("events", "Events", {}, (), set()),
        ("governance", "Governance", {}, ("platform-addons-registry-pull-",), set()),
    ],
)
def test_an_addon_that_is_off_registers_nothing(prod, key, component, extra, also, charts):
    off = run_program("prod", {f"addons.{key}": {"enabled": False}, **extra})
    assert not off.of_type(f"k8splatform:addons:{component}")
    gone = {r.name for r in prod.resources} - {r.name for r in off.resources}
    if key == "ingress":  # the tenants' policy letting the controller in goes with it
        policies = {n for n in gone if n.endswith("-allow-ingress-controller")}
        assert policies == {
            f"platform-addons-governance-{t}-allow-ingress-controller" for t in ("team-web", "team-data")
        }
        gone -= policies
    if also:
        assert any(n.startswith(also) for n in gone), also
        gone = {n for n in gone if not n.startswith(also)}
    assert gone and all(name.startswith(f"platform-addons-{key.lower()}") for name in gone), gone
    assert {r.inputs["chart"] for r in prod.of_type(RELEASE)} - {
        r.inputs["chart"] for r in off.of_type(RELEASE)
    } == charts

"""kube-eventer and the tenants' governance objects under mocks."""

from __future__ import annotations

import base64

import pytest

from tests.harness import Secret, run_program


def _sink(secret) -> str:
    data = secret.inputs["data"].value
    sink = data["sink"]
    return sink.value if isinstance(sink, Secret) else sink


def _events(run, kind: str):
    """The Events add-on's resources of ``kind`` (the data add-ons have Secrets, roles of their own)."""
    return [r for r in run.of_type(f"kubernetes:{kind}") if r.name.startswith("platform-addons-events")]


@pytest.fixture(scope="module")
def prod():
    return run_program("prod")


def test_kube_eventer_posts_warnings_to_the_webhook_kept_in_a_secret(prod):
    (secret,) = _events(prod, "core/v1:Secret")
    assert isinstance(secret.inputs["data"], Secret)
    assert base64.b64decode(_sink(secret)).decode() == (
        "webhook:https://alerts.ops.internal/kube-eventer/prod?level=Warning&method=POST&header=Content-Type=application/json"
    )
    (deployment,) = _events(prod, "apps/v1:Deployment")
    spec = deployment.inputs["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["command"][-1] == "--sink=$(KUBE_EVENTER_SINK)"
    assert "alerts.ops.internal" not in str(deployment.inputs)  # the URL only in the Secret
    assert container["resources"]["requests"] == {"cpu": "50m", "memory": "100Mi"}
    assert spec["serviceAccountName"] == "kube-eventer" and deployment.inputs["spec"]["replicas"] == 1
    (role,) = _events(prod, "rbac.authorization.k8s.io/v1:ClusterRole")
    assert role.inputs["rules"] == [
        {"apiGroups": [""], "resources": ["events", "configmaps"], "verbs": ["get", "list", "watch"]}
    ]


def test_normal_events_and_a_url_with_a_query_keep_one_query():
    run = run_program(
        "test", {"addons.events": {"webhookUrl": "https://hook.example/robot?token=x", "level": "Normal"}}
    )
    (secret,) = _events(run, "core/v1:Secret")
    sink = base64.b64decode(_sink(secret)).decode()
    assert sink.startswith("webhook:https://hook.example/robot?token=x&level=Normal&method=POST")


def test_each_tenant_gets_its_namespace_quota_limits_binding_and_policies(prod):
    namespaces = {
        r.inputs["metadata"]["name"]: r
        for r in prod.of_type("kubernetes:core/v1:Namespace")
        if r.name.startswith("platform-addons-governance")  # the data add-ons have namespaces of their own
    }
    assert set(namespaces) == {"team-web", "team-data"} and all(r.protect for r in namespaces.values())
    quotas = {
        r.inputs["metadata"]["namespace"]: r.inputs["spec"]["hard"]
        for r in prod.of_type("kubernetes:core/v1:ResourceQuota")
    }
    assert quotas["team-web"] == {"requests.cpu": "64", "requests.memory": "128Gi", "pods": "400"}
    bindings = {
        r.inputs["metadata"]["namespace"]: (r.inputs["roleRef"]["name"], r.inputs["subjects"][0]["name"])
        for r in prod.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    }
    assert bindings == {"team-web": ("edit", "k8s-prod-web-developers"), "team-data": ("admin", "k8s-prod-data-admins")}
    policies = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["spec"]
        for r in prod.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    names = {"default-deny", "allow-dns", "allow-same-namespace", "allow-ingress-controller"}
    assert set(policies) == {(t, n) for t in ("team-web", "team-data") for n in names}
    assert policies["team-web", "default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies["team-web", "allow-dns"]["egress"][0]
    assert [p["port"] for p in dns["ports"]] == [53, 53]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    ingress = policies["team-web", "allow-ingress-controller"]["ingress"][0]["from"][0]
    assert ingress == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    limits = next(
        r for r in prod.of_type("kubernetes:core/v1:LimitRange") if r.inputs["metadata"]["namespace"] == "team-web"
    )
    assert limits.inputs["spec"]["limits"][0]["defaultRequest"] == {"cpu": "100m", "memory": "128Mi"}


def test_tenant_objects_wait_for_their_namespace(prod):
    urn = next(r.urn for r in prod.of_type("kubernetes:core/v1:Namespace") if r.name.endswith("team-web"))
    inside = [r for r in prod.resources if r.name.startswith("platform-addons-governance-team-web-")]
    assert len(inside) == 1 + 1 + 1 + 4 and all(urn in r.dependencies for r in inside)

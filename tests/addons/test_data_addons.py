"""The data add-ons (storage, registry, monitoring, logging) under mocks, per stack: what they
register, with which values, and that their config fails before any resource, naming the key."""

from __future__ import annotations

import functools
import re

import pytest

from components.render.seed import grafana_admin_password, harbor_admin_password, harbor_robot_secret
from config.formats import parse_seed
from config.load import parse
from config.spec import SpecError
from planning.capacity import plan
from tests.control_plane.kubeadm_mocks import run_bootstrap
from tests.harness import TEST_SEED, ProgramRun, Registration, Secret, run_program, stack_config

RELEASE = "kubernetes:helm.sh/v3:Release"
DATA_TYPES = {
    "storage": "k8splatform:addons:RookCeph",
    "registry": "k8splatform:addons:Registry",
    "monitoring": "k8splatform:addons:Monitoring",
    "logging": "k8splatform:addons:Logging",
}


@functools.cache
def deployed(stack: str) -> ProgramRun:
    """The stack as after an ``up`` (IDs and addresses known)."""
    return run_bootstrap(stack, preview=False)


def release(run: ProgramRun, chart: str) -> Registration:
    (found,) = [r for r in run.of_type(RELEASE) if r.inputs["chart"] == chart]
    return found


def values(run: ProgramRun, chart: str) -> dict:
    out = release(run, chart).inputs["values"]
    return out.value if isinstance(out, Secret) else out


def addons(stack: str, changes: dict) -> dict:
    """The ``addons`` override of ``stack`` with ``changes`` merged per add-on (the rest kept)."""
    base = stack_config(stack).get("k8s-platform:addons", {})
    return {"addons": {**base, **{k: {**base.get(k, {}), **v} for k, v in changes.items()}}}


OFF = {k: {"enabled": False} for k in DATA_TYPES}


def problems(stack: str, overrides: dict) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse(stack_config(stack, overrides))
    return str(caught.value).splitlines()


# ------------------------------------------------------------------------------------- storage


def test_rook_osds_are_exactly_the_storage_pools_data_volumes():
    run = deployed("prod")
    volumes = {r.name: r.id for r in run.of_type("openstack:blockstorage/volume:Volume") if "-storage-" in r.name}
    assert len(volumes) == 3 * 2  # three storage nodes, osd0 and osd1 each
    spec = values(run, "rook-ceph-cluster")["cephClusterSpec"]
    storage = spec["storage"]
    assert storage["useAllNodes"] is False and storage["useAllDevices"] is False
    listed = {n["name"]: sorted(d["name"] for d in n["devices"]) for n in storage["nodes"]}
    expected: dict[str, list[str]] = {}
    for name, volume_id in volumes.items():
        node = re.sub(r"^platform-iaas-pool-storage-(\d+)-osd\d$", r"k8s-prod-storage-\1", name)
        expected.setdefault(node, []).append(f"/dev/disk/by-id/virtio-{volume_id[:20]}")
    assert listed == {k: sorted(v) for k, v in expected.items()}
    assert spec["mon"] == {"count": 3, "allowMultiplePerNode": False}


def test_ceph_runs_on_the_storage_nodes_tolerating_their_taint_with_three_classes():
    v = values(deployed("prod"), "rook-ceph-cluster")
    placement = v["cephClusterSpec"]["placement"]["all"]
    assert placement["tolerations"] == [
        {"key": "node-role.kubernetes.io/storage", "operator": "Exists", "effect": "NoSchedule"}
    ]
    classes = [
        v["cephBlockPools"][0]["storageClass"],
        v["cephFileSystems"][0]["storageClass"],
        v["cephObjectStores"][0]["storageClass"],
    ]
    assert [(c["name"], c["isDefault"]) for c in classes] == [
        ("ceph-block", True),
        ("ceph-filesystem", False),
        ("ceph-bucket", False),
    ]
    assert v["cephBlockPools"][0]["spec"]["failureDomain"] == "host"


def test_stateful_releases_and_resources_are_protected():
    run = deployed("prod")
    assert release(run, "rook-ceph-cluster").protect and release(run, "harbor").protect
    assert not release(run, "rook-ceph").protect
    (es,) = run.of_type("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch")
    (kafka,) = run.of_type("kubernetes:kafka.strimzi.io/v1:Kafka")
    assert es.protect and kafka.protect


def test_the_cluster_release_waits_for_the_operator():
    run = deployed("prod")
    assert release(run, "rook-ceph").urn in release(run, "rook-ceph-cluster").dependencies


# ------------------------------------------------------------------------------- on and off


def test_a_disabled_data_addon_registers_nothing():
    run = run_program("prod", addons("prod", OFF))
    assert not [r for r in run.resources if r.type in DATA_TYPES.values()]
    charts = {r.inputs["chart"] for r in run.of_type(RELEASE)}
    assert not charts & {"rook-ceph", "rook-ceph-cluster", "harbor", "kube-prometheus-stack", "eck-operator"}
    only_logging_off = run_program("prod", addons("prod", {"logging": {"enabled": False}}))
    types = {r.type for r in only_logging_off.resources}
    assert "k8splatform:addons:Logging" not in types and "k8splatform:addons:RookCeph" in types
    assert not [t for t in types if "elastic.co" in t or "strimzi" in t]


def test_lab_has_none_and_test_only_monitoring():
    for stack, wanted in (("lab", set()), ("test", {"k8splatform:addons:Monitoring"})):
        types = {r.type for r in deployed(stack).resources}
        assert types & set(DATA_TYPES.values()) == wanted, stack


def test_direct_logging_has_no_kafka_and_no_logstash():
    run = run_program("prod", {"logging": "direct"})
    types = {r.type for r in run.resources}
    assert not [t for t in types if "strimzi" in t or "logstash" in t]
    (beat,) = run.of_type("kubernetes:beat.k8s.elastic.co/v1beta1:Beat")
    assert beat.inputs["spec"]["elasticsearchRef"] == {"name": "logs-es"}


# --------------------------------------------------------------------------------- secrets


def test_every_secret_is_secret_and_no_derived_password_appears_in_plaintext():
    run = deployed("prod")
    seed = parse_seed(TEST_SEED)
    derived = [harbor_admin_password(seed), harbor_robot_secret(seed), grafana_admin_password(seed)]
    for secret in run.of_type("kubernetes:core/v1:Secret"):
        assert isinstance(secret.inputs["data"], Secret), secret.name

    def plain(value) -> str:
        if isinstance(value, Secret):
            return ""
        if isinstance(value, dict):
            return " ".join(plain(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return " ".join(plain(v) for v in value)
        return str(value)

    text = " ".join(plain(r.inputs) for r in run.resources)
    for password in derived:
        assert password not in text
    harbor = values(run, "harbor")
    assert harbor["existingSecretAdminPassword"] == "harbor-admin" and "harborAdminPassword" not in harbor
    assert values(run, "kube-prometheus-stack")["grafana"]["admin"]["existingSecret"] == "grafana-admin"


def test_every_node_trusts_the_derived_registry_ca_before_any_pull():
    run = deployed("prod")
    prep = [r for r in run.of_type("command:remote:Command") if r.name.endswith("-prep")]
    assert prep and all("harbor.prod.k8s.internal" in str(r.inputs["stdin"]) for r in prep)
    (tls,) = [r for r in run.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "harbor-tls"]
    assert tls.inputs["type"] == "kubernetes.io/tls"
    test_prep = [r for r in deployed("test").of_type("command:remote:Command") if r.name.endswith("-prep")]
    assert not any("harbor" in str(r.inputs["stdin"]) for r in test_prep)


# ------------------------------------------------------------------------------ monitoring


def test_prometheus_scrapes_every_etcd_member_with_a_client_certificate():
    run = deployed("prod")
    etcd_ips = sorted(
        p.outputs["allFixedIps"][0] for p in run.of_type("openstack:networking/port:Port") if "-pool-etcd-" in p.name
    )
    v = values(run, "kube-prometheus-stack")
    assert sorted(v["kubeEtcd"]["endpoints"]) == etcd_ips
    monitor = v["kubeEtcd"]["serviceMonitor"]
    assert monitor["scheme"] == "https" and monitor["certFile"] == "/etc/prometheus/secrets/etcd-client/tls.crt"
    (scrape,) = v["prometheus"]["prometheusSpec"]["additionalScrapeConfigs"]
    assert sorted(scrape["static_configs"][0]["targets"]) == [f"{ip}:9100" for ip in etcd_ips]
    alerts = {r["alert"] for g in v["additionalPrometheusRulesMap"]["k8s-platform"]["groups"] for r in g["rules"]}
    assert {"EtcdBackupTooOld", "EtcdBackupUploadTooOld", "EtcdMemberDown", "KubernetesNodeNotReady"} <= alerts
    storage = v["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert storage["storageClassName"] == "ceph-block"
    assert "storageSpec" not in values(deployed("test"), "kube-prometheus-stack")["prometheus"]["prometheusSpec"]


def test_the_backup_age_alert_follows_the_config():
    v = values(deployed("prod"), "kube-prometheus-stack")
    rules = {r["alert"]: r for g in v["additionalPrometheusRulesMap"]["k8s-platform"]["groups"] for r in g["rules"]}
    assert rules["EtcdBackupTooOld"]["expr"].endswith("> 18000")  # etcdBackupMaxAgeHours: 5


# ------------------------------------------------------------------------- capacity plan


def test_the_plan_counts_ceph_on_the_storage_pool_and_the_rest_on_the_workers():
    from config.load import load_stack_file
    from tests.harness import ROOT

    spec = load_stack_file(ROOT / "Pulumi.prod.yaml")
    pools = {p.pool: p for p in plan(spec).pools}
    storage = pools["storage"]
    # Per node: 2 OSDs (1 CPU, 4Gi each), crash collector (100m/60Mi), exporter (50m/50Mi), filebeat
    # (100m/200Mi): off the 7600m/63812Mi+... allocatable; mons, mgrs, gateways and MDS in its demand.
    worker = pools["worker"].allocatable
    assert worker.cpu_millicores - storage.allocatable.cpu_millicores == 2000 + 100 + 50
    assert storage.platform.pods == 3 + 2 + 2 + 2
    off = parse(stack_config("prod", addons("prod", OFF)))
    assert "storage" not in {p.pool for p in plan(off).pools}
    assert pools["worker"].platform.memory_mib > {p.pool: p for p in plan(off).pools}["worker"].platform.memory_mib


# -------------------------------------------------------------------------- bad config


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            {"storage": {"values": {"cephClusterSpec": {"mon": {"count": "3"}}}}},
            "addons.storage.values.cephClusterSpec.mon.count: Input should be a valid integer",
        ),
        (
            {"storage": {"operatorValues": {"enableDiscoveryDaemon": "yes"}}},
            "addons.storage.operatorValues.enableDiscoveryDaemon: Input should be a valid boolean",
        ),
        (
            {"monitoring": {"values": {"prometheus": {"prometheusSpec": {"replicas": "two"}}}}},
            "addons.monitoring.values.prometheus.prometheusSpec.replicas: Input should be a valid integer",
        ),
        (
            {"registry": {"values": {"harborAdminPassword": "x"}}},
            "addons.registry.values.harborAdminPassword: not a key",
        ),
        ({"logging": {"strimziValues": {"replicas": 1.5}}}, "addons.logging.strimziValues.replicas: Input should be"),
        ({"storage": {"replicas": 4}}, "addons.storage.replicas: 4 copies with failure domain host need 4 storage"),
        ({"storage": {"mons": 2}}, "addons.storage.mons: 2 mons: must be odd"),
        ({"storage": {"pool": "worker"}}, "addons.storage.pool: 'worker' is not a pool with role storage"),
        ({"registry": {"host": None}}, "addons.registry.host: Harbor needs its DNS name"),
        ({"registry": {"host": "Harbor.Example"}}, "addons.registry.host: String should match pattern"),
        ({"logging": {"indexReplicas": 3}}, "addons.logging.indexReplicas: 3 replicas need more than the 3"),
        ({"monitoring": {"retention": 15}}, "addons.monitoring.retention: Input should be a valid string"),
        ({"storage": {"enabled": False}}, "addons.registry.enabled: Harbor keeps its images and database on the Ceph"),
        ({"ingress": {"enabled": False}}, "addons.monitoring.grafanaHost: grafana.prod.k8s.internal is served by the"),
        (
            {
                "registry": {
                    "proxyCache": [
                        {"name": "k8s", "endpoint": "https://a.io"},
                        {"name": "k8s", "endpoint": "https://b.io"},
                    ]
                }
            },
            "addons.registry.proxyCache[1].name: proxy-cache project 'k8s' is listed twice",
        ),
    ],
)
def test_bad_data_addon_config_names_the_key(override, line):
    found = problems("prod", addons("prod", override))
    assert any(line in p for p in found), found


def test_the_stacks_own_harbor_is_not_listed_in_node_setup():
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    found = problems("prod", {"nodeSetup": {"registries": [{"host": "harbor.prod.k8s.internal", "caCert": ca}]}})
    assert any("nodeSetup.registries[0].host: harbor.prod.k8s.internal is the stack's own Harbor" in p for p in found)


def test_storage_in_a_stack_without_a_storage_pool_fails_before_any_resource():
    run = ProgramRun("test")
    with pytest.raises(Exception, match="Rook-Ceph runs on a pool with role storage"):
        run_program("test", addons("test", {"storage": {"enabled": True}}), into=run)
    assert run.resources == []

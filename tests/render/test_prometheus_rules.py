"""components/render/prometheus_rules.py: the platform's alert rules."""

from __future__ import annotations

import re

import pytest

from components.render.etcd_backup import LAST_SUCCESS_METRIC, LAST_UPLOAD_METRIC
from components.render.prometheus_rules import ETCD_JOB, AlertThresholds, platform_rule_groups


def rules(thresholds: AlertThresholds | None = None) -> dict[str, dict]:
    groups = platform_rule_groups(thresholds or AlertThresholds())
    return {r["alert"]: r for g in groups for r in g["rules"]}


def test_backup_age_alerts_read_the_metrics_the_backup_script_writes() -> None:
    by_name = rules(AlertThresholds(backup_max_age_hours=5, upload_max_age_hours=30))
    assert by_name["EtcdBackupTooOld"]["expr"] == f"time() - {LAST_SUCCESS_METRIC} > 18000"
    assert by_name["EtcdBackupTooOld"]["labels"]["severity"] == "critical"
    assert by_name["EtcdBackupUploadTooOld"]["expr"] == f"time() - {LAST_UPLOAD_METRIC} > 108000"
    assert f"absent_over_time({LAST_SUCCESS_METRIC}[5h])" in by_name["EtcdBackupMissing"]["expr"]


def test_without_uploads_there_is_no_upload_alert() -> None:
    assert "EtcdBackupUploadTooOld" not in rules(AlertThresholds(upload_max_age_hours=None))


def test_etcd_and_node_health_rules() -> None:
    by_name = rules()
    assert by_name["EtcdMemberDown"]["expr"] == f'up{{job="{ETCD_JOB}"}} == 0'
    assert "etcd_server_has_leader" in by_name["EtcdNoLeader"]["expr"]
    assert "> 0.8" in by_name["EtcdDatabaseNearQuota"]["expr"]
    assert 'condition="Ready"' in by_name["KubernetesNodeNotReady"]["expr"]


def test_every_rule_waits_has_a_severity_and_a_runbook_that_exists() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for name, rule in rules().items():
        assert re.fullmatch(r"[0-9]+[smh]", rule["for"]), name
        assert rule["labels"]["severity"] in ("critical", "warning"), name
        runbook = rule["annotations"]["runbook"]
        assert (root / runbook).is_file() or runbook == "docs/addons-monitoring.md", name
        # Balanced brackets and braces: a typo would make the whole PrometheusRule invalid.
        for open_, close in ("()", "[]", "{}"):
            assert rule["expr"].count(open_) == rule["expr"].count(close), name


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("backup_max_age_hours", 0),
        ("upload_max_age_hours", -1),
        ("etcd_db_quota_ratio", 1.5),
        ("node_down_for", "5 minutes"),
    ],
)
def test_bad_thresholds_are_refused(field: str, value) -> None:
    with pytest.raises(ValueError, match=f"AlertThresholds.{field}"):
        AlertThresholds(**{field: value})

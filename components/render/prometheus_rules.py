"""The platform's own alert rules (a PrometheusRule's ``spec.groups``): etcd backups, etcd health
and node health (pure: no Pulumi import).

kube-prometheus-stack ships the generic Kubernetes and node rules (its ``defaultRules``); these are
the platform's additions, about what the platform itself built and the chart cannot know:

- **etcd backups** (the blueprint's 数据备份): the backup timer writes node-exporter textfile
  metrics (render/etcd_backup.py). ``EtcdBackupTooOld`` fires when a member's last verified
  snapshot is older than the allowed age, ``EtcdBackupMissing`` when a member reports none at all
  (a new member whose timer never succeeded, or a node-exporter that cannot read the file), and
  ``EtcdBackupUploadTooOld`` when the S3 copy lags.
- **etcd health** of the external members, scraped with a client certificate (job ``kube-etcd``):
  a member down, a cluster without leader, too many leader changes, a member near its quota.
- **node health**: a Kubernetes node NotReady, a machine's node-exporter unreachable.

Every rule has a ``for`` so one failed scrape does not page, a severity (``critical`` pages,
``warning`` is a ticket) and a ``runbook`` annotation naming the project's runbook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.render._common import check_positive
from components.render.etcd_backup import LAST_SUCCESS_METRIC, LAST_UPLOAD_METRIC

ETCD_JOB = "kube-etcd"
"""Prometheus job of the etcd members' ``/metrics`` (kube-prometheus-stack's ``kubeEtcd``)."""
ETCD_NODE_JOB = "etcd-node-exporter"
"""Prometheus job of the dedicated etcd members' node-exporter (the backup metrics)."""
NODE_JOB = "node-exporter"
"""Prometheus job of the node-exporter DaemonSet on the Kubernetes nodes."""
RESTORE_RUNBOOK = "docs/runbooks/etcd-restore.md"
MONITORING_DOC = "docs/addons-monitoring.md"
_DURATION = re.compile(r"^[0-9]+[smh]$")


@dataclass(frozen=True)
class AlertThresholds:
    """What the platform's alerts allow."""

    backup_max_age_hours: int = 13
    """A member's newest verified snapshot may be this old (default 13 h: two missed 6-hourly runs
    plus the timer's jitter). Spec ``addons.monitoring.etcdBackupMaxAgeHours``."""
    upload_max_age_hours: int | None = 25
    """The same for the S3 copy; None when backups are not uploaded (default 25 h)."""
    etcd_db_quota_ratio: float = 0.8
    """Warn when a member's database reaches this share of its quota (default 0.8)."""
    node_down_for: str = "5m"
    """How long a node must be NotReady or unreachable before it alerts (default 5m)."""

    def __post_init__(self) -> None:
        check_positive(self.backup_max_age_hours, "AlertThresholds.backup_max_age_hours")
        if self.upload_max_age_hours is not None:
            check_positive(self.upload_max_age_hours, "AlertThresholds.upload_max_age_hours")
        if not 0 < self.etcd_db_quota_ratio < 1:
            raise ValueError(f"AlertThresholds.etcd_db_quota_ratio: {self.etcd_db_quota_ratio} must be in (0, 1)")
        if not _DURATION.match(self.node_down_for):
            raise ValueError(f"AlertThresholds.node_down_for: {self.node_down_for!r} is not a duration like 5m")


def _rule(name: str, expr: str, for_: str, severity: str, summary: str, runbook: str) -> dict:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "runbook": runbook},
    }


def backup_rules(t: AlertThresholds) -> list[dict]:
    """Alerts on the etcd backups' textfile metrics."""
    age = t.backup_max_age_hours * 3600
    rules = [
        _rule(
            "EtcdBackupTooOld",
            f"time() - {LAST_SUCCESS_METRIC} > {age}",
            "10m",
            "critical",
            f"etcd member {{{{ $labels.member }}}} has no verified snapshot for more than {t.backup_max_age_hours}h",
            RESTORE_RUNBOOK,
        ),
        _rule(
            "EtcdBackupMissing",
            f'absent_over_time({LAST_SUCCESS_METRIC}[{t.backup_max_age_hours}h]) and on() up{{job="{ETCD_JOB}"}} == 1',
            "30m",
            "warning",
            "no etcd member reports a backup metric (timer never succeeded, or node-exporter cannot read it)",
            MONITORING_DOC,
        ),
    ]
    if t.upload_max_age_hours is not None:
        rules.append(
            _rule(
                "EtcdBackupUploadTooOld",
                f"time() - {LAST_UPLOAD_METRIC} > {t.upload_max_age_hours * 3600}",
                "10m",
                "warning",
                f"etcd member {{{{ $labels.member }}}} uploaded no snapshot to S3 for more than "
                f"{t.upload_max_age_hours}h",
                RESTORE_RUNBOOK,
            )
        )
    return rules


def etcd_rules(t: AlertThresholds) -> list[dict]:
    """Alerts on the etcd members' own metrics."""
    job = f'job="{ETCD_JOB}"'
    return [
        _rule(
            "EtcdMemberDown",
            f"up{{{job}}} == 0",
            "3m",
            "critical",
            "etcd member {{ $labels.instance }} is down",
            RESTORE_RUNBOOK,
        ),
        _rule(
            "EtcdNoLeader",
            f"etcd_server_has_leader{{{job}}} == 0",
            "1m",
            "critical",
            "etcd member {{ $labels.instance }} has no leader",
            RESTORE_RUNBOOK,
        ),
        _rule(
            "EtcdFrequentLeaderChanges",
            f"increase(etcd_server_leader_changes_seen_total{{{job}}}[15m]) > 3",
            "5m",
            "warning",
            "etcd leader changed more than 3 times in 15 minutes (disk or network latency)",
            MONITORING_DOC,
        ),
        _rule(
            "EtcdDatabaseNearQuota",
            f"etcd_mvcc_db_total_size_in_bytes{{{job}}} / etcd_server_quota_backend_bytes{{{job}}} "
            f"> {t.etcd_db_quota_ratio}",
            "10m",
            "warning",
            f"etcd member {{{{ $labels.instance }}}} database above {t.etcd_db_quota_ratio:.0%} of its quota "
            "(defragment it)",
            MONITORING_DOC,
        ),
    ]


def node_rules(t: AlertThresholds) -> list[dict]:
    """Alerts on machine and Kubernetes node health."""
    return [
        _rule(
            "KubernetesNodeNotReady",
            'kube_node_status_condition{condition="Ready",status="true"} == 0',
            t.node_down_for,
            "critical",
            "node {{ $labels.node }} is not Ready",
            MONITORING_DOC,
        ),
        _rule(
            "MachineExporterDown",
            f'up{{job=~"{NODE_JOB}|{ETCD_NODE_JOB}"}} == 0',
            t.node_down_for,
            "warning",
            "node-exporter on {{ $labels.instance }} is unreachable (machine down or exporter stopped)",
            MONITORING_DOC,
        ),
    ]


def platform_rule_groups(t: AlertThresholds) -> list[dict]:
    """The PrometheusRule ``spec.groups`` of the platform."""
    return [
        {"name": "k8s-platform.etcd-backup", "rules": backup_rules(t)},
        {"name": "k8s-platform.etcd", "rules": etcd_rules(t)},
        {"name": "k8s-platform.nodes", "rules": node_rules(t)},
    ]

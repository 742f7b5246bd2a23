"""The kube-apiserver audit policy: the blueprint's "apiserver访问限制、操作审计" (security section).

An ``audit.k8s.io/v1`` Policy is an ordered rule list; the first rule that matches a request decides
its level (https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#audit-policy). The order here:

1. ``None`` for high-volume, low-value traffic: health and metrics endpoints, events (archived
   separately by kube-eventer, see docs/runbooks/troubleshooting.md), leases (every kubelet renews
   one each ``nodeStatusUpdateFrequency``; controllers renew leader-election leases), kube-proxy's
   and the nodes' own watches and status reads.
2. ``Metadata`` for everything whose body is or may be a credential: Secrets, ConfigMaps (apps put
   passwords there too), ServiceAccount token requests (``serviceaccounts/token``), TokenReviews,
   CSRs. The log says who touched which object and when, never the content. This rule comes before
   any rule that logs bodies, so no later rule can leak a Secret.
3. ``RequestResponse`` for writes to RBAC and admission configuration: who granted which
   permission is exactly what an audit must reconstruct, and these bodies hold no secrets.
4. ``Request`` for other writes to known API groups (what was asked to change).
5. ``Metadata`` for everything else (reads, custom resources whose bodies may hold credentials).

The rule list follows the policy Kubernetes ships for GCE clusters (``cluster/gce/gci/
configure-helper.sh``, function ``create-master-audit-policy``) trimmed to what this platform runs.
The ``RequestReceived`` stage is omitted: every request also produces ``ResponseComplete``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from components.render._common import GENERATED_HEADER, check_path, check_positive

POLICY_FILE = "/etc/kubernetes/audit/policy.yaml"
"""Where the policy lives on every master; mounted read-only into the kube-apiserver static pod."""
LOG_DIR = "/var/log/kubernetes/audit"
"""Directory of the audit log on every master; mounted read-write into the kube-apiserver pod."""

SECRET_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("secrets", "configmaps", "serviceaccounts/token")),
    ("authentication.k8s.io", ("tokenreviews",)),
    ("certificates.k8s.io", ("certificatesigningrequests",)),
)
"""(API group, resources) whose bodies may carry credentials: logged at Metadata, never deeper."""

POLICY_RESOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rbac.authorization.k8s.io", ()),
    ("admissionregistration.k8s.io", ()),
)
"""(API group, resources; empty = all) whose writes are logged with request and response."""

KNOWN_GROUPS: tuple[str, ...] = (
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "discovery.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
)
"""Built-in API groups whose write bodies are logged at Request level (custom resources are not)."""

WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


@dataclass(frozen=True)
class AuditLogArgs:
    """Audit log retention on each master (kube-apiserver ``--audit-log-*`` flags).

    With the defaults a master keeps at most 10 × 100 MB of audit log, and nothing older than 30 days;
    the logging pipeline (filebeat on the masters) ships it off the node.
    """

    policy_file: str = POLICY_FILE
    """``--audit-policy-file``."""
    log_dir: str = LOG_DIR
    """Directory of ``--audit-log-path`` (the file is ``audit.log`` in it)."""
    max_age_days: int = 30
    """``--audit-log-maxage``: days to keep rotated files (default 30)."""
    max_backup: int = 10
    """``--audit-log-maxbackup``: rotated files to keep (default 10)."""
    max_size_mb: int = 100
    """``--audit-log-maxsize``: MB before a file is rotated (default 100)."""

    def __post_init__(self) -> None:
        check_path(self.policy_file, "AuditLogArgs.policy_file")
        check_path(self.log_dir, "AuditLogArgs.log_dir")
        for name in ("max_age_days", "max_backup", "max_size_mb"):
            check_positive(getattr(self, name), f"AuditLogArgs.{name}")

    @property
    def log_path(self) -> str:
        return f"{self.log_dir}/audit.log"

    def flags(self) -> tuple[tuple[str, str], ...]:
        """The kube-apiserver flags, as (name, value) data."""
        return (
            ("audit-policy-file", self.policy_file),
            ("audit-log-path", self.log_path),
            ("audit-log-maxage", str(self.max_age_days)),
            ("audit-log-maxbackup", str(self.max_backup)),
            ("audit-log-maxsize", str(self.max_size_mb)),
        )


def _resources(table: tuple[tuple[str, tuple[str, ...]], ...]) -> list[dict[str, Any]]:
    return [{"group": group, **({"resources": list(names)} if names else {})} for group, names in table]


def policy_rules() -> list[dict[str, Any]]:
    """The ordered rule list as data (first match wins)."""
    return [
        # 1. Noise.
        {"level": "None", "nonResourceURLs": ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics"]},
        {"level": "None", "resources": [{"group": "", "resources": ["events"]}, {"group": "events.k8s.io"}]},
        {"level": "None", "resources": [{"group": "coordination.k8s.io", "resources": ["leases"]}]},
        {
            "level": "None",
            "users": ["system:kube-proxy"],
            "verbs": ["watch"],
            "resources": [
                {"group": "", "resources": ["endpoints", "services", "services/status"]},
                {"group": "discovery.k8s.io", "resources": ["endpointslices"]},
            ],
        },
        {
            "level": "None",
            "userGroups": ["system:nodes"],
            "verbs": ["get"],
            "resources": [{"group": "", "resources": ["nodes", "nodes/status"]}],
        },
        # 2. Credentials: who and when, never the body.
        {"level": "Metadata", "resources": _resources(SECRET_RESOURCES)},
        # 3. Permission changes, with the full request and response.
        {"level": "RequestResponse", "verbs": list(WRITE_VERBS), "resources": _resources(POLICY_RESOURCES)},
        # 4. Other writes to built-in groups: the request body.
        {"level": "Request", "verbs": list(WRITE_VERBS), "resources": [{"group": g} for g in KNOWN_GROUPS]},
        # 5. Everything else.
        {"level": "Metadata"},
    ]


def render_audit_policy() -> str:
    """The policy file (YAML) the masters get at ``POLICY_FILE``."""
    policy = {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": policy_rules(),
    }
    header = f"# {GENERATED_HEADER.format(module='components/render/audit_policy.py')}\n"
    return header + yaml.safe_dump(policy, sort_keys=False, default_flow_style=False)

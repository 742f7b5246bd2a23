"""Audit policy: evaluated like the apiserver does (first matching rule wins) on typical requests."""

from __future__ import annotations

import fnmatch

import pytest
import yaml

from components.render.audit_policy import LOG_DIR, POLICY_FILE, AuditLogArgs, render_audit_policy

POLICY = yaml.safe_load(render_audit_policy())
LEVELS = ("None", "Metadata", "Request", "RequestResponse")


def matches(rule: dict, verb: str, group: str, resource: str, user: str, groups: tuple[str, ...], url: str) -> bool:
    """k8s.io/apiserver pkg/audit/policy/checker.go semantics, reduced to the fields this policy uses:
    a rule with ``resources`` matches only resource requests, one with ``nonResourceURLs`` only
    non-resource requests, one with neither matches both."""
    if "users" in rule and user not in rule["users"]:
        return False
    if "userGroups" in rule and not set(groups) & set(rule["userGroups"]):
        return False
    if "verbs" in rule and verb not in rule["verbs"]:
        return False
    if url:
        return "resources" not in rule and any(fnmatch.fnmatch(url, p) for p in rule.get("nonResourceURLs", ["*"]))
    if "nonResourceURLs" in rule:
        return False
    kinds = rule.get("resources", [{"group": group}])
    return any(r["group"] == group and resource in r.get("resources", [resource]) for r in kinds)


def level(
    verb: str, group: str = "", resource: str = "", user: str = "alice", groups: tuple[str, ...] = (), url: str = ""
) -> str:
    """The level of a request: the first matching rule's (the apiserver's rule order)."""
    rule = next((r for r in POLICY["rules"] if matches(r, verb, group, resource, user, groups, url)), None)
    return rule["level"] if rule else "None"


def test_policy_document() -> None:
    assert POLICY["apiVersion"] == "audit.k8s.io/v1" and POLICY["kind"] == "Policy"
    assert POLICY["omitStages"] == ["RequestReceived"]
    assert all(rule["level"] in LEVELS for rule in POLICY["rules"])
    assert POLICY["rules"][-1] == {"level": "Metadata"}  # nothing falls through unaudited


@pytest.mark.parametrize("verb", ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"])
@pytest.mark.parametrize(
    ("group", "resource"),
    [("", "secrets"), ("", "configmaps"), ("", "serviceaccounts/token"), ("authentication.k8s.io", "tokenreviews"),
     ("certificates.k8s.io", "certificatesigningrequests")],
)  # fmt: skip
def test_credentials_are_never_logged_with_bodies(verb: str, group: str, resource: str) -> None:
    for user, groups in (("alice", ()), ("system:kube-proxy", ()), ("system:node:w1", ("system:nodes",))):
        assert level(verb, group, resource, user, groups) == "Metadata"


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (("create", "rbac.authorization.k8s.io", "clusterrolebindings"), "RequestResponse"),
        (("patch", "rbac.authorization.k8s.io", "roles"), "RequestResponse"),
        (("delete", "admissionregistration.k8s.io", "validatingwebhookconfigurations"), "RequestResponse"),
        (("get", "rbac.authorization.k8s.io", "roles"), "Metadata"),
        (("create", "", "pods"), "Request"),
        (("patch", "apps", "deployments"), "Request"),
        (("list", "", "pods"), "Metadata"),
        (("create", "monitoring.coreos.com", "prometheusrules"), "Metadata"),  # CR bodies may hold credentials
        (("create", "", "events"), "None"),
        (("update", "coordination.k8s.io", "leases"), "None"),
    ],
)
def test_levels_of_typical_requests(request_: tuple[str, str, str], expected: str) -> None:
    assert level(*request_) == expected


def test_noise_is_dropped_but_only_for_its_sources() -> None:
    assert level("get", url="/readyz") == "None" and level("get", url="/livez/etcd") == "None"
    assert level("watch", "", "endpoints", user="system:kube-proxy") == "None"
    assert level("watch", "", "endpoints", user="alice") == "Metadata"
    assert level("get", "", "nodes", user="system:node:w1", groups=("system:nodes",)) == "None"
    assert level("get", "", "nodes", user="alice") == "Metadata"
    assert level("get", url="/apis") == "Metadata"


def test_log_args_and_paths() -> None:
    args = AuditLogArgs()
    assert dict(args.flags()) == {
        "audit-policy-file": POLICY_FILE,
        "audit-log-path": f"{LOG_DIR}/audit.log",
        "audit-log-maxage": "30",
        "audit-log-maxbackup": "10",
        "audit-log-maxsize": "100",
    }
    with pytest.raises(ValueError, match="max_backup"):
        AuditLogArgs(max_backup=0)
    with pytest.raises(ValueError, match="log_dir"):
        AuditLogArgs(log_dir="relative/dir")

"""scripts/report.py on crafted event logs (the real previews' reports: tests/engine)."""

from __future__ import annotations

from scripts.report import destructive_rows, op_counts, render, stateful_kind

ETCD = "k8splatform:index:Platform$k8splatform:control_plane:EtcdCluster$command:remote:Command"
IAAS = "k8splatform:index:Platform$k8splatform:iaas:Iaas$k8splatform:iaas:NodePool"
SECRET = "s3cr3t-value-never-printed"


def _step(op: str, qualified: str, name: str, inputs: dict | None = None, keys: list[str] | None = None) -> dict:
    urn = f"urn:pulumi:prod::k8s-platform::{qualified}::{name}"
    state = {"inputs": inputs or {}, "outputs": {}}
    meta = {"op": op, "urn": urn, "type": qualified.rsplit("$", 1)[-1], "old": state, "new": state}
    return {"resourcePreEvent": {"metadata": meta | ({"keys": keys} if keys else {})}}


def _instance(op: str, name: str, role: str, keys: list[str] | None = None) -> dict:
    metadata = {"k8s-platform.role": role, "password": SECRET}
    return _step(op, f"{IAAS}$openstack:compute/instance:Instance", name, {"metadata": metadata}, keys)


EVENTS = [
    _step("same", "pulumi:pulumi:Stack", "k8s-platform-prod"),
    _step("same", "k8splatform:index:Platform", "platform", {"capacityPlan": {"pools": [], "total_pods": 9.0}}),
    # A replacement arrives as its parts; the forcing keys only on some.
    _instance("create-replacement", "worker-1", "worker", ["imageId"]),
    _instance("replace", "worker-1", "worker"),
    _instance("delete-replaced", "worker-1", "worker"),
    _instance("replace", "etcd-2", "etcd", ["flavorName"]),
    _step("delete", f"{IAAS}$openstack:blockstorage/volume:Volume", "etcd-3-etcd-data"),
    _step("replace", ETCD, "k8s-prod-etcd-2-member", {"stdin": SECRET}, ["triggers"]),
    _step("replace", ETCD, "k8s-prod-etcd-2-backup", {}, ["triggers"]),
    _step(
        "update", f"{IAAS}$openstack:compute/instance:Instance", "master-1", {"metadata": {"k8s-platform.role": "x"}}
    ),
    {"policyAnalyzeSummaryEvent": {"policyPackName": "gates", "policyPackVersion": "1", "passed": ["a"]}},
    {
        "policyEvent": {
            "policyPackName": "gates",
            "policyPackVersion": "1",
            "policyName": "b",
            "enforcementLevel": "mandatory",
            "resourceUrn": "urn:pulumi:prod::k8s-platform::pulumi:pulumi:Stack::k8s-platform-prod",
            "message": "too many\nnodes",
        }
    },
]
STEPS = [e["resourcePreEvent"]["metadata"] for e in EVENTS if "resourcePreEvent" in e][1:]


def test_a_replacement_counts_once():
    assert op_counts(STEPS) == {"same": 1, "replace": 4, "delete": 1, "update": 1}


def test_stateful_kinds():
    kinds = {s["urn"].rsplit("::", 1)[1]: stateful_kind(s) for s in STEPS}
    assert kinds["etcd-2"] == "etcd/master machine"
    assert kinds["worker-1"] is None and kinds["master-1"] is None  # role "x" is not master
    assert kinds["etcd-3-etcd-data"] == "data volume"
    assert kinds["k8s-prod-etcd-2-member"] == "etcd member step"
    assert kinds["k8s-prod-etcd-2-backup"] is None


def test_stateful_rows_come_first_with_the_keys_that_force_them():
    rows = destructive_rows(STEPS)
    assert [r[2] for r in rows] == [
        "etcd-3-etcd-data",
        "etcd-2",
        "k8s-prod-etcd-2-member",
        "k8s-prod-etcd-2-backup",
        "worker-1",
    ]
    assert rows[0][:2] == ("**stateful: data volume**", "delete")
    assert rows[-1][4] == "`imageId`"


def test_the_report_has_every_section_and_no_input_value():
    text = render(EVENTS, "prod")
    assert text.startswith("## Preview of stack `prod`\n\nThe preview fails")
    for section in ("### Changes", "### Replaced or deleted", "### Policies", "### Capacity plan"):
        assert section in text
    assert "| b | **violation** | [mandatory] k8s-platform-prod: too many nodes |" in text
    assert "| a | pass |  |" in text
    assert SECRET not in text

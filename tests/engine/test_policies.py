"""Every mandatory policy of the pack, through the real engine: a stack that breaks it (a policy
config that lowers a limit under the committed lab stack, a crafted stack config, or a crafted
program for what the program itself can never register) fails the preview with the policy's name
and a message naming the value and the limit; nothing is changed. The committed stacks passing
every policy is tests/engine/test_preview.py."""

from __future__ import annotations

import json

import pulumi
import pytest

from scripts.engine import POLICY_LAUNCHER

pytestmark = pytest.mark.engine

LOWERED = [
    # (policy, its config, words the message must hold)
    ("cluster-node-limit", {"maxNodes": 0}, ["the stack has 1 Kubernetes nodes", "limit of 0"]),
    ("cluster-pod-limit", {"maxPods": 5}, ["plans 10 pods", "limit of 5", "could hold 100"]),
    ("cluster-container-limit", {"maxContainers": 5}, ["plans 11 containers", "limit of 5"]),
    ("pods-per-node-limit", {"maxPodsPerNode": 50}, ["pool master: kubelet maxPods is 100", "limit of 50"]),
    (
        "instance-meets-sizing-table",
        {"flavors": {"m1.small.2c2g": {"vcpu": 1, "ramGib": 2}}},
        ["on flavor m1.small.2c2g has 1 vCPU", "asks at least 2"],
    ),
]


def _violations(run) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for v in run.policy_violations():
        assert v["enforcementLevel"] == "mandatory", v
        out.setdefault(v["policyName"], []).append(" ".join(v["message"].split()))
    return out


@pytest.mark.parametrize(("policy", "config", "words"), LOWERED, ids=[p for p, _, _ in LOWERED])
def test_a_lowered_limit_fails_the_preview(workspace, tmp_path, policy, config, words):
    workspace.write_stack("lab")
    config_file = tmp_path / "lowered.json"
    config_file.write_text(json.dumps({policy: config}))
    run = workspace.preview("lab", "--policy-pack-config", str(config_file))
    assert run.code != 0
    violations = _violations(run)
    assert list(violations) == [policy], violations
    assert all(word in violations[policy][0] for word in words), violations
    assert f"[mandatory] {policy}" in run.stdout


def test_a_short_pool_fails_capacity_sufficient(workspace):
    # 40 apps of 1 CPU on the lab's one 2-CPU master (1500m left after reservations and flannel).
    workloads = [{"name": "big", "apps": 40, "replicas": 1, "cpu": "1", "memory": "128Mi", "pool": "master"}]
    workspace.write_stack("lab", overrides={"workloads": workloads})
    run = workspace.preview("lab")
    assert run.code != 0
    violations = _violations(run)
    assert list(violations) == ["capacity-sufficient"], violations
    assert violations["capacity-sufficient"][0].endswith(
        "pool master: 1 nodes, the capacity plan needs 33 (bound by cpu: 48200m CPU, 6284 MiB, 42 pods: the "
        "workloads with 20 % headroom and the platform's own, after the kubelet reservations and DaemonSets)"
    )


def test_up_with_a_violation_changes_nothing(workspace, tmp_path):
    """`up` previews first: a mandatory violation stops it before the first resource is created."""
    workspace.write_stack("lab")
    config_file = tmp_path / "lowered.json"
    config_file.write_text(json.dumps({"cluster-node-limit": {"maxNodes": 0}}))
    run = workspace.pulumi("lab", "up", "--yes", "--non-interactive", "--policy-pack-config", str(config_file))
    assert run.code != 0
    assert list(_violations(run)) == ["cluster-node-limit"]
    assert [s for s in run.steps() if s["op"] != "same"] != []  # the preview phase planned them
    exported = workspace.pulumi("lab", "stack", "export")
    assert exported.ok, exported.stderr
    assert json.loads(exported.stdout)["deployment"].get("resources") in (None, [])


def _world_open_and_unprotected() -> None:
    """What the program never registers (its rules forbid it): an SSH port open to the world and
    an unprotected data volume."""
    import pulumi_openstack as openstack

    group = openstack.networking.SecGroup("admin", name="admin")
    openstack.networking.SecGroupRule(
        "ssh-from-anywhere",
        security_group_id=group.id,
        direction="ingress",
        ethertype="IPv4",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="0.0.0.0/0",
    )
    openstack.blockstorage.Volume("etcd-0-data", size=20, opts=pulumi.ResourceOptions(protect=False))


def test_a_crafted_program_fails_exposure_and_protection(engine):
    preview = engine.preview({}, policy_packs=[str(POLICY_LAUNCHER)], program=_world_open_and_unprotected)
    assert not preview.ok
    violations = {}
    for v in preview.policy_violations():
        violations.setdefault(v.policy_name, []).append(" ".join(v.message.split()))
    assert set(violations) == {"no-world-open-admin-ports", "data-volumes-protected"}, violations
    assert "0.0.0.0/0" in violations["no-world-open-admin-ports"][0]
    assert "22" in violations["no-world-open-admin-ports"][0]
    assert "etcd-0-data" in violations["data-volumes-protected"][0]

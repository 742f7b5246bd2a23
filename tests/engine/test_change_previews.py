"""Config changes of a deployed stack, previewed by the real engine: the plan touches only what the
change is about. The deployed state is the fixture of tests/engine/deployed.py (a fictive ``up``:
the real preview's states with the mocks' cloud values, imported with ``pulumi stack import``).

Every stack: no change, and a new etcd backup schedule. The stacks with a worker pool (test, prod;
lab is one all-in-one master): two workers added, one removed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.engine.deployed import SECRET_SIG, deployed_workspace, secret
from tests.engine.project import Run, Workspace
from tests.harness import STACKS, stack_config

pytestmark = pytest.mark.engine

WORKER_STACKS = [s for s in STACKS if "worker" in stack_config(s)["k8s-platform:nodePools"]]
WORKER_STEPS = ("join",)
"""A worker's SSH steps (components/control_plane/kubeadm_cluster.py): one (preparation, its own
token, join); with its instance and port, three resources. Its Node object is its pool's step's."""
_DEPLOYED: dict[str, Workspace] = {}


@pytest.fixture
def deployed(request, tmp_path_factory, toolchain) -> Workspace:
    """The ``request.param`` stack after a fictive ``up`` (one per stack, shared by its tests)."""
    stack = request.param
    if stack not in _DEPLOYED:
        _DEPLOYED[stack] = deployed_workspace(Workspace(tmp_path_factory.mktemp(f"deployed-{stack}")), stack)
    return _DEPLOYED[stack]


PLATFORM = "k8splatform:index:Platform"


def preview_with(workspace: Workspace, stack: str, overrides: dict | None = None) -> Run:
    workspace.write_stack(stack, overrides=overrides)
    run = workspace.preview(stack)
    assert run.ok, run.stderr[-3000:] + run.stdout[-3000:]
    assert run.diagnostics("error") == []
    return run


def changed(run: Run) -> dict[str, list[str]]:
    """What the preview changes in the cloud and on the machines: ``run.changed()`` without the
    Platform component's own update. A new node count changes its ``capacityPlan`` input (what the
    policy pack judges); a component has no provider, so that update touches nothing."""
    out = {}
    for op, urns in run.changed().items():
        rest = [u for u in urns if not (op == "update" and u.split("::")[2] == PLATFORM)]
        if rest:
            out[op] = rest
    for step in run.program_steps():
        if step["type"] == PLATFORM and step["op"] == "update":
            old, new = step["old"]["inputs"], step["new"]["inputs"]
            assert {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)} == {"capacityPlan"}
    return out


def workers(stack: str) -> int:
    return stack_config(stack)["k8s-platform:nodePools"]["worker"]["count"]


def worker_urns(run: Run, stack: str, index: int) -> set[str]:
    """URNs of worker ``index``'s three resources (its machine in the IaaS layer, its step in kubeadm)."""
    names = {f"platform-iaas-pool-worker-{index}", f"platform-iaas-pool-worker-{index}-port"}
    names |= {f"platform-kubeadm-k8s-{stack}-worker-{index}-{s}" for s in WORKER_STEPS}
    return {s["urn"] for s in run.program_steps() if s["urn"].rsplit("::", 1)[1] in names}


@pytest.mark.parametrize("deployed", STACKS, indirect=True)
def test_no_change_plans_no_change(deployed, request):
    stack = request.node.callspec.params["deployed"]
    run = preview_with(deployed, stack)
    assert changed(run) == {}, changed(run)


@pytest.mark.parametrize("deployed", STACKS, indirect=True)
def test_changing_the_etcd_backup_schedule_updates_only_the_backup_steps(deployed, request):
    stack = request.node.callspec.params["deployed"]
    run = preview_with(deployed, stack, {"etcd.backup.schedule": "*-*-* 00/4:00:00"})
    members = stack_config(stack)["k8s-platform:etcd"]["members"]
    assert set(changed(run)) == {"update"}, changed(run)
    updated = [urn.rsplit("::", 1)[1] for urn in changed(run)["update"]]
    assert len(updated) == members and all(name.endswith("-backup") for name in updated), updated


@pytest.mark.parametrize("deployed", WORKER_STACKS, indirect=True)
def test_adding_two_workers_creates_only_their_resources(deployed, request):
    stack = request.node.callspec.params["deployed"]
    n = workers(stack)
    run = preview_with(deployed, stack, {"nodePools.worker.count": n + 2})
    new = worker_urns(run, stack, n + 1) | worker_urns(run, stack, n + 2)
    assert len(new) == 2 * (2 + len(WORKER_STEPS)) == 6
    assert set(changed(run)) == {"create", "update"}, changed(run)
    assert set(changed(run)["create"]) == new
    # The pool's Node step gets the two members (it annotates, labels and taints them).
    assert [u.rsplit("::", 1)[1] for u in changed(run)["update"]] == ["platform-kubeadm-pool-worker-nodes"]


@pytest.mark.parametrize("deployed", WORKER_STACKS, indirect=True)
def test_removing_a_worker_deletes_only_its_resources_and_drains_it(deployed, request):
    stack = request.node.callspec.params["deployed"]
    n = workers(stack)
    # The committed plans fill their workers exactly: one fewer fails capacity-sufficient (the pack's
    # gate, tests/engine/test_policies.py) unless the workloads shrink with it.
    run = preview_with(deployed, stack, {"nodePools.worker.count": n - 1, "workloads": []})
    gone = worker_urns(run, stack, n)
    assert len(gone) == 2 + len(WORKER_STEPS) == 3
    assert set(changed(run)) == {"delete", "update"}, changed(run)
    assert set(changed(run)["delete"]) == gone
    # The drain: the pool's Node step loses the member (its update drains the Node that left the
    # pool), planned before the machine's delete.
    order = [s["urn"].rsplit("::", 1)[1] for s in run.program_steps()]
    pool, machine = "platform-kubeadm-pool-worker-nodes", f"platform-iaas-pool-worker-{n}"
    assert [u.rsplit("::", 1)[1] for u in changed(run)["update"]] == [pool]
    update = run.program_steps()[order.index(pool)]
    assert f"k8s-{stack}-worker-{n} " in update["old"]["inputs"]["stdin"]
    assert f"k8s-{stack}-worker-{n} " not in update["new"]["inputs"]["stdin"]
    assert 'remove_node "$node"' in update["new"]["inputs"]["create"]
    assert order.index(pool) < order.index(machine)


# ------------------------------------------------------------------ replacements (issue 16, item 2)

NEW_IMAGE = "11111111-2222-4333-8444-555555555555"


def replaced(run: Run) -> dict[str, list[str]]:
    """Resource name -> its replacement's ops in the engine's order (create-replacement, delete-replaced, ...)."""
    out: dict[str, list[str]] = {}
    for s in run.program_steps():
        if s["op"] in ("replace", "create-replacement", "delete-replaced"):
            out.setdefault(s["urn"].rsplit("::", 1)[1], []).append(s["op"])
    return out


@pytest.mark.parametrize("deployed", ["test"], indirect=True)
def test_a_new_worker_image_replaces_each_worker_delete_first(deployed):
    run = preview_with(deployed, "test", {"nodePools.worker.image": NEW_IMAGE})
    machines = {f"platform-iaas-pool-worker-{i}" for i in range(1, workers("test") + 1)}
    plan = replaced(run)
    assert machines <= set(plan), plan
    for machine in machines:
        # Nova keeps the reused port (and data volumes) on the old machine until it is deleted.
        assert plan[machine].index("delete-replaced") < plan[machine].index("create-replacement"), plan[machine]


@pytest.mark.parametrize("deployed", ["test"], indirect=True)
def test_a_new_master_or_etcd_image_replaces_no_member_until_one_is_rolled(deployed):
    run = preview_with(deployed, "test", {"nodePools.master.image": NEW_IMAGE, "nodePools.etcd.image": NEW_IMAGE})
    assert run.changed() == {}, run.changed()
    rolled = preview_with(
        deployed,
        "test",
        {"nodePools.master.image": NEW_IMAGE, "nodePools.etcd.image": NEW_IMAGE, "nodePools.master.rollout": [2]},
    )
    plan = replaced(rolled)
    machines = {name for name in plan if name.startswith("platform-iaas-pool-") and name.count("-") == 4}
    assert machines == {"platform-iaas-pool-master-2"}, plan
    ops = plan["platform-iaas-pool-master-2"]
    assert ops.index("delete-replaced") < ops.index("create-replacement"), ops


@pytest.mark.parametrize("deployed", ["test"], indirect=True)
def test_a_new_etcd_flavor_resizes_one_member_per_up_keeping_the_quorum(deployed):
    # The pool's declared size follows the flavor (the pack's flavor table checks they agree).
    flavor = {"nodePools.etcd.flavor": "k8s.etcd.4c8g", "nodePools.etcd.vcpu": 4, "nodePools.etcd.ramGib": 8}
    assert preview_with(deployed, "test", flavor).changed() == {}
    run = preview_with(deployed, "test", {**flavor, "nodePools.etcd.rollout": [2]})
    machines = [u.rsplit("::", 1)[1] for op in run.changed().values() for u in op if "compute/instance:" in u]
    assert machines == ["platform-iaas-pool-etcd-2"], run.changed()  # 2 of 3 members keep running


@pytest.mark.parametrize("deployed", ["test"], indirect=True)
def test_the_report_of_a_change_with_replacements_flags_the_stateful_ones_first(deployed, request, tmp_path):
    """A new image for the worker pool and for the one etcd member rolled replaces those machines
    and what hangs on them: the PR report lists every replacement once, the etcd machine and its
    data volume attachment flagged stateful and first, the workers and their steps after them."""
    from scripts.report import stateful_kind

    stack = request.node.callspec.params["deployed"]
    overrides = {"nodePools.worker.image": NEW_IMAGE, "nodePools.etcd.image": NEW_IMAGE, "nodePools.etcd.rollout": [2]}
    deployed.write_stack(stack, overrides=overrides)
    report = tmp_path / "report.md"
    run = deployed.preview(stack, "--report", str(report))
    assert run.ok, run.stderr[-3000:]
    text = report.read_text()
    replaced = {s["urn"]: s for s in run.program_steps() if s["op"] in ("replace", "create-replacement")}
    rows = [r for r in (line.split(" | ") for line in text.splitlines()) if len(r) == 5 and r[1] == "replace"]
    assert sorted(r[2] for r in rows) == sorted({u.rsplit("::", 1)[1] for u in replaced})
    assert f"| replace | {len(replaced)} |" in text
    stateful = [u.rsplit("::", 1)[1] for u, s in replaced.items() if stateful_kind(s)]
    assert {"platform-iaas-pool-etcd-2", "platform-iaas-pool-etcd-2-etcd-data-attach"} <= set(stateful)
    assert [r[2] for r in rows[: len(stateful)]] == sorted(stateful)
    assert all("**stateful:" in r[0] for r in rows[: len(stateful)])
    assert not any("stateful" in r[0] for r in rows[len(stateful) :])
    # Why: the property that forces each machine's replacement.
    machine = next(r for r in rows if r[2] == "platform-iaas-pool-worker-1")
    assert "`blockDevices`" in machine[4], machine


@pytest.mark.parametrize("deployed", ["test"], indirect=True)
def test_replacing_master_1_rebuilds_it_with_join_material_from_master_2(deployed):
    """Rolling master 1 (issue 16 item 1): its machine and steps are replaced, master 2's
    rejoin-secrets step runs first, on master 2, and the init step waits for its output, whose
    material makes the step join the running cluster (kubeadm_masters.py) instead of `kubeadm init`."""
    run = preview_with(deployed, "test", {"nodePools.master.image": NEW_IMAGE, "nodePools.master.rollout": [1]})
    plan = replaced(run)
    machines = {name for name in plan if name.startswith("platform-iaas-pool-") and name.count("-") == 4}
    assert machines == {"platform-iaas-pool-master-1"}, plan
    rejoin, init = "platform-kubeadm-k8s-test-master-1-rejoin-secrets", "platform-kubeadm-init"
    assert {rejoin, init} <= set(plan), plan
    steps = {s["urn"].rsplit("::", 1)[1]: s for s in run.program_steps() if s["op"] == "create-replacement"}
    order = list(steps)
    assert order.index(rejoin) < order.index(init), order
    new = steps[rejoin]["new"]
    assert "upload-certs" in new["inputs"]["create"]  # the init's dependency on it: test_kubeadm_masters.py
    master_2 = next(s for s in run.program_steps() if s["urn"].endswith("::platform-iaas-pool-master-2-port"))
    assert master_2["op"] == "same"
    # Master 2 keeps its machine, its join and its own secrets: nothing runs there but the rejoin step.
    assert not {n for n in plan if "master-2" in n}, plan


# ------------------------------------------------------------------ removing a master (issue 16, item 3)


@pytest.mark.parametrize("deployed", ["prod"], indirect=True)
def test_removing_a_master_needs_the_deployed_count_confirmed_then_drains_and_resets_it(deployed):
    deployed.write_stack("prod", overrides={"nodePools.master.count": 2})
    refused = deployed.preview("prod")
    assert not refused.ok
    text = refused.stdout + refused.stderr
    assert "k8s-platform:nodePools.master.count: lowers the masters from 3 (deployed" in text, text[-2000:]
    assert "nodePools.master.confirmRemoval: 3" in text and "Traceback" not in text
    run = preview_with(deployed, "prod", {"nodePools.master.count": 2, "nodePools.master.confirmRemoval": 3})
    gone = {u.rsplit("::", 1)[1] for u in changed(run).get("delete", [])}
    kubeadm = {f"platform-kubeadm-k8s-prod-master-3-{s}" for s in ("prep", "secrets", "join", "member")}
    assert gone == {"platform-iaas-pool-master-3", "platform-iaas-pool-master-3-port"} | kubeadm, gone
    order = [s["urn"].rsplit("::", 1)[1] for s in run.program_steps()]
    member = run.program_steps()[order.index("platform-kubeadm-k8s-prod-master-3-member")]
    removal = member["old"]["inputs"]["delete"]
    assert "drain k8s-prod-master-3 " in removal and "kubeadm reset --force" in removal
    assert order.index("platform-kubeadm-k8s-prod-master-3-member") < order.index("platform-iaas-pool-master-3")


# ------------------------------------------------------------------ SSH host keys (issue 16, item 5)


def _without_host_keys(document: dict) -> dict:
    """The state an update before host-key injection left: no user data on the machines, no
    ``hostKey`` in any step's connection, no ``host_key`` in the recorded ``nodes``."""

    def edit(value: Any, change) -> Any:
        if isinstance(value, dict) and SECRET_SIG in value:
            return secret(change(json.loads(value["plaintext"])))
        return change(value)

    def connection(value: dict) -> dict:
        value.pop("hostKey", None)
        if isinstance(value.get("proxy"), dict):
            value["proxy"].pop("hostKey", None)
        return value

    for resource in document["deployment"]["resources"]:
        for props in (resource.get("inputs") or {}, resource.get("outputs") or {}):
            if resource["type"] == "openstack:compute/instance:Instance":
                props.pop("userData", None)
            if resource["type"] == "command:remote:Command" and "connection" in props:
                props["connection"] = edit(props["connection"], connection)
        if resource["type"] == "pulumi:pulumi:Stack" and "nodes" in (resource.get("outputs") or {}):
            strip = lambda nodes: [{k: v for k, v in n.items() if k != "host_key"} for n in nodes]  # noqa: E731
            resource["outputs"]["nodes"] = edit(resource["outputs"]["nodes"], strip)
    return document


def test_a_stack_deployed_before_host_keys_plans_no_replacement_and_reruns_no_step(tmp_path, toolchain):
    workspace = deployed_workspace(Workspace(tmp_path / "before-host-keys"), "test")
    exported = workspace.pulumi("test", "stack", "export", "--show-secrets")
    assert exported.ok, exported.stderr
    path = tmp_path / "before-host-keys.json"
    path.write_text(json.dumps(_without_host_keys(json.loads(exported.stdout))))
    assert workspace.pulumi("test", "stack", "import", "--file", str(path)).ok
    run = preview_with(workspace, "test")
    assert changed(run) == {}, changed(run)  # machines kept, no step's connection changed
    warnings = " ".join(run.diagnostics("warning"))
    assert "SSH host keys not verified for k8s-test-" in warnings, warnings

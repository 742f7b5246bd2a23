"""Config changes of a deployed stack, previewed by the real engine: the plan touches only what the
change is about. The deployed state is the fixture of tests/engine/deployed.py (a fictive ``up``:
the real preview's states with the mocks' cloud values, imported with ``pulumi stack import``)."""

from __future__ import annotations

import pytest

from tests.engine.deployed import deployed_workspace
from tests.engine.project import Workspace
from tests.harness import stack_config

pytestmark = pytest.mark.engine

STACK = "test"
WORKERS = stack_config(STACK)["k8s-platform:nodePools"]["worker"]["count"]
WORKER_STEPS = ("", "-port", "-prep", "-secrets", "-join", "-node")
"""A worker's resources, by name suffix: instance, port and its four SSH steps (components/)."""


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, toolchain) -> Workspace:
    return deployed_workspace(Workspace(tmp_path_factory.mktemp("deployed")), STACK)


def preview_with(workspace: Workspace, overrides: dict | None = None):
    workspace.write_stack(STACK, overrides=overrides)
    run = workspace.preview(STACK)
    assert run.ok, run.stderr[-3000:] + run.stdout[-3000:]
    assert run.diagnostics("error") == []
    return run


def worker_urns(run, index: int) -> set[str]:
    """URNs of the steps of worker ``index`` (its machine in the IaaS layer, its steps in kubeadm)."""
    names = {f"platform-iaas-pool-worker-{index}{s}" for s in ("", "-port")}
    names |= {f"platform-kubeadm-k8s-{STACK}-worker-{index}{s}" for s in WORKER_STEPS[2:]}
    return {s["urn"] for s in run.program_steps() if s["urn"].rsplit("::", 1)[1] in names}


def test_no_change_plans_no_change(deployed):
    run = preview_with(deployed)
    assert run.changed() == {}, run.changed()


def test_adding_two_workers_creates_only_their_resources(deployed):
    run = preview_with(deployed, {"nodePools.worker.count": WORKERS + 2})
    new = worker_urns(run, WORKERS + 1) | worker_urns(run, WORKERS + 2)
    assert len(new) == 2 * len(WORKER_STEPS)
    assert set(run.changed()) == {"create"}, run.changed()
    assert set(run.changed()["create"]) == new


def test_removing_a_worker_deletes_only_its_resources_and_drains_it(deployed):
    run = preview_with(deployed, {"nodePools.worker.count": WORKERS - 1})
    gone = worker_urns(run, WORKERS)
    assert len(gone) == len(WORKER_STEPS)
    assert set(run.changed()) == {"delete"}, run.changed()
    assert set(run.changed()["delete"]) == gone
    # The drain: the Node step's delete command, planned before the machine's delete.
    order = [s["urn"].rsplit("::", 1)[1] for s in run.program_steps()]
    node, machine = f"platform-kubeadm-k8s-{STACK}-worker-{WORKERS}-node", f"platform-iaas-pool-worker-{WORKERS}"
    drain = run.program_steps()[order.index(node)]
    assert f"drain k8s-{STACK}-worker-{WORKERS} " in drain["old"]["inputs"]["delete"]
    assert order.index(node) < order.index(machine)


def test_changing_the_etcd_backup_schedule_updates_only_the_backup_steps(deployed):
    run = preview_with(deployed, {"etcd.backup.schedule": "*-*-* 00/4:00:00"})
    members = stack_config(STACK)["k8s-platform:nodePools"]["etcd"]["count"]
    assert set(run.changed()) == {"update"}, run.changed()
    updated = [urn.rsplit("::", 1)[1] for urn in run.changed()["update"]]
    assert len(updated) == members and all(name.endswith("-backup") for name in updated), updated

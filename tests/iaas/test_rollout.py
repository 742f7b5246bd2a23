"""Replacements that can work (issue 16, item 2): machines and volume attachments are replaced
delete-first, and master and etcd pools change one member per ``up`` (``rollout``)."""

from __future__ import annotations

import pulumi
import pytest

from components.iaas.node_pool import PINNED_PROPERTIES
from config.load import parse
from config.spec import NAMESPACE, ROLLED_ROLES, Role, SpecError
from tests.harness import ProgramRun, run_program, stack_config
from tests.iaas.conftest import ATTACH, INSTANCE, PORT

NEW_IMAGE = "11111111-2222-4333-8444-555555555555"


def _role(instance) -> Role:
    return Role(instance.inputs["metadata"]["k8s-platform.role"])


def test_machines_and_attachments_are_replaced_delete_first(program):
    """The replacement reuses the machine's port and data volumes, which Nova gives to one machine
    at a time: create-first (Pulumi's default) would fail on the port in use."""
    assert program.of_type(INSTANCE) and all(i.delete_before_replace for i in program.of_type(INSTANCE))
    assert all(a.delete_before_replace for a in program.of_type(ATTACH))
    # The port itself stays (same address); it is never replaced because the machine is.
    assert not any(p.delete_before_replace for p in program.of_type(PORT))


def test_master_and_etcd_members_are_pinned_and_other_pools_follow_their_config(program):
    for instance in program.of_type(INSTANCE):
        # userData (the injected SSH host key) on every machine: a change would replace it.
        expected = [*(PINNED_PROPERTIES if _role(instance) in ROLLED_ROLES else ()), "userData"]
        assert instance.ignore_changes == expected, instance.name


@pytest.mark.parametrize(("pool", "member"), [("master", 2), ("etcd", 3)])
def test_the_member_in_rollout_takes_the_pools_new_values_alone(pool, member):
    run = run_program("test", {f"nodePools.{pool}.image": NEW_IMAGE, f"nodePools.{pool}.rollout": [member]})
    members = [i for i in run.of_type(INSTANCE) if i.name.startswith(f"platform-iaas-pool-{pool}-")]
    unpinned = [i.name for i in members if not i.ignore_changes]  # the rolled one takes its user data too
    assert unpinned == [f"platform-iaas-pool-{pool}-{member}"]
    # Every member's registration carries the pool's config; the pinned ones' changes are ignored.
    assert {i.inputs["blockDevices"][0]["uuid"] for i in members} == {NEW_IMAGE}


@pytest.mark.parametrize(
    ("stack", "overrides", "words"),
    [
        ("test", {"nodePools.worker.rollout": [1]}, "applies to master and etcd pools only"),
        ("test", {"nodePools.etcd.rollout": [1, 2]}, "one member per `pulumi up`"),
        ("test", {"nodePools.etcd.rollout": [4]}, "member 4 does not exist (the pool's members are 1-3)"),
        ("test", {"nodePools.master.count": 1, "nodePools.master.rollout": [1]}, "this pool has no master 2"),
        ("lab", {"nodePools.master.rollout": [1]}, "a 1-member etcd loses its quorum"),
    ],
)
def test_unsafe_rollouts_are_refused_naming_the_key(stack, overrides, words):
    with pytest.raises(SpecError) as caught:
        parse(stack_config(stack, overrides))
    pool = next(iter(overrides)).split(".")[1]
    message = dict(caught.value.violations)[f"{NAMESPACE}:nodePools.{pool}.rollout"]
    assert words in message, message
    if "does not exist" not in words and "applies to" not in words:
        assert "docs/runbooks/upgrade.md, 9.5" in message  # says how to roll


def test_a_safe_rollout_is_accepted():
    assert parse(stack_config("prod", {"nodePools.etcd.rollout": [2]})).node_pools["etcd"].rollout == (2,)
    assert parse(stack_config("prod", {"nodePools.master.rollout": [3]})).node_pools["master"].rollout == (3,)
    # Master 1 too: rebuilt, it joins the running cluster (components/control_plane/kubeadm_masters.py).
    assert parse(stack_config("test", {"nodePools.master.rollout": [1]})).node_pools["master"].rollout == (1,)


# ------------------------------------------------------------------ removing masters (issue 16, item 3)

DEPLOYED = {"master": 3, "worker": 6}
"""Machines per pool as a deployed prod stack's ``nodes`` output records them."""


def removal_message(stack: str, overrides: dict, deployed: dict) -> str:
    with pytest.raises(SpecError) as caught:
        parse(stack_config(stack, overrides), deployed=deployed)
    return dict(caught.value.violations)[f"{NAMESPACE}:nodePools.master.count"]


def test_a_lower_master_count_than_deployed_is_refused_until_the_deployed_count_is_confirmed():
    message = removal_message("prod", {"nodePools.master.count": 2}, DEPLOYED)
    assert "lowers the masters from 3 (deployed, the stack's `nodes` output) to 2" in message
    assert "masters 3-3 are drained, reset and deleted" in message
    assert "nodePools.master.confirmRemoval: 3" in message and "upgrade.md, 9.6" in message
    # A stale or wrong confirmation does not confirm: it must name the deployed count.
    assert "from 3" in removal_message(
        "prod", {"nodePools.master.count": 2, "nodePools.master.confirmRemoval": 4}, DEPLOYED
    )
    confirmed = parse(
        stack_config("prod", {"nodePools.master.count": 2, "nodePools.master.confirmRemoval": 3}), deployed=DEPLOYED
    )
    assert confirmed.node_pools["master"].count == 2
    # Once deployed at 2, the old confirmation is harmless; the next decrease needs its own.
    assert parse(
        stack_config("prod", {"nodePools.master.count": 2, "nodePools.master.confirmRemoval": 3}),
        deployed={"master": 2},
    )
    # A new stack (nothing recorded) and a growing pool need nothing.
    assert parse(stack_config("prod", {"nodePools.master.count": 2}), deployed={})
    assert parse(stack_config("prod", {"nodePools.master.count": 5}), deployed=DEPLOYED)


def test_with_etcd_on_the_masters_the_refusal_says_what_quorum_safety_is_lost():
    message = removal_message("lab", {}, {"master": 3})
    assert "2 etcd members leave at once" in message and "a 1-member etcd keeps no quorum" in message


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"nodePools.worker.confirmRemoval": 7}, "applies to master pools only"),
        ({"nodePools.master.confirmRemoval": 3}, "3 removes no master from count 3; delete the key"),
    ],
)
def test_a_confirmation_that_confirms_nothing_is_refused(overrides, words):
    with pytest.raises(SpecError) as caught:
        parse(stack_config("prod", overrides))
    pool = next(iter(overrides)).split(".")[1]
    assert words in dict(caught.value.violations)[f"{NAMESPACE}:nodePools.{pool}.confirmRemoval"]


def test_the_program_reads_the_recorded_count_and_registers_nothing_when_refused():
    recorded = {"nodes": [{"name": f"k8s-prod-master-{i}", "pool": "master", "role": "master"} for i in (1, 2, 3)]}
    run = ProgramRun("prod")
    with pytest.raises(pulumi.RunError) as caught:
        run_program("prod", {"nodePools.master.count": 2}, into=run, recorded=recorded)
    assert "k8s-platform:nodePools.master.count: lowers the masters from 3" in str(caught.value)
    assert run.resources == []
    confirmed = run_program(
        "prod", {"nodePools.master.count": 2, "nodePools.master.confirmRemoval": 3}, recorded=recorded
    )
    assert not [r for r in confirmed.resources if "master-3" in r.name]

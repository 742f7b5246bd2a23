"""Replacements that can work (issue 16, item 2): machines and volume attachments are replaced
delete-first, and master and etcd pools change one member per ``up`` (``rollout``)."""

from __future__ import annotations

import pytest

from components.iaas.node_pool import PINNED_PROPERTIES
from config.load import parse
from config.spec import NAMESPACE, ROLLED_ROLES, Role, SpecError
from tests.harness import run_program, stack_config
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
        expected = list(PINNED_PROPERTIES) if _role(instance) in ROLLED_ROLES else []
        assert instance.ignore_changes == expected, instance.name


@pytest.mark.parametrize(("pool", "member"), [("master", 2), ("etcd", 3)])
def test_the_member_in_rollout_takes_the_pools_new_values_alone(pool, member):
    run = run_program("test", {f"nodePools.{pool}.image": NEW_IMAGE, f"nodePools.{pool}.rollout": [member]})
    members = [i for i in run.of_type(INSTANCE) if i.name.startswith(f"platform-iaas-pool-{pool}-")]
    unpinned = [i.name for i in members if not i.ignore_changes]
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
    # Master 1 too: rebuilt, it joins the running cluster (components/control_plane/kubeadm_init.py).
    assert parse(stack_config("test", {"nodePools.master.rollout": [1]})).node_pools["master"].rollout == (1,)

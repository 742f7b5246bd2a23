"""SSH host keys under the mocks (issue 16 item 5): every step verifies its machine's key, the bastion
included; the private keys travel only in the instances' secret user data; machines that booted
before keys were injected (the stack's recorded ``nodes`` output has none for them) keep their user
data and their steps' connections as they were."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.render.host_keys import host_key
from tests.control_plane.kubeadm_mocks import run_bootstrap
from tests.harness import TEST_SEED, ProgramRun, Secret

COMMAND, INSTANCE = "command:remote:Command", "openstack:compute/instance:Instance"
SEED = bytes.fromhex(TEST_SEED)


def plain(value: Any) -> Any:
    return value.value if isinstance(value, Secret) else value


def keys_by_address(run: ProgramRun) -> dict[str, str]:
    return {n["private_ip"]: host_key(SEED, n["name"]).public for n in run.outputs["nodes"]}


@pytest.mark.parametrize("stack", ["lab", "test", "prod"])
def test_every_step_verifies_its_machines_host_key_and_the_bastions(stack):
    run = run_bootstrap(stack, preview=False)
    keys = keys_by_address(run)
    bastions = [n for n in run.outputs["nodes"] if n["role"] == "bastion"]
    for step in run.of_type(COMMAND):
        connection = plain(step.inputs["connection"])
        assert connection["hostKey"] == keys[connection["host"]], step.name
        if bastions:
            assert plain(connection["proxy"])["hostKey"] == host_key(SEED, bastions[0]["name"]).public, step.name
        else:
            assert "proxy" not in connection
    assert {n["name"]: n["host_key"] for n in run.outputs["nodes"]} == {
        n["name"]: host_key(SEED, n["name"]).public for n in run.outputs["nodes"]
    }


def test_host_private_keys_travel_only_in_secret_user_data():
    run = run_bootstrap("prod", preview=False)
    for instance in run.of_type(INSTANCE):
        user_data = instance.inputs["userData"]
        assert isinstance(user_data, Secret), instance.name
        installed = yaml.safe_load(user_data.value)["ssh_keys"]["ed25519_private"]
        assert installed == host_key(SEED, instance.inputs["name"]).private
        assert "userData" in instance.ignore_changes  # a user-data change would replace the machine
    for registration in run.resources:
        text = repr({k: v for k, v in registration.inputs.items() if not isinstance(v, Secret)})
        assert "PRIVATE KEY" not in text, registration.name


def test_machines_that_booted_without_an_injected_key_keep_their_steps_unchanged():
    fresh = run_bootstrap("test", preview=False)
    # As recorded by an update before host keys: no host_key per node.
    recorded = {"nodes": [{k: v for k, v in n.items() if k != "host_key"} for n in fresh.outputs["nodes"]]}
    legacy = run_bootstrap("test", preview=False, recorded=recorded)
    for step in legacy.of_type(COMMAND):
        connection = plain(step.inputs["connection"])
        assert "hostKey" not in connection, step.name
    assert all(n["host_key"] is None for n in legacy.outputs["nodes"])
    # Rolling master 2 rebuilds it with its injected key: only its steps verify it.
    rolled = run_bootstrap("test", {"nodePools.master.rollout": [2]}, preview=False, recorded=recorded)
    master_2 = next(n for n in rolled.outputs["nodes"] if n["name"] == "k8s-test-master-2")
    assert master_2["host_key"] == host_key(SEED, "k8s-test-master-2").public
    verified = {
        plain(s.inputs["connection"])["host"]
        for s in rolled.of_type(COMMAND)
        if "hostKey" in plain(s.inputs["connection"])
    }
    assert verified == {master_2["private_ip"]}
    instance = rolled.named("platform-iaas-pool-master-2")
    assert "userData" not in instance.ignore_changes

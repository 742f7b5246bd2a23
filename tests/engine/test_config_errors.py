"""A bad stack config through the real CLI and the committed Pulumi.yaml (scripts/pulumi): one clear
message naming the key, no traceback, nothing planned, nothing written to the backend."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.engine


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ({"etcd.members": 4}, "k8s-platform:etcd.members: outside lab etcd runs 3 or 5 members"),
        ({"nodePools.worker.count": 5001}, "k8s-platform:nodePools.worker.count: 5001 nodes exceed"),
        ({"network.serviceCidr": "10.240.0.0/12"}, "k8s-platform:network.serviceCidr: 10.240.0.0/12 overlaps"),
        ({"keepalivedAuthPass": "hunter2"}, "k8s-platform:keepalivedAuthPass: holds a secret"),
        ({"pkiEpoch": "2026-02-30"}, "k8s-platform:pkiEpoch: "),
        # The add-on layer (issue 12): a setting's type, a chart values override's key path.
        ({"addons.metricsServer": {"replicas": "two"}}, "k8s-platform:addons.metricsServer.replicas: Input should be"),
        (
            {"addons.ingress": {"values": {"controller": {"kind": 3}}}},
            "k8s-platform:addons.ingress.values.controller.kind: Input should be 'DaemonSet' or 'Deployment'",
        ),
        # A required key the stack file lacks: one every stack has, the CLI refuses before the program
        # runs; one a pool stack lacks (declared with the empty default), the program names.
        ({"environment": None}, "missing configuration value 'k8s-platform:environment'"),
        ({"network": None}, "k8s-platform:network: required key is missing"),
    ],
)
def test_bad_config_fails_the_real_preview_naming_the_key(workspace, override, line):
    workspace.write_stack("prod", overrides=override)
    run = workspace.preview("prod")
    assert not run.ok
    text = run.stdout + run.stderr
    assert line in text, text[-3000:]
    assert "Traceback" not in text
    assert "hunter2" not in text
    # Nothing but the engine's own Stack was planned: no provider, no resource.
    assert run.type_counts() == {}
    exported = workspace.pulumi("prod", "stack", "export")
    assert exported.ok, exported.stderr
    assert not json.loads(exported.stdout)["deployment"].get("resources")


def test_a_key_written_twice_fails_the_real_preview_naming_it(workspace):
    """The CLI's own YAML reader names only a line; scripts/pulumi refuses first, naming the key."""
    from tests.test_config_reading import _with_block_twice

    path = workspace.write_stack("prod")
    path.write_text(_with_block_twice(path.read_text(), "    worker:"))
    run = workspace.preview("prod")
    assert not run.ok
    text = run.stdout + run.stderr
    assert "k8s-platform:nodePools.worker: key written 2 times" in text, text[-3000:]
    assert "Traceback" not in text
    assert run.steps() == [] and run.events == []

"""A bad stack config, through the real engine: one clear message naming the key, no traceback,
nothing registered. Needs only the CLI, so it runs on every machine the bootstrap can serve."""

from __future__ import annotations

import pytest

from tests.harness import stack_config

pytestmark = pytest.mark.engine


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ({"etcd.members": 4}, "k8s-platform:etcd.members: outside lab etcd runs 3 or 5 members"),
        ({"nodePools.worker.count": 5001}, "k8s-platform:nodePools.worker.count: 5001 nodes exceed"),
        ({"network.serviceCidr": "10.240.0.0/12"}, "k8s-platform:network.serviceCidr: 10.240.0.0/12 overlaps"),
        ({"keepalivedAuthPass": "hunter2"}, "k8s-platform:keepalivedAuthPass: holds a secret"),
    ],
)
def test_bad_config_fails_the_real_preview_naming_the_key(engine, override, line):
    preview = engine.preview(stack_config("prod", override))
    assert not preview.ok
    text = preview.stderr
    assert line in text, text[-3000:]
    assert "Traceback" not in text
    assert "hunter2" not in text
    # Nothing but the engine's own Stack was planned: no provider, no resource.
    assert preview.type_counts() == {}

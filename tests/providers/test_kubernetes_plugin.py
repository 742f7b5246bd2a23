"""The kubernetes provider plugin that scripts/bootstrap builds (scripts/toolchain/kubernetes.sh):
the engine loads it for the pinned SDK and previews Kubernetes objects offline, on a cluster whose
kubeconfig is not known yet, as for a new stack where kubeadm has not run (the add-on layer's case)."""

from __future__ import annotations

import json
import subprocess

import pulumi
import pytest

from tests.engine.cli import toolchain_dir
from tests.engine.project import missing_toolchain
from tests.harness import ROOT

pytestmark = pytest.mark.engine

VERSION = next(
    line.split("==")[1].strip()
    for line in (ROOT / "requirements.txt").read_text().splitlines()
    if line.startswith("pulumi-kubernetes==")
)


@pytest.fixture(scope="module", autouse=True)
def _plugins():
    reason = missing_toolchain("kubernetes", "command")
    if reason:
        pytest.skip(reason)


def test_schema_is_the_pinned_release():
    got = subprocess.run(
        [str(toolchain_dir() / "bin" / "pulumi"), "package", "get-schema", f"kubernetes@{VERSION}"],
        capture_output=True,
        text=True,
        check=True,
    )
    schema = json.loads(got.stdout)
    assert schema["name"] == "kubernetes" and schema["version"] == VERSION
    assert "kubernetes:core/v1:Namespace" in schema["resources"]
    assert "kubernetes:helm.sh/v3:Release" in schema["resources"]


def test_preview_of_objects_on_a_cluster_not_yet_bootstrapped(engine):
    import pulumi_command as command
    import pulumi_kubernetes as k8s

    def program() -> None:
        # As in the program: the kubeconfig is a remote step's stdout, unknown until it runs.
        read = command.remote.Command(
            "kubeconfig", connection=command.remote.ConnectionArgs(host="192.0.2.10"), create="cat admin.conf"
        )
        cluster = k8s.Provider("cluster", kubeconfig=pulumi.Output.secret(read.stdout))
        k8s.core.v1.Namespace("platform", metadata={"name": "platform"}, opts=pulumi.ResourceOptions(provider=cluster))

    preview = engine.preview({}, program=program)
    assert preview.ok, preview.stderr[-3000:]
    assert preview.diagnostics("error") == []
    types = preview.type_counts()
    assert types["kubernetes:core/v1:Namespace"] == 1
    assert types["command:remote:Command"] == 1

"""With a chart cache, the real ``helm template`` and ``helm lint`` on the values the program
renders for every release of every stack (the preview never renders a chart, docs/addons-network.md).

Needs ``helm`` on PATH and ``K8S_PLATFORM_CHART_CACHE``: a directory of the pinned charts as
``helm pull`` writes them (config/charts.py), each checked against its sha256 in
``K8S_PLATFORM_CHART_SHA256`` (``name=digest,...``) or the table. Without them the tests skip,
saying which is missing: no Helm repository is reachable where this project is developed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from config.charts import CHARTS, cached_chart
from config.versions import KUBERNETES
from tests.harness import STACKS, run_program

CACHE = os.environ.get("K8S_PLATFORM_CHART_CACHE")
DIGESTS = dict(item.split("=", 1) for item in os.environ.get("K8S_PLATFORM_CHART_SHA256", "").split(",") if item)


def _missing() -> str | None:
    if shutil.which("helm") is None:
        return "no helm on PATH (go install helm.sh/helm/v4/cmd/helm@v4.3.2)"
    if not CACHE:
        return "no chart cache: set K8S_PLATFORM_CHART_CACHE to a directory of the pinned charts (helm pull)"
    return None


@pytest.mark.parametrize("stack", STACKS)
def test_helm_renders_and_lints_every_release_with_the_programs_values(stack, tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    for release in run_program(stack).of_type("kubernetes:helm.sh/v3:Release"):
        pin = CHARTS[release.inputs["name"]]
        chart = cached_chart(pin, CACHE, DIGESTS)
        values = tmp_path / f"{pin.name}.json"
        values.write_text(json.dumps(release.inputs["values"]))
        for command in (
            ["template", pin.name, str(chart), "--namespace", pin.namespace, "--kube-version", KUBERNETES.version],
            ["lint", str(chart)],
        ):
            done = subprocess.run(["helm", *command, "--values", str(values)], capture_output=True, text=True)
            assert done.returncode == 0, f"{stack} {pin.name}: helm {command[0]}: {done.stderr[-2000:]}"

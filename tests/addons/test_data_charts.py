"""The data add-ons' rendered values through the real charts: ``helm lint`` and ``helm template``
of each pinned chart with the values prod's program sends (mock run).

Needs a chart cache (``K8S_PLATFORM_CHART_CACHE``: the ``helm pull``-ed ``<chart>-<version>.tgz``
files, config/charts.py) and ``helm`` on PATH (``go install helm.sh/helm/v4/cmd/helm@v4.3.2``);
no Helm repository is reachable where these tests usually run, so without both each case skips,
saying which is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from config.charts import CHARTS
from config.rules_addons_data import DATA_OVERRIDES
from tests.control_plane.kubeadm_mocks import run_bootstrap
from tests.harness import Secret

DATA_CHARTS = sorted({chart for *_, chart in DATA_OVERRIDES})


def _chart(name: str) -> tuple[str, Path]:
    helm = shutil.which("helm")
    cache = os.environ.get("K8S_PLATFORM_CHART_CACHE")
    if helm is None:
        pytest.skip("no helm on PATH: go install helm.sh/helm/v4/cmd/helm@v4.3.2 to run the chart checks")
    if not cache:
        pytest.skip("no chart cache: set K8S_PLATFORM_CHART_CACHE to a directory of helm-pulled charts")
    path = Path(cache) / CHARTS[name].filename
    if not path.is_file():
        pytest.skip(f"{path} is not in the chart cache (helm pull {name} --version {CHARTS[name].version})")
    return helm, path


@pytest.mark.parametrize("name", DATA_CHARTS)
def test_the_chart_renders_the_values_the_program_sends(name, tmp_path):
    helm, chart = _chart(name)
    run = run_bootstrap("prod", preview=False)
    (release,) = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == name]
    values = release.inputs["values"]
    values = values.value if isinstance(values, Secret) else values
    (tmp_path / "values.json").write_text(json.dumps(values))
    for command in (["lint", str(chart)], ["template", name, str(chart), "--namespace", CHARTS[name].namespace]):
        done = subprocess.run(
            [helm, *command, "--values", str(tmp_path / "values.json")], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]

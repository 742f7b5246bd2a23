"""Measure the real `pulumi preview`: wall time, peak memory, resources per second, and the ratio
against a bare program registering the same number of resources with the same SDK (the floor).

    venv/bin/python -m bench.preview [--sizes 50,500,5000] [--stacks lab,test,prod] [--out FILE]

Runs the committed stacks and synthetic prod-shaped configs whose worker pool has N machines
(the 5000 case is 4997 workers + 3 masters: the blueprint's limit counts every node). Results go
to bench/results/preview.json (git-ignored) and a Markdown table to stdout for docs/performance.md.
Numbers, not assertions: nothing here fails on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.engine.cli import Engine  # noqa: E402
from tests.harness import stack_config  # noqa: E402

BARE_PROGRAM = """
import pulumi_command as command
for i in range({count}):
    command.local.Command(f"c{{i}}", create="true")
"""


@dataclass
class Measurement:
    case: str
    resources: int
    wall_s: float
    peak_rss_mib: float
    resources_per_s: float
    ok: bool


class PeakRss:
    """Samples the summed RSS of a process tree (the CLI, language host, providers, policy pack)."""

    def __init__(self, interval: float = 0.1):
        self.interval, self.peak, self._stop = interval, 0, threading.Event()
        self._root = psutil.Process()

    def _sample(self) -> None:
        while not self._stop.is_set():
            total = 0
            for child in self._root.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def synthetic(workers: int) -> dict:
    """The prod stack with ``workers`` nodes in its worker pool, on a network big enough for them."""
    others = {"ssd": None, "gpu": None, "ingress": None, "storage": None}
    config = stack_config(
        "prod",
        {
            "network.nodeCidr": "10.16.0.0/16",
            "network.allocationPool": {"start": "10.16.1.0", "end": "10.16.255.250"},
            "network.apiVip": "10.16.0.10",
            "network.podCidr": "100.64.0.0/10",
            "network.serviceCidr": "172.16.0.0/16",
            "workloads": [{"name": "web", "apps": 10, "replicas": 3, "cpu": "500m", "memory": "1Gi"}],
            **{f"nodePools.{name}": value for name, value in others.items()},
        },
    )
    masters = config["k8s-platform:nodePools"]["master"]["count"]
    config["k8s-platform:nodePools"]["worker"]["count"] = min(workers, 5000 - masters)
    return config


def measure(case: str, run) -> Measurement:
    with PeakRss() as rss:
        start = time.perf_counter()
        preview = run()
        wall = time.perf_counter() - start
    resources = len(preview.steps())
    ok = preview.returncode == 0
    if not ok:
        print(f"  {case}: preview failed:\n{preview.stdout[-2000:]}{preview.stderr[-2000:]}", file=sys.stderr)
    return Measurement(case, resources, round(wall, 2), round(rss.peak / 2**20, 1), round(resources / wall, 1), ok)


def bare(engine_dir: Path, count: int) -> Measurement:
    """The floor: a program that only registers ``count`` command resources."""
    project = engine_dir / f"bare-{count}"
    project.mkdir()
    (project / "__main__.py").write_text(BARE_PROGRAM.format(count=count))
    document = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    document.pop("config")
    document["name"] = "bare"
    document["runtime"]["options"]["virtualenv"] = str(ROOT / "venv")
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(document))
    engine = Engine(engine_dir / f"bare-engine-{count}")
    engine.project = project
    return measure(f"bare program, {count} resources", lambda: engine.preview({}, policy_pack=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="lab,test,prod")
    parser.add_argument("--sizes", default="50,500,5000")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "preview.json"))
    args = parser.parse_args()
    rows: list[tuple[Measurement, Measurement]] = []
    with tempfile.TemporaryDirectory(prefix="bench-preview-") as tmp:
        engine = Engine(Path(tmp) / "engine")
        cases = [(s, stack_config(s)) for s in filter(None, args.stacks.split(","))]
        cases += [(f"prod-shaped, {n} workers", synthetic(n)) for n in map(int, filter(None, args.sizes.split(",")))]
        for case, config in cases:
            print(f"==> {case}", file=sys.stderr)
            real = measure(case, lambda config=config: engine.preview(config))
            floor = bare(Path(tmp), max(real.resources - 2, 1))
            rows.append((real, floor))
            print(f"    {real}\n    {floor}", file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{"program": asdict(r), "floor": asdict(f)} for r, f in rows], indent=2))
    print("| case | resources | wall s | peak RSS MiB | resources/s | floor wall s | ratio to floor |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for real, floor in rows:
        ratio = real.wall_s / floor.wall_s if floor.wall_s else float("nan")
        print(
            f"| {real.case} | {real.resources} | {real.wall_s} | {real.peak_rss_mib} | {real.resources_per_s} "
            f"| {floor.wall_s} | {ratio:.2f} |"
        )
    return 0 if all(r.ok and f.ok for r, f in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

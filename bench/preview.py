"""What a preview costs: the program's side and the engine's floor, as numbers.

    venv/bin/python -m bench.preview [--sizes 50,500,5000] [--stacks lab,test,prod] [--out FILE]

The real `pulumi preview` of this program needs the openstack/command/tls/random provider plugins,
which this workplace cannot build (docs/toolchain.md), so it measures the two halves it can:

- program: ``__main__.py`` under Pulumi mocks (spec parsing, rules, every component, every
  registration) for each committed stack and for prod-shaped configs of N workers (the 5000 case is
  4997 workers + 3 masters: the blueprint's limit counts every node);
- floor: the real CLI and engine previewing an inline program that registers the same number of
  resources (component resources, which need no provider plugin).

Each case runs in its own process; peak memory is the summed RSS of that process tree (program,
CLI, engine). Results go to bench/results/preview.json (git-ignored) and a Markdown table to
stdout for docs/performance.md. Numbers, not assertions: nothing here fails on time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Measurement:
    case: str
    kind: str
    resources: int
    wall_s: float
    peak_rss_mib: float
    resources_per_s: float


def synthetic(workers: int) -> dict:
    """Overrides turning the prod stack into one with ``workers`` worker nodes on a big enough network."""
    from tests.harness import stack_config

    masters = stack_config("prod")["k8s-platform:nodePools"]["master"]["count"]
    return {
        "network.nodeCidr": "10.16.0.0/16",
        "network.allocationPool": {"start": "10.16.1.0", "end": "10.16.255.250"},
        "network.apiVip": "10.16.0.10",
        "network.podCidr": "100.64.0.0/10",
        "network.serviceCidr": "172.16.0.0/16",
        "network.ingressFloatingIp": False,
        "network.publicIngressCidrs": [],
        "workloads": [{"name": "web", "apps": 10, "replicas": 3, "cpu": "500m", "memory": "1Gi"}],
        "nodePools.ssd": None,
        "nodePools.gpu": None,
        "nodePools.ingress": None,
        "nodePools.storage": None,
        "nodePools.worker.count": min(workers, 5000 - masters),
    }


def child(kind: str, stack: str, workers: int, count: int) -> dict:
    """One measurement, in this (child) process; prints nothing, returns the numbers."""
    sys.path.insert(0, str(ROOT))
    if kind == "program":
        from tests.harness import run_program

        start = time.perf_counter()
        run = run_program(stack, synthetic(workers) if workers else None)
        return {"wall_s": time.perf_counter() - start, "resources": len(run.resources)}
    import pulumi

    from tests.engine.cli import Engine

    def bare() -> None:
        for i in range(count):
            pulumi.ComponentResource("bench:index:Floor", f"r{i}", None, None)

    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        engine = Engine(Path(tmp))
        start = time.perf_counter()
        preview = engine.preview({}, program=bare)
        wall = time.perf_counter() - start
    if not preview.ok:
        raise SystemExit(preview.stderr[-2000:])
    return {"wall_s": wall, "resources": len(preview.steps()) - 1}


def measure(case: str, kind: str, stack: str, workers: int = 0, count: int = 0) -> Measurement:
    args = [sys.executable, "-m", "bench.preview", "--child", kind, stack, str(workers), str(count)]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    peak, root = 0, psutil.Process(process.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            total = 0
            with contextlib.suppress(psutil.Error):
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            peak = max(peak, total)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{case} ({kind}) failed")
    result = json.loads(out)
    wall = result["wall_s"]
    return Measurement(
        case, kind, result["resources"], round(wall, 2), round(peak / 2**20, 1), round(result["resources"] / wall, 1)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default="lab,test,prod")
    parser.add_argument("--sizes", default="50,500,5000")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "preview.json"))
    parser.add_argument(
        "--floor-max",
        type=int,
        default=5000,
        help="measure the engine floor only up to this many resources (it slows past a few thousand)",
    )
    parser.add_argument("--child", nargs=4, metavar=("KIND", "STACK", "WORKERS", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, stack, workers, count = args.child
        print(json.dumps(child(kind, stack, int(workers), int(count))))
        return 0
    cases = [(s, s, 0) for s in filter(None, args.stacks.split(","))]
    cases += [(f"prod-shaped, {n} workers", "prod", n) for n in map(int, filter(None, args.sizes.split(",")))]
    rows = []
    for case, stack, workers in cases:
        print(f"==> {case}", file=sys.stderr)
        program = measure(case, "program", stack, workers)
        floor = measure(case, "floor", stack, count=program.resources) if program.resources <= args.floor_max else None
        rows.append((program, floor))
        print(f"    {program}\n    {floor}", file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{"program": asdict(p), "floor": f and asdict(f)} for p, f in rows], indent=2))
    print(
        "| case | resources | program s (mocks) | program peak MiB | program res/s "
        "| engine floor s | floor peak MiB | floor res/s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for p, f in rows:
        floor = f"| {f.wall_s} | {f.peak_rss_mib} | {f.resources_per_s} |" if f else "| not run | | |"
        print(f"| {p.case} | {p.resources} | {p.wall_s} | {p.peak_rss_mib} | {p.resources_per_s} {floor}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

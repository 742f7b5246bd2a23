"""What a preview costs: the real preview, the program's side and the engine's floor, as numbers.

    venv/bin/python -m bench.preview [--sizes 50,500,5000] [--stacks lab,test,prod] [--out FILE]
                                     [--floor-max N] [--engine-max N]

For each committed stack and each prod-shaped config of N workers (the 5000 case is 4992 workers and
prod's 3 masters, 2 ingress and 3 storage nodes: the blueprint's limit counts every node) it measures:

- engine: the real preview as a user runs it, ``scripts/pulumi <stack> preview`` (real CLI, the
  project's command/openstack plugins, the policy pack through its launcher, checkpoints skipped as
  the entry does for previews), on a workspace of its own;
- program: ``__main__.py`` under Pulumi mocks (spec parsing, rules, every component and registration);
- floor: the real CLI and engine previewing an inline program that registers the same number of
  resources (component resources, no plugin), with the engine's default per-step checkpoints and
  with ``PULUMI_SKIP_CHECKPOINTS=true``: the two show where the engine's superlinearity comes from.

Each case runs in its own process; peak memory is the summed RSS of that process tree (program,
CLI, plugins, policy pack). Results go to bench/results/preview.json (git-ignored) and a Markdown
table to stdout for docs/performance.md. Numbers, not assertions: nothing here fails on time.
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
    """Overrides turning the prod stack into one with ``workers`` worker nodes on a big enough network:
    prod's masters, ingress and storage pools (the add-ons run there) and one worker pool, capped so
    that the cluster has at most 5000 nodes."""
    from tests.harness import stack_config

    pools = stack_config("prod")["k8s-platform:nodePools"]
    others = sum(p["count"] for name, p in pools.items() if name in ("master", "ingress", "storage"))
    return {
        "network.nodeCidr": "10.16.0.0/16",
        "network.allocationPool": {"start": "10.16.1.0", "end": "10.16.255.250"},
        "network.apiVip": "10.16.0.10",
        "network.podCidr": "100.64.0.0/10",
        "network.serviceCidr": "172.16.0.0/16",
        "workloads": [{"name": "web", "apps": 10, "replicas": 3, "cpu": "500m", "memory": "1Gi"}],
        "nodePools.ssd": None,
        "nodePools.gpu": None,
        "nodePools.worker.count": min(workers, 5000 - others),
    }


def child(kind: str, stack: str, workers: int, count: int) -> dict:
    """One measurement, in this (child) process; prints nothing, returns the numbers."""
    sys.path.insert(0, str(ROOT))
    if kind == "program":
        from tests.harness import run_program

        start = time.perf_counter()
        run = run_program(stack, synthetic(workers) if workers else None)
        return {"wall_s": time.perf_counter() - start, "resources": len(run.resources)}
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        if kind == "engine":
            return real_preview(Path(tmp), stack, workers)
        return floor(Path(tmp), count, skip_checkpoints=kind == "floor-skip")


def real_preview(tmp: Path, stack: str, workers: int) -> dict:
    from tests.engine.project import Workspace

    workspace = Workspace(tmp)
    workspace.write_stack(stack, overrides=synthetic(workers) if workers else None)
    return timed_preview(workspace, stack)


def timed_preview(workspace, stack: str) -> dict:
    """The stack's seed (setup, not timed), then its real preview, timed; exits on a failed preview."""
    workspace.pulumi(stack, "init-secrets")
    start = time.perf_counter()
    run = workspace.preview(stack)
    wall = time.perf_counter() - start
    if not run.ok:
        raise SystemExit(run.stderr[-2000:] + run.stdout[-2000:])
    return {"wall_s": wall, "resources": len(run.program_steps())}


def floor(tmp: Path, count: int, skip_checkpoints: bool) -> dict:
    import pulumi

    from tests.engine.cli import Engine

    def bare() -> None:
        for i in range(count):
            pulumi.ComponentResource("bench:index:Floor", f"r{i}", None, None)

    engine = Engine(tmp)
    if skip_checkpoints:
        engine.env["PULUMI_SKIP_CHECKPOINTS"] = "true"
    start = time.perf_counter()
    preview = engine.preview({}, program=bare)
    wall = time.perf_counter() - start
    if not preview.ok:
        raise SystemExit(preview.stderr[-2000:])
    return {"wall_s": wall, "resources": len(preview.steps()) - 1}


def measure(
    case: str, kind: str, stack: str, workers: int = 0, count: int = 0, module: str = "bench.preview"
) -> Measurement:
    """``kind`` measured in a child process (``python -m <module> --child ...``): wall time, summed
    peak RSS of its process tree, resources/s."""
    args = [sys.executable, "-m", module, "--child", kind, stack, str(workers), str(count)]
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
        help="measure the floor with checkpoints only up to this many resources (quadratic past a few thousand)",
    )
    parser.add_argument(
        "--engine-max", type=int, default=40000, help="run the real preview only up to this many resources"
    )
    args = parse_with_child(parser, child)
    if args is None:
        return 0
    cases = [(s, s, 0) for s in filter(None, args.stacks.split(","))]
    cases += [(f"prod-shaped, {n} workers", "prod", n) for n in map(int, filter(None, args.sizes.split(",")))]
    rows = []
    for case, stack, workers in cases:
        print(f"==> {case}", file=sys.stderr)
        row = {"program": measure(case, "program", stack, workers)}
        n = row["program"].resources
        if n <= args.engine_max:
            row["engine"] = measure(case, "engine", stack, workers)
        for kind in ("floor", "floor-skip"):
            if n <= (args.floor_max if kind == "floor" else args.engine_max):
                row[kind] = measure(case, kind, stack, count=n)
        rows.append(row)
        for m in row.values():
            print(f"    {m}", file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{k: asdict(m) for k, m in row.items()} for row in rows], indent=2))
    print(table(rows))
    return 0


def parse_with_child(parser: argparse.ArgumentParser, run_child) -> argparse.Namespace | None:
    """The bench's arguments; None after running ``--child KIND STACK WORKERS COUNT`` (what
    ``measure`` starts) and printing its JSON result."""
    parser.add_argument("--child", nargs=4, metavar=("KIND", "STACK", "WORKERS", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.child:
        return args
    kind, stack, workers, count = args.child
    print(json.dumps(run_child(kind, stack, int(workers), int(count))))
    return None


def table(rows: list[dict[str, Measurement]]) -> str:
    """The Markdown table of docs/performance.md: seconds, peak MiB and resources/s per kind, and the
    real preview's ratios to the floor (checkpoints skipped, as the entry runs it) and to the program."""
    kinds = (
        ("engine", "real preview"),
        ("program", "program (mocks)"),
        ("floor", "floor"),
        ("floor-skip", "floor, no ckpt"),
    )
    head = "| case | resources | " + " | ".join(f"{label} s / MiB / res/s" for _, label in kinds)
    lines = [head + " | preview ÷ floor | preview ÷ program |", "|---|---:|" + "---:|" * (len(kinds) + 2)]
    for row in rows:
        cells = [
            f"{m.wall_s} / {m.peak_rss_mib} / {m.resources_per_s}" if (m := row.get(kind)) else "not run"
            for kind, _ in kinds
        ]
        engine, base, program = row.get("engine"), row.get("floor-skip"), row["program"]
        ratios = [
            f"{engine.wall_s / base.wall_s:.2f}" if engine and base else "",
            f"{engine.wall_s / program.wall_s:.2f}" if engine else "",
        ]
        lines.append(f"| {program.case} | {program.resources} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

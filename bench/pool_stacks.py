"""A 5000-node platform as one platform stack plus 10 pool stacks: what each real preview costs.

    venv/bin/python -m bench.pool_stacks [--stacks 10] [--workers 496] [--out FILE]

The platform stack is prod-shaped on a network big enough for 5000 nodes (bench.preview's
``synthetic``: prod's 3 masters, 2 ingress and 3 storage nodes, its 32 workers) with a budget for
each pool stack; it is deployed with
the fixture of tests/engine/deployed.py (a fictive ``up``: no cloud here), since a pool stack reads
its platform's recorded outputs. Then each pool stack (one worker pool of ``--workers``) is
previewed as a user runs it, ``scripts/pulumi <stack> preview`` (real CLI, plugins, policy pack),
one after the other, each in its own process (bench.preview's ``measure``: wall time, peak RSS of
the process tree, resources/s). The default 32 + 10 x 496 workers and the 8 other nodes make 5000
nodes, the size of bench.preview's one-stack 5000-node case (4992 workers).

Reported: each pool stack's numbers, their sum (one runner, one after the other) and the slowest
(the wall time of a CI matrix that previews them in parallel), against the one-stack preview of the
same size from bench/results/preview.json when it is there. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench.preview import ROOT, Measurement, measure, parse_with_child, synthetic, timed_preview

PLATFORM = "prod"
PLATFORM_WORKERS = 32
"""prod's own workers: what its add-ons' capacity plan needs (the policy pack gates on it)."""
WORKSPACE = "K8S_PLATFORM_BENCH_WORKSPACE"


def pool_stack(index: int) -> str:
    return f"prod-pool-{index:02d}"


def pool_name(index: int) -> str:
    return f"batch{index:02d}"


def pool_config(index: int, workers: int) -> dict:
    from tests.harness import NAMESPACE, stack_config

    worker = stack_config(PLATFORM)[f"{NAMESPACE}:nodePools"]["worker"]
    return {
        f"{NAMESPACE}:environment": "prod",
        f"{NAMESPACE}:platformStack": PLATFORM,
        f"{NAMESPACE}:nodePools": {pool_name(index): dict(worker, count=workers)},
    }


def child(kind: str, stack: str, workers: int, count: int) -> dict:
    """``deploy``: the platform with ``count`` pool stacks' budgets, deployed (untimed setup);
    ``pool``: the real preview of pool stack ``stack`` of ``workers`` workers."""
    sys.path.insert(0, str(ROOT))
    from tests.engine.deployed import deployed_workspace
    from tests.engine.project import Workspace

    workspace = Workspace(Path(os.environ[WORKSPACE]))
    if kind == "deploy":
        budgets = {pool_stack(i): {"nodes": workers, "pools": [pool_name(i)]} for i in range(1, count + 1)}
        start = time.perf_counter()
        deployed_workspace(workspace, PLATFORM, {**synthetic(PLATFORM_WORKERS), "poolStacks": budgets})
        return {"wall_s": time.perf_counter() - start, "resources": 0}
    workspace.write_stack(stack, config=pool_config(int(stack.rsplit("-", 1)[1]), workers))
    return timed_preview(workspace, stack)


def one_stack(nodes: int) -> dict | None:
    """bench.preview's real preview of one prod-shaped stack of ``nodes`` nodes, if recorded."""
    path = ROOT / "bench" / "results" / "preview.json"
    if not path.exists():
        return None
    for row in json.loads(path.read_text()):
        engine = row.get("engine")
        if engine and engine["case"] == f"prod-shaped, {nodes} workers":
            return engine
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=int, default=10)
    parser.add_argument("--workers", type=int, default=496)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "pool-stacks.json"))
    args = parse_with_child(parser, child)
    if args is None:
        return 0
    module = "bench.pool_stacks"
    with tempfile.TemporaryDirectory(prefix="bench-pool-stacks-") as tmp:
        os.environ[WORKSPACE] = tmp
        print(f"==> deploying {PLATFORM} with {args.stacks} budgets of {args.workers}", file=sys.stderr)
        deploy = measure("platform deploy (fixture)", "deploy", PLATFORM, args.workers, args.stacks, module)
        print(f"    {deploy}", file=sys.stderr)
        rows: list[Measurement] = []
        for i in range(1, args.stacks + 1):
            rows.append(measure(pool_stack(i), "pool", pool_stack(i), args.workers, 0, module))
            print(f"    {rows[-1]}", file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"deploy": asdict(deploy), "pool_stacks": [asdict(m) for m in rows]}, indent=2))
    # bench.preview's 5000-node case has 4992 workers: compare when the layouts hold the same.
    same_size = args.stacks * args.workers + PLATFORM_WORKERS == synthetic(5000)["nodePools.worker.count"]
    print(table(rows, one_stack(5000) if same_size else None))
    return 0


def table(rows: list[Measurement], single: dict | None) -> str:
    total = sum(m.wall_s for m in rows)
    slowest = max(rows, key=lambda m: m.wall_s)
    resources = sum(m.resources for m in rows)
    lines = [
        "| pool stack | resources | real preview s | peak MiB | res/s |",
        "|---|---:|---:|---:|---:|",
        *(f"| {m.case} | {m.resources} | {m.wall_s} | {m.peak_rss_mib} | {m.resources_per_s} |" for m in rows),
        f"| **sum** (one after the other) | {resources} | {total:.2f} | | {resources / total:.1f} |",
        f"| **slowest** (in parallel) | {slowest.resources} | {slowest.wall_s} | {slowest.peak_rss_mib} | |",
    ]
    if single:
        lines.append(
            f"\nOne stack of the same size: {single['wall_s']} s, {single['peak_rss_mib']} MiB; sum ÷ one stack "
            f"{total / single['wall_s']:.2f}, slowest ÷ one stack {slowest.wall_s / single['wall_s']:.2f}."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

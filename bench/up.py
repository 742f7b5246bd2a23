"""What a default ``pulumi up`` costs at scale, in one stack and split into pool-sized stacks.

    venv/bin/python -m bench.up [--counts 1500,6000,15000] [--per-stack 1500] [--single-max 6000]

The floor of an ``up``: the real CLI and engine on a local file backend creating N plain component
resources (no provider plugin: what is measured is the engine's per-step checkpoint, which a
default ``up`` writes after every step, serialising the whole snapshot each time,
../shared/notes/engine-performance.md), with the default checkpoints, as ``scripts/pulumi`` runs
an ``up``. For each N: one stack of N resources (up to ``--single-max``; beyond it the quadratic
cost takes hours, extrapolated in docs/performance.md instead), and the same N as ceil(N /
per-stack) stacks of at most ``--per-stack`` resources each, one ``up`` after the other (the CI
matrix runs them in parallel: the wall time is then the slowest stack's). Each ``up`` runs in its own
process; peak memory is the summed RSS of its process tree. Results go to bench/results/up.json
(git-ignored) and a Markdown table to stdout. Numbers, not assertions.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench.preview import ROOT, measure


def child(count: int) -> dict:
    """One default ``up`` of ``count`` plain component resources in a fresh stack (this process)."""
    sys.path.insert(0, str(ROOT))
    import pulumi

    from tests.engine.cli import Engine

    def bare() -> None:
        for i in range(count):
            pulumi.ComponentResource("bench:index:Floor", f"r{i}", None, None)

    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        stack = Engine(Path(tmp)).stack({}, program=bare)
        start = time.perf_counter()
        result = stack.up(color="never")
        wall = time.perf_counter() - start
        created = (result.summary.resource_changes or {}).get("create", 0)
        if created != count + 1:  # and the stack itself
            raise SystemExit(f"up created {created}, expected {count + 1}")
        return {"wall_s": wall, "resources": count}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1500,6000,15000")
    parser.add_argument("--per-stack", type=int, default=1500)
    parser.add_argument("--single-max", type=int, default=6000)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "up.json"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[3]))))
        return 0
    rows = []
    for n in map(int, filter(None, args.counts.split(","))):
        row: dict = {"resources": n}
        if n <= args.single_max:
            row["single"] = asdict(measure(f"{n}, one stack", "up", "-", count=n, module="bench.up"))
        stacks = math.ceil(n / args.per_stack)
        if stacks > 1:
            sizes = [n // stacks + (1 if i < n % stacks else 0) for i in range(stacks)]
            parts = [
                measure(f"{n}, stack {i + 1}/{stacks}", "up", "-", count=c, module="bench.up")
                for i, c in enumerate(sizes)
            ]
            row["split"] = {
                "stacks": stacks,
                "sum_s": round(sum(p.wall_s for p in parts), 2),
                "max_s": max(p.wall_s for p in parts),
                "peak_rss_mib": max(p.peak_rss_mib for p in parts),
                "parts": [asdict(p) for p in parts],
            }
        print(f"    {row}", file=sys.stderr)
        rows.append(row)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    lines = [
        "| resources | one stack: s / MiB / res/s | split: stacks × size | split: sum s (one after the other)"
        " | split: slowest stack s / MiB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        single = row.get("single")
        one = f"{single['wall_s']} / {single['peak_rss_mib']} / {single['resources_per_s']}" if single else "not run"
        split = row.get("split")
        if split:
            size = split["parts"][0]["resources"]
            cells = [str(row["resources"]), one, f"{split['stacks']} × {size}", str(split["sum_s"])]
            lines.append("| " + " | ".join([*cells, f"{split['max_s']} / {split['peak_rss_mib']}"]) + " |")
        else:
            lines.append(f"| {row['resources']} | {one} | 1 (the same) | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())

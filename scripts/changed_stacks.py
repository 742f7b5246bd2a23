"""Which stacks a change touches, for the pull-request preview workflow's matrix.

    git diff --name-only BASE HEAD | python3 scripts/changed_stacks.py       -> ["lab","test"]
    python3 scripts/changed_stacks.py --pool-stacks-of prod                   -> ["prod-pool-a"]

Reads changed paths (one a line) on stdin and prints the sorted JSON list of the stacks they
affect, for ``fromJSON`` in ``.github/workflows/preview.yml``'s matrix:

- ``Pulumi.<stack>.yaml`` or ``policies/config/<stack>.json``: that stack;
- the program, the policy pack, the entry and the toolchain (``PROGRAM`` below), or the workflow
  itself: every stack;
- anything else (docs, tests, benchmarks): none; those change no plan.

The stacks are the committed ``Pulumi.<stack>.yaml`` files of the checkout, so a new stack file is
previewed without editing the workflow. ``--pool-stacks-of <platform>`` prints the committed pool
stacks of a platform stack (``k8s-platform:platformStack: <platform>``, docs/scaling.md), for
``.github/workflows/deploy.yml``'s matrix that applies them in parallel after their platform.
Standard library only: the workflow's ``changes`` job runs it with the runner's python3 before any
virtualenv exists.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = (
    "Pulumi.yaml",
    "__main__.py",
    "components/",
    "config/",
    "planning/",
    "policies/",
    "providers/",
    "scripts/",
    "requirements.txt",
    "requirements-dev.txt",
    ".github/workflows/preview.yml",
)
"""Paths (files, or folders ending in ``/``) whose change can change every stack's plan."""
STACK_FILE = re.compile(r"Pulumi\.(?P<stack>[^/]+)\.yaml")
POLICY_CONFIG = re.compile(r"policies/config/(?P<stack>[^/]+)\.json")
PLATFORM_STACK = re.compile(r"^\s*k8s-platform:platformStack:\s*[\"']?(?P<platform>[A-Za-z0-9_.-]+)", re.M)


def committed_stacks(root: Path = ROOT) -> list[str]:
    return sorted(m["stack"] for p in root.glob("Pulumi.*.yaml") if (m := STACK_FILE.fullmatch(p.name)))


def pool_stacks_of(platform: str, root: Path = ROOT) -> list[str]:
    """The committed stacks whose file names ``platform`` as their ``platformStack``."""
    found = []
    for stack in committed_stacks(root):
        match = PLATFORM_STACK.search((root / f"Pulumi.{stack}.yaml").read_text())
        if match and match["platform"] == platform:
            found.append(stack)
    return found


def changed_stacks(paths: list[str], stacks: list[str]) -> list[str]:
    """The stacks of ``stacks`` that a change of ``paths`` can affect (see the module docstring)."""
    hit: set[str] = set()
    for path in (p.strip() for p in paths):
        own = STACK_FILE.fullmatch(path) or POLICY_CONFIG.fullmatch(path)
        if own:
            # A stack file deleted by the change has no preview; it is not in ``stacks``.
            hit.update({own["stack"]} & set(stacks))
        elif any(path == p or (p.endswith("/") and path.startswith(p)) for p in PROGRAM):
            hit.update(stacks)
    return sorted(hit)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pool-stacks-of"] and len(sys.argv) == 3:
        print(json.dumps(pool_stacks_of(sys.argv[2]), separators=(",", ":")))
    else:
        print(json.dumps(changed_stacks(sys.stdin.read().splitlines(), committed_stacks()), separators=(",", ":")))

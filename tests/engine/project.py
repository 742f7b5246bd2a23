"""The project's own entry, ``scripts/pulumi``, as the engine tests and the benchmark run it.

Each ``Workspace`` is a throwaway copy of what a user has: stack files (the committed ones, or edited
copies in ``K8S_PLATFORM_STACK_DIR``), a state directory with its own local backend and passphrase,
and the real CLI, plugins and policy pack of scripts/bootstrap. Every run records the engine's event
log (``--event-log``), which holds each step with its inputs and outputs, every diagnostic and the
policy pack's results.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.engine.cli import toolchain_dir
from tests.harness import ROOT, stack_config

ENGINE_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")
PLUGINS = ("command", "openstack")
"""Provider plugins the program's resources need (the kubernetes one is not used yet)."""


@dataclass
class Run:
    """One ``scripts/pulumi`` invocation."""

    args: list[str]
    code: int
    stdout: str
    stderr: str
    events: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.code == 0

    def steps(self) -> list[dict]:
        """Every step's metadata (op, urn, type, old/new state), in the engine's order."""
        return [e["resourcePreEvent"]["metadata"] for e in self.events if "resourcePreEvent" in e]

    def program_steps(self) -> list[dict]:
        # The engine's default providers (URN name ``default...``) are not the program's; an explicit
        # provider the program registers (the add-on layer's kubernetes provider) is.
        return [
            s
            for s in self.steps()
            if not s["type"].startswith(ENGINE_TYPES)
            or (s["type"].startswith("pulumi:providers:") and not s["urn"].rsplit("::", 1)[-1].startswith("default"))
        ]

    def type_counts(self, *ops: str) -> Counter:
        """Resource type -> planned count (only steps with one of ``ops``, if given)."""
        return Counter(s["type"] for s in self.program_steps() if not ops or s["op"] in ops)

    def ops(self) -> Counter:
        return Counter(s["op"] for s in self.program_steps())

    def changed(self) -> dict[str, list[str]]:
        """op -> URNs of the steps that change something (everything but ``same``)."""
        out: dict[str, list[str]] = {}
        for s in self.program_steps():
            if s["op"] != "same":
                out.setdefault(s["op"], []).append(s["urn"])
        return out

    def diagnostics(self, severity: str = "error") -> list[str]:
        return [
            e["diagnosticEvent"]["message"]
            for e in self.events
            if "diagnosticEvent" in e and e["diagnosticEvent"].get("severity") == severity
        ]

    def policy_violations(self) -> list[dict]:
        return [e["policyEvent"] for e in self.events if "policyEvent" in e]

    def policies_run(self) -> dict[str, set[str]]:
        """Policy pack name -> the policies that reported a result (passed or failed)."""
        out: dict[str, set[str]] = {}
        for e in self.events:
            summary = e.get("policyAnalyzeSummaryEvent") or e.get("policyAnalyzeStackSummaryEvent")
            if summary:
                names = out.setdefault(summary["policyPackName"], set())
                names.update(summary.get("passed") or [], summary.get("failed") or [])
        return out


PASSPHRASE = "engine-test-passphrase"
"""The throwaway passphrase of the test stacks (never one of a committed file)."""


class Workspace:
    """Stack files, state and secrets of one test, driven through ``scripts/pulumi``.

    ``in_place=False`` (default): the stacks are copies ``write_stack`` makes (scripts/stacks.py's
    *copy* place, ``K8S_PLATFORM_STACK_DIR``). ``in_place=True``: the stack files of ``checkout`` as
    they are: a team stack with a passphrase, a newcomer's trial preview without one. The state
    (default backend, trial files) is always the workspace's own; ``backend`` shares one instead.
    """

    def __init__(
        self,
        root: Path,
        *,
        checkout: Path = ROOT,
        in_place: bool = False,
        passphrase: str | None = PASSPHRASE,
        backend: str | None = None,
    ):
        self.root, self.checkout = root, checkout
        self.stack_dir, self.state = (checkout if in_place else root / "stacks"), root / "state"
        root.mkdir(parents=True, exist_ok=True)
        self.stack_dir.mkdir(parents=True, exist_ok=True)
        # Nothing of the caller's backend, passphrase or cloud leaks in; plugins stay where they are.
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "OS_")) or k == "PULUMI_HOME"}
        self.env = {**keep, "K8S_PLATFORM_STATE": str(self.state)}
        if not in_place:
            self.env["K8S_PLATFORM_STACK_DIR"] = str(self.stack_dir)
        if passphrase is not None:
            self.env["PULUMI_CONFIG_PASSPHRASE"] = passphrase
        if backend is not None:
            self.env["PULUMI_BACKEND_URL"] = backend

    def write_stack(self, stack: str, config: dict[str, Any] | None = None, overrides: dict | None = None) -> Path:
        """``Pulumi.<stack>.yaml`` in the workspace: the committed file's config, or ``config``, with
        ``overrides`` (``{"nodePools.worker.count": 5}``, see tests.harness.stack_config)."""
        assert self.stack_dir != self.checkout, "an in-place workspace does not rewrite the checkout's stack files"
        values = config if config is not None else stack_config(stack, overrides)
        path = self.stack_dir / f"Pulumi.{stack}.yaml"
        path.write_text(yaml.safe_dump({"config": values}, sort_keys=False))
        return path

    def pulumi(self, stack: str, *args: str, stdin: str | None = None, timeout: float = 1800) -> Run:
        """``scripts/pulumi <stack> <args>``; preview/up/destroy/refresh record the event log."""
        args = list(args)
        events_file = None
        if args and args[0] in ("preview", "up", "destroy", "refresh"):
            events_file = self.root / f"events-{len(list(self.root.glob('events-*')))}.jsonl"
            args += ["--event-log", str(events_file)]
        result = subprocess.run(
            [str(self.checkout / "scripts" / "pulumi"), stack, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        events = []
        if events_file is not None and events_file.exists():
            events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
        return Run(args, result.returncode, result.stdout, result.stderr, events)

    def preview(self, stack: str, *flags: str) -> Run:
        return self.pulumi(stack, "preview", "--non-interactive", *flags)


def missing_toolchain(*plugins: str) -> str | None:
    """Why the engine tests cannot run here, or None. scripts/test passes the bootstrap steps that
    failed (K8S_PLATFORM_TOOLCHAIN_FAILED); a plain pytest run looks at what is installed."""
    needed = ["pulumi", *(f"pulumi-resource-{p}" for p in plugins)]
    failed = os.environ.get("K8S_PLATFORM_TOOLCHAIN_FAILED")
    if failed is not None:
        broken = [step for step in failed.split() if step in needed]
        return f"scripts/bootstrap failed to provide {', '.join(broken)}" if broken else None
    if not (toolchain_dir() / "bin" / "pulumi").exists():
        return f"no pulumi CLI in {toolchain_dir() / 'bin'}: run scripts/bootstrap"
    home = Path(os.environ.get("PULUMI_HOME", Path.home() / ".pulumi"))
    for plugin in plugins:
        if not list((home / "plugins").glob(f"resource-{plugin}-v*/pulumi-resource-{plugin}")):
            return f"no {plugin} provider plugin in {home / 'plugins'}: run scripts/bootstrap"
    return None

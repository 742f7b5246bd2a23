"""Drive the real Pulumi CLI: `pulumi preview` of a config on a throwaway local backend.

Used by the engine tests and by bench/preview.py. The CLI's `--event-log` gives every engine event
as JSON (the resource steps, the policy pack's load and per-resource results, diagnostics), which is
what the assertions read; stdout is kept for messages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.stack_config import write_project, write_stack

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_AUTH_URL = "http://192.0.2.1:5000/v3"
"""RFC 5737 TEST-NET-1: documented as never routed; a preview of new resources never calls it."""
ENGINE_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")


def toolchain_env() -> dict[str, str]:
    """The environment scripts/toolchain/env.sh sets up, on top of this process's."""
    script = f". {ROOT / 'scripts' / 'toolchain' / 'env.sh'} && env -0"
    out = subprocess.run(["bash", "-c", script], check=True, capture_output=True).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


@dataclass
class Preview:
    returncode: int
    stdout: str
    stderr: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def steps(self) -> list[dict[str, Any]]:
        return [e["resourcePreEvent"]["metadata"] for e in self.events if "resourcePreEvent" in e]

    def type_counts(self) -> Counter:
        """Resource type -> planned count, without the engine's own Stack and provider resources."""
        return Counter(s["type"] for s in self.steps() if not s["type"].startswith(ENGINE_TYPES))

    def policy_packs_run(self) -> set[str]:
        """Names of the policy packs whose results the engine reported."""
        names = set()
        for event in self.events:
            for key in ("policyAnalyzeSummaryEvent", "policyLoadEvent", "policyEvent"):
                if key in event:
                    names.add(event[key].get("policyPackName"))
        return names - {None}

    def policy_violations(self) -> list[dict[str, Any]]:
        return [e["policyEvent"] for e in self.events if "policyEvent" in e]

    def diagnostics(self, severity: str = "error") -> list[str]:
        return [
            e["diagnosticEvent"]["message"]
            for e in self.events
            if "diagnosticEvent" in e and e["diagnosticEvent"].get("severity") == severity
        ]


class Engine:
    """A throwaway project directory and local file backend under ``workdir``.

    The project directory holds a copy of Pulumi.yaml whose ``main`` and virtualenv point back at
    the checkout, so stack files and salts the CLI writes land in ``workdir``, never in the repo.
    """

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.project = write_project(workdir / "project")
        self.env = toolchain_env()
        if not shutil.which("pulumi", path=self.env["PATH"]):
            raise RuntimeError("no pulumi CLI on PATH: run scripts/bootstrap first")
        (workdir / "backend").mkdir(parents=True, exist_ok=True)
        self.env.update(
            PULUMI_BACKEND_URL=f"file://{workdir / 'backend'}",
            PULUMI_CONFIG_PASSPHRASE="engine-test-passphrase",
            OS_AUTH_URL=PLACEHOLDER_AUTH_URL,
        )
        self.env.pop("PULUMI_CONFIG_PASSPHRASE_FILE", None)

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
        )

    def preview(self, config: dict[str, Any], stack: str | None = None, policy_pack: bool = True) -> Preview:
        """``pulumi preview`` of ``config`` (a stack file's ``config:`` map) on a new stack."""
        name = stack or f"t{uuid.uuid4().hex[:10]}"
        self.pulumi("stack", "init", name, "--secrets-provider", "passphrase")
        write_stack(self.project, name, {"config": config})
        event_log = self.workdir / f"{name}.events.jsonl"
        args = ["preview", "--stack", name, "--diff=false", "--event-log", str(event_log)]
        if policy_pack:
            args += ["--policy-pack", str(ROOT / "policies")]
        result = self.pulumi(*args, check=False)
        events = []
        if event_log.exists():
            events = [json.loads(line) for line in event_log.read_text().splitlines() if line.strip()]
        return Preview(result.returncode, result.stdout, result.stderr, events)

"""Drive the real Pulumi engine: `pulumi preview` of a config on a throwaway local backend.

The Automation API runs the program inline: this Python process hosts ``__main__.py`` and the
real ``pulumi`` CLI (built by scripts/bootstrap) drives the engine against it. Inline programs need
no ``pulumi-language-python`` host, which the Go module proxy here does not serve; the resource
provider plugins are still needed for any resource the program registers (see
docs/toolchain.md for what is missing on this machine). Used by the engine tests and
bench/preview.py.
"""

from __future__ import annotations

import os
import runpy
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi import automation as auto

from config.spec import NAMESPACE

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_AUTH_URL = "http://127.0.0.1:5000/v3"
"""Nothing listens there: a preview of new resources never authenticates (the OpenStack provider
defaults to delayed auth), and if anything did try, it would stay on this machine."""
ENGINE_TYPES = ("pulumi:pulumi:Stack", "pulumi:providers:")


def toolchain_dir() -> Path:
    """Where scripts/bootstrap keeps the CLI (same default as scripts/toolchain/env.sh)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "k8s-platform" / "toolchain"
    return Path(os.environ.get("K8S_PLATFORM_TOOLCHAIN_DIR", default))


def main_program() -> None:
    """The project's ``__main__.py``, run inline in this process."""
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


@dataclass
class Preview:
    ok: bool
    stdout: str
    stderr: str
    events: list[auto.EngineEvent] = field(default_factory=list)

    def steps(self) -> list[auto.StepEventMetadata]:
        return [e.resource_pre_event.metadata for e in self.events if e.resource_pre_event]

    def type_counts(self) -> Counter:
        """Resource type -> planned count, without the engine's own Stack and provider resources."""
        return Counter(s.type for s in self.steps() if not s.type.startswith(ENGINE_TYPES))

    def policy_violations(self) -> list[auto.PolicyEvent]:
        return [e.policy_event for e in self.events if e.policy_event]

    def diagnostics(self, severity: str = "error") -> list[str]:
        return [
            e.diagnostic_event.message
            for e in self.events
            if e.diagnostic_event and e.diagnostic_event.severity == severity
        ]


class Engine:
    """The real CLI with a local file backend and passphrase secrets under ``workdir``."""

    def __init__(self, workdir: Path):
        cli = toolchain_dir() / "bin" / "pulumi"
        if not cli.exists():
            raise RuntimeError(f"no pulumi CLI at {cli}: run scripts/bootstrap first")
        self.workdir = workdir
        (workdir / "backend").mkdir(parents=True, exist_ok=True)
        self.command = auto.PulumiCommand(root=str(toolchain_dir()), skip_version_check=False)
        self.env = {
            "PULUMI_BACKEND_URL": f"file://{workdir / 'backend'}",
            "PULUMI_CONFIG_PASSPHRASE": "engine-test-passphrase",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "OS_AUTH_URL": PLACEHOLDER_AUTH_URL,
            "PATH": f"{toolchain_dir() / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def stack(self, config: dict[str, Any], program=main_program, project: str = NAMESPACE) -> auto.Stack:
        """A new stack of ``project`` whose config is ``config`` (a stack file's ``config:`` map)."""
        name = f"t{uuid.uuid4().hex[:10]}"
        work_dir = self.workdir / name
        work_dir.mkdir()
        settings = auto.ProjectSettings(name=project, runtime="python")
        opts = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir),
            project_settings=settings,
            secrets_provider="passphrase",
            env_vars=self.env,
            pulumi_command=self.command,
        )
        stack = auto.create_stack(name, project_name=project, program=program, opts=opts)
        stack.set_all_config(
            {key: auto.ConfigValue(value if isinstance(value, str) else _json(value)) for key, value in config.items()},
            path=False,
        )
        return stack

    def preview(self, config: dict[str, Any], policy_packs: list[str] | None = None, program=main_program) -> Preview:
        """``pulumi preview`` of ``config``; never raises for a failed preview (see ``Preview.ok``)."""
        stack = self.stack(config, program=program)
        events: list[auto.EngineEvent] = []
        try:
            result = stack.preview(on_event=events.append, policy_packs=policy_packs, color="never")
            return Preview(True, result.stdout, result.stderr, events)
        except auto.errors.CommandError as error:
            return Preview(False, getattr(error, "stdout", "") or "", str(error), events)
        finally:
            shutil.rmtree(self.workdir / stack.name, ignore_errors=True)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)

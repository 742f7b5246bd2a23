"""The real engine drives the project's own command plugin against real sshd: ``pulumi up``,
``preview`` and ``destroy`` of two ``pulumi_command.remote.Command`` resources on a target reached
through a bastion, both OpenSSH servers on 127.0.0.1 (tests/sshd.py).

The plugin is built and installed with scripts/toolchain/command.sh (cached by version and source
hash) into a temporary PULUMI_HOME, so the engine loads exactly that build; the CLI is the one
scripts/bootstrap built. Phase timings are printed (``pytest -s``) and attached as properties.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pulumi
import pulumi_command as command
import pytest
from pulumi import automation as auto

from tests.engine.cli import ROOT, Engine
from tests.sshd import Sshd, new_client_key, require_sshd

pytestmark = pytest.mark.engine

STDIN_SECRET = "stdin-secret-5f3a9c"
"""Must never surface: not in the CLI output, the events or the state."""
VERSION = re.search(r"^pulumi-command==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)


def install_plugin(pulumi_home: Path) -> float:
    """Build (or reuse) and install the plugin the way scripts/bootstrap does; seconds taken."""
    script = (
        "set -euo pipefail; . scripts/toolchain/env.sh; . scripts/toolchain/lib.sh; "
        '. scripts/toolchain/command.sh; mkdir -p "$K8S_PLATFORM_TOOLCHAIN_DIR/logs"; '
        f"tc_build_command_plugin {VERSION}"
    )
    log = pulumi_home.parent / "install-plugin.log"
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env={**os.environ, "PULUMI_HOME": str(pulumi_home)},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=3600,
        )
    assert proc.returncode == 0, f"tc_build_command_plugin failed:\n{log.read_text()}"
    return time.monotonic() - start


class Scenario:
    """What the inline program declares; the test changes it between runs."""

    def __init__(self, workdir: Path, target: Sshd, bastion: Sshd, key: str):
        self.dir, self.target, self.bastion, self.key = workdir, target, bastion, key
        self.update_version = "v1"
        self.trigger = "t1"

    def connection(self) -> command.remote.ConnectionArgs:
        key = pulumi.Output.secret(self.key)
        proxy = command.remote.ProxyConnectionArgs(
            host="127.0.0.1",
            port=self.bastion.port,
            user=self.bastion.user,
            private_key=key,
            host_key=self.bastion.host_keys["ed25519"],
        )
        return command.remote.ConnectionArgs(
            host="127.0.0.1",
            port=self.target.port,
            user=self.target.user,
            private_key=key,
            host_key=self.target.host_keys["ed25519"],
            proxy=proxy,
            dial_error_limit=3,
        )

    def program(self) -> None:
        d = self.dir
        first = command.remote.Command(
            "first",
            connection=self.connection(),
            create=f'echo "$SSHD_ROLE" > {d}/first; cat > {d}/first-stdin',
            update=f"echo {self.update_version} > {d}/first-update",
            delete=f"rm {d}/first; echo deleted > {d}/first-deleted",
            stdin=pulumi.Output.secret(STDIN_SECRET),
        )
        second = command.remote.Command(
            "second",
            connection=self.connection(),
            create=f"echo second-{self.trigger} | tee -a {d}/second",
            delete=f"echo deleted-$PULUMI_COMMAND_STDOUT >> {d}/second-deleted",
            triggers=[self.trigger],
            opts=pulumi.ResourceOptions(depends_on=[first]),
        )
        pulumi.export("second", second.stdout)


def ops(events: list[auto.EngineEvent]) -> dict[str, set[str]]:
    """Resource name -> the operations the engine announced for it."""
    out: dict[str, set[str]] = {}
    for e in events:
        if e.resource_pre_event and e.resource_pre_event.metadata.type == "command:remote:Command":
            meta = e.resource_pre_event.metadata
            out.setdefault(meta.urn.rsplit("::", 1)[-1], set()).add(str(meta.op.value))
    return out


def text_of(events: list[auto.EngineEvent]) -> str:
    return "\n".join(json.dumps(e.__dict__, default=lambda o: getattr(o, "__dict__", str(o))) for e in events)


def test_up_preview_update_replace_destroy_through_a_bastion(tmp_path, record_property):
    require_sshd()
    times: dict[str, float] = {"install plugin": install_plugin(tmp_path / "pulumi-home")}
    # Installed as our own build: its BUILD-INFO beside it (an official plugin has none).
    marker = tmp_path / "pulumi-home" / "plugins" / f"resource-command-v{VERSION}" / "BUILD-INFO"
    assert "own implementation" in marker.read_text()

    key = new_client_key(tmp_path)
    work = tmp_path / "target-files"
    work.mkdir()
    with (
        Sshd(tmp_path / "bastion", role="bastion", authorized_keys=[key.public]) as bastion,
        Sshd(tmp_path / "target", role="target", authorized_keys=[key.public]) as target,
    ):
        scenario = Scenario(work, target, bastion, key.private)
        engine = Engine(tmp_path / "engine")
        engine.env["PULUMI_HOME"] = str(tmp_path / "pulumi-home")

        @contextlib.contextmanager
        def phase(name: str):
            start = time.monotonic()
            yield
            times[name] = time.monotonic() - start

        with phase("create stack"):
            stack = engine.stack({}, program=scenario.program, project="command-plugin-test")
        output: list[str] = []

        def run(name: str, fn, **kwargs):
            events: list[auto.EngineEvent] = []
            with phase(name):
                result = fn(on_event=events.append, color="never", **kwargs)
            output.append(result.stdout + (getattr(result, "stderr", "") or ""))
            output.append(text_of(events))
            return result, events

        _, events = run("up (create both)", stack.up, show_secrets=False)
        assert ops(events) == {"first": {"create"}, "second": {"create"}}
        assert (work / "first").read_text() == "target\n"  # ran on the target, not the bastion
        assert (work / "first-stdin").read_text() == STDIN_SECRET
        assert (work / "second").read_text() == "second-t1\n"
        assert f"port {target.port}" in bastion.log(), "the bastion forwarded no channel to the target"

        scenario.update_version = "v2"
        preview, events = run("preview (update)", stack.preview)
        assert ops(events) == {"first": {"update"}, "second": {"same"}}
        assert re.search(r"~\s+.*command:remote:Command\s+first\s+update", preview.stdout), preview.stdout
        assert not (work / "first-update").exists(), "a preview ran the update command"
        _, events = run("up (update)", stack.up, show_secrets=False)
        assert (work / "first-update").read_text() == "v2\n"

        scenario.trigger = "t2"
        preview, events = run("preview (replace)", stack.preview)
        assert "replace" in ops(events)["second"], ops(events)
        assert re.search(r"\+-\s+.*command:remote:Command\s+second\s+replace", preview.stdout), preview.stdout
        _, events = run("up (replace)", stack.up, show_secrets=False)
        assert (work / "second").read_text() == "second-t1\nsecond-t2\n"
        assert (work / "second-deleted").read_text() == "deleted-second-t1\n"  # the old one's delete

        # Refresh reads the recorded state back (Read); nothing changes and nothing runs.
        _, events = run("refresh", stack.refresh)
        _, events = run("preview (no changes)", stack.preview)
        assert ops(events) == {"first": {"same"}, "second": {"same"}}
        assert (work / "second").read_text() == "second-t1\nsecond-t2\n"

        with phase("export"):
            # `pulumi stack export` as a user runs it (the Automation API's export_stack adds --show-secrets).
            exported = engine.command.run(
                ["stack", "export", "--stack", stack.name], stack.workspace.work_dir, engine.env
            ).stdout
        _, events = run("destroy", stack.destroy)
        assert (work / "first-deleted").read_text() == "deleted\n"
        assert not (work / "first").exists()
        assert (work / "second-deleted").read_text() == "deleted-second-t1\ndeleted-second-t2\n"

    # The secret stdin stays secret everywhere: CLI output, events, the exported state and the
    # state files of the backend (where it is encrypted with the stack's passphrase).
    state_files = "".join(p.read_text(errors="replace") for p in (tmp_path / "engine" / "backend").rglob("*.json"))
    for where, text in {"CLI output": "\n".join(output), "stack export": exported, "state files": state_files}.items():
        assert STDIN_SECRET not in text, f"the secret stdin appears in the {where}"
    first = next(r for r in json.loads(exported)["deployment"]["resources"] if r["urn"].endswith("::first"))
    for prop in ("stdin", "connection", "stdout"):
        assert "ciphertext" in first["outputs"][prop], f"{prop} is not encrypted in the state"

    for name, seconds in times.items():
        record_property(name, round(seconds, 1))
    print("\ncommand plugin engine test timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))

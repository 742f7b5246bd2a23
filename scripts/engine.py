"""The one entry for every engine operation on a stack of this project (run by ``scripts/pulumi``).

    scripts/pulumi <stack> preview|up|destroy|refresh [pulumi flags...]
    scripts/pulumi <stack> preview --report FILE.md [pulumi flags...]   (the PR report, scripts/report.py)
    scripts/pulumi <stack> init-secrets
    scripts/pulumi <stack> <any other pulumi command...>      (stack, config, ...: passed through)

A thin convenience over what a Pulumi user types in the checkout (``pulumi stack select prod &&
pulumi preview --policy-pack policies``); what it adds, so that no documented path skips a step:

- where the stack runs and with which secrets provider (scripts/stacks.py: the committed stack file
  in place, or a trial copy for a newcomer's first preview), the stack selected (created on first use);
- the stack's secret seed (``init-secrets``), created on first use and never overwritten;
- preview and up always run with the policy pack. With the official ``pulumi-language-python`` on
  PATH the CLI runs the program and the pack (``--policy-pack policies``) as usual; without it the
  program runs inline in this process (the Automation API's language server: the CLI is started
  with ``--client`` pointing at it) and the pack through its executable launcher
  (``policies/run-pack``);
- after the CLI's own output, the policy results collected from the engine's event log: each pack,
  every policy that ran and its violations (``--json`` output has none of them; they go to stderr
  then, so stdout stays the engine's JSON). The exit status is the CLI's: a mandatory violation fails.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[1]
# Run as a file, this directory is sys.path[0]; the program and this module import from the root.
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "scripts")]

from config.formats import SEED_BYTES, SEED_KEY  # noqa: E402
from config.spec import NAMESPACE as PROJECT  # noqa: E402
from scripts.stacks import Cli, EntryError, explain_trial, has_key, init_seed, locate, select  # noqa: E402

SEED = f"{PROJECT}:{SEED_KEY}"
POLICY_DIR = ROOT / "policies"
POLICY_LAUNCHER = POLICY_DIR / "run-pack"
POLICY_CONFIG_DIR = POLICY_DIR / "config"
"""``<stack>.json``: the pack's config for that stack (limits, flavor table), passed on every run."""

PROGRAM_COMMANDS = {"preview": True, "up": False, "update": False, "destroy": False, "refresh": False}
"""Commands that run the program (or may, with --run-program) -> whether the run is a dry run."""
POLICY_COMMANDS = frozenset({"preview", "up", "update"})
"""Commands the policy pack gates: every preview and every update."""
GRPC_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024)]
"""The engine sends whole resource states; the SDK's own limit (pulumi.runtime.settings)."""


# ------------------------------------------------------------------------------------ program runs


def main_program() -> None:
    """The project's ``__main__.py``, run inline by the language server below."""
    runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")


@contextmanager
def inline_language_server() -> Iterator[str]:
    """The Automation API's language server for ``main_program`` on a loopback port; yields its address."""
    import grpc
    from pulumi.automation._server import LanguageServer
    from pulumi.runtime.proto import language_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=GRPC_OPTIONS)
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageServer(main_program), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0)


def official_language_host(env: dict[str, str]) -> bool:
    return shutil.which("pulumi-language-python", path=env.get("PATH")) is not None


def _flag_value(args: list[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _without(args: list[str], flag: str, drop=lambda value: True) -> list[str]:
    """``args`` minus every ``flag VALUE`` / ``flag=VALUE`` whose value ``drop`` accepts."""
    out, skip = [], False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == flag and i + 1 < len(args) and drop(args[i + 1]):
            skip = True
            continue
        if arg.startswith(flag + "=") and drop(arg.split("=", 1)[1]):
            continue
        out.append(arg)
    return out


def with_our_pack(args: list[str], stack: str, official: bool, no_config: Path) -> list[str]:
    """``args`` with this project's pack first, with its config for ``stack``, each exactly once.

    The engine pairs the n-th ``--policy-pack-config`` with the n-th ``--policy-pack`` and wants one
    for every pack once any is given. Ours: the user's ``--policy-pack-config`` (a review trying a
    lower limit), else ``policies/config/<stack>.json`` when it exists; a user's other packs then run
    with their defaults (``no_config``: an empty JSON object).
    """
    ours = {POLICY_DIR.resolve(), POLICY_LAUNCHER.resolve()}
    config = _flag_value(args, "--policy-pack-config")
    if config is not None:
        config = str(Path(config).resolve())  # the CLI runs in the stack's directory
    default = POLICY_CONFIG_DIR / f"{stack}.json"
    if config is None and default.exists():
        config = str(default)
    rest = _without(_without(args, "--policy-pack", lambda v: Path(v).resolve() in ours), "--policy-pack-config")
    others = [rest[i + 1] for i, arg in enumerate(rest[:-1]) if arg == "--policy-pack"]
    others += [arg.split("=", 1)[1] for arg in rest if arg.startswith("--policy-pack=")]
    rest = _without(rest, "--policy-pack")
    packs = ["--policy-pack", str(POLICY_DIR if official else POLICY_LAUNCHER)]
    configs = ["--policy-pack-config", config] if config else []
    for other in others:
        packs += ["--policy-pack", other]
        configs += ["--policy-pack-config", str(no_config)] if config else []
    return [*rest, *packs, *configs]


def run_program_command(cli: Cli, stack: str, command: str, args: list[str]) -> int:
    official = official_language_host(cli.env)
    env = {
        **cli.env,
        # What the official language host tells a policy pack; the launcher path needs them set here.
        "PULUMI_STACK": stack,
        "PULUMI_PROJECT": PROJECT,
        "PULUMI_DRY_RUN": "true" if PROGRAM_COMMANDS[command] else "false",
        # --event-log is one of the CLI's debug flags (as for the Automation API, which sets this too).
        "PULUMI_DEBUG_COMMANDS": "true",
    }
    if command == "preview":
        # A preview's checkpoints protect nothing; writing one per step makes large previews quadratic
        # (docs/performance.md). Never for up/destroy, where they protect the state.
        env.setdefault("PULUMI_SKIP_CHECKPOINTS", "true")
    report = _flag_value(args, "--report")
    if report is not None and command != "preview":
        raise EntryError("--report FILE is written from a preview: scripts/pulumi <stack> preview --report FILE")
    args = _without(list(args), "--report")
    with tempfile.TemporaryDirectory(prefix="k8s-platform-events-") as tmp:
        if command in POLICY_COMMANDS:
            no_config = Path(tmp) / "no-config.json"
            no_config.write_text("{}\n")
            args = with_our_pack(args, stack, official, no_config)
        event_log = _flag_value(args, "--event-log")
        if event_log is None:
            event_log = str(Path(tmp) / "events.jsonl")
            args += ["--event-log", event_log]
        if official:
            code = cli.call([command, *args], env)
        else:
            with inline_language_server() as address:
                code = cli.call([command, *args, f"--client={address}", "--exec-kind", "auto.inline"], env)
        events = read_events(Path(event_log))
        if command in POLICY_COMMANDS:
            out = sys.stderr if "--json" in args else sys.stdout
            print_policy_results(events, out)
        if report is not None:
            from scripts.report import render

            Path(report).write_text(render(events, stack))
            print(f"report: {report}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------------- policy results


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a cancelled run
    return events


def policy_results(events: list[dict]) -> dict[str, dict]:
    """``pack@version`` -> {policy: {"passed": n, "failed": n}}, plus its ``violations`` (events)."""
    packs: dict[str, dict] = defaultdict(lambda: {"policies": defaultdict(lambda: {"passed": 0, "failed": 0})})
    for event in events:
        summary = event.get("policyAnalyzeSummaryEvent") or event.get("policyAnalyzeStackSummaryEvent")
        if summary:
            pack = packs[f"{summary['policyPackName']}@{summary.get('policyPackVersion') or '?'}"]
            for outcome in ("passed", "failed"):
                for name in summary.get(outcome) or []:
                    pack["policies"][name][outcome] += 1
        if violation := event.get("policyEvent"):
            pack = packs[f"{violation['policyPackName']}@{violation.get('policyPackVersion') or '?'}"]
            pack.setdefault("violations", []).append(violation)
    return packs


def print_policy_results(events: list[dict], out: TextIO) -> None:
    packs = policy_results(events)
    if not packs:
        print("\nPolicy results: no policy pack reported (the run stopped before the pack analyzed anything)", file=out)
        return
    print("\nPolicy results:", file=out)
    for pack, result in packs.items():
        violations = result.get("violations", [])
        print(f"  {pack}: {len(result['policies'])} policies ran, {len(violations)} violations", file=out)
        for name, count in sorted(result["policies"].items()):
            verdict = "FAILED" if count["failed"] else "passed"
            print(f"    {verdict:7} {name} ({count['passed'] + count['failed']} checks)", file=out)
        for v in violations:
            where = f" {v['resourceUrn']}" if v.get("resourceUrn") else ""
            message = " ".join(v.get("message", "").split())
            print(f"    [{v.get('enforcementLevel', '?')}] {v['policyName']}{where}: {message}", file=out)


# ------------------------------------------------------------------------------------------- entry


def engine_env(command: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    if command == "preview":
        # A preview from a host that cannot reach the cluster (CI, a laptop outside the tenant network)
        # must not fail: the kubernetes provider then keeps each add-on's last inputs (a warning per
        # resource says so) instead of asking the cluster, or a chart repository, about them. An `up`
        # never gets this: there, an unreachable cluster fails instead of skipping the add-ons.
        # docs/addons-network.md, "Previews".
        env.setdefault("PULUMI_K8S_SKIP_UPDATE_UNREACHABLE", "true")
    env.setdefault("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    if not env.get("OS_CLOUD"):
        # Nothing listens there: a preview of new resources never authenticates. Real runs export
        # OS_CLOUD or their cloud's OS_* variables.
        env.setdefault("OS_AUTH_URL", "http://127.0.0.1:5000/v3")
    return env


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        raise EntryError("usage: scripts/pulumi <stack> <pulumi command...> | init-secrets")
    stack, command, args = argv[0], argv[1], argv[2:]
    if shutil.which("pulumi") is None:
        raise EntryError("no pulumi CLI on PATH: run scripts/bootstrap first")
    place = locate(stack, command, engine_env(command))
    select(place)
    if command == "init-secrets":
        print(init_seed(place, SEED, SEED_BYTES))
        return 0
    if command not in PROGRAM_COMMANDS:
        return place.cli().call([command, *args])
    if command in POLICY_COMMANDS and not has_key(place.cli(), SEED):
        print(init_seed(place, SEED, SEED_BYTES), file=sys.stderr)
    code = run_program_command(place.cli(), stack, command, args)
    if place.kind == "trial":
        import yaml

        print(explain_trial(place, yaml.safe_load(place.stack_file.read_text()) or {}), file=sys.stderr)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except EntryError as error:
        print(f"scripts/pulumi: error: {error}", file=sys.stderr)
        sys.exit(2)

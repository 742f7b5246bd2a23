"""Where a stack's config lives and how its secrets are encrypted, for scripts/pulumi.

Pulumi's own layout, a **team stack**: the project directory is the checkout (``Pulumi.yaml``) and
the stack's whole config, values and ``--secret`` ciphertexts and the secrets provider's salt or
key, is the committed ``Pulumi.<stack>.yaml``. The CLI runs there, exactly as ``pulumi stack select
prod && pulumi preview --policy-pack policies`` would, with

- the backend of ``PULUMI_BACKEND_URL``: an S3-compatible store (Ceph RGW), Pulumi Cloud, or by
  default ``file://<checkout>/.state/backend`` (local, git-ignored: for trying it out);
- the secrets provider the stack file names (``secretsprovider: awskms://…``, ``hashivault://…``),
  Pulumi Cloud's on a Cloud backend, or the passphrase provider with the passphrase of
  ``PULUMI_CONFIG_PASSPHRASE`` / ``PULUMI_CONFIG_PASSPHRASE_FILE``, from the team's or CI's secret
  store. Nothing here ever makes up a team passphrase.

Two other places, each under ``K8S_PLATFORM_STATE`` (default ``.state/``, git-ignored):

- **trial**: ``preview`` of a stack that was never initialised (its file names no salt and no
  provider) on a machine without a passphrase, as a newcomer's first ``scripts/preview test``. It
  runs on a copy of the stack file in ``trial/``, with a throwaway passphrase, seed and backend
  there, says so, and lists what a real stack needs (``explain_trial``). Nothing committed changes;
  every other command is refused, naming the passphrase variables.
- **copy**: ``K8S_PLATFORM_STACK_DIR`` names another directory of stack files (tests, benchmarks:
  edited configs). The CLI runs on a copy in ``project/`` whose ``Pulumi.yaml`` is the checkout's
  pointing back at the program; salt and secrets set there survive rewrites of the source file.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from config.load import read_stack_document
from config.spec import SpecError

ROOT = Path(__file__).resolve().parents[1]
PROVIDER_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")
"""What a secrets provider writes into a stack file."""
PASSPHRASE_VARIABLES = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


class EntryError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""


class Cli:
    """The ``pulumi`` CLI in a project directory, with the entry's environment."""

    def __init__(self, project_dir: Path, env: dict[str, str]):
        self.project_dir, self.env = project_dir, env

    def run(self, args: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run and capture; raise EntryError naming the command when it fails."""
        result = subprocess.run(
            ["pulumi", *args], cwd=self.project_dir, env=self.env, input=stdin, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise EntryError(f"`pulumi {' '.join(args)}` failed: {result.stderr.strip() or result.stdout.strip()}")
        return result

    def call(self, args: Sequence[str], env: dict[str, str] | None = None) -> int:
        """Run with the terminal attached; Ctrl-C reaches the CLI, which cancels cleanly while this
        process keeps serving the inline program."""
        process = subprocess.Popen(["pulumi", *args], cwd=self.project_dir, env=env or self.env)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return process.wait()
        finally:
            signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True)
class Place:
    """Where the CLI runs for one stack, and with what."""

    stack: str
    project_dir: Path
    """The checkout (a team stack), or the trial or copy directory."""
    stack_file: Path
    """The file the CLI reads and writes: ``<project_dir>/Pulumi.<stack>.yaml``."""
    env: dict[str, str]
    """The environment: backend, passphrase, the CLI's offline settings."""
    kind: str
    """``team``, ``trial`` or ``copy``."""

    def cli(self) -> Cli:
        return Cli(self.project_dir, self.env)


def initialised(document: dict) -> bool:
    """The stack file carries its secrets provider's state (a salt or a key, or names a provider)."""
    return any(key in document for key in PROVIDER_KEYS)


def provider_available(document: dict, env: dict[str, str]) -> bool:
    """A secrets provider can open this stack without anything made up here."""
    named = str(document.get("secretsprovider") or "")
    if named and not named.startswith("passphrase"):
        return True  # a KMS or Vault URL: its own credentials
    if any(env.get(name) for name in PASSPHRASE_VARIABLES):
        return True
    cloud = env.get("PULUMI_BACKEND_URL", "").startswith(("https://", "http://"))
    return cloud and "encryptionsalt" not in document  # Pulumi Cloud's own provider


def merged(committed: dict, local: dict) -> dict:
    """A copy's stack file: the source document plus the copy's provider state and secret-only values."""
    document = dict(committed)
    for key in PROVIDER_KEYS:
        if key in local:
            document[key] = local[key]
    config = dict(committed.get("config") or {})
    for key, value in (local.get("config") or {}).items():
        if key not in config and isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = value
    document["config"] = config
    return document


def write_copy(project_dir: Path, stack: str, document: dict) -> Path:
    """``project_dir`` with a ``Pulumi.yaml`` running this checkout's program and the stack's file
    refreshed from ``document`` (see ``merged``)."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    project["main"] = str(ROOT)
    project["runtime"]["options"]["virtualenv"] = str(ROOT / "venv")
    project_dir.mkdir(parents=True, exist_ok=True)
    (project_dir / "Pulumi.yaml").write_text(
        "# Generated by scripts/stacks.py from the checkout's Pulumi.yaml; do not edit.\n"
        + yaml.safe_dump(project, sort_keys=False)
    )
    target = project_dir / f"Pulumi.{stack}.yaml"
    local = (yaml.safe_load(target.read_text()) if target.exists() else None) or {}
    target.write_text(
        "# Copy made by scripts/stacks.py; edit the source stack file instead.\n"
        + yaml.safe_dump(merged(document, local), sort_keys=False)
    )
    return target


def local_backend(env: dict[str, str], directory: Path) -> None:
    """``PULUMI_BACKEND_URL`` unless the environment has one: a file backend in ``directory``."""
    if not env.get("PULUMI_BACKEND_URL"):
        directory.mkdir(parents=True, exist_ok=True)
        env["PULUMI_BACKEND_URL"] = f"file://{directory}"


def locate(stack: str, command: str, env: dict[str, str]) -> Place:
    """Where ``command`` runs for ``stack`` (see the module docstring); EntryError when nowhere."""
    env = dict(env)
    state = Path(env.get("K8S_PLATFORM_STATE") or ROOT / ".state")
    source_dir = Path(env["K8S_PLATFORM_STACK_DIR"]) if env.get("K8S_PLATFORM_STACK_DIR") else ROOT
    source = source_dir / f"Pulumi.{stack}.yaml"
    if not source.is_file():
        raise EntryError(f"no stack file {source} (stacks: lab, test, prod)")
    try:
        # Strict: the CLI's YAML reader, like PyYAML's, would keep the last of a key written twice.
        document = read_stack_document(source)
    except SpecError as error:
        raise EntryError(f"{source} is not a valid stack file:\n{error}") from None
    if source_dir != ROOT:
        local_backend(env, state / "backend")
        stack_file = write_copy(state / "project", stack, document)
        return Place(stack, stack_file.parent, stack_file, env, "copy")
    if provider_available(document, env):
        local_backend(env, state / "backend")
        return Place(stack, ROOT, source, env, "team")
    if command == "preview" and not initialised(document):
        trial = state / "trial"
        passphrase = trial / "passphrase"
        if not passphrase.is_file():
            trial.mkdir(parents=True, exist_ok=True)
            passphrase.touch(mode=0o600)
            passphrase.write_text(secrets.token_urlsafe(32))
        env.pop("PULUMI_BACKEND_URL", None)  # a trial never touches a shared backend
        local_backend(env, trial / "backend")
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(passphrase)
        stack_file = write_copy(trial / "project", stack, document)
        return Place(stack, stack_file.parent, stack_file, env, "trial")
    why = (
        f"Pulumi.{stack}.yaml is initialised (it holds its provider's salt or key)"
        if initialised(document)
        else f"only a first preview runs without one (on a throwaway trial copy), not `{command}`"
    )
    raise EntryError(
        f"stack {stack}: no secrets provider: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE "
        f"from your team's secret store, or name a provider in Pulumi.{stack}.yaml (docs/stacks.md); {why}. "
        "Nothing was changed."
    )


def explain_trial(place: Place, document: dict) -> str:
    """What the trial preview was, and what a real stack (and ``up``) needs, from its config."""
    config = document.get("config") or {}
    s3 = ((config.get("k8s-platform:etcd") or {}).get("backup") or {}).get("s3")
    needs = [
        "the team's passphrase: export PULUMI_CONFIG_PASSPHRASE_FILE=<file from your secret store> "
        "(or another secrets provider, docs/stacks.md)",
        f"the stack's seed: scripts/pulumi {place.stack} init-secrets, then commit Pulumi.{place.stack}.yaml "
        "(its salt and the encrypted seed); back the seed up (docs/runbooks/secrets.md)",
        "SSH to the machines: an ssh-agent holding the key of k8s-platform:sshPublicKey, or "
        f"scripts/pulumi {place.stack} config set --secret k8s-platform:sshPrivateKey < key",
        "the cloud: OS_CLOUD (clouds.yaml) or the OS_AUTH_URL/OS_USERNAME/... variables",
        "a shared backend for a team: export PULUMI_BACKEND_URL='s3://<bucket>?endpoint=<rgw>&use_path_style=true' "
        "(docs/stacks.md)",
    ]
    if s3:
        needs.insert(3, f"etcd backups to S3 ({s3.get('bucket')}): scripts/pulumi {place.stack} config set --secret "
                        "k8s-platform:etcdBackupS3Credentials (ACCESS_KEY_ID:SECRET_ACCESS_KEY)")  # fmt: skip
    lines = [
        f"==> trial preview: stack {place.stack} has no secrets provider here (neither "
        f"{' nor '.join(PASSPHRASE_VARIABLES)} is set, and Pulumi.{place.stack}.yaml names none), so it ran on a "
        f"throwaway copy with a generated passphrase, seed and backend in {place.project_dir.parent} "
        "(git-ignored); nothing committed was changed. `up` needs a real stack:",
        *(f"    - {need}" for need in needs),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------- the seed


def has_key(cli: Cli, key: str) -> bool:
    return key in json.loads(cli.run(["config", "--json"]).stdout or "{}")


def resource_count(cli: Cli) -> int:
    """Resources the backend holds for the stack (the engine's own Stack and providers aside)."""
    deployment = json.loads(cli.run(["stack", "export"]).stdout or "{}").get("deployment") or {}
    return sum(
        1
        for r in deployment.get("resources") or []
        if r.get("type") != "pulumi:pulumi:Stack" and not r.get("type", "").startswith("pulumi:providers:")
    )


def init_seed(place: Place, key: str, size: int) -> str:
    """Store a new random seed (``size`` bytes, hex) as the secret ``key`` of the stack, unless one is
    there or the stack already has resources; say what happened."""
    cli = place.cli()
    if has_key(cli, key):
        return f"{key} is already set for stack {place.stack}: kept (a seed is never overwritten)"
    if (count := resource_count(cli)) > 0:
        raise EntryError(
            f"stack {place.stack} has {count} resources but no {key}: a new seed would plan new etcd "
            "certificates, tokens and passwords for the running cluster. Restore the seed from its backup "
            f"(`scripts/pulumi {place.stack} config set --secret {key} < seed-file`, docs/runbooks/secrets.md)"
        )
    # On stdin, not argv: the value never shows in the process list.
    cli.run(["config", "set", "--secret", key], stdin=secrets.token_bytes(size).hex())
    if place.kind == "trial":
        return f"{key}: a throwaway seed for this trial, encrypted in {place.stack_file}"
    where = f"Pulumi.{place.stack}.yaml: commit it" if place.kind == "team" else str(place.stack_file)
    return f"{key}: a new random seed is stored, encrypted, in {where}; back the seed up (docs/runbooks/secrets.md)"


def select(place: Place) -> None:
    """Select the stack, creating it in the backend on first use. A new passphrase stack gets its
    salt in the stack file (Pulumi's own ``stack init``); a named provider is the file's."""
    document = yaml.safe_load(place.stack_file.read_text()) or {}
    args = ["stack", "select", "--create", place.stack, "--non-interactive"]
    if not document.get("secretsprovider") and any(place.env.get(v) for v in PASSPHRASE_VARIABLES):
        args += ["--secrets-provider", "passphrase"]
    place.cli().run(args)

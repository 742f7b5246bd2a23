"""What a change between two revisions does to a stack's plan, without any state backend.

    scripts/plan-diff <git-ref-a> <git-ref-b> <stack>

The revisions are those of the git repository holding the current directory (as for ``git``
itself; normally this checkout). Each revision is exported from git (``git archive``: the program,
the stack file and the entry exactly as committed) into a scratch directory, and its own
``scripts/pulumi <stack> preview --json`` runs there as a **new-stack preview**: the real engine,
plugins and policy pack, a throwaway local backend, never ``PULUMI_BACKEND_URL`` and no cloud
credentials. Both previews share one state directory, so a stack file without a secrets provider
gets scripts/stacks.py's *trial* (the newcomer's first preview) with the same throwaway passphrase
and seed on both sides: secrets derived from the seed come out equal and only the change shows. A
stack file that names its provider (an initialised team stack) is decrypted with the caller's
passphrase as usual.

The two steps lists are compared by URN: resources that appear, disappear, or whose inputs (or
``protect``-like options) differ, naming the changed keys. Only key names are printed, never values;
secret values are masked by the engine (``[secret]``) before they reach this process, so a change
inside a secret input (a remote command's ``stdin`` script, say) is not visible here. The exported
trees borrow this checkout's virtualenvs and the installed plugins: a revision pinning other
versions fails its preview, naming what is missing.

Output is sorted by URN and has no timings (those go to stderr), so two runs print the same text.
Exit status: 0 after printing the diff, 2 on an error (unknown ref or stack, a failed preview).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "scripts")]

from scripts.stacks import PASSPHRASE_VARIABLES, EntryError, initialised  # noqa: E402

OPTIONS = ("protect", "retainOnDelete", "deleteBeforeReplace", "replaceOnChanges", "ignoreChanges", "provider")
"""Step fields besides the inputs that change what the engine does to a resource (the provider
reference carries the plugin version)."""
IGNORED_INPUTS = frozenset({"__defaults"})
"""The bridge's list of defaulted fields: it only moves when a real input does."""
VENVS = ("venv", "policies/venv")
"""Virtualenvs the exported tree borrows from this checkout (git holds no virtualenv)."""


# --------------------------------------------------------------------------------------- the diff


def _key(prefix: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key)}]"


def changed_paths(a: object, b: object, prefix: str = "") -> Iterator[str]:
    """The paths (``metadata["k8s-platform.role"]``, ``ports[2].cidr``) where ``a`` and ``b`` differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key in IGNORED_INPUTS:
                continue
            path = _key(prefix, key)
            if key not in a or key not in b:
                yield path
            else:
                yield from changed_paths(a[key], b[key], path)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from changed_paths(x, y, f"{prefix}[{i}]")
    elif a != b:
        yield prefix or "(whole value)"


@dataclass(frozen=True)
class PlanDiff:
    appear: list[str]
    disappear: list[str]
    changed: dict[str, tuple[list[str], list[str]]]
    """URN -> (changed input paths, changed options)."""
    unchanged: int


def diff_steps(a: list[dict], b: list[dict]) -> PlanDiff:
    """Compare two new-stack previews' steps (``preview --json``'s ``steps``) by URN."""
    before = {s["urn"]: s.get("newState") or {} for s in a}
    after = {s["urn"]: s.get("newState") or {} for s in b}
    changed, unchanged = {}, 0
    for urn in sorted(before.keys() & after.keys()):
        old, new = before[urn], after[urn]
        inputs = list(changed_paths(old.get("inputs") or {}, new.get("inputs") or {}))
        options = [o for o in OPTIONS if old.get(o) != new.get(o)]
        if inputs or options:
            changed[urn] = (inputs, options)
        else:
            unchanged += 1
    return PlanDiff(sorted(after.keys() - before.keys()), sorted(before.keys() - after.keys()), changed, unchanged)


def render(diff: PlanDiff, stack: str, a: Revision, b: Revision) -> str:
    lines = [f"plan-diff {stack}: {a.label} -> {b.label} (new-stack previews, no state backend)"]
    lines += [f"+ {urn}" for urn in diff.appear]
    lines += [f"- {urn}" for urn in diff.disappear]
    for urn, (inputs, options) in diff.changed.items():
        parts = ([f"inputs {', '.join(inputs)}"] if inputs else []) + (
            [f"options {', '.join(options)}"] if options else []
        )
        lines.append(f"~ {urn}: {'; '.join(parts)}")
    lines.append(
        f"{len(diff.appear)} appear, {len(diff.disappear)} disappear, {len(diff.changed)} change, "
        f"{diff.unchanged} unchanged (secret inputs compare as [secret])"
    )
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the revisions


@dataclass(frozen=True)
class Revision:
    ref: str
    commit: str

    @property
    def label(self) -> str:
        return self.ref if self.ref == self.commit[:12] else f"{self.ref} ({self.commit[:12]})"


@functools.cache
def repository() -> Path:
    """The top of the git repository holding the current directory (``git archive`` in a
    subdirectory would export only that subdirectory)."""
    result = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if result.returncode != 0:
        raise EntryError(f"{Path.cwd()} is not inside a git repository: run plan-diff in a clone of this project")
    return Path(result.stdout.strip())


def git(*args: str, binary: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repository()), *args], capture_output=True, text=not binary)


def resolve(ref: str) -> Revision:
    result = git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if result.returncode != 0:
        raise EntryError(f"unknown git ref {ref!r} (not a commit of {repository()})")
    return Revision(ref, result.stdout.strip())


def stack_document(revision: Revision, stack: str) -> dict:
    """The stack file as committed at ``revision``; EntryError naming the stacks it has otherwise."""
    shown = git("show", f"{revision.commit}:Pulumi.{stack}.yaml")
    if shown.returncode != 0:
        names = git("ls-tree", "--name-only", revision.commit).stdout.split()
        stacks = sorted(m.group(1) for n in names if (m := re.fullmatch(r"Pulumi\.(.+)\.yaml", n)))
        raise EntryError(f"{revision.label} has no Pulumi.{stack}.yaml (stacks there: {', '.join(stacks) or 'none'})")
    if git("cat-file", "-e", f"{revision.commit}:scripts/pulumi").returncode != 0:
        raise EntryError(f"{revision.label} predates scripts/pulumi, the entry plan-diff previews each revision with")
    return yaml.safe_load(shown.stdout) or {}


def export(revision: Revision, target: Path) -> Path:
    """The committed tree of ``revision`` in ``target``, with this checkout's virtualenvs."""
    archive = git("archive", "--format=tar", revision.commit, binary=True)
    if archive.returncode != 0:
        raise EntryError(f"git archive {revision.label} failed: {archive.stderr.decode().strip()}")
    target.mkdir(parents=True)
    with tempfile.TemporaryFile() as tar:
        tar.write(archive.stdout)
        tar.seek(0)
        with tarfile.open(fileobj=tar) as tree:
            tree.extractall(target, filter="tar")
    for venv in VENVS:
        (target / venv).symlink_to(ROOT / venv, target_is_directory=True)
    return target


def preview_env(document: dict, state: Path) -> dict[str, str]:
    """The caller's environment without a backend, a stack directory or a cloud: a new stack in
    ``state``. Without a provider in the stack file no passphrase either, so both revisions get the
    same trial (scripts/stacks.py) with the same throwaway passphrase and seed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    for name in ("PULUMI_BACKEND_URL", "K8S_PLATFORM_STACK_DIR"):
        env.pop(name, None)
    if not initialised(document):
        for name in PASSPHRASE_VARIABLES:
            env.pop(name, None)
    env["K8S_PLATFORM_STATE"] = str(state)
    return env


def preview(tree: Path, stack: str, env: dict[str, str], revision: Revision) -> list[dict]:
    """The steps of the revision's own ``scripts/pulumi <stack> preview --json``."""
    started = time.monotonic()
    run = subprocess.run(
        [str(tree / "scripts" / "pulumi"), stack, "preview", "--json", "--non-interactive"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    print(f"plan-diff: previewed {stack} at {revision.label} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    try:
        result = json.loads(run.stdout)
    except json.JSONDecodeError:
        result = None
    if run.returncode != 0 or not isinstance(result, dict):
        errors = [d["message"].strip() for d in (result or {}).get("diagnostics") or [] if d.get("severity") == "error"]
        policy = run.stderr[run.stderr.find("Policy results:") :] if "Policy results:" in run.stderr else ""
        detail = "\n".join(dict.fromkeys(errors)) or run.stderr.strip()[-3000:]
        raise EntryError(f"the preview of {stack} at {revision.label} failed:\n{detail}\n{policy}".rstrip())
    return result.get("steps") or []


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if len(argv) != 3:
        raise EntryError("usage: scripts/plan-diff <git-ref-a> <git-ref-b> <stack> (--help: what it does)")
    ref_a, ref_b, stack = argv
    revisions = [resolve(ref_a), resolve(ref_b)]
    documents = [stack_document(r, stack) for r in revisions]
    if shutil.which("pulumi") is None:
        raise EntryError("no pulumi CLI on PATH: run scripts/bootstrap first")
    steps = []
    with tempfile.TemporaryDirectory(prefix="k8s-platform-plan-diff-") as tmp:
        state = Path(tmp) / "state"
        for side, revision, document in zip("ab", revisions, documents, strict=True):
            tree = export(revision, Path(tmp) / side)
            steps.append(preview(tree, stack, preview_env(document, state), revision))
    print(render(diff_steps(*steps), stack, *revisions))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except EntryError as error:
        print(f"scripts/plan-diff: error: {error}", file=sys.stderr)
        sys.exit(2)

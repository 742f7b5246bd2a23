"""Prepare the working copy of a stack's config for the project's commands; print its path.

The committed ``Pulumi.<stack>.yaml`` holds values only and stays untouched: Pulumi writes the
passphrase provider's ``encryptionsalt`` and ``pulumi config set --secret`` values into the stack
config file it is given, so the commands give it ``.state/config/Pulumi.<stack>.yaml``. Each run
refreshes that copy from the committed file and carries over what only the copy has (the salt,
the secrets provider state and secret values), so local secrets survive and committed edits win.

    python scripts/stack_config.py test [--state DIR]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROVIDER_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt")


def merged(committed: dict, local: dict) -> dict:
    """The committed document plus the local copy's provider state and secret-only values."""
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--state", default=os.environ.get("K8S_PLATFORM_STATE", str(ROOT / ".state")))
    args = parser.parse_args()
    source = ROOT / f"Pulumi.{args.stack}.yaml"
    if not source.is_file():
        parser.error(f"no stack file {source.name}")
    target = Path(args.state) / "config" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    committed = yaml.safe_load(source.read_text()) or {}
    local = yaml.safe_load(target.read_text()) if target.exists() else {}
    target.write_text(
        f"# Working copy of {source.name} made by scripts/stack_config.py; edit the committed file.\n"
        + yaml.safe_dump(merged(committed, local or {}), sort_keys=False)
    )
    print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""SSH host keys from the seed (components/render/host_keys.py): stable text, and real OpenSSH serves
and verifies them (ssh-keygen reads the private key, sshd serves it, ssh with only that key in its
known_hosts connects, and refuses a server with another machine's key)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from components.render.host_keys import host_key, render_host_key_user_data
from tests.sshd import Sshd, new_client_key

SEED = bytes.fromhex("5eed" * 16)


def test_the_key_is_the_same_on_every_run_and_differs_per_machine_and_seed():
    key = host_key(SEED, "k8s-prod-master-1")
    assert key == host_key(SEED, "k8s-prod-master-1")  # byte-identical text: no diff, no rebuild
    assert key.public.startswith("ssh-ed25519 AAAA") and key.public.count(" ") == 1
    others = {host_key(SEED, "k8s-prod-master-2").public, host_key(bytes(32), "k8s-prod-master-1").public}
    assert key.public not in others and len(others) == 2
    assert key.private not in repr(key)


def test_the_user_data_installs_only_that_key():
    key = host_key(SEED, "k8s-test-worker-1")
    text = render_host_key_user_data(key)
    assert text.startswith("#cloud-config\n")
    config = yaml.safe_load(text)
    assert config == {
        "ssh_deletekeys": True,
        "ssh_genkeytypes": [],
        "ssh_keys": {"ed25519_private": key.private, "ed25519_public": key.public},
    }


def _write_host_key(directory: Path, hostname: str) -> str:
    key = host_key(SEED, hostname)
    directory.mkdir(parents=True)
    (directory / "host_ed25519").write_text(key.private)
    (directory / "host_ed25519").chmod(0o600)
    (directory / "host_ed25519.pub").write_text(key.public + "\n")
    return key.public


@pytest.mark.realtool
def test_openssh_reads_serves_and_verifies_the_derived_key(tmp_path: Path):
    public = _write_host_key(tmp_path / "sshd", "k8s-test-master-1")
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(tmp_path / "sshd" / "host_ed25519")], capture_output=True, text=True, check=True
    )
    assert derived.stdout.strip() == public
    client = new_client_key(tmp_path)
    with Sshd(tmp_path / "sshd", authorized_keys=[client.public]) as server:
        scanned = subprocess.run(
            ["ssh-keyscan", "-t", "ed25519", "-p", str(server.port), "127.0.0.1"], capture_output=True, text=True
        )
        assert scanned.stdout.split(None, 1)[1].strip() == public

        def connect(expected: str) -> subprocess.CompletedProcess:
            known = tmp_path / "known_hosts"
            known.write_text(f"[127.0.0.1]:{server.port} {expected}\n")
            options = ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}", "-o", "BatchMode=yes"]
            target = [*options, "-i", str(client.path), "-p", str(server.port), f"{server.user}@127.0.0.1", "true"]
            return subprocess.run(["ssh", *target], capture_output=True, text=True, timeout=60)

        assert connect(public).returncode == 0
        wrong = connect(host_key(SEED, "k8s-test-master-2").public)
        assert wrong.returncode != 0 and "Host key verification failed" in wrong.stderr


def test_the_derivation_is_pinned():
    # The label is part of the stack's contract (docs/runbooks/secrets.md): a change would give every
    # machine a new key, and every step would fail its host-key check.
    assert host_key(SEED, "k8s-prod-master-1").public == (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBlcHn4eJEZkxS7k9hsNqAp10uFfdM1o2JJYvJMiaGdd"
    )

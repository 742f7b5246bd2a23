"""Node preparation script: shellcheck in every shape, idempotence in a scratch root, file contents."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from components.render.audit_policy import POLICY_FILE, render_audit_policy
from components.render.kubeadm import CRI_SOCKET
from components.render.node_prep import (
    CONTAINERD_CONFIG,
    NodePrepArgs,
    NodeRole,
    RegistryTrust,
    containerd_config,
    files,
    render_node_prep,
)
from config.versions import CONTAINERD, KUBERNETES, PAUSE
from tests.render.tools import shellcheck

PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2ZmYWtlLWNhLWZvci10ZXN0cw==\n-----END CERTIFICATE-----\n"
HARBOR = RegistryTrust("harbor.example.com", PEM)
HARBOR_PORT = RegistryTrust("registry.internal:5000", PEM)

VARIANTS = {
    "master": NodePrepArgs(role=NodeRole.MASTER),
    "worker": NodePrepArgs(role=NodeRole.WORKER),
    "master-harbor-ntp": NodePrepArgs(
        role=NodeRole.MASTER, registries=(HARBOR, HARBOR_PORT), ntp_servers=("10.0.0.123",)
    ),
    "worker-air-gapped": NodePrepArgs(
        role=NodeRole.WORKER,
        apt_repository="https://mirror.internal/kubernetes/v1.37/deb/",
        apt_key_url="https://mirror.internal/kubernetes/Release.key",
        artifact_base_url="https://mirror.internal/releases",
        sandbox_image="harbor.example.com/k8s/pause:3.10.2",
        registries=(HARBOR,),
        time_sync_timeout_s=0,
    ),
    "worker-arm64": NodePrepArgs(role=NodeRole.WORKER, arch="arm64"),
}


@pytest.mark.realtool
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_rendered_script_passes_shellcheck(name: str, tmp_path: Path) -> None:
    text = render_node_prep(VARIANTS[name])
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
    script = tmp_path / f"node-prep-{name}.sh"
    script.write_text(text)
    result = shellcheck(script)
    assert result.returncode == 0, result.stdout
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, timeout=30).returncode == 0


def tree(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode & 0o7777)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_files_only(script: Path, root: Path) -> str:
    env = {**os.environ, "PREP_ROOT": str(root), "PREP_FILES_ONLY": "1"}
    result = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_second_run_changes_nothing(name: str, tmp_path: Path) -> None:
    """The file-writing parts run twice against a scratch root: the second run writes nothing."""
    script = tmp_path / "prep.sh"
    script.write_text(render_node_prep(VARIANTS[name]))
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    fstab = "UUID=1 / ext4 defaults 0 1\n/swap.img\tnone\tswap\tsw\t0\t0\n#/old none swap sw 0 0\n"
    (root / "etc" / "fstab").write_text(fstab)

    first = run_files_only(script, root)
    assert "updated  /etc/fstab" in first
    after_first = tree(root)
    second = run_files_only(script, root)
    assert tree(root) == after_first
    assert "updated" not in second and "done: 0 file(s) changed" in second, second
    assert (root / "etc" / "fstab").read_text() == (
        "UUID=1 / ext4 defaults 0 1\n"
        "# disabled by k8s-platform: /swap.img\tnone\tswap\tsw\t0\t0\n"
        "#/old none swap sw 0 0\n"
    )
    expected = {f["path"].lstrip("/") for f in files(VARIANTS[name])} | {"etc/fstab"}
    assert set(after_first) == expected
    # A file edited on the host is put back on the next run (and only that one).
    (root / CONTAINERD_CONFIG.lstrip("/")).write_text("version = 2\n")
    third = run_files_only(script, root)
    assert re.findall(r"updated  (\S+)", third) == [CONTAINERD_CONFIG]


def test_every_write_is_guarded() -> None:
    """Structural idempotence: files only through put (compare first), no appends, no blind edits."""
    for args in VARIANTS.values():
        text = render_node_prep(args)
        assert ">>" not in text
        for line in text.splitlines():
            if re.match(r"^\s*(if )?put ", line):
                assert line.startswith("if put ") or line.endswith("|| true"), line
        assert "sed -i" in text and 'grep -Eq "$pattern" "$fstab"' in text  # the fstab edit is guarded
        assert text.count("apt-get update") == 2  # only where something is missing


def test_containerd_config_uses_systemd_cgroups_and_the_pinned_pause_image() -> None:
    config = tomllib.loads(containerd_config(VARIANTS["master"]))
    assert config["version"] == 3
    runc = config["plugins"]["io.containerd.cri.v1.runtime"]["containerd"]["runtimes"]["runc"]["options"]
    assert runc == {"SystemdCgroup": True}
    images = config["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == f"registry.k8s.io/pause:{PAUSE.version}"
    assert images["registry"]["config_path"] == "/etc/containerd/certs.d"
    mirrored = tomllib.loads(containerd_config(VARIANTS["worker-air-gapped"]))
    assert mirrored["plugins"]["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"].startswith(
        "harbor.example.com/"
    )
    crictl = next(f for f in files(VARIANTS["worker"]) if f["path"] == "/etc/crictl.yaml")
    assert f"runtime-endpoint: {CRI_SOCKET}" in crictl["content"]


def test_harbor_ca_is_trusted_by_containerd_per_registry() -> None:
    written = {f["path"]: f["content"] for f in files(VARIANTS["master-harbor-ntp"])}
    for registry in (HARBOR, HARBOR_PORT):
        directory = f"/etc/containerd/certs.d/{registry.host}"
        hosts = tomllib.loads(written[f"{directory}/hosts.toml"])
        assert hosts["server"] == f"https://{registry.host}"
        assert hosts["host"][f"https://{registry.host}"]["ca"] == f"{directory}/ca.crt"
        assert written[f"{directory}/ca.crt"] == PEM
    assert "/usr/local/share/ca-certificates/k8s-platform-registry.internal_5000.crt" in written


def test_packages_are_pinned_held_and_role_specific() -> None:
    version = f"{KUBERNETES.version}-1.1"
    master, worker = render_node_prep(VARIANTS["master"]), render_node_prep(VARIANTS["worker"])
    assert f"local want={version} " in master and "for package in kubeadm kubelet kubectl; do" in master
    assert "apt-mark hold kubeadm kubelet kubectl" in master
    assert "for package in kubeadm kubelet; do" in worker and "kubectl" not in worker.split("kubernetes_packages()")[1]
    minor = ".".join(KUBERNETES.version.split(".")[:2])
    assert f"https://pkgs.k8s.io/core:/stable:/v{minor}/deb/ /" in master
    assert "change versions with docs/runbooks/upgrade.md" in master  # no silent upgrade
    # Masters get the audit policy the apiserver mounts; workers do not.
    assert render_audit_policy() in master and POLICY_FILE not in worker


def test_release_files_come_from_upstream_or_the_mirror_with_checksums() -> None:
    upstream = render_node_prep(VARIANTS["worker"])
    c = CONTAINERD.version
    assert (
        f"https://github.com/containerd/containerd/releases/download/v{c}/containerd-{c}-linux-amd64.tar.gz" in upstream
    )
    assert f"containerd-{c}-linux-amd64.tar.gz.sha256sum" in upstream and "sha256sum --check" in upstream
    mirrored = render_node_prep(VARIANTS["worker-air-gapped"])
    assert "github.com" not in mirrored and "pkgs.k8s.io" not in mirrored
    assert f"https://mirror.internal/releases/containerd-{c}-linux-amd64.tar.gz" in mirrored
    assert (
        "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://mirror.internal/kubernetes/v1.37/deb/ /"
        in mirrored
    )
    assert "chronyc waitsync" not in mirrored and "chronyc waitsync 12 0.5" in upstream
    assert "runc.arm64" in render_node_prep(VARIANTS["worker-arm64"])


def test_no_nscd_on_nodes() -> None:
    """The blueprint's nscd belongs in application images (module docstring), not on the hosts."""
    assert all("nscd" not in render_node_prep(a) for a in VARIANTS.values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"apt_repository": "https://mirror/deb"}, "must end with '/'"),
        ({"apt_repository": "ftp://mirror/deb/"}, "http"),
        ({"artifact_base_url": "https://mirror/$(reboot)"}, "http"),
        ({"kubernetes_version": "1.37"}, "X.Y.Z"),
        ({"ntp_servers": ("ntp.example.com",)}, "IPv4"),
        ({"arch": "s390x"}, "amd64 or arm64"),
        ({"registries": (HARBOR, HARBOR)}, "twice"),
        ({"sandbox_image": "pause; rm -rf /"}, "image reference"),
    ],
)
def test_invalid_args_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        NodePrepArgs(role=NodeRole.WORKER, **kwargs)


def test_registry_trust_is_checked() -> None:
    with pytest.raises(ValueError, match="host"):
        RegistryTrust("https://harbor.example.com", PEM)
    with pytest.raises(ValueError, match="PEM"):
        RegistryTrust("harbor.example.com", "not a certificate")

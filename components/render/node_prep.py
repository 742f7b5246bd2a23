"""Node preparation: the script that turns a fresh Ubuntu VM into a machine ``kubeadm`` accepts.

One bash script per role, pushed over SSH and run as root before ``kubeadm init``/``join``. It
follows kubeadm's install guide (https://kubernetes.io/docs/setup/production-environment/tools/
kubeadm/install-kubeadm/) and container-runtime prerequisites (https://kubernetes.io/docs/setup/
production-environment/container-runtimes/):

* kernel modules ``overlay`` and ``br_netfilter``, forwarding and bridge sysctls; swap off and
  out of ``/etc/fstab`` (the kubelet refuses to start with swap by default);
* chrony: the blueprint's TLS troubleshooting starts with clock skew, so the script waits for the
  clock to be synchronised (certificates "not yet valid" break joins);
* containerd, runc and the CNI reference plugins from the pinned upstream release files
  (``config/versions.py``: Kubernetes 1.37 wants containerd 2.3/2.4, Ubuntu 22.04 has 1.7),
  config version 3 with ``SystemdCgroup = true`` and the pause image kubeadm expects;
* trust for the Harbor registry's own CA under ``/etc/containerd/certs.d/<registry>/`` (the
  blueprint's self-signed registry note; containerd's hosts.toml format,
  https://github.com/containerd/containerd/blob/main/docs/hosts.md), and in the system store;
* kubeadm, kubelet (and kubectl on masters) pinned with ``apt-mark hold`` from pkgs.k8s.io or an
  internal mirror (air-gapped sites);
* on masters, the audit policy file and log directory the kube-apiserver mounts.

**nscd.** The blueprint's "容器内打开nscd" is about containers: a cache inside the application
image in front of the pod's resolver. A host nscd cannot serve pods (their resolv.conf points to
CoreDNS and the host's nscd socket is not in their mount namespace) and Ubuntu's host already
caches in systemd-resolved, so nodes get no nscd; the runbook's DNS section covers the image side.

**Idempotent.** Every file goes through ``put`` (write only when the content or mode differs),
every package install and download is guarded by a version check, and services restart only when
their configuration changed: a second run prints only "ok" lines. ``PREP_ROOT`` (a directory) and
``PREP_FILES_ONLY=1`` let the tests run the file-writing parts against a scratch root.

An installed kubelet of another version is an error, not an upgrade: minor upgrades follow
docs/runbooks/upgrade.md (control plane first, one minor at a time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from components.render._common import check_ipv4, render
from components.render.audit_policy import LOG_DIR, POLICY_FILE, render_audit_policy
from config.formats import node_source_problems, registry_problem
from config.versions import CNI_PLUGINS, CONTAINERD, KUBERNETES, PAUSE, RUNC

CONTAINERD_CONFIG = "/etc/containerd/config.toml"
CERTS_D = "/etc/containerd/certs.d"
HEREDOC = "K8S_PLATFORM_FILE"
"""Delimiter of the embedded files; no file content may contain it on a line of its own."""


class NodeRole(StrEnum):
    """Which script: masters also get kubectl, the audit policy and its log directory."""

    MASTER = "master"
    WORKER = "worker"


@dataclass(frozen=True)
class RegistryTrust:
    """A registry with its own CA (Harbor), trusted by containerd and the system store."""

    host: str
    """Registry host as images name it, with ``:port`` if not 443 (e.g. ``harbor.example.com``)."""
    ca_pem: str
    """The registry's CA certificate, PEM (one certificate). Public: not a secret."""

    def __post_init__(self) -> None:
        problem = registry_problem(self.host, self.ca_pem)  # the same check as the config's rule
        if problem:
            raise ValueError(f"RegistryTrust.{problem[0]}: {problem[1]}")

    @property
    def slug(self) -> str:
        """File-name form of the host (``:`` is not wanted in /usr/local/share/ca-certificates)."""
        return self.host.replace(":", "_")


@dataclass(frozen=True)
class NodePrepArgs:
    """Everything the node preparation script of one role needs."""

    role: NodeRole
    """master or worker."""
    kubernetes_version: str = KUBERNETES.version
    """kubeadm/kubelet/kubectl version (config/versions.py)."""
    package_revision: str = "1.1"
    """Debian revision of the pkgs.k8s.io packages (``1.37.2-1.1``)."""
    apt_repository: str | None = None
    """Base URL of the Kubernetes apt repository (ending in ``/``); None: pkgs.k8s.io for the minor.
    An internal mirror of that repository for air-gapped sites."""
    apt_key_url: str | None = None
    """URL of the repository's signing key (ASCII-armoured); None: ``<apt_repository>Release.key``."""
    artifact_base_url: str | None = None
    """Mirror directory holding the containerd, runc and CNI release files (and their checksum
    files) under their upstream file names; None: the upstream GitHub release URLs."""
    containerd_version: str = CONTAINERD.version
    """containerd release."""
    runc_version: str = RUNC.version
    """runc release."""
    cni_plugins_version: str = CNI_PLUGINS.version
    """CNI reference plugins release."""
    sandbox_image: str = f"registry.k8s.io/pause:{PAUSE.version}"
    """Pod sandbox image (a Harbor proxy path on air-gapped sites)."""
    registries: tuple[RegistryTrust, ...] = ()
    """Registries with their own CA (the blueprint's Harbor)."""
    ntp_servers: tuple[str, ...] = ()
    """NTP servers (IPv4) for chrony; empty: the distribution's default pool."""
    time_sync_timeout_s: int = 120
    """How long to wait for chrony to synchronise before giving up (0: do not wait)."""
    arch: str = "amd64"
    """CPU architecture of the release files (amd64 or arm64)."""

    def __post_init__(self) -> None:
        for name in ("kubernetes_version", "containerd_version", "runc_version", "cni_plugins_version"):
            if not re.match(r"^[0-9]+\.[0-9]+\.[0-9]+$", getattr(self, name)):
                raise ValueError(f"NodePrepArgs.{name}: {getattr(self, name)!r} is not X.Y.Z")
        if not re.match(r"^[0-9a-z.+~]+$", self.package_revision):
            raise ValueError(f"NodePrepArgs.package_revision: {self.package_revision!r} is not a Debian revision")
        sources = (self.apt_repository, self.apt_key_url, self.artifact_base_url, self.sandbox_image)
        for name, problem in node_source_problems(*sources)[:1]:  # the same checks as the config's rule
            raise ValueError(f"NodePrepArgs.{name}: {problem}")
        if len({r.host for r in self.registries}) != len(self.registries):
            raise ValueError("NodePrepArgs.registries: a host appears twice")
        for server in self.ntp_servers:
            check_ipv4(server, "NodePrepArgs.ntp_servers")
        if self.time_sync_timeout_s < 0:
            raise ValueError("NodePrepArgs.time_sync_timeout_s: must be >= 0")
        if self.arch not in ("amd64", "arm64"):
            raise ValueError(f"NodePrepArgs.arch: {self.arch!r} is not amd64 or arm64")

    @property
    def minor(self) -> str:
        return ".".join(self.kubernetes_version.split(".")[:2])

    @property
    def repository(self) -> str:
        return self.apt_repository or f"https://pkgs.k8s.io/core:/stable:/v{self.minor}/deb/"

    def artifacts(self) -> list[dict[str, str]]:
        """The release files: name, version, URL, URL of the published checksum, install step."""
        a, c, r, n = self.arch, self.containerd_version, self.runc_version, self.cni_plugins_version
        upstream = {
            "containerd": f"https://github.com/containerd/containerd/releases/download/v{c}",
            "runc": f"https://github.com/opencontainers/runc/releases/download/v{r}",
            "cni": f"https://github.com/containernetworking/plugins/releases/download/v{n}",
        }
        files = {
            # (file, checksum file): the names each project publishes next to its release.
            "containerd": (f"containerd-{c}-linux-{a}.tar.gz", f"containerd-{c}-linux-{a}.tar.gz.sha256sum"),
            "runc": (f"runc.{a}", "runc.sha256sum"),
            "cni": (f"cni-plugins-linux-{a}-v{n}.tgz", f"cni-plugins-linux-{a}-v{n}.tgz.sha256"),
        }
        versions = {"containerd": c, "runc": r, "cni": n}
        out = []
        for name, (file, checksum) in files.items():
            base = self.artifact_base_url.rstrip("/") if self.artifact_base_url else upstream[name]
            out.append(
                {
                    "name": name,
                    "version": versions[name],
                    "file": file,
                    "url": f"{base}/{file}",
                    "checksum_url": f"{base}/{checksum}",
                }
            )
        return out


def containerd_config(args: NodePrepArgs) -> str:
    """``/etc/containerd/config.toml``, config version 3: only what differs from containerd's defaults."""
    return f"""version = 3

[plugins.'io.containerd.cri.v1.images']
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    # The sandbox image kubeadm {args.minor} expects; pinned so image GC never removes it.
    sandbox = '{args.sandbox_image}'
  [plugins.'io.containerd.cri.v1.images'.registry]
    # Per-registry hosts.toml and CA files (the Harbor trust below).
    config_path = '{CERTS_D}'

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  # Same cgroup driver as the kubelet (KubeletConfiguration cgroupDriver: systemd).
  SystemdCgroup = true
"""


def hosts_toml(registry: RegistryTrust) -> str:
    return (
        f'server = "https://{registry.host}"\n\n'
        f'[host."https://{registry.host}"]\n'
        '  capabilities = ["pull", "resolve", "push"]\n'
        f'  ca = "{CERTS_D}/{registry.host}/ca.crt"\n'
    )


def _file(step: str, path: str, content: str, on_change: str = "", mode: str = "0644") -> dict[str, str]:
    """One file of the script: written at ``step``; ``on_change`` names the action a change triggers."""
    if not content.endswith("\n") or any(line == HEREDOC for line in content.splitlines()):
        raise ValueError(f"{path}: content must end with a newline and not contain the line {HEREDOC}")
    return {"step": step, "path": path, "content": content, "on_change": on_change, "mode": mode}


def files(args: NodePrepArgs) -> list[dict[str, str]]:
    """Every file the script writes, in order."""
    socket = "unix:///run/containerd/containerd.sock"
    keyring = "/etc/apt/keyrings/kubernetes-apt-keyring.gpg"
    out = [
        _file("kernel", "/etc/modules-load.d/k8s-platform.conf", "overlay\nbr_netfilter\n"),
        _file("kernel", "/etc/sysctl.d/90-k8s-platform.conf", SYSCTLS),
        _file("runtime", CONTAINERD_CONFIG, containerd_config(args), on_change="containerd"),
        _file("runtime", "/etc/systemd/system/containerd.service", CONTAINERD_UNIT, on_change="containerd-unit"),
        # crictl is how the runbooks inspect containers on a node.
        _file("runtime", "/etc/crictl.yaml", f"runtime-endpoint: {socket}\nimage-endpoint: {socket}\n"),
        _file("packages", "/etc/apt/sources.list.d/kubernetes.list",
              f"deb [signed-by={keyring}] {args.repository} /\n", on_change="apt"),
    ]  # fmt: skip
    if args.ntp_servers:
        sources = "".join(f"server {s} iburst\n" for s in args.ntp_servers)
        out.append(_file("time", "/etc/chrony/sources.d/k8s-platform.sources", sources, on_change="chrony"))
    for registry in args.registries:
        ca = registry.ca_pem.strip() + "\n"
        out += [
            _file("registry", f"{CERTS_D}/{registry.host}/hosts.toml", hosts_toml(registry)),
            _file("registry", f"{CERTS_D}/{registry.host}/ca.crt", ca),
            _file("registry", f"/usr/local/share/ca-certificates/k8s-platform-{registry.slug}.crt", ca, "ca-store"),
        ]
    if args.role == NodeRole.MASTER:
        out.append(_file("master", POLICY_FILE, render_audit_policy(), mode="0600"))
    return out


SYSCTLS = """\
# Pods' traffic crosses Linux bridges and is routed between interfaces (kubeadm prerequisites).
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
# Log shippers (filebeat) and controllers watch many files; Ubuntu's 128 instances run out.
fs.inotify.max_user_instances = 8192
fs.inotify.max_user_watches = 524288
"""

CONTAINERD_UNIT = """\
# containerd's upstream unit (containerd.service in the release source), binary in /usr/local/bin.
[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target dbus.service

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
"""


def render_node_prep(args: NodePrepArgs) -> str:
    """The preparation script for ``args.role`` (bash, run as root, idempotent)."""
    packages = ["kubeadm", "kubelet"] + (["kubectl"] if args.role == NodeRole.MASTER else [])
    return render(
        "node-prep.sh.j2",
        "components/render/node_prep.py",
        args=args,
        files=files(args),
        heredoc=HEREDOC,
        packages=packages,
        package_version=f"{args.kubernetes_version}-{args.package_revision}",
        apt_key_url=args.apt_key_url or f"{args.repository}Release.key",
        artifacts=args.artifacts(),
        audit_log_dir=LOG_DIR,
        master=args.role == NodeRole.MASTER,
    )

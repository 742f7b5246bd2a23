"""The SSH steps' convention, and the shell steps of the API load balancers (pure text, no Pulumi).

Every SSH step of the program (endpoint, etcd, kubeadm) is one ``components.ssh.ssh_step`` and
follows the one convention below; tests run every script through shellcheck. The lb machines'
steps are here, the etcd members' in etcd_scripts.py, kubeadm's in kubeadm_scripts.py.

- **Secrets travel on stdin only**, as a secret Output: never in a command line (``create`` and
  ``delete`` are kept in the state in clear and show in ``ps`` on the host), never printed.
- **What a step runs** is a script whose values are ``readonly`` assignments at its top
  (``script``), run as root by ``sudo -n`` (fails at once instead of waiting for a password):
  - a script that holds no secret is the command line itself (``command_line``; the endpoint's
    and etcd's steps), visible in ``pulumi preview --diff``; its files arrive on stdin, one line
    per file, ``<mode> <owner> <path> <base64 content>`` (``payload``), staged in a private tmpfs
    directory under /run (umask 077, removed on exit), validated, then installed atomically;
  - a script that must embed secrets (kubeadm's configurations carry tokens and keys) is itself
    the stdin, stored root-only and run from the file (``kubeadm_scripts.remote_script_command``).
- **What re-runs a step**: pulumi-command runs ``create`` again when any input changes and no
  ``update`` is set (https://www.pulumi.com/registry/packages/command/api-docs/remote/command/).
  The values in the script, the stdin and ``triggers`` are those inputs; every per-machine step
  carries the machine's instance ID among them, so a rebuilt machine is configured again.
  ``environment`` is not used: pulumi-command sends it with SSH ``setenv``, which OpenSSH drops
  unless ``AcceptEnv`` allows the name.
- **Logging and outputs**: a step whose output may hold a secret is ``secret=True``: nothing of
  it is logged and its stdout/stderr are secret Outputs; its scripts send tool output that could
  hold one (kubeadm's join command, ``keepalived -t``) to a root-only log on the machine instead.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_MODE = re.compile(r"^0[0-7]{3}$")
_OWNER = re.compile(r"^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$")
_PATH = re.compile(r"^/[A-Za-z0-9._/@+-]+$")


@dataclass(frozen=True)
class RemoteFile:
    """One file a step installs."""

    path: str
    """Absolute destination path."""
    content: str
    """Text of the file (may be secret: then the whole payload is)."""
    mode: str = "0644"
    """Octal permission bits, e.g. ``0600`` for keys (default 0644)."""
    owner: str = "root:root"
    """``user:group`` owning the file (default root:root)."""

    def __post_init__(self) -> None:
        if not _PATH.match(self.path) or "//" in self.path or "/../" in self.path:
            raise ValueError(f"RemoteFile.path: {self.path!r} must be an absolute path of [A-Za-z0-9._/@+-]")
        if not _MODE.match(self.mode):
            raise ValueError(f"RemoteFile.mode: {self.mode!r} is not an octal mode like 0644")
        if not _OWNER.match(self.owner):
            raise ValueError(f"RemoteFile.owner: {self.owner!r} is not user:group")


def payload(files: Iterable[RemoteFile]) -> str:
    """The stdin of a step: one ``<mode> <owner> <path> <base64>`` line per file, in order."""
    lines = [f"{f.mode} {f.owner} {f.path} {base64.b64encode(f.content.encode()).decode('ascii')}" for f in files]
    return "".join(line + "\n" for line in lines)


def script(body: str, values: Mapping[str, str | int]) -> str:
    """``body`` preceded by strict mode and one ``readonly NAME=value`` line per value (quoted)."""
    lines = ["set -euo pipefail", "umask 077"]
    for name, value in values.items():
        if not _NAME.match(name):
            raise ValueError(f"script: {name!r} is not an upper-case shell variable name")
        lines.append(f"readonly {name}={shlex.quote(str(value))}")
    return "\n".join(lines) + "\n" + body


def command_line(text: str) -> str:
    """Run ``text`` as root with bash; stdin passes through sudo to the script."""
    return "sudo -n /bin/bash -c " + shlex.quote(text)


# --------------------------------------------------------------------------- shared snippets

STAGE_FILES = r"""
# Stage the payload (stdin) in a private directory on tmpfs (/run: never written to disk);
# nothing else reads stdin. STAGE_BASE only exists for tests.
STAGE=$(mktemp -d "${STAGE_BASE:-/run}/k8s-platform.XXXXXX")
trap 'rm -rf -- "$STAGE"' EXIT
cat > "$STAGE/payload"

# Decode every file of the payload to $STAGE/root/<path> and list it in $STAGE/files.
stage_payload() {
  local mode owner path data
  : > "$STAGE/files"
  while read -r mode owner path data; do
    [[ -n "$path" ]] || continue
    mkdir -p -- "$STAGE/root$(dirname -- "$path")"
    printf '%s' "$data" | base64 -d > "$STAGE/root$path"
    printf '%s %s %s\n' "$mode" "$owner" "$path" >> "$STAGE/files"
  done < "$STAGE/payload"
}

# Install every staged file atomically: a temporary name in its directory, owner and mode set
# before the rename, so no reader ever sees a partial file or a key with loose permissions.
commit_payload() {
  local mode owner path tmp
  while read -r mode owner path; do
    mkdir -p -- "$(dirname -- "$path")"
    tmp=$(mktemp "$(dirname -- "$path")/.k8s-platform.XXXXXX")
    cp -- "$STAGE/root$path" "$tmp"
    chown -- "$owner" "$tmp"
    chmod -- "$mode" "$tmp"
    mv -f -- "$tmp" "$path"
  done < "$STAGE/files"
}
"""

"""Defines ``STAGE`` (the staged stdin) and ``stage_payload``/``commit_payload``; steps with files start with it."""

APT_INSTALL = r"""
# A fresh machine's cloud-init may still hold the dpkg lock; wait for it, then for the lock.
apt_install() {
  if command -v cloud-init >/dev/null 2>&1; then cloud-init status --wait >/dev/null 2>&1 || true; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@"
}
"""

"""Defines ``apt_install PACKAGE...`` (waits for cloud-init and the dpkg lock)."""

# --------------------------------------------------------------------------- API load balancers

LB_PREPARE = (
    APT_INSTALL
    + r"""
# curl: keepalived's apiserver check asks haproxy (render/keepalived.py); cloud images have it.
apt_install haproxy keepalived curl
# haproxy binds the VIP on the BACKUP machine too, which does not hold the address until a
# failover (render/haproxy.py); without this the bind fails there.
printf 'net.ipv4.ip_nonlocal_bind = 1\n' > /etc/sysctl.d/90-k8s-platform-haproxy.conf
chmod 0644 /etc/sysctl.d/90-k8s-platform-haproxy.conf
sysctl -q -p /etc/sysctl.d/90-k8s-platform-haproxy.conf
echo "haproxy and keepalived installed on $NODE (instance $INSTANCE_ID)"
"""
)
"""Install haproxy + keepalived (Ubuntu packages, versions.HAPROXY/KEEPALIVED), set ip_nonlocal_bind.
Values: NODE, INSTANCE_ID (a rebuilt machine runs it again)."""

HAPROXY_APPLY = (
    STAGE_FILES
    + r"""
stage_payload
# Validate before anything is replaced: a broken file never reaches the running haproxy.
haproxy -c -q -f "$STAGE/root$CONFIG"
commit_payload
systemctl enable --now haproxy
# Reload (haproxy -sf: new process takes the sockets, old one drains) for a changed master list.
systemctl reload haproxy
echo "haproxy configuration applied on $NODE (instance $INSTANCE_ID)"
"""
)
"""Push ``haproxy.cfg`` (payload), ``haproxy -c``, then enable and reload. Values: NODE,
INSTANCE_ID, CONFIG (its path)."""

KEEPALIVED_APPLY = (
    STAGE_FILES
    + r"""
stage_payload
# No configured interface: the default route's (what carries the node subnet on a one-NIC cloud
# machine). The rendered file includes INTERFACE_FILE for it (keepalived parameter substitution).
if [[ -z "$INTERFACE" ]]; then
  detected=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i + 1); exit}}')
  if [[ -z "$detected" ]]; then
    echo "no IPv4 default route on $NODE to detect the VRRP interface from; set apiEndpointOptions.interface" >&2
    exit 1
  fi
  mkdir -p -- "$(dirname -- "$INTERFACE_FILE")"
  printf '%s\n' "\$K8S_PLATFORM_INTERFACE=$detected" >"$INTERFACE_FILE.tmp"
  chmod 0644 -- "$INTERFACE_FILE.tmp"
  mv -f -- "$INTERFACE_FILE.tmp" "$INTERFACE_FILE"
  echo "VRRP interface on $NODE: $detected (its default route)"
fi
# keepalived -t: config test, non-zero on an error (an unknown interface included). Its messages
# (line numbers and keywords) go to a root-only file on the machine, not to this command's output,
# which pulumi-command keeps in the state: the file being tested holds the VRRP password.
if ! keepalived --config-test="$CHECK_LOG" -f "$STAGE/root$CONFIG"; then
  echo "keepalived -t rejected the rendered configuration; its messages are in $CHECK_LOG on $NODE" >&2
  exit 1
fi
commit_payload
systemctl enable --now keepalived
systemctl reload keepalived
echo "keepalived configuration applied on $NODE (instance $INSTANCE_ID)"
"""
)
"""Push ``keepalived.conf`` (payload, secret: VRRP password), ``keepalived -t``, enable, reload.
Values: NODE, INSTANCE_ID, CONFIG (its path), CHECK_LOG (root-only file for the test's messages),
INTERFACE (configured name, or empty: detect it into INTERFACE_FILE, which the config includes)."""

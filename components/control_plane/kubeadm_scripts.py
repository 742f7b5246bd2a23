"""The shell steps of the kubeadm bootstrap, rendered as text: pure functions, no Pulumi import.

The KubeadmCluster component (``kubeadm_cluster.py``) runs each of them over SSH with
pulumi-command, following the steps' one convention (remote_scripts.py). What is particular here:

* **The script is the stdin.** kubeadm's configurations embed the bootstrap token and the
  certificate key, so the whole script is the (secret) stdin rather than the command line.
  ``remote_script_command`` stores it root-only and runs it from the file, because with
  ``bash -s`` every program in the script that reads stdin (apt, kubeadm) would swallow the rest
  of the script (POSIX ``sh``, "Input Files").
* **No secret reaches stdout or stderr.** kubeadm prints the join command (token, CA hash,
  certificate key) after init; its output goes to a root-only log under ``/var/log/k8s-platform``
  and, when it fails, only the log's tail is printed, with tokens and hex keys masked.
* **Idempotent.** ``kubeadm init`` runs once per cluster (kubeadm_masters.py: not on a rebuilt first
  master), ``kubeadm join`` only where ``/etc/kubernetes/kubelet.conf`` is missing; a re-run on a running
  node re-applies what kubeadm supports instead (the uploaded configuration and the kubelet's
  configuration, https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-reconfigure/).
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field

import yaml

from components.render._common import GENERATED_HEADER, check_name
from components.render.kubeadm import (
    BootstrapSecrets,
    ClusterArgs,
    kubelet_configuration,
    render_join_config,
)
from components.render.kubeadm_nodes import ADMIN_KUBECONFIG, KubernetesNode

MODULE = "components/control_plane/kubeadm_scripts.py"
SCRIPT_DIR = "/var/lib/k8s-platform"
"""Where the steps' scripts are stored (root only) while they run; node-prep.sh stays for re-runs."""
LOG_DIR = "/var/log/k8s-platform"
"""kubeadm's full output per step, root only (it may print tokens and keys)."""
INIT_CONFIG = "/etc/kubernetes/k8s-platform/kubeadm-init.yaml"
"""The rendered init configuration, kept on the first master (mode 0600) for later
``kubeadm init phase ... --config`` runs (docs/runbooks/upgrade.md section 8)."""
KUBELET_KUBECONFIG = "/etc/kubernetes/kubelet.conf"
"""Written by ``kubeadm join``: its presence means the node has joined."""
JOIN_TOKEN_TTL = "30m"
"""Lifetime of each join's bootstrap token: created right before that join, dead soon after."""
INSTANCE_ANNOTATION = "k8s-platform/openstack-instance-id"
"""Node annotation naming the Nova instance behind the Node object (for operators and audits)."""
HEREDOC = "K8S_PLATFORM_FILE"
_KUBECTL = f"kubectl --kubeconfig {ADMIN_KUBECONFIG}"


@dataclass(frozen=True)
class EtcdClientFiles:
    """The external etcd's CA and the apiserver's client certificate (``apiserver-etcd-client``)."""

    ca_cert: str
    """etcd's CA certificate, PEM (public)."""
    client_cert: str
    """The apiserver's etcd client certificate, PEM (public)."""
    client_key: str = field(repr=False)
    """Its private key, PEM: secret, written with mode 0600."""


def remote_script_command(name: str, keep: bool = False) -> str:
    """The SSH command that reads a script from stdin, stores it root-only and runs it as root.

    ``keep``: leave ``/var/lib/k8s-platform/<name>.sh`` for a manual re-run (scripts without
    secrets only); otherwise it is removed whatever the outcome.
    """
    check_name(name, "remote_script_command.name")
    path = f"{SCRIPT_DIR}/{name}.sh"
    # A fresh cloud image is still busy with cloud-init (and its apt runs) when SSH first answers:
    # wait for it, and let every apt-get of the step wait for the dpkg lock instead of failing
    # (APT_CONFIG is read in addition to /etc/apt/apt.conf*, apt.conf(5)).
    wait = "if command -v cloud-init >/dev/null; then cloud-init status --wait >/dev/null || true; fi"
    apt = f"{SCRIPT_DIR}/apt-lock-timeout.conf"
    run = f"APT_CONFIG={apt} bash {path} </dev/null"
    if not keep:
        run = f'{{ {run}; rc=$?; rm -f {path}; exit "$rc"; }}'
    setup = f"umask 077 && install -d -m 0700 {SCRIPT_DIR} && cat >{path} && {wait}"
    return "sudo -n bash -c " + shlex.quote(f"{setup} && echo 'DPkg::Lock::Timeout \"600\";' >{apt} && {run}")


def _root_command(script: str) -> str:
    """A short script (no secrets in it) as one ``sudo bash -c`` command line."""
    return "sudo -n bash -c " + shlex.quote("set -euo pipefail\n" + script.strip() + "\n")


def _preamble(step: str, what: str) -> str:
    return f"""#!/usr/bin/env bash
# {GENERATED_HEADER.format(module=MODULE)}
# {what}
set -euo pipefail
umask 077
STEP={shlex.quote(step)}
LOG={LOG_DIR}/$STEP.log
install -d -m 0700 {LOG_DIR}

say() {{ printf '==> %s: %s\\n' "$STEP" "$*"; }}
fail() {{
  printf '%s: FAILED: %s\\n' "$STEP" "$*" >&2
  exit 1
}}

# Tokens, certificate keys and CA hashes never leave the host in clear.
mask() {{ sed -E -e 's/[a-z0-9]{{6}}\\.[a-z0-9]{{16}}/<token>/g' -e 's/[a-f0-9]{{64}}/<hex>/g'; }}

# logged COMMAND...: output to the root-only log; on failure its masked tail, then stop.
logged() {{
  printf '\\n### %s %s\\n' "$(date -Is)" "$1 ${{2:-}} ${{3:-}}" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    tail -n 40 "$LOG" | mask >&2
    fail "$1 ${{2:-}} ${{3:-}} failed; full log: $LOG on $(hostname)"
  fi
}}

# put PATH MODE <content: writes PATH when its content or mode differ; succeeds only when it wrote.
put() {{
  local path=$1 mode=$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f "$path" ]] && cmp -s "$tmp" "$path" && [[ "$(stat -c %a "$path")" == "${{mode#0}}" ]]; then
    rm -f "$tmp"
    return 1
  fi
  install -D -m "$mode" "$tmp" "$path"
  rm -f "$tmp"
  say "updated  $path"
}}

# The kubelet's configuration comes from the kube-system/kubelet-config ConfigMap; kubeadm rewrites
# /var/lib/kubelet/config.yaml from it and the kubelet restarts only when that file changed.
refresh_kubelet() {{
  local kubeconfig={ADMIN_KUBECONFIG} before after
  [[ -f "$kubeconfig" ]] || kubeconfig={KUBELET_KUBECONFIG}
  before=$(sha256sum /var/lib/kubelet/config.yaml 2>/dev/null || true)
  logged kubeadm upgrade node phase kubelet-config --kubeconfig "$kubeconfig"
  after=$(sha256sum /var/lib/kubelet/config.yaml)
  if [[ "$before" != "$after" ]]; then
    say "restart  kubelet (configuration changed)"
    systemctl restart kubelet
  else
    say "ok       kubelet configuration"
  fi
}}
"""


def _put(path: str, mode: str, content: str) -> str:
    if not content.endswith("\n"):
        content += "\n"
    if any(line == HEREDOC for line in content.splitlines()):
        raise ValueError(f"{path}: content contains the line {HEREDOC}")
    return f"put {shlex.quote(path)} {mode} <<'{HEREDOC}' || true\n{content}{HEREDOC}\n"


def _etcd_files(cluster: ClusterArgs, etcd: EtcdClientFiles | None) -> str:
    if cluster.etcd is None:
        if etcd is not None:
            raise ValueError("etcd client files given, but the cluster uses kubeadm's stacked etcd")
        return ""
    if etcd is None:
        raise ValueError("the cluster uses an external etcd: its CA and client certificate are required")
    e = cluster.etcd
    return (
        "# The apiserver's client certificate for the external etcd (kubeadm's external etcd paths).\n"
        + _put(e.ca_file, "0644", etcd.ca_cert)
        + _put(e.cert_file, "0644", etcd.client_cert)
        + _put(e.key_file, "0600", etcd.client_key)
    )


def node_metadata_commands(node: KubernetesNode) -> list[str]:
    """``kubectl label``/``taint --overwrite`` commands giving ``node`` its pool's labels and taints.

    At registration the kubelet sets the labels it may (``--node-labels``) and the taints; the
    others (``node-role.kubernetes.io/*``) only an administrator can set. Re-applying all of them
    from a master also brings a changed pool's values to a running node (the kubelet applies its
    flags at registration only). Removed labels and taints stay: docs/runbooks/upgrade.md section 8.
    """
    commands = []
    if node.labels:
        labels = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(node.labels.items()))
        commands.append(f"{_KUBECTL} label node --overwrite {node.name} {labels}")
    for taint in node.taints:
        spec = f"{taint.key}={taint.value}:{taint.effect}" if taint.value else f"{taint.key}:{taint.effect}"
        commands.append(f"{_KUBECTL} taint node --overwrite {node.name} {shlex.quote(spec)}")
    return commands


def _metadata(node: KubernetesNode) -> str:
    commands = node_metadata_commands(node)
    if not commands:
        return ""
    return f'say "labels and taints of {node.name}"\n' + "".join(f"{c} >/dev/null\n" for c in commands)


def kubelet_config_digest(cluster: ClusterArgs) -> str:
    """sha256 of the KubeletConfiguration every node gets: a change re-runs the join steps."""
    text = yaml.safe_dump(kubelet_configuration(cluster.kubelet), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def render_join_script(
    cluster: ClusterArgs,
    node: KubernetesNode,
    secrets: BootstrapSecrets,
    control_plane: bool,
    etcd: EtcdClientFiles | None = None,
) -> str:
    """Run on a joining node: ``kubeadm join`` once; later runs refresh the kubelet's configuration.

    Holds the join token and CA hash (and, for a master, the certificate key and etcd client key).
    """
    config = render_join_config(cluster, node, secrets, control_plane)
    if any(line == HEREDOC for line in config.splitlines()):
        raise ValueError(f"render_join_script: the join configuration contains the line {HEREDOC}")
    if not control_plane and etcd is not None:
        raise ValueError("render_join_script: only masters get the etcd client certificate")
    role = "control-plane" if control_plane else "worker"
    return (
        _preamble("kubeadm-join", f"{role} join of {node.name}. Holds secrets.")
        + f"\n# KubeletConfiguration sha256 {kubelet_config_digest(cluster)}:\n"
        + "# when it changes, this script runs again and the already-joined branch refreshes the kubelet.\n"
        + (_etcd_files(cluster, etcd) if control_plane else "")
        + f"""
if [[ -f {KUBELET_KUBECONFIG} ]]; then
  say "ok       joined already"
  refresh_kubelet
else
  config=$(mktemp)
  trap 'rm -f "$config"' EXIT
  cat >"$config" <<'{HEREDOC}'
{config}{HEREDOC}
  say "kubeadm join as {role} (log: $LOG)"
  logged kubeadm join --config "$config"
fi
"""
        + (_metadata(node) if control_plane else "")
        + 'say "done"\n'
    )


def render_join_secrets_command(node_name: str, control_plane: bool) -> str:
    """Run on the first master right before ``node_name`` joins: a fresh token (and certificate key).

    Prints ``token=``, ``ca-cert-hash=`` and, for a control-plane join, ``certificate-key=``
    lines: the command's stdout is a secret. The token lives ``JOIN_TOKEN_TTL``; the certificate
    key re-encrypts the ``kubeadm-certs`` Secret (which kubeadm deletes after two hours), so the
    previous key stops working and control-plane joins must not overlap.
    """
    check_name(node_name, "render_join_secrets_command.node_name")
    script = token_script(f"k8s-platform: join of {node_name}")
    if control_plane:
        # `--certificate-key` cannot be mixed with `--config`, and only the config names the external
        # etcd's files that must travel too: a copy of the init config with a new key, in the env.
        script += f"""
KEY=$(kubeadm certs certificate-key)
export KEY
config=$(mktemp)
trap 'rm -f "$config"' EXIT
awk '/^certificateKey: / {{ print "certificateKey: " ENVIRON["KEY"]; n++; next }} {{ print }}
  END {{ exit (n == 1 ? 0 : 1) }}' {INIT_CONFIG} >"$config"
kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config "$config" >/dev/null
printf 'certificate-key=%s\\n' "$KEY"
"""
    return _root_command(script)


def token_script(description: str) -> str:
    """Shell lines creating a ``JOIN_TOKEN_TTL`` token on a master; print ``token=`` and ``ca-cert-hash=``."""
    description = shlex.quote(description)
    return f"""
join=$(kubeadm token create --kubeconfig {ADMIN_KUBECONFIG} --ttl {JOIN_TOKEN_TTL} --description {description} \\
  --print-join-command)
if ! [[ "$join" =~ --token[[:space:]]+([a-z0-9]{{6}}\\.[a-z0-9]{{16}}) ]]; then
  echo "kubeadm token create printed no token" >&2
  exit 1
fi
printf 'token=%s\\n' "${{BASH_REMATCH[1]}}"
if ! [[ "$join" =~ --discovery-token-ca-cert-hash[[:space:]]+(sha256:[a-f0-9]{{64}}) ]]; then
  echo "kubeadm token create printed no CA hash" >&2
  exit 1
fi
printf 'ca-cert-hash=%s\\n' "${{BASH_REMATCH[1]}}"
"""


def parse_join_secrets(stdout: str, control_plane: bool) -> BootstrapSecrets:
    """The secrets ``render_join_secrets_command`` printed; errors name the field, never the value."""
    values = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)
    missing = [
        k for k in ("token", "ca-cert-hash") + (("certificate-key",) if control_plane else ()) if k not in values
    ]
    if missing:
        raise ValueError(f"parse_join_secrets: the join-secrets step printed no {', '.join(missing)}")
    return BootstrapSecrets(
        token=values["token"].strip(),
        certificate_key=values.get("certificate-key", "").strip() if control_plane else "",
        ca_cert_hash=values["ca-cert-hash"].strip(),
    )


READ_KUBECONFIG = f"sudo -n cat {ADMIN_KUBECONFIG}"
"""Prints the admin kubeconfig (a secret: the command's stdout is marked secret, never logged)."""


def kubeconfig_with_server(kubeconfig: str, server: str) -> str:
    """``kubeconfig`` with every cluster's ``server`` set to ``server`` (the API endpoint)."""
    document = yaml.safe_load(kubeconfig)
    if not isinstance(document, dict) or not document.get("clusters"):
        raise ValueError("kubeconfig_with_server: not a kubeconfig (no clusters)")
    for cluster in document["clusters"]:
        cluster["cluster"]["server"] = server
    return yaml.safe_dump(document, sort_keys=False)

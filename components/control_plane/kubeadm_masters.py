"""The masters' own steps: ``kubeadm init`` once per cluster, a rebuilt first master's join, a
master's removal. Pure text, no Pulumi import (conventions: remote_scripts.py; the other kubeadm
steps are in kubeadm_scripts.py).

**Init once per cluster.** The first master's steps carry its instance ID, so a rebuilt master 1 (a
rolled image, a lost machine) runs its step again on a fresh disk, where ``admin.conf`` is
missing. Running ``kubeadm init`` there would start a second cluster (new CA, new service-account
keys) on top of the live etcd and take the running one down. So the step decides from the cluster
itself, in this order:

1. ``admin.conf`` present: initialised; re-upload the rendered configuration (as before).
2. A surviving master handed over join material (``render_rejoin_secrets_command``, run on master
   2 whenever master 1's instance changes): the cluster lives on; ``kubeadm join --control-plane``
   with it, like any other master.
3. No material (no other master, or none had joined yet): ``kubeadm init`` only if no cluster
   answers. The probe asks the API endpoint for ``/version`` and etcd for keys under
   ``/registry/`` (kube-apiserver's prefix) through etcd's gRPC gateway with the apiserver's own
   client certificate; a cluster found, or an etcd that does not answer, fails the step instead
   (docs/runbooks/etcd-restore.md, "the only master is lost").

**Removing a master** (a lower ``nodePools.<master pool>.count``, confirmed by the pool's
``confirmRemoval``: config/rules_rollout.py): each further master has a membership step whose
delete runs on that master before its machine goes: cordon and drain it (as a worker's removal
does, render/kubeadm_nodes.py), ``kubeadm reset`` (static pods, certificates, kubelet), then delete
its Node through the API endpoint, so its kubelet cannot register it again. Its etcd member, in
the stacked lab topology, is removed by the etcd layer's own step (etcd_cluster.py).
"""

from __future__ import annotations

import re
import shlex

from components.control_plane.kubeadm_scripts import (
    HEREDOC,
    INIT_CONFIG,
    LOG_DIR,
    EtcdClientFiles,
    _etcd_files,
    _metadata,
    _preamble,
    _put,
    _root_command,
    parse_join_secrets,
    token_script,
)
from components.render._common import check_name
from components.render.kubeadm import BootstrapSecrets, ClusterArgs, render_join_config, render_kubeadm_config
from components.render.kubeadm_nodes import ADMIN_KUBECONFIG, render_remove_node_commands

NO_CLUSTER = "cluster=none"
"""What the rejoin step prints on a master that has not joined a cluster (the first deployment)."""
REGISTRY_RANGE = '{"key":"L3JlZ2lzdHJ5Lw==","range_end":"L3JlZ2lzdHJ5MA==","count_only":true}'
"""etcd v3 range request (gRPC gateway JSON, keys base64) counting the keys in [``/registry/``,
``/registry0``): every key kube-apiserver writes."""

CLUSTER_PROBE = r"""
# cluster_probe: prints "api" when the API endpoint answers /version (any HTTP status: an apiserver
# is there), "etcd" when an etcd member holds keys under /registry/, "none" when a member answered
# with none. Fails when no member answered: then nobody can tell, and init must not run.
cluster_probe() {
  local code url reply answered=""
  code=$(curl -sk --noproxy '*' --connect-timeout 3 --max-time 5 -o /dev/null -w '%{http_code}' \
    "$PROBE_API/version" || true)
  if [[ "$code" != 000 ]]; then
    echo api
    return 0
  fi
  for url in $PROBE_ETCD; do
    # A linearizable read (the default): one member's answer is the cluster's.
    if reply=$(curl -sf --noproxy '*' --connect-timeout 3 --max-time 5 --cacert "$PROBE_CA" --cert "$PROBE_CERT" \
      --key "$PROBE_KEY" -X POST "$url/v3/kv/range" -d "$PROBE_QUERY"); then
      answered=$url
      break
    fi
  done
  if [[ -z "$PROBE_ETCD" ]]; then
    echo none
  elif [[ -z "$answered" ]]; then
    echo "no etcd member of $PROBE_ETCD answered: cannot tell whether a cluster exists" >&2
    return 1
  elif [[ "$reply" =~ \"count\":\"[1-9] ]]; then
    echo etcd
  else
    echo none
  fi
}
"""
"""Needs PROBE_API (``https://host:port``), PROBE_ETCD (client URLs, space-separated; empty for
kubeadm's own etcd), PROBE_CA/CERT/KEY (the apiserver's etcd client files), PROBE_QUERY."""

_INSTANCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")
"""An OpenStack instance ID as it may appear in a rendered command (a UUID; tests use short ones)."""


def probe_values(cluster: ClusterArgs) -> dict[str, str]:
    """The readonly values ``CLUSTER_PROBE`` reads, for ``cluster``."""
    e = cluster.etcd
    return {
        "PROBE_API": f"https://{cluster.endpoint}",
        "PROBE_ETCD": " ".join(e.endpoints) if e else "",
        "PROBE_CA": e.ca_file if e else "",
        "PROBE_CERT": e.cert_file if e else "",
        "PROBE_KEY": e.key_file if e else "",
        "PROBE_QUERY": REGISTRY_RANGE,
    }


def render_init_script(
    cluster: ClusterArgs,
    secrets: BootstrapSecrets,
    etcd: EtcdClientFiles | None = None,
    rejoin: BootstrapSecrets | None = None,
) -> str:
    """Run on the first master: ``kubeadm init`` once per cluster (see the module docstring).

    ``rejoin``: join material a surviving master printed (``parse_rejoin_secrets``), or None.
    Holds the bootstrap token, the certificate key and the etcd client key: a secret.
    """
    first = cluster.masters[0]
    config = render_kubeadm_config(cluster, secrets)
    values = "".join(f"readonly {k}={shlex.quote(v)}\n" for k, v in probe_values(cluster).items())
    rebuilt = ""
    if rejoin is not None:
        join = render_join_config(cluster, first, rejoin, control_plane=True)
        if any(line == HEREDOC for line in join.splitlines()):
            raise ValueError(f"render_init_script: the join configuration contains the line {HEREDOC}")
        rebuilt = f"""elif true; then
  # A surviving master printed join material: the cluster lives on, this machine was rebuilt.
  say "kubeadm join as control-plane: the cluster exists and {first.name} was rebuilt (log: $LOG)"
  config=$(mktemp)
  trap 'rm -f "$config"' EXIT
  cat >"$config" <<'{HEREDOC}'
{join}{HEREDOC}
  logged kubeadm join --config "$config"
"""
    return (
        _preamble("kubeadm-init", f"kubeadm init of {first.name}, the first master. Holds secrets.")
        + values
        + CLUSTER_PROBE
        + "\n"
        + _etcd_files(cluster, etcd)
        + _put(INIT_CONFIG, "0600", config)
        + f"""
if [[ -f {ADMIN_KUBECONFIG} ]]; then
  # Already initialised: store the rendered ClusterConfiguration and KubeletConfiguration in the
  # kubeadm-config and kubelet-config ConfigMaps (what joins and upgrades read), then this node's
  # kubelet. Control-plane flags take effect per master: docs/runbooks/upgrade.md section 8.
  say "ok       initialised; uploading the rendered configuration"
  logged kubeadm init phase upload-config all --config {INIT_CONFIG}
  refresh_kubelet
{rebuilt}else
  found=$(cluster_probe) || fail "cannot tell whether a cluster exists; kubeadm init not run"
  if [[ "$found" != none ]]; then
    fail "a cluster exists ($found answered) but no other master handed over join material: kubeadm init \
would replace it; see docs/runbooks/etcd-restore.md, 'the only master is lost'"
  fi
  say "kubeadm init (takes minutes; log: $LOG)"
  logged kubeadm init --config {INIT_CONFIG} --upload-certs --skip-token-print --skip-certificate-key-print
fi
"""
        + _metadata(first)
        + 'say "done"\n'
    )


def render_rejoin_secrets_command(master_name: str) -> str:
    """Run on master 2 whenever master 1's instance changes: join material for a rebuilt master 1.

    Prints ``NO_CLUSTER`` where this master has no ``admin.conf`` (the first deployment, before any
    join); else a fresh token, the CA hash and a new certificate key, having re-uploaded the
    control-plane certificates with it. The upload's configuration is the cluster's own
    (``kubeadm-config``: it names the external etcd's client files, which must travel too), so the
    step needs no file master 1 kept. The command's stdout is a secret.
    """
    check_name(master_name, "render_rejoin_secrets_command.master_name")
    script = f"""
if [[ ! -f {ADMIN_KUBECONFIG} ]]; then
  echo {NO_CLUSTER}
  exit 0
fi
{token_script(f"k8s-platform: rejoin of {master_name}")}
KEY=$(kubeadm certs certificate-key)
cluster=$(kubectl --kubeconfig {ADMIN_KUBECONFIG} -n kube-system get configmap kubeadm-config \\
  -o jsonpath='{{.data.ClusterConfiguration}}')
api=$(printf '%s\\n' "$cluster" | sed -n 's/^apiVersion: //p')
if [[ -z "$api" ]]; then
  echo "the kubeadm-config ConfigMap holds no ClusterConfiguration" >&2
  exit 1
fi
config=$(mktemp)
trap 'rm -f "$config"' EXIT
printf 'apiVersion: %s\\nkind: InitConfiguration\\ncertificateKey: %s\\n---\\n%s\\n' "$api" "$KEY" "$cluster" >"$config"
kubeadm init phase upload-certs --upload-certs --skip-certificate-key-print --config "$config" >/dev/null
printf 'certificate-key=%s\\n' "$KEY"
"""
    return _root_command(script)


def parse_rejoin_secrets(stdout: str) -> BootstrapSecrets | None:
    """What ``render_rejoin_secrets_command`` printed: None for ``NO_CLUSTER``, else the material."""
    if NO_CLUSTER in stdout.splitlines():
        return None
    return parse_join_secrets(stdout, control_plane=True)


RESET_LOG = f"{LOG_DIR}/kubeadm-reset.log"
"""``kubeadm reset``'s output on a removed master (root only)."""


def render_master_member_command(name: str, instance_id: str) -> str:
    """Run on master ``name`` once it joined: say so. The step exists for its delete
    (``render_master_removal_command``) and carries the instance ID so it goes before the machine."""
    check_name(name, "render_master_member_command.name")
    if not _INSTANCE_ID.match(instance_id):
        raise ValueError(f"render_master_member_command: {instance_id!r} is not an instance ID")
    return _root_command(
        f"""
if [[ -f {ADMIN_KUBECONFIG} ]]; then
  echo "{name} (instance {instance_id}) is a control-plane member"
else
  echo "{name} (instance {instance_id}) has not joined the control plane" >&2
  exit 1
fi
"""
    )


def render_master_removal_command(name: str, timeout: str = "10m") -> str:
    """Run on master ``name`` before its machine is deleted: drain, ``kubeadm reset``, delete its Node.

    Drains with its own admin.conf; the Node is deleted after the reset (a running kubelet would
    register it again) with a copy of admin.conf, whose server is the API endpoint. A master that
    never joined has nothing to reset; a drain that fails stops the removal and keeps the machine.
    """
    cordon, drain, _ = render_remove_node_commands(name, timeout)
    return _root_command(
        f"""
if [[ ! -f {ADMIN_KUBECONFIG} ]]; then
  echo "{name} is not a control-plane member: nothing to reset"
  exit 0
fi
kubeconfig=$(mktemp)
trap 'rm -f "$kubeconfig"' EXIT
cp {ADMIN_KUBECONFIG} "$kubeconfig"
if [[ -n "$(kubectl --kubeconfig "$kubeconfig" get node {name} --ignore-not-found -o name)" ]]; then
  {cordon}
  {drain}
fi
install -d -m 0700 {LOG_DIR}
if ! kubeadm reset --force >>{RESET_LOG} 2>&1; then
  tail -n 20 {RESET_LOG} >&2
  echo "kubeadm reset failed on {name}; full log: {RESET_LOG}" >&2
  exit 1
fi
kubectl --kubeconfig "$kubeconfig" delete node {name} --ignore-not-found
echo "{name} drained, reset and removed from the cluster"
"""
    )

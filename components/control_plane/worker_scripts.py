"""The workers' shell steps, rendered as text: pure functions, no Pulumi import (issue 14, 16.4).

A worker costs one SSH step besides its port and instance (kubeadm_cluster.py): ``<worker>-join``
runs the node preparation, creates its own fresh join token and joins, all on the worker. The
Node objects of a pool are annotated, labelled and tainted, and drained on removal, by one step per
pool on the first master (``render_pool_nodes_command``). The steps follow the convention of
remote_scripts.py; what is particular here:

* **The join creates its token itself, right before ``kubeadm join``.** A join that failed and is
  retried hours later (``kubeadm reset``, then ``pulumi up``: docs/runbooks/troubleshooting.md)
  creates a new 30-minute token in the same run instead of reusing a dead one. It does so through
  the API endpoint (any surviving master) with the *join issuer*: a bootstrap token derived from
  the stack's seed whose only permission is creating Secrets in ``kube-system``
  (``render_join_issuer_script``). Bootstrap tokens may only carry ``system:bootstrappers:*``
  groups, so the most the issuer can do is what any join token does: join a node. It reaches the
  worker on the step's secret stdin, in a root-only temporary file removed on exit, and is sent as
  an HTTP header read from that file (never on a command line).
* **Discovery is pinned.** The CA certificate and its public-key hash come from the first master's
  admin kubeconfig (read over SSH, ``cluster_ca``): the issuer's request and ``kubeadm join``
  verify the apiserver against them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from components.control_plane.kubeadm_scripts import (
    HEREDOC,
    INSTANCE_ANNOTATION,
    JOIN_TOKEN_TTL,
    KUBELET_KUBECONFIG,
    SCRIPT_DIR,
    _preamble,
    _root_command,
    kubelet_config_digest,
)
from components.render._common import check_name
from components.render.kubeadm import BootstrapSecrets, ClusterArgs, render_join_config
from components.render.kubeadm_nodes import ADMIN_KUBECONFIG, KubernetesNode

ISSUER_GROUP = "system:bootstrappers:k8s-platform:join-issuer"
"""The join issuer's group: bound to creating Secrets in kube-system only."""
NODE_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"
"""The group kubeadm binds to node CSR creation and auto-approval: what a worker's join token gets."""
PLACEHOLDER_TOKEN = "000000.0000000000000000"
"""Rendered into the join configuration; the worker replaces it with the token it creates."""
PREP_SCRIPT = f"{SCRIPT_DIR}/node-prep.sh"
"""The node preparation script, kept on the worker (no secret in it) for manual re-runs."""
PREP_HEREDOC = "K8S_PLATFORM_NODE_PREP"
"""Delimiter of the embedded preparation script (which has heredocs of its own)."""
_TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_KUBECTL = f"kubectl --kubeconfig {ADMIN_KUBECONFIG}"


def cluster_ca(kubeconfig: str) -> tuple[str, str]:
    """(CA certificate PEM, ``sha256:<hex>`` of its public key) of an admin kubeconfig's cluster.

    The hash is what ``kubeadm join`` pins (``--discovery-token-ca-cert-hash``: SHA-256 of the DER
    SubjectPublicKeyInfo).
    """
    document = yaml.safe_load(kubeconfig)
    try:
        data = document["clusters"][0]["cluster"]["certificate-authority-data"]
    except (TypeError, KeyError, IndexError):
        raise ValueError("cluster_ca: the kubeconfig has no certificate-authority-data") from None
    pem = base64.b64decode(data)
    cert = x509.load_pem_x509_certificate(pem)
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode(), "sha256:" + hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class WorkerJoin:
    """What a worker's join step needs besides the cluster's kubeadm inputs."""

    prep_script: str
    """The worker's node preparation script (render/node_prep.py), run first, kept on the machine."""
    ca_cert: str
    """The cluster CA certificate, PEM (public): verifies the apiserver."""
    ca_cert_hash: str
    """``sha256:<hex>`` of the CA's public key (``cluster_ca``)."""
    issuer_token: str
    """The join issuer's bootstrap token (secret): creates this join's own token."""

    def __post_init__(self) -> None:
        if not _TOKEN.match(self.issuer_token):
            raise ValueError("WorkerJoin.issuer_token: not a bootstrap token [a-z0-9]{6}.[a-z0-9]{16}")
        for name, delimiter in (("prep_script", PREP_HEREDOC), ("ca_cert", HEREDOC)):
            if any(line == delimiter for line in getattr(self, name).splitlines()):
                raise ValueError(f"WorkerJoin.{name}: contains the line {delimiter}")


def render_worker_join_script(cluster: ClusterArgs, node: KubernetesNode, join: WorkerJoin) -> str:
    """Run on a worker: prepare it, then (once) create a fresh token and ``kubeadm join``.

    Later runs (a changed preparation or kubelet configuration) re-run the preparation and refresh
    the kubelet's configuration. Holds the issuer token: a secret.
    """
    placeholder = BootstrapSecrets(token=PLACEHOLDER_TOKEN, certificate_key="", ca_cert_hash=join.ca_cert_hash)
    config = render_join_config(cluster, node, placeholder)
    if config.count(PLACEHOLDER_TOKEN) != 1 or any(line == HEREDOC for line in config.splitlines()):
        raise ValueError("render_worker_join_script: unexpected join configuration")
    description = f"k8s-platform: join of {node.name}"
    api = f"https://{cluster.endpoint_host}:{cluster.endpoint_port}/api/v1/namespaces/kube-system/secrets"
    return (
        _preamble("kubeadm-join", f"worker join of {node.name}: preparation, own token, join. Holds secrets.")
        + "\n# The node preparation (kept for manual re-runs; no secret in it).\n"
        + f"put {PREP_SCRIPT} 0700 <<'{PREP_HEREDOC}' || true\n{join.prep_script.rstrip()}\n{PREP_HEREDOC}\n"
        + f'say "node preparation"\nbash {PREP_SCRIPT} </dev/null\n'
        + f"\n# KubeletConfiguration sha256 {kubelet_config_digest(cluster)}:\n"
        + "# when it changes, this script runs again and the already-joined branch refreshes the kubelet.\n"
        + f"""
if [[ -f {KUBELET_KUBECONFIG} ]]; then
  say "ok       joined already"
  refresh_kubelet
  say "done"
  exit 0
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/ca.crt" <<'{HEREDOC}'
{join.ca_cert.rstrip()}
{HEREDOC}
cat >"$dir/issuer" <<'{HEREDOC}'
Authorization: Bearer {join.issuer_token}
{HEREDOC}

# This join's own token, created now (a retried join never uses a dead one): kubeadm's token format,
# {JOIN_TOKEN_TTL} lifetime, the node group kubeadm allows to bootstrap a kubelet.
TOKEN=$(kubeadm token generate)
if ! [[ "$TOKEN" =~ ^([a-z0-9]{{6}})\\.([a-z0-9]{{16}})$ ]]; then
  fail "kubeadm token generate printed no token"
fi
export TOKEN
expires=$(date -u -d "+{JOIN_TOKEN_TTL.removesuffix("m")} minutes" +%Y-%m-%dT%H:%M:%SZ)
printf '%s' '{{"apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",' \\
  '"metadata": {{"name": "bootstrap-token-'"${{BASH_REMATCH[1]}}"'", "namespace": "kube-system"}},' \\
  '"stringData": {{"token-id": "'"${{BASH_REMATCH[1]}}"'", "token-secret": "'"${{BASH_REMATCH[2]}}"'",' \\
  '"expiration": "'"$expires"'", "description": "{description}",' \\
  '"usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",' \\
  '"auth-extra-groups": "{NODE_TOKEN_GROUP}"}}}}' >"$dir/token.json"
say "join token (through the API endpoint, {JOIN_TOKEN_TTL})"
logged curl -fsS --retry 10 --retry-delay 6 --retry-connrefused --cacert "$dir/ca.crt" -H @"$dir/issuer" \\
  -H 'Content-Type: application/json' --data-binary @"$dir/token.json" -o /dev/null {shlex.quote(api)}

cat >"$dir/join.template" <<'{HEREDOC}'
{config}{HEREDOC}
awk '{{ gsub(/{PLACEHOLDER_TOKEN.replace(".", "[.]")}/, ENVIRON["TOKEN"]); print }}' \
  "$dir/join.template" >"$dir/join.yaml"
say "kubeadm join as worker (log: $LOG)"
logged kubeadm join --config "$dir/join.yaml"
say "done"
"""
    )


def render_join_issuer_script(issuer_token: str) -> str:
    """Run on the first master after init: the join issuer (token, Role, RoleBinding), idempotent.

    The token never expires; it authenticates as ``ISSUER_GROUP``, which may create Secrets in
    kube-system and nothing else. Holds the issuer token: a secret.
    """
    match = _TOKEN.match(issuer_token)
    if not match:
        raise ValueError("render_join_issuer_script: not a bootstrap token [a-z0-9]{6}.[a-z0-9]{16}")
    token_id, token_secret = match.groups()
    manifest = yaml.safe_dump_all(
        [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "bootstrap.kubernetes.io/token",
                "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
                "stringData": {
                    "token-id": token_id,
                    "token-secret": token_secret,
                    "description": "k8s-platform: workers create their own join tokens with it",
                    "usage-bootstrap-authentication": "true",
                    "auth-extra-groups": ISSUER_GROUP,
                },
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "k8s-platform:join-issuer", "namespace": "kube-system"},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "k8s-platform:join-issuer", "namespace": "kube-system"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "k8s-platform:join-issuer",
                },
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": ISSUER_GROUP}],
            },
        ],
        sort_keys=False,
    )
    return (
        _preamble("join-issuer", "the workers' join issuer on the first master. Holds secrets.")
        + f"""
manifest=$(mktemp)
trap 'rm -f "$manifest"' EXIT
cat >"$manifest" <<'{HEREDOC}'
{manifest}{HEREDOC}
logged {_KUBECTL} apply -f "$manifest"
say "done"
"""
    )


def _member_pattern(cluster_name: str, pool: str) -> str:
    check_name(f"{cluster_name}-{pool}", "pool nodes prefix")
    return f"^{cluster_name}-{pool}-[0-9]+$"


def _remove_function(timeout: str) -> str:
    return f"""
# remove_node NAME: cordon, drain, delete that Node (kubectl drain: PodDisruptionBudgets respected).
# A failed drain fails the step, so the machine is not deleted.
remove_node() {{
  echo "removing node $1 (cordon, drain, delete)"
  {_KUBECTL} cordon "$1"
  {_KUBECTL} drain "$1" --ignore-daemonsets --delete-emptydir-data --timeout={timeout}
  {_KUBECTL} delete node "$1" --ignore-not-found
}}
# registered: this pool's registered Nodes. Called as an assignment, so an API error fails the step
# (no drain, no delete).
registered() {{
  local nodes
  nodes=$({_KUBECTL} get nodes -o name) || return 1
  printf '%s\\n' "$nodes" | sed 's#^node/##' | {{ grep -E "$PATTERN" || true; }}
}}
"""


def render_pool_nodes_command(cluster_name: str, pool: str, sample: KubernetesNode, timeout: str = "10m") -> str:
    """Run on the first master after the pool's joins: its Nodes' instance, labels and taints;
    registered Nodes of the pool that left it are drained and deleted first.

    The members arrive on stdin, one ``<node name> <instance ID>`` line each (``pool_members``):
    a pool of hundreds would not fit a command line. ``sample`` is any member: the pool's labels
    and taints, the same on every member (the kubelet applies its flags at registration only, so
    re-applying them here also brings a changed pool's values to running nodes).
    """
    labels = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(sample.labels.items()))
    commands = [f'{_KUBECTL} annotate node --overwrite "$name" {INSTANCE_ANNOTATION}="$id" >/dev/null']
    if labels:
        commands.append(f'{_KUBECTL} label node --overwrite "$name" {labels} >/dev/null')
    for taint in sample.taints:
        spec = f"{taint.key}={taint.value}:{taint.effect}" if taint.value else f"{taint.key}:{taint.effect}"
        commands.append(f'{_KUBECTL} taint node --overwrite "$name" {shlex.quote(spec)} >/dev/null')
    body = "\n    ".join(commands)
    return _root_command(
        f"PATTERN={shlex.quote(_member_pattern(cluster_name, pool))}\n"
        + _remove_function(timeout)
        + f"""
members=$(cat)
while read -r name id; do
  [[ "$name" =~ $PATTERN && "$id" =~ ^[A-Za-z0-9][A-Za-z0-9-]{{0,127}}$ ]] || {{ echo "bad member line" >&2; exit 1; }}
done <<<"$members"
# Left the pool (its count went down): drained before its machine is deleted (Pulumi deletes
# removed resources after every update).
pool_nodes=$(registered)
for node in $pool_nodes; do
  grep -q "^$node " <<<"$members" || remove_node "$node"
done
while read -r name id; do
    {body}
done <<<"$members"
echo "pool {pool}: $(wc -l <<<"$members") nodes annotated, labelled and tainted"
"""
    )


def render_pool_removal_command(cluster_name: str, pool: str, timeout: str = "10m") -> str:
    """Run on the first master when the pool goes (its count to 0, its pool stack destroyed):
    drain and delete every registered Node of it, before any of its machines is deleted."""
    return _root_command(
        f"PATTERN={shlex.quote(_member_pattern(cluster_name, pool))}\n"
        + _remove_function(timeout)
        + """
pool_nodes=$(registered)
for node in $pool_nodes; do
  remove_node "$node"
done
"""
    )


def pool_members(members: Sequence[tuple[str, str]]) -> str:
    """The pool step's stdin: one ``<node name> <instance ID>`` line per member."""
    for name, _ in members:
        check_name(name, "pool_members.name")
    return "".join(f"{name} {instance}\n" for name, instance in members)

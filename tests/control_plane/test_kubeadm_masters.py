"""The first master's step (components/control_plane/kubeadm_masters.py): init once per cluster.

Sandboxed runs with the stubs of test_kubeadm_scripts.py (curl included: the probe's answers come
from the environment), the probe itself against a real TLS etcd with the real curl, and the wiring
under the bootstrap mocks.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from components.control_plane.kubeadm_masters import CLUSTER_PROBE, NO_CLUSTER, parse_rejoin_secrets, probe_values
from components.render.kubeadm import ExternalEtcd
from tests.control_plane import test_kubeadm_scripts
from tests.control_plane.kubeadm_mocks import certificate_key_of, run_bootstrap, token_of
from tests.control_plane.test_kubeadm_scripts import REJOIN, SCRIPTS, Sandbox, no_secret_in, prod_cluster
from tests.harness import Secret
from tests.render.tools import assert_valid, validate

sandbox = test_kubeadm_scripts.sandbox
"""The sandbox fixture of test_kubeadm_scripts.py (a private mount namespace with stubbed tools)."""

INIT = "kubeadm init --config"


@pytest.mark.realtool
def test_a_rebuilt_first_master_joins_the_running_cluster_and_never_inits(sandbox: Sandbox) -> None:
    result = sandbox.run(SCRIPTS["init-rebuilt"]())
    assert result.returncode == 0, result.stderr
    no_secret_in(result)
    assert REJOIN.token not in result.stdout + result.stderr
    calls = sandbox.calls()
    assert not any(c.startswith(INIT) for c in calls), calls
    assert any(c.startswith("kubeadm join --config") for c in calls), calls
    join = yaml.safe_load((sandbox.root / "join-config.yaml").read_text())
    assert join["nodeRegistration"]["name"] == "k8s-prod-master-1"
    assert join["controlPlane"]["certificateKey"] == REJOIN.certificate_key
    assert join["discovery"]["bootstrapToken"]["token"] == REJOIN.token
    # The init config is still kept on the machine for the masters' join-secrets and upgrades.
    assert sandbox.file("/etc/kubernetes/k8s-platform/kubeadm-init.yaml").exists()


REFUSALS = {
    "API_CODE=401": "a cluster exists (api answered)",
    "ETCD_KEYS=1200": "a cluster exists (etcd answered)",
    "ETCD_DOWN=1": "cannot tell whether a cluster exists",
}
"""What the probe's stubs answer -> the refusal of a first master without join material."""


@pytest.mark.realtool
def test_without_join_material_init_refuses_a_live_cluster(sandbox: Sandbox) -> None:
    for answer, words in REFUSALS.items():
        name, value = answer.split("=")
        result = sandbox.run(SCRIPTS["init"](), **{name: value})
        assert (result.returncode, words in result.stderr) == (1, True), (answer, result.stderr)
        no_secret_in(result)
    assert [c for c in sandbox.calls() if c.startswith(INIT)] == []


@pytest.mark.realtool
def test_rejoin_secrets_say_none_before_the_cluster_and_upload_certs_with_its_own_config(sandbox: Sandbox) -> None:
    script = SCRIPTS["rejoin-secrets"]()
    before = sandbox.run(script)
    assert before.returncode == 0, before.stderr
    assert before.stdout.splitlines() == [NO_CLUSTER] and parse_rejoin_secrets(before.stdout) is None
    assert sandbox.calls() == []  # nothing minted on a master that has not joined

    admin = sandbox.file("/etc/kubernetes/admin.conf")
    admin.parent.mkdir(parents=True)
    admin.write_text("admin\n")
    after = sandbox.run(script)
    assert after.returncode == 0, after.stderr
    secrets = parse_rejoin_secrets(after.stdout)
    assert secrets is not None and secrets.token == "zyxwvu.9876543210zyxwvu"
    assert secrets.certificate_key == "e1" * 32
    uploaded = list(yaml.safe_load_all((sandbox.root / "upload-certs-config.yaml").read_text()))
    assert uploaded[0] == {
        "apiVersion": "kubeadm.k8s.io/v1beta4",
        "kind": "InitConfiguration",
        "certificateKey": "e1" * 32,
    }
    assert uploaded[1]["kind"] == "ClusterConfiguration" and uploaded[1]["etcd"]["external"]["keyFile"]
    token = next(c for c in sandbox.calls() if c.startswith("kubeadm token create"))
    assert "--ttl 30m" in token and "rejoin of m-1" in token


def _admin(sandbox: Sandbox) -> None:
    admin = sandbox.file("/etc/kubernetes/admin.conf")
    admin.parent.mkdir(parents=True, exist_ok=True)
    admin.write_text("admin\n")


@pytest.mark.realtool
def test_a_removed_master_is_drained_reset_then_its_node_deleted_through_the_endpoint(sandbox: Sandbox) -> None:
    member, removal = SCRIPTS["master-member"](), SCRIPTS["master-removal"]()
    assert sandbox.run(member).returncode == 1  # not joined: the membership step fails
    assert sandbox.run(removal).returncode == 0 and sandbox.calls() == []  # nothing to reset
    _admin(sandbox)
    assert sandbox.run(member).returncode == 0
    result = sandbox.run(removal, NODE_EXISTS="1")
    assert result.returncode == 0, result.stderr
    calls = [c.split(" ", 3) for c in sandbox.calls() if c.startswith(("kubectl", "kubeadm"))]
    assert [c[3].split()[:2] if c[0] == "kubectl" else c[1:] for c in calls] == [
        ["get", "node"],
        ["cordon", "m-2"],
        ["drain", "m-2"],
        ["reset", "--force"],
        ["delete", "node"],
    ], calls
    # The delete runs after the reset removed admin.conf: with the copy (its server is the endpoint).
    assert calls[-1][2] != "/etc/kubernetes/admin.conf" and "m-2 --ignore-not-found" in calls[-1][3]


@pytest.mark.realtool
def test_a_failed_reset_keeps_the_node_and_the_machine(sandbox: Sandbox) -> None:
    _admin(sandbox)
    result = sandbox.run(SCRIPTS["master-removal"](), NODE_EXISTS="1", FAIL_RESET="1")
    assert result.returncode == 1 and "reset broke" in result.stderr
    assert "kubeadm reset failed on m-2" in result.stderr
    assert not [c for c in sandbox.calls() if " delete node " in c]


# --------------------------------------------------------------------------- the probe, real etcd


def _probe(cluster, tmp_path: Path, api: str = "https://127.0.0.1:9") -> subprocess.CompletedProcess:
    etcd = ExternalEtcd(
        tuple(cluster.endpoints.split(",")),
        ca_file=cluster.client_tls.ca_file,
        cert_file=cluster.client_tls.cert_file,
        key_file=cluster.client_tls.key_file,
    )
    values = probe_values(dataclasses.replace(prod_cluster(), etcd=etcd))
    values["PROBE_API"] = api
    lines = "".join(f"export {k}='{v}'\n" for k, v in values.items())
    script = tmp_path / "probe.sh"
    script.write_text("set -euo pipefail\n" + lines + CLUSTER_PROBE + "cluster_probe\n")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.realtool
def test_the_probe_finds_kubernetes_data_in_a_real_etcd(cluster, tmp_path: Path) -> None:
    empty = _probe(cluster, tmp_path)
    assert (empty.returncode, empty.stdout.strip()) == (0, "none"), empty.stderr
    other = cluster.etcdctl("put", "/registryx", "not kubernetes")  # outside the prefix
    assert other.returncode == 0, other.stderr
    assert _probe(cluster, tmp_path).stdout.strip() == "none"
    put = cluster.etcdctl("put", "/registry/namespaces/default", "x")
    assert put.returncode == 0, put.stderr
    found = _probe(cluster, tmp_path)
    assert (found.returncode, found.stdout.strip()) == (0, "etcd"), found.stderr


@pytest.mark.realtool
def test_the_probe_fails_when_no_etcd_member_answers(cluster, tmp_path: Path) -> None:
    cluster.kill_everything()
    gone = _probe(cluster, tmp_path)
    assert gone.returncode != 0 and "cannot tell whether a cluster exists" in gone.stderr


# --------------------------------------------------------------------------- wiring, mocks


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_master_2_hands_its_join_material_to_the_first_masters_step(stack: str) -> None:
    run = run_bootstrap(stack, preview=False)
    prefix = "platform-kubeadm-"
    master = [n["name"] for n in run.outputs["nodes"] if n["role"] == "master"]
    rejoin = run.named(f"{prefix}{master[0]}-rejoin-secrets")
    init = run.named(f"{prefix}init")
    iaas = {r.name: r for r in run.resources if r.type == "openstack:compute/instance:Instance"}
    ports = {r.name: r for r in run.resources if r.type == "openstack:networking/port:Port"}
    # On master 2, re-run whenever master 1's instance changes; secret output, never logged.
    connection = rejoin.inputs["connection"]
    connection = connection.value if isinstance(connection, Secret) else connection
    assert connection["host"] == ports["platform-iaas-pool-master-2-port"].outputs["allFixedIps"][0]
    assert rejoin.inputs["triggers"] == [iaas["platform-iaas-pool-master-1"].id]
    assert rejoin.inputs["logging"] == "none" and set(rejoin.additional_secret_outputs) >= {"stdout"}
    assert rejoin.urn in init.dependencies
    # The init script carries master 2's material in its rebuilt-machine branch (the mocks print it).
    stdin = init.inputs["stdin"]
    assert isinstance(stdin, Secret)
    name = f"{prefix}{master[0]}-rejoin-secrets"
    assert token_of(name) in stdin.value and certificate_key_of(name) in stdin.value


def test_a_single_master_has_no_rejoin_step_and_its_init_probes_first() -> None:
    run = run_bootstrap("lab", preview=False)
    assert not [r for r in run.resources if r.name.endswith("-rejoin-secrets")]
    stdin = run.named("platform-kubeadm-init").inputs["stdin"].value
    assert "found=$(cluster_probe)" in stdin and "kubeadm join" not in stdin


def test_the_probe_reads_the_apiserver_etcd_client_files_or_only_the_api_on_kubeadms_etcd() -> None:
    external, stacked = probe_values(prod_cluster()), probe_values(prod_cluster(etcd=False))
    assert external["PROBE_ETCD"].split() == list(prod_cluster().etcd.endpoints)
    assert (external["PROBE_CA"], external["PROBE_KEY"]) == (prod_cluster().etcd.ca_file, prod_cluster().etcd.key_file)
    assert stacked["PROBE_ETCD"] == "" and stacked["PROBE_API"] == external["PROBE_API"] == "https://" + (
        prod_cluster().endpoint
    )


@pytest.mark.realtool
@pytest.mark.parametrize("stack", ["test", "prod"])
def test_real_kubeadm_accepts_the_rebuilt_first_masters_join(kubeadm: str, stack: str, tmp_path: Path) -> None:
    """The control-plane JoinConfiguration the program's init step carries for a rebuilt master 1."""
    stdin = run_bootstrap(stack, preview=False).named("platform-kubeadm-init").inputs["stdin"].value
    join = stdin.split("cat >\"$config\" <<'K8S_PLATFORM_FILE'\n", 1)[1].split("\nK8S_PLATFORM_FILE", 1)[0]
    document = yaml.safe_load(join)
    assert document["kind"] == "JoinConfiguration" and document["controlPlane"]["certificateKey"]
    assert document["nodeRegistration"]["name"] == f"k8s-{stack}-master-1"
    assert_valid(validate(kubeadm, join, tmp_path, "rebuilt-master-1"))

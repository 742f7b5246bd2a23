"""The bootstrap's shell steps: shellcheck, and their behaviour on a sandboxed host with a fake kubeadm.

The sandbox is a private mount namespace whose /etc and /var are overlays on scratch directories
(``unshare --mount``, as root): the scripts write their real paths (/etc/kubernetes, /var/lib/kubelet,
/var/log/k8s-platform) and nothing reaches the machine running the tests. ``kubeadm``, ``kubectl``
and ``systemctl`` are stubs that record their arguments and do what the real ones leave behind
(``init`` writes admin.conf, ``join`` writes kubelet.conf, ...), and print secrets the way the real
ones do, so the tests can check that none reaches the step's output.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from components.control_plane import worker_scripts as ws
from components.control_plane.kubeadm_masters import (
    render_init_script,
    render_master_member_command,
    render_master_removal_command,
    render_rejoin_secrets_command,
)
from components.control_plane.kubeadm_scripts import (
    INIT_CONFIG,
    INSTANCE_ANNOTATION,
    READ_KUBECONFIG,
    EtcdClientFiles,
    kubeconfig_with_server,
    kubelet_config_digest,
    parse_join_secrets,
    remote_script_command,
    render_join_script,
    render_join_secrets_command,
)
from components.render.kubeadm import BootstrapSecrets, ClusterArgs, render_kubeadm_config
from config.load import load_stack_file
from tests.control_plane.kubeadm_mocks import fake_kubeconfig
from tests.render.from_spec import cluster_args_from_spec, pool_node
from tests.render.tools import ROOT, shellcheck, tool

SECRETS = BootstrapSecrets(
    token="abcdef.0123456789abcdef", certificate_key="0f" * 32, ca_cert_hash="sha256:" + "ab" * 32
)
WORKER_SECRETS = BootstrapSecrets(
    token="zyxwvu.9876543210zyxwvu", certificate_key="", ca_cert_hash=SECRETS.ca_cert_hash
)
PEM = "-----BEGIN CERTIFICATE-----\nQ0EtQ0VSVA==\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN EC PRIVATE KEY-----\nRVRDRC1DTElFTlQtS0VZ\n-----END EC PRIVATE KEY-----\n"
ETCD = EtcdClientFiles(ca_cert=PEM, client_cert=PEM, client_key=KEY)
REJOIN = BootstrapSecrets(
    token="qrstuv.0123456789qrstuv", certificate_key="5a" * 32, ca_cert_hash="sha256:" + "ab" * 32
)


ISSUER = "issuer.0123456789issuer"


def worker_join(prep: str = "echo prepared\n") -> ws.WorkerJoin:
    pem, digest = ws.cluster_ca(fake_kubeconfig())
    return ws.WorkerJoin(prep_script=prep, ca_cert=pem, ca_cert_hash=digest, issuer_token=ISSUER)


def prod_cluster(etcd: bool = True) -> ClusterArgs:
    spec = load_stack_file(ROOT / "Pulumi.prod.yaml")
    masters = tuple(pool_node(spec, "master", f"k8s-prod-master-{i}", f"10.20.0.{20 + i}") for i in (1, 2, 3))
    endpoints = tuple(f"https://10.20.0.{30 + i}:2379" for i in (1, 2, 3)) if etcd else ()
    return cluster_args_from_spec(spec, masters, etcd_endpoints=endpoints)


def node(pool: str, name: str, address: str):
    return pool_node(load_stack_file(ROOT / "Pulumi.prod.yaml"), pool, name, address)


def inline_script(command: str) -> str:
    """The script of a ``sudo -n bash -c '<script>'`` command line."""
    argv = shlex.split(command)
    assert argv[:4] == ["sudo", "-n", "bash", "-c"] and len(argv) == 5, argv
    return argv[4]


SCRIPTS = {
    "init": lambda: render_init_script(prod_cluster(), SECRETS, ETCD),
    "init-stacked": lambda: render_init_script(prod_cluster(etcd=False), SECRETS),
    "join-master": lambda: render_join_script(
        prod_cluster(), prod_cluster().masters[1], SECRETS, control_plane=True, etcd=ETCD
    ),
    "join-ingress": lambda: render_join_script(
        prod_cluster(), node("ingress", "k8s-prod-ingress-1", "10.20.0.51"), WORKER_SECRETS, control_plane=False
    ),
    "init-rebuilt": lambda: render_init_script(prod_cluster(), SECRETS, ETCD, rejoin=REJOIN),
    "rejoin-secrets": lambda: "#!/usr/bin/env bash\n" + inline_script(render_rejoin_secrets_command("m-1")),
    "master-member": lambda: "#!/usr/bin/env bash\n" + inline_script(render_master_member_command("m-2", "4f1c-9a")),
    "master-removal": lambda: "#!/usr/bin/env bash\n" + inline_script(render_master_removal_command("m-2")),
    "secrets-master": lambda: "#!/usr/bin/env bash\n" + inline_script(render_join_secrets_command("m-2", True)),
    "secrets-worker": lambda: "#!/usr/bin/env bash\n" + inline_script(render_join_secrets_command("w-1", False)),
    "join-worker": lambda: ws.render_worker_join_script(
        prod_cluster(), node("worker", "k8s-prod-worker-1", "10.20.0.41"), worker_join()
    ),
    "join-issuer": lambda: ws.render_join_issuer_script(ISSUER),
    "pool-nodes": lambda: (
        "#!/usr/bin/env bash\n"
        + inline_script(
            ws.render_pool_nodes_command("k8s-prod", "ingress", node("ingress", "k8s-prod-ingress-1", "10.20.0.51"))
        )
    ),
    "pool-removal": lambda: (
        "#!/usr/bin/env bash\n" + inline_script(ws.render_pool_removal_command("k8s-prod", "worker"))
    ),
    "wrapper": lambda: "#!/usr/bin/env bash\n" + inline_script(remote_script_command("kubeadm-join")),
    "wrapper-keep": lambda: "#!/usr/bin/env bash\n" + inline_script(remote_script_command("node-prep", keep=True)),
}


# --------------------------------------------------------------------------- pure checks


def test_secrets_stay_out_of_command_lines_and_reprs() -> None:
    for line in (render_join_secrets_command("k8s-prod-master-2", True), READ_KUBECONFIG, remote_script_command("x")):
        assert not re.search(r"[a-z0-9]{6}\.[a-z0-9]{16}|[a-f0-9]{64}", line), line
    assert "RVRDRC1DTElFTlQtS0VZ" not in repr(ETCD)
    with pytest.raises(ValueError) as error:
        parse_join_secrets("token=LEAKED-VALUE\nca-cert-hash=sha256:00\n", control_plane=False)
    assert "LEAKED-VALUE" not in str(error.value)


def test_join_secrets_round_trip_and_worker_secrets_carry_no_certificate_key() -> None:
    text = f"token={SECRETS.token}\nca-cert-hash={SECRETS.ca_cert_hash}\ncertificate-key={SECRETS.certificate_key}\n"
    assert parse_join_secrets(text, control_plane=True) == SECRETS
    worker = parse_join_secrets(text, control_plane=False)
    assert worker.certificate_key == "" and worker.token == SECRETS.token
    with pytest.raises(ValueError, match="certificate-key"):
        parse_join_secrets(f"token={SECRETS.token}\nca-cert-hash={SECRETS.ca_cert_hash}\n", control_plane=True)
    with pytest.raises(ValueError, match="certificate_key is required"):
        render_join_script(prod_cluster(), prod_cluster().masters[1], WORKER_SECRETS, control_plane=True, etcd=ETCD)
    # Worker joins never hold the etcd client key; a worker's script holds no certificate key.
    with pytest.raises(ValueError, match="etcd client"):
        render_join_script(prod_cluster(), node("worker", "w-1", "10.20.0.40"), WORKER_SECRETS, False, ETCD)
    assert "certificateKey" not in SCRIPTS["join-ingress"]()


def test_external_etcd_needs_its_files_and_stacked_etcd_refuses_them() -> None:
    with pytest.raises(ValueError, match="external etcd"):
        render_init_script(prod_cluster(), SECRETS)
    with pytest.raises(ValueError, match="stacked"):
        render_init_script(prod_cluster(etcd=False), SECRETS, ETCD)


def test_kubeconfig_server_is_rewritten_to_the_endpoint() -> None:
    out = yaml.safe_load(kubeconfig_with_server(fake_kubeconfig("https://10.20.0.21:6443"), "https://10.20.0.10:6443"))
    assert [c["cluster"]["server"] for c in out["clusters"]] == ["https://10.20.0.10:6443"]
    assert out["users"][0]["user"]["client-key-data"]
    with pytest.raises(ValueError, match="not a kubeconfig"):
        kubeconfig_with_server("garbage", "https://10.20.0.10:6443")


def test_kubelet_digest_follows_the_kubelet_settings_only() -> None:
    cluster = prod_cluster()
    spec = load_stack_file(ROOT / "Pulumi.prod.yaml")
    changed = cluster_args_from_spec(
        spec,
        cluster.masters,
        etcd_endpoints=cluster.etcd.endpoints,
        kubelet=dataclasses.replace(cluster.kubelet, max_pods=90),
    )
    more_masters = cluster_args_from_spec(spec, cluster.masters[:2], etcd_endpoints=cluster.etcd.endpoints)
    assert kubelet_config_digest(changed) != kubelet_config_digest(cluster)
    assert kubelet_config_digest(more_masters) == kubelet_config_digest(cluster)


def test_pool_command_records_the_instances_and_sets_that_pools_labels_and_taints() -> None:
    storage = inline_script(
        ws.render_pool_nodes_command("k8s-prod", "storage", node("storage", "k8s-prod-storage-1", "10.20.0.61"))
    )
    assert f'annotate node --overwrite "$name" {INSTANCE_ANNOTATION}="$id"' in storage
    # node-role.kubernetes.io/* is forbidden to kubelets (NodeRestriction): only a master can set it.
    assert 'label node --overwrite "$name" node-role.kubernetes.io/storage=' in storage
    assert 'taint node --overwrite "$name" node-role.kubernetes.io/storage:NoSchedule' in storage
    gpu = inline_script(ws.render_pool_nodes_command("k8s-prod", "gpu", node("gpu", "k8s-prod-gpu-1", "10.20.0.71")))
    assert 'label node --overwrite "$name" nvidia.com/gpu.present=true' in gpu
    assert 'taint node --overwrite "$name" nvidia.com/gpu=present:NoSchedule' in gpu
    worker = inline_script(
        ws.render_pool_nodes_command("k8s-prod", "worker", node("worker", "k8s-prod-worker-1", "10.20.0.41"))
    )
    assert " label " not in worker and " taint " not in worker
    assert (
        ws.pool_members([("k8s-prod-gpu-1", "77"), ("k8s-prod-gpu-2", "78")])
        == "k8s-prod-gpu-1 77\nk8s-prod-gpu-2 78\n"
    )
    with pytest.raises(ValueError):
        ws.pool_members([("k8s-prod-gpu-1; reboot", "77")])


def test_masters_label_and_taint_themselves_after_init_or_join() -> None:
    init = SCRIPTS["init"]()
    assert "taint node --overwrite k8s-prod-master-1 node-role.kubernetes.io/control-plane:NoSchedule" in init
    join = SCRIPTS["join-master"]()
    assert "taint node --overwrite k8s-prod-master-2 node-role.kubernetes.io/control-plane:NoSchedule" in join
    assert "k8s-prod-master-1" not in join


# --------------------------------------------------------------------------- shellcheck


@pytest.mark.realtool
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_rendered_step_passes_shellcheck(name: str, tmp_path: Path) -> None:
    text = SCRIPTS[name]()
    script = tmp_path / f"{name}.sh"
    script.write_text(text)
    result = shellcheck(script)
    assert result.returncode == 0, result.stdout
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True, timeout=30).returncode == 0


# --------------------------------------------------------------------------- sandboxed runs

STUB = r"""#!/usr/bin/env bash
# Records every call; behaves like the real program as far as the scripts can tell.
printf '%s %s\n' "$(basename "$0")" "$*" >>"$SANDBOX/calls"
case "$(basename "$0") $*" in
  "kubeadm init --config"*)
    cp "$3" "$SANDBOX/init-config.yaml"
    echo "kubeadm join 10.20.0.10:6443 --token abcdef.0123456789abcdef" \
      "--discovery-token-ca-cert-hash sha256:$(printf 'ab%.0s' {1..32})"
    [[ -n "${FAIL_INIT:-}" ]] && { echo "error: something broke" >&2; exit 1; }
    mkdir -p /etc/kubernetes && echo admin >/etc/kubernetes/admin.conf ;;
  "kubeadm join --config"*)
    cp "$3" "$SANDBOX/join-config.yaml"
    mkdir -p /etc/kubernetes && echo kubelet >/etc/kubernetes/kubelet.conf ;;
  "kubeadm upgrade node phase kubelet-config"*)
    mkdir -p /var/lib/kubelet && printf '%s\n' "${KUBELET_CONTENT:-maxPods: 100}" >/var/lib/kubelet/config.yaml ;;
  "kubeadm token create"*)
    echo "kubeadm join 10.20.0.10:6443 --token zyxwvu.9876543210zyxwvu" \
      "--discovery-token-ca-cert-hash sha256:$(printf 'cd%.0s' {1..32}) " ;;
  "kubeadm certs certificate-key") printf '%s\n' "$(printf 'e1%.0s' {1..32})" ;;
  "kubeadm init phase upload-certs"*) cp "${@: -1}" "$SANDBOX/upload-certs-config.yaml" ;;
  "curl "*"/version")
    [[ -n "${API_CODE:-}" ]] || { printf 000; exit 7; }
    printf '%s' "$API_CODE" ;;
  "curl "*"/v3/kv/range"*)
    [[ -z "${ETCD_DOWN:-}" ]] || exit 7
    printf '{"header":{"revision":"7"}%s}' "${ETCD_KEYS:+,\"count\":\"$ETCD_KEYS\"}" ;;
  "kubectl "*" get configmap kubeadm-config "*)
    printf 'apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\netcd:\n  external:\n    keyFile: /k\n' ;;
  "kubeadm reset --force") [[ -z "${FAIL_RESET:-}" ]] || { echo "reset broke" >&2; exit 1; }
    rm -f /etc/kubernetes/admin.conf ;;
  "kubeadm token generate")
    n=$(( $(cat "$SANDBOX/tokens" 2>/dev/null || echo 0) + 1 )); echo "$n" >"$SANDBOX/tokens"
    printf 'fresh%d.%016d\n' "$n" "$n" ;;
  "curl "*)
    for a in "$@"; do [[ "$a" == @*token.json ]] && cp "${a#@}" "$SANDBOX/token-$(cat "$SANDBOX/tokens").json"; done
    [[ -n "${CURL_FAIL:-}" ]] && exit 22 ;;
  "kubectl "*" get nodes -o name")
    [[ -n "${KUBECTL_FAIL:-}" ]] && exit 1; for n in ${NODES:-}; do echo "node/$n"; done ;;
  "kubectl "*" get node "*) [[ -n "${KUBECTL_FAIL:-}" ]] && exit 1; [[ -n "${NODE_EXISTS:-}" ]] && echo "node/$5" ;;
esac
exit 0
"""


@dataclass
class Sandbox:
    root: Path

    def run(self, script: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
        """``script`` as root in the sandbox (a fresh namespace each time; the overlays persist)."""
        (self.root / "step.sh").write_text(script)
        r = self.root
        setup = " && ".join(
            f"mount -t overlay overlay -o lowerdir=/{d},upperdir={r}/{d}-up,workdir={r}/{d}-work /{d}"
            for d in ("etc", "var")
        )
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c", f"{setup} && bash {r}/step.sh"],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PATH": f"{r}/bin:{os.environ['PATH']}", "SANDBOX": str(r), **env},
        )

    def calls(self) -> list[str]:
        path = self.root / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def file(self, path: str) -> Path:
        return self.root / ("etc-up" if path.startswith("/etc/") else "var-up") / path.split("/", 2)[2]


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    if os.geteuid() != 0:
        pytest.fail("the sandboxed script tests need root (a private mount namespace with overlays)")
    tool("unshare")
    for d in ("bin", "etc-up", "etc-work", "var-up", "var-work"):
        (tmp_path / d).mkdir()
    for name in ("kubeadm", "kubectl", "systemctl", "curl"):
        (tmp_path / "bin" / name).write_text(STUB)
        (tmp_path / "bin" / name).chmod(0o755)
    return Sandbox(tmp_path)


def no_secret_in(result: subprocess.CompletedProcess) -> None:
    out = result.stdout + result.stderr
    for secret in ("abcdef.0123456789abcdef", "0f" * 32, "ab" * 32, "RVRDRC1DTElFTlQtS0VZ"):
        assert secret not in out, out


@pytest.mark.realtool
def test_init_runs_once_then_reuploads_the_configuration(sandbox: Sandbox) -> None:
    script = SCRIPTS["init"]()
    first = sandbox.run(script)
    assert first.returncode == 0, first.stderr
    no_secret_in(first)
    init = [c for c in sandbox.calls() if c.startswith("kubeadm init --config")]
    assert init == [
        f"kubeadm init --config {INIT_CONFIG} --upload-certs --skip-token-print --skip-certificate-key-print"
    ]
    assert (sandbox.root / "init-config.yaml").read_text() == render_kubeadm_config(prod_cluster(), SECRETS)
    for path, mode in ((INIT_CONFIG, 0o600), ("/etc/kubernetes/pki/apiserver-etcd-client.key", 0o600)):
        assert sandbox.file(path).stat().st_mode & 0o777 == mode, path
    assert sandbox.file("/etc/kubernetes/pki/apiserver-etcd-client.key").read_text() == KEY
    assert (sandbox.file("/var/log/k8s-platform").stat().st_mode & 0o777) == 0o700

    sandbox.root.joinpath("calls").unlink()
    second = sandbox.run(script)
    assert second.returncode == 0, second.stderr
    assert not any(c.startswith("kubeadm init --config") for c in sandbox.calls())
    assert f"kubeadm init phase upload-config all --config {INIT_CONFIG}" in sandbox.calls()
    assert any(c.startswith("kubeadm upgrade node phase kubelet-config") for c in sandbox.calls())
    assert "systemctl restart kubelet" in sandbox.calls()  # first config.yaml written by the refresh

    sandbox.root.joinpath("calls").unlink()
    assert sandbox.run(script).returncode == 0
    assert "systemctl restart kubelet" not in sandbox.calls()  # nothing changed: no restart
    assert sandbox.run(script, KUBELET_CONTENT="maxPods: 90").returncode == 0
    assert "systemctl restart kubelet" in sandbox.calls()


@pytest.mark.realtool
def test_a_failed_init_shows_the_log_tail_with_secrets_masked(sandbox: Sandbox) -> None:
    result = sandbox.run(SCRIPTS["init"](), FAIL_INIT="1")
    assert result.returncode != 0
    assert "something broke" in result.stderr and "<token>" in result.stderr
    assert "/var/log/k8s-platform/kubeadm-init.log" in result.stderr
    no_secret_in(result)


@pytest.mark.realtool
def test_join_runs_once_with_the_rendered_configuration_then_refreshes(sandbox: Sandbox) -> None:
    script = SCRIPTS["join-ingress"]()
    first = sandbox.run(script)
    assert first.returncode == 0, first.stderr
    assert "zyxwvu.9876543210zyxwvu" not in first.stdout + first.stderr
    join = yaml.safe_load((sandbox.root / "join-config.yaml").read_text())
    assert join["nodeRegistration"]["name"] == "k8s-prod-ingress-1"
    assert join["nodeRegistration"]["taints"] == [{"key": "node-role.kubernetes.io/ingress", "effect": "NoSchedule"}]
    assert not list((sandbox.root / "etc-up").rglob("kubeadm-join*"))  # the config file is gone
    sandbox.root.joinpath("calls").unlink()
    assert sandbox.run(script).returncode == 0
    assert not any(c.startswith("kubeadm join") for c in sandbox.calls())
    assert any(c.startswith("kubeadm upgrade node phase kubelet-config") for c in sandbox.calls())


@pytest.mark.realtool
def test_control_plane_secrets_upload_certs_with_a_fresh_key(sandbox: Sandbox) -> None:
    config = sandbox.file(INIT_CONFIG)
    config.parent.mkdir(parents=True)
    config.write_text(render_kubeadm_config(prod_cluster(), SECRETS))
    result = sandbox.run(
        "#!/usr/bin/env bash\n" + inline_script(render_join_secrets_command("k8s-prod-master-2", True))
    )
    assert result.returncode == 0, result.stderr
    secrets = parse_join_secrets(result.stdout, control_plane=True)
    assert secrets.token == "zyxwvu.9876543210zyxwvu" and secrets.ca_cert_hash == "sha256:" + "cd" * 32
    assert secrets.certificate_key == "e1" * 32 != SECRETS.certificate_key
    uploaded = list(yaml.safe_load_all((sandbox.root / "upload-certs-config.yaml").read_text()))
    assert uploaded[0]["certificateKey"] == "e1" * 32
    assert uploaded[1]["etcd"]["external"]["keyFile"]  # so the etcd client files travel too
    token = next(c for c in sandbox.calls() if c.startswith("kubeadm token create"))
    assert "--ttl 30m" in token and "k8s-prod-master-2" in token


@pytest.mark.realtool
@pytest.mark.parametrize("keep", [False, True])
def test_wrapper_runs_the_script_from_a_root_only_file_with_stdin_closed(sandbox: Sandbox, keep: bool) -> None:
    wrapper = inline_script(remote_script_command("kubeadm-join", keep=keep))
    step = '#!/usr/bin/env bash\nrest=$(cat)\necho "stdin: [${rest}]"\necho "apt: $(cat "$APT_CONFIG")"\nexit 3\n'
    result = sandbox.run("#!/usr/bin/env bash\n" + wrapper, stdin=step)
    assert result.returncode == 3 and "stdin: []" in result.stdout, result.stdout + result.stderr
    assert 'apt: DPkg::Lock::Timeout "600";' in result.stdout  # apt waits for cloud-init's dpkg lock
    stored = sandbox.file("/var/lib/k8s-platform/kubeadm-join.sh")
    assert stored.exists() is keep
    assert sandbox.file("/var/lib/k8s-platform").stat().st_mode & 0o777 == 0o700


@pytest.mark.realtool
def test_a_worker_join_creates_its_own_fresh_token_each_time_it_runs(sandbox: Sandbox) -> None:
    """Issue 16.4: a join retried after its token's lifetime (kubeadm reset, then pulumi up) creates a
    new token in the same step, right before kubeadm join, through the API endpoint with the issuer."""
    script = ws.render_worker_join_script(
        prod_cluster(), node("worker", "k8s-prod-worker-1", "10.20.0.41"), worker_join()
    )
    first = sandbox.run(script)
    assert first.returncode == 0, first.stderr
    assert ISSUER not in first.stdout + first.stderr
    calls = sandbox.calls()
    assert calls.index("kubeadm token generate") < next(i for i, c in enumerate(calls) if c.startswith("curl "))
    curl = next(c for c in calls if c.startswith("curl "))
    assert "https://10.20.0.10:6443/api/v1/namespaces/kube-system/secrets" in curl and ISSUER not in curl
    token = json.loads((sandbox.root / "token-1.json").read_text())
    assert token["metadata"]["name"] == "bootstrap-token-fresh1" and token["type"] == "bootstrap.kubernetes.io/token"
    assert token["stringData"]["auth-extra-groups"] == "system:bootstrappers:kubeadm:default-node-token"
    assert token["stringData"]["expiration"].endswith("Z")
    join = yaml.safe_load((sandbox.root / "join-config.yaml").read_text())
    assert join["discovery"]["bootstrapToken"]["token"] == "fresh1.0000000000000001"
    assert "prepared" in first.stdout
    # The retry: the join failed and was reset (no kubelet.conf); the same step creates a new token.
    sandbox.file("/etc/kubernetes/kubelet.conf").unlink()
    assert sandbox.run(script).returncode == 0
    join = yaml.safe_load((sandbox.root / "join-config.yaml").read_text())
    assert join["discovery"]["bootstrapToken"]["token"] == "fresh2.0000000000000002"
    # Joined: no token, no join, the kubelet refreshed.
    sandbox.root.joinpath("calls").unlink()
    assert sandbox.run(script).returncode == 0
    assert not any(c.startswith(("kubeadm token", "curl", "kubeadm join")) for c in sandbox.calls())
    assert any(c.startswith("kubeadm upgrade node phase kubelet-config") for c in sandbox.calls())


@pytest.mark.realtool
def test_a_worker_join_stops_before_kubeadm_join_when_its_token_cannot_be_created(sandbox: Sandbox) -> None:
    script = ws.render_worker_join_script(
        prod_cluster(), node("worker", "k8s-prod-worker-1", "10.20.0.41"), worker_join()
    )
    result = sandbox.run(script, CURL_FAIL="1")
    assert result.returncode != 0 and "curl" in result.stderr
    assert not any(c.startswith("kubeadm join") for c in sandbox.calls())


@pytest.mark.realtool
@pytest.mark.parametrize(
    ("nodes", "drained"),
    [
        ("k8s-prod-worker-1 k8s-prod-worker-2 k8s-prod-worker-ssd-1", []),
        ("k8s-prod-worker-1 k8s-prod-worker-2 k8s-prod-worker-3", ["k8s-prod-worker-3"]),
    ],
)
def test_the_pool_step_drains_only_the_nodes_that_left_the_pool(sandbox: Sandbox, nodes, drained) -> None:
    sample = node("worker", "k8s-prod-worker-1", "10.20.0.41")
    script = "#!/usr/bin/env bash\n" + inline_script(ws.render_pool_nodes_command("k8s-prod", "worker", sample))
    members = ws.pool_members([("k8s-prod-worker-1", "id-1"), ("k8s-prod-worker-2", "id-2")])
    result = sandbox.run(script, members, NODES=nodes)
    assert result.returncode == 0, result.stderr
    assert [c.split(" drain ")[1].split()[0] for c in sandbox.calls() if " drain " in c] == drained
    annotated = [c for c in sandbox.calls() if " annotate " in c]
    assert [c.split()[-2:] for c in annotated] == [
        ["k8s-prod-worker-1", f"{INSTANCE_ANNOTATION}=id-1"],
        ["k8s-prod-worker-2", f"{INSTANCE_ANNOTATION}=id-2"],
    ]
    # The API unreachable: no drain, no label, a failed step.
    sandbox.root.joinpath("calls").unlink()
    assert sandbox.run(script, members, NODES=nodes, KUBECTL_FAIL="1").returncode != 0
    assert not any(" drain " in c or " annotate " in c for c in sandbox.calls())


@pytest.mark.realtool
def test_removing_the_pool_drains_each_of_its_nodes(sandbox: Sandbox) -> None:
    script = "#!/usr/bin/env bash\n" + inline_script(ws.render_pool_removal_command("k8s-prod", "worker"))
    result = sandbox.run(script, NODES="k8s-prod-worker-1 k8s-prod-master-1 k8s-prod-worker-2")
    assert result.returncode == 0, result.stderr
    deleted = [c.split(" delete node ")[1].split()[0] for c in sandbox.calls() if " delete node " in c]
    assert deleted == ["k8s-prod-worker-1", "k8s-prod-worker-2"]

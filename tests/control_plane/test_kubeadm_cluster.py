"""KubeadmCluster under mocks: the bootstrap graph, secrets, per-pool registration, node removal.

Every test runs the real ``__main__.py`` (tests/harness.py) with ``BootstrapMocks`` standing in for
the hosts' output (tests/control_plane/kubeadm_mocks.py), so the rendered scripts are known and the
tests read the exact text each node receives on stdin.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime.sync_await import _sync_await

from components.control_plane.kubeadm_cluster import init_secrets
from components.control_plane.kubeadm_scripts import (
    INIT_CONFIG,
    INSTANCE_ANNOTATION,
    READ_KUBECONFIG,
    remote_script_command,
)
from components.control_plane.worker_scripts import PLACEHOLDER_TOKEN, PREP_HEREDOC, PREP_SCRIPT, cluster_ca
from components.render.etcd_pki import PkiScope
from components.render.kubeadm_nodes import kubelet_may_set_label
from components.render.node_prep import NodePrepArgs, NodeRole, RegistryTrust, render_node_prep
from components.render.registry_pki import registry_ca_cert
from components.render.seed import join_issuer_token
from config.formats import parse_seed
from config.load import load_stack_file
from config.spec import KUBERNETES_ROLES, Role
from tests.control_plane.endpoint_etcd_mocks import derived_vrrp_password, expected_pki, key_texts, seed
from tests.control_plane.kubeadm_mocks import (
    ADMIN_KEY_DATA,
    CA_CERT_HASH,
    certificate_key_of,
    fake_kubeconfig,
    run_bootstrap,
    token_of,
)
from tests.harness import ROOT, STACKS, TEST_SEED, ProgramRun, Registration, Secret
from tests.render.tools import assert_valid, validate

COMPONENT = "platform-kubeadm"
COMMAND = "command:remote:Command"


@functools.cache
def bootstrap(stack: str, worker_delta: int = 0, pool: str = "worker") -> ProgramRun:
    """The stack's mock run (cached; read-only), optionally with ``pool``'s count changed."""
    overrides = None
    if worker_delta:
        base = run_bootstrap(stack)
        count = sum(1 for n in base.outputs["nodes"] if n["pool"] == pool)
        overrides = {f"nodePools.{pool}.count": count + worker_delta}
    return run_bootstrap(stack, overrides)


@pytest.fixture(params=STACKS)
def run(request) -> ProgramRun:
    return bootstrap(request.param)


def nodes(run: ProgramRun, *roles: Role) -> list[dict]:
    wanted = {r.value for r in (roles or KUBERNETES_ROLES)}
    return [n for n in run.outputs["nodes"] if n["role"] in wanted]


def step(run: ProgramRun, name: str) -> Registration:
    return run.named(f"{COMPONENT}-{name}")


def has_step(run: ProgramRun, name: str) -> bool:
    return any(r.name == f"{COMPONENT}-{name}" for r in run.resources)


def closure(run: ProgramRun, resource: Registration) -> set[str]:
    """URNs ``resource`` depends on, directly or through other resources."""
    by_urn = {r.urn: r for r in run.resources}
    seen: set[str] = set()
    todo = list(resource.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo += by_urn[urn].dependencies if urn in by_urn else []
    return seen


def plaintext(value: Any) -> Iterator[str]:
    """Every string of a registered input that is not inside a Secret."""
    if isinstance(value, Secret):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from plaintext(v)
    elif isinstance(value, list):
        for v in value:
            yield from plaintext(v)


def secret_text(value: Any) -> str:
    assert isinstance(value, Secret), "expected a secret input"
    return value.value


def join_configuration(script: str) -> dict:
    """The JoinConfiguration a join script writes (the heredoc between the markers)."""
    parts = [p.split("\nK8S_PLATFORM_FILE", 1)[0] for p in script.split("<<'K8S_PLATFORM_FILE'\n")[1:]]
    (text,) = [p for p in parts if "kind: JoinConfiguration" in p]
    return yaml.safe_load(text)


def pool_step(run: ProgramRun, pool: str) -> Registration:
    return step(run, f"pool-{pool}-nodes")


def worker_pools(run: ProgramRun) -> list[str]:
    return list(dict.fromkeys(n["pool"] for n in nodes(run) if n["role"] != "master"))


def init_text(script: str) -> str:
    """The kubeadm configuration the init script writes to INIT_CONFIG, verbatim."""
    start = f"{INIT_CONFIG} 0600 <<'K8S_PLATFORM_FILE' || true\n"
    return script.split(start, 1)[1].split("\nK8S_PLATFORM_FILE", 1)[0] + "\n"


def init_documents(script: str) -> dict[str, dict]:
    return {d["kind"]: d for d in yaml.safe_load_all(init_text(script)) if d}


# --------------------------------------------------------------------------- shape


def test_the_bootstrap_hangs_under_the_platform_with_named_children(run):
    (component,) = run.of_type("k8splatform:control_plane:KubeadmCluster")
    assert component.name == COMPONENT
    assert component.parent == run.of_type("k8splatform:index:Platform")[0].urn
    children = [r for r in run.resources if r.parent == component.urn]
    assert children and all(r.name.startswith(COMPONENT + "-") for r in children)
    expected = {"init", "kubeconfig"}
    masters, others = nodes(run, Role.MASTER), [n for n in nodes(run) if n["role"] != "master"]
    expected |= {f"{n['name']}-prep" for n in masters}
    expected |= {f"{n['name']}-{s}" for n in masters[1:] for s in ("secrets", "join")}
    # A worker: one step (preparation, its own token, join); its Node object: its pool's step.
    expected |= {f"{n['name']}-join" for n in others}
    expected |= {f"pool-{p}-nodes" for p in worker_pools(run)} | ({"join-issuer"} if others else set())
    expected |= {f"{n['name']}-member" for n in masters[1:]}
    if len(masters) > 1:  # master 2 hands join material to a rebuilt master 1 (kubeadm_masters.py)
        expected.add(f"{masters[0]['name']}-rejoin-secrets")
    assert {r.name.removeprefix(COMPONENT + "-") for r in children} == expected


def platform_registries(stack: str) -> tuple[RegistryTrust, ...]:
    """The stack's own Harbor with the CA the program derives from the test seed (prod only)."""
    spec = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    if not spec.addons.is_enabled("registry", spec.environment):
        return ()
    ca = registry_ca_cert(parse_seed(TEST_SEED), PkiScope(f"k8s-{stack}", spec.pki_epoch))
    return (RegistryTrust(spec.addons.registry.host, ca),)


def test_only_kubernetes_nodes_are_prepared_each_with_its_roles_script(run):
    for node in run.outputs["nodes"]:
        if node["role"] not in {r.value for r in KUBERNETES_ROLES}:
            assert not has_step(run, f"{node['name']}-prep"), node["name"]  # etcd, lb, bastion
            assert not has_step(run, f"{node['name']}-join"), node["name"]
            continue
        trigger = [f"platform-iaas-pool-{node['pool']}-{node['name'].rsplit('-', 1)[1]}-id"]
        if node["role"] != "master":
            # A worker's preparation is the first part of its join step, kept on the machine; it
            # trusts the platform's Harbor like a master's (its pods pull from it).
            join = step(run, f"{node['name']}-join")
            prep = render_node_prep(NodePrepArgs(role=NodeRole.WORKER, registries=platform_registries(run.stack)))
            embedded = f"{PREP_SCRIPT} 0700 <<'{PREP_HEREDOC}' || true\n{prep.rstrip()}\n{PREP_HEREDOC}\n"
            assert embedded in join_text(join)
            assert not has_step(run, f"{node['name']}-prep") and join.inputs["triggers"] == trigger
            continue
        prep = step(run, f"{node['name']}-prep")
        # No secret in it; prod's nodes trust its Harbor's CA (derived from the seed, public).
        expected = render_node_prep(NodePrepArgs(role=NodeRole.MASTER, registries=platform_registries(run.stack)))
        assert prep.inputs["stdin"] == expected
        assert prep.inputs["create"] == remote_script_command("node-prep", keep=True)
        assert secret_text(prep.inputs["connection"])["host"] == node["private_ip"]
        # A rebuilt machine (new instance ID) is prepared again.
        assert prep.inputs["triggers"] == trigger


def join_text(join: Registration) -> str:
    return secret_text(join.inputs["stdin"])


# --------------------------------------------------------------------------- order


def test_init_runs_on_the_first_master_after_its_preparation_the_endpoint_and_etcd(run):
    first = nodes(run, Role.MASTER)[0]
    init = step(run, "init")
    assert secret_text(init.inputs["connection"])["host"] == first["private_ip"]
    assert step(run, f"{first['name']}-prep").urn in init.dependencies
    deps = " ".join(closure(run, init))
    assert "ApiServerEndpoint" in deps and "EtcdCluster" in deps
    assert "platform-etcd-health" in deps  # etcd answers before kubeadm init talks to it
    for worker in nodes(run, Role.WORKER, Role.INGRESS, Role.STORAGE):
        assert worker["name"] not in deps  # preparing workers does not hold up the control plane


def test_control_plane_joins_run_one_at_a_time_after_init(run):
    init = step(run, "init")
    joins = [step(run, f"{m['name']}-join") for m in nodes(run, Role.MASTER)[1:]]
    previous = init
    for k, (master, join) in enumerate(zip(nodes(run, Role.MASTER)[1:], joins, strict=True)):
        secrets = step(run, f"{master['name']}-secrets")
        # Fresh secrets only once the previous master has joined (its key is re-encrypted away).
        assert previous.urn in secrets.dependencies and previous.urn in join.dependencies
        assert secrets.urn in join.dependencies and step(run, f"{master['name']}-prep").urn in join.dependencies
        assert secret_text(join.inputs["connection"])["host"] == master["private_ip"]
        before, after = {j.urn for j in joins[:k]}, {j.urn for j in joins[k + 1 :]}
        assert init.urn in closure(run, join) and before <= closure(run, join) and not after & closure(run, join)
        previous = join


def test_no_worker_joins_before_the_whole_control_plane_and_workers_join_in_parallel(run):
    control_plane = {step(run, "init").urn} | {step(run, f"{m['name']}-join").urn for m in nodes(run, Role.MASTER)[1:]}
    workers = nodes(run, Role.WORKER, Role.INGRESS, Role.STORAGE)
    worker_steps = {step(run, f"{w['name']}-join").urn for w in workers}
    for worker in workers:
        join = step(run, f"{worker['name']}-join")
        assert control_plane <= set(join.dependencies) and step(run, "join-issuer").urn in join.dependencies
        assert closure(run, join) & worker_steps == set()  # no worker waits for another
        assert not any(f"{worker['name']}-" in d for d in closure(run, join) if "Command::" in d)


def test_each_pools_node_step_depends_on_its_joins_and_machines_and_drains_from_the_first_master(run):
    first = nodes(run, Role.MASTER)[0]
    for pool in worker_pools(run):
        members = [n for n in nodes(run) if n["pool"] == pool]
        registration = pool_step(run, pool)
        deps = closure(run, registration)
        for worker in members:
            pool_index = f"{worker['pool']}-{worker['name'].rsplit('-', 1)[1]}"
            # Pulumi deletes dependents first: the pool's drain runs before its machines go.
            assert step(run, f"{worker['name']}-join").urn in registration.dependencies
            assert any(d.endswith(f"Instance::platform-iaas-pool-{pool_index}") for d in deps)
        assert secret_text(registration.inputs["connection"])["host"] == first["private_ip"]
        assert registration.inputs["stdin"].splitlines() == [
            f"{w['name']} platform-iaas-pool-{w['pool']}-{w['name'].rsplit('-', 1)[1]}-id" for w in members
        ]
        assert "triggers" not in registration.inputs or not registration.inputs["triggers"]  # never replaced


# --------------------------------------------------------------------------- secrets


def forbidden_values(run: ProgramRun) -> dict[str, str]:
    """Every secret value of the run, by where it comes from."""
    values = {"CA hash": CA_CERT_HASH.removeprefix("sha256:"), "admin key": ADMIN_KEY_DATA}
    values["join issuer token"] = join_issuer_token(seed())
    for r in run.of_type(COMMAND):
        if r.name.endswith("-secrets"):
            values[f"token of {r.name}"] = token_of(r.name)
            values[f"key of {r.name}"] = certificate_key_of(r.name)
    # What the program derives from the stack's seed (render/seed.py, render/etcd_pki.py).
    init = init_secrets(seed())
    values |= {"seed": TEST_SEED, "init token": init.token, "init certificate key": init.certificate_key}
    values["VRRP password"] = derived_vrrp_password()
    for index, key in enumerate(sorted(key_texts(expected_pki(run)))):
        values[f"etcd private key {index}"] = key.splitlines()[1]  # its first base64 line
    return values


def test_no_secret_appears_in_plaintext_in_any_registration(run):
    forbidden = forbidden_values(run)
    for resource in run.resources:
        for text in plaintext(resource.inputs):
            for what, value in forbidden.items():
                assert value not in text, f"{what} in plaintext in {resource.name}"


def test_secret_steps_are_secret_and_never_log(run):
    for r in run.resources:
        if r.parent != step(run, "init").parent or r.type != COMMAND:
            continue
        kind = r.name.rsplit("-", 1)[1]
        assert r.inputs["addPreviousOutputInEnv"] is False
        if kind in ("init", "secrets", "join", "kubeconfig"):
            assert r.inputs["logging"] == "none", r.name
        if r.name == f"{COMPONENT}-join-issuer":
            assert isinstance(r.inputs["stdin"], Secret) and r.inputs["logging"] == "none"
        if kind in ("init", "join"):
            assert isinstance(r.inputs["stdin"], Secret), r.name
            assert r.inputs["create"] == remote_script_command(f"kubeadm-{kind}")  # the script is on stdin


def test_the_kubeconfig_is_a_secret_stack_output_whose_server_is_the_endpoint(stack):
    run = run_bootstrap(stack)
    exported = pulumi.runtime.get_root_resource().outputs["kubeconfig"]
    assert _sync_await(pulumi.Output.from_input(exported).is_secret())
    read = step(run, "kubeconfig")
    assert read.inputs["create"] == READ_KUBECONFIG and step(run, "init").urn in read.dependencies
    # What the command prints (the admin kubeconfig) is stored encrypted in the state.
    assert {"stdout", "stderr"} <= set(read.additional_secret_outputs)
    kubeconfig = yaml.safe_load(run.outputs["kubeconfig"])
    host, port = run.outputs["api_endpoint_host"], run.outputs["api_endpoint_port"]
    assert [c["cluster"]["server"] for c in kubeconfig["clusters"]] == [f"https://{host}:{port}"]
    assert kubeconfig["users"][0]["user"]["client-key-data"] == ADMIN_KEY_DATA


# --------------------------------------------------------------------------- what each node gets


def test_init_configuration_names_the_endpoint_etcd_and_every_master(run):
    docs = init_documents(secret_text(step(run, "init").inputs["stdin"]))
    host, port = run.outputs["api_endpoint_host"], run.outputs["api_endpoint_port"]
    cluster = docs["ClusterConfiguration"]
    assert cluster["controlPlaneEndpoint"] == f"{host}:{port}"
    assert cluster["etcd"]["external"]["endpoints"] == run.outputs["etcd_endpoints"]
    assert {m["private_ip"] for m in nodes(run, Role.MASTER)} <= set(cluster["apiServer"]["certSANs"])
    assert docs["InitConfiguration"]["nodeRegistration"]["name"] == nodes(run, Role.MASTER)[0]["name"]


def test_the_init_uses_the_token_and_certificate_key_derived_from_the_seed_and_the_etcd_pki(run):
    script = secret_text(step(run, "init").inputs["stdin"])
    init, expected = init_documents(script)["InitConfiguration"], init_secrets(seed())
    assert [t["token"] for t in init["bootstrapTokens"]] == [expected.token]
    assert init["certificateKey"] == expected.certificate_key
    # The apiserver's etcd client certificate and the etcd CA are the ones the etcd members trust.
    pki = expected_pki(run)
    client = pki.apiserver_client
    assert pki.ca_cert in script and client.cert in script and client.key in script


def test_labels_and_taints_of_each_pool_reach_that_nodes_join_configuration(run):
    masters = nodes(run, Role.MASTER)
    all_in_one = len(nodes(run)) == len(masters)
    for node in masters[1:] + [n for n in nodes(run) if n["role"] != "master"]:
        control_plane = node["role"] == "master"
        secrets_step = f"{COMPONENT}-{node['name']}-secrets"
        script = join_text(step(run, f"{node['name']}-join"))
        join = join_configuration(script)
        registration = join["nodeRegistration"]
        assert registration["name"] == node["name"]
        kubelet = {a["name"]: a["value"] for a in registration["kubeletExtraArgs"]}
        assert kubelet["node-ip"] == node["private_ip"]
        own = {k: v for k, v in sorted(node["labels"].items()) if kubelet_may_set_label(k)}
        assert kubelet.get("node-labels", "") == ",".join(f"{k}={v}" for k, v in own.items())
        taints = [{k: v for k, v in t.items() if v} for t in node["taints"]]
        if control_plane and not all_in_one:
            taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}, *taints]
        assert registration["taints"] == taints
        if control_plane:
            # The node's own fresh secrets, nobody else's.
            assert join["discovery"]["bootstrapToken"]["token"] == token_of(secrets_step)
            assert join["discovery"]["bootstrapToken"]["caCertHashes"] == [CA_CERT_HASH]
            assert join["controlPlane"]["certificateKey"] == certificate_key_of(secrets_step)
            assert "apiserver-etcd-client.key" in script
        else:
            assert "controlPlane" not in join and "PRIVATE KEY" not in script
            # Its own token, created by the script; discovery pinned to the first master's CA.
            assert join["discovery"]["bootstrapToken"]["token"] == PLACEHOLDER_TOKEN
            assert join["discovery"]["bootstrapToken"]["caCertHashes"] == [cluster_ca(fake_kubeconfig())[1]]
            assert "TOKEN=$(kubeadm token generate)" in script and join_issuer_token(seed()) in script
            node_step = pool_step(run, node["pool"]).inputs
            assert f"{INSTANCE_ANNOTATION}=" in node_step["create"]
            for key in node["labels"]:
                assert key in node_step["create"]


def test_prod_pools_get_their_own_labels_and_taints():
    run = bootstrap("prod")
    gpu = join_configuration(secret_text(step(run, "k8s-prod-gpu-2-join").inputs["stdin"]))
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in gpu["nodeRegistration"]["taints"]
    ssd = join_configuration(secret_text(step(run, "k8s-prod-ssd-1-join").inputs["stdin"]))
    kubelet_args = ssd["nodeRegistration"]["kubeletExtraArgs"]
    assert {"name": "node-labels", "value": "node.kubernetes.io/disk=ssd"} in kubelet_args
    assert ssd["nodeRegistration"]["taints"] == []
    ingress = pool_step(run, "ingress").inputs["create"]
    assert 'label node --overwrite "$name" node-role.kubernetes.io/ingress=' in ingress
    plain = pool_step(run, "worker").inputs["create"]
    assert " label " not in plain and " taint " not in plain


# --------------------------------------------------------------------------- the real kubeadm


@pytest.mark.realtool
@pytest.mark.parametrize("stack", STACKS)
def test_real_kubeadm_accepts_what_each_node_is_sent(kubeadm: str, stack: str, tmp_path) -> None:
    """``kubeadm config validate`` on the text the program pushes: the init's configuration and the
    JoinConfiguration of the first node of every pool (nodes of a pool differ in name and address)."""
    run = bootstrap(stack)
    assert_valid(validate(kubeadm, init_text(secret_text(step(run, "init").inputs["stdin"])), tmp_path, "init"))
    seen = set()
    for node in nodes(run)[1:]:
        if node["pool"] not in seen:
            seen.add(node["pool"])
            join = yaml.safe_dump(join_configuration(join_text(step(run, f"{node['name']}-join"))))
            assert_valid(validate(kubeadm, join, tmp_path, node["name"]))
    assert len(seen) == len({n["pool"] for n in nodes(run)[1:]})


@pytest.mark.parametrize("stack", STACKS)
def test_steps_that_print_secrets_store_their_output_encrypted(stack):
    """init, kubeconfig, every secrets (token + certificate key) and join step: stdout/stderr can carry
    tokens or keys, so the engine must keep them as secrets, and the CLI must not print them."""
    run = run_bootstrap(stack)
    steps = [
        r
        for r in run.of_type("command:remote:Command")
        if r.name.endswith(("-init", "-kubeconfig", "-secrets", "-join")) and r.name.startswith("platform-kubeadm-")
    ]
    assert steps, "no bootstrap steps found"
    for r in steps:
        assert {"stdout", "stderr"} <= set(r.additional_secret_outputs), r.name
        assert r.inputs.get("logging") == "none", r.name


def test_node_setup_mirrors_and_harbor_ca_reach_every_prepared_node():
    """nodeSetup in the stack file: internal mirrors (air-gapped) and Harbor's CA on every node."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2ZmYWtlLWNhLWZvci10ZXN0cw==\n-----END CERTIFICATE-----\n"
    setup = {
        "aptRepository": "https://mirror.internal/kubernetes/v1.37/deb/",
        "artifactBaseUrl": "https://mirror.internal/releases",
        "registries": [{"host": "harbor.internal", "caCert": pem}],
        "ntpServers": ["10.0.0.123"],
    }
    run = run_bootstrap("test", {"nodeSetup": setup})
    preps = [r for r in run.of_type("command:remote:Command") if r.name.endswith("-prep")]
    joins = [r for r in run.of_type("command:remote:Command") if r.name.endswith(("worker-1-join", "worker-3-join"))]
    assert len(preps) == 2 and len(joins) == 2  # 2 masters; 3 workers and 1 ingress node prepare in their join
    for prep in preps + joins:
        script = prep.inputs["stdin"] if prep in preps else join_text(prep)
        assert "https://mirror.internal/kubernetes/v1.37/deb/" in script, prep.name
        assert "https://mirror.internal/releases/" in script and "github.com/containerd" not in script
        assert "/etc/containerd/certs.d/harbor.internal/" in script and "MIIBszCCAVmgAwIBAgIU" in script
        assert "10.0.0.123" in script

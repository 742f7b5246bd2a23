"""config/spec.py and config/rules.py: every stack file is valid; bad configs name their key."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import yaml

from config.load import SECRET_KEYS, load_stack_file, parse
from config.spec import NAMESPACE, PoolStackSpec, SpecError, StackSpec
from tests.harness import ROOT, STACKS, capacity_cli, run_program, stack_config


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stack_files_are_valid(stack):
    spec = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    assert spec.environment.value == stack


def test_kubelet_defaults_are_the_blueprints_flags():
    kubelet = load_stack_file(ROOT / "Pulumi.prod.yaml").kubelet
    assert (kubelet.system_reserved.cpu, kubelet.system_reserved.memory) == ("200m", "250Mi")
    assert (kubelet.kube_reserved.cpu, kubelet.kube_reserved.memory) == ("200m", "250Mi")
    assert kubelet.eviction_hard == {"memory.available": "1Gi", "nodefs.available": "1Gi", "imagefs.available": "1Gi"}
    assert kubelet.eviction_minimum_reclaim == {
        "memory.available": "500Mi",
        "nodefs.available": "500Mi",
        "imagefs.available": "1Gi",
    }
    assert kubelet.node_status_update_frequency == "10s"
    assert kubelet.eviction_pressure_transition_period == "180s"
    assert kubelet.max_pods == 100


@pytest.mark.parametrize(
    ("stack", "role", "vcpu", "ram", "disk"),
    [
        ("lab", "master", 2, 2, 40),
        ("test", "master", 2, 4, 40),
        ("test", "worker", 4, 8, 40),
        ("prod", "master", 4, 8, 100),
        ("prod", "worker", 8, 64, 500),
    ],
)
def test_stack_files_carry_their_sizing_row(stack, role, vcpu, ram, disk):
    pool = load_stack_file(ROOT / f"Pulumi.{stack}.yaml").node_pools[role]
    assert (pool.vcpu, pool.ram_gib, pool.disk_gib) == (vcpu, ram, disk)


def test_every_config_key_is_in_the_model_and_pulumi_yaml():
    text = (ROOT / "Pulumi.yaml").read_text()
    declared = yaml.safe_load(text)["config"]
    fields = [*StackSpec.model_fields.values(), *PoolStackSpec.model_fields.values()]
    model_keys = {f"{NAMESPACE}:{field.alias}" for field in fields}
    secrets = {f"{NAMESPACE}:{key}" for key in SECRET_KEYS}
    assert model_keys <= set(declared) <= model_keys | secrets
    # Optional secrets cannot be declared (the CLI would demand them): they are described in a
    # comment instead (tests/test_project_file.py has the declaration rules).
    assert all(key in text for key in secrets)
    for key, schema in declared.items():
        assert schema.get("description"), f"{key} has no description in Pulumi.yaml"


TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
# (override of the prod stack, expected key path, words the message must contain)
BAD_CONFIGS = [
    ({"etcd.members": 4}, "etcd.members", "3 or 5"),
    ({"etcd.members": 1}, "etcd.members", "3 or 5"),
    ({"etcd.topology": "stacked"}, "etcd.topology", "external"),
    ({"network.podCidr": "10.20.0.0/16"}, "network.podCidr", "overlaps network.nodeCidr"),
    ({"network.serviceCidr": "10.244.128.0/20"}, "network.serviceCidr", "overlaps network.podCidr"),
    ({"network.apiVip": "10.99.0.10"}, "network.apiVip", "outside nodeCidr"),
    ({"network.apiVip": "10.20.1.10"}, "network.apiVip", "inside the allocation pool"),
    ({"network.allocationPool.end": "10.21.0.5"}, "network.allocationPool.end", "outside nodeCidr"),
    ({"network.podCidr": "10.244.0.0/22"}, "network.podCidr", "node ranges"),
    ({"kubelet.maxPods": 300}, "kubelet.maxPods", "do not fit"),
    ({"kubelet.maxPods": 110}, "kubelet.maxPods", "pods-per-node limit 100"),
    ({"nodePools.worker.count": 5001}, "nodePools.worker.count", "limit of 5000"),
    ({"colour": "blue"}, "colour", "unknown key"),
    ({"network.podCIDR": "10.244.0.0/16"}, "network.podCIDR", "unknown key"),
    ({"nodePools.master.vcpu": 2}, "nodePools.master.vcpu", "生产环境 master 4C/8G/100G"),
    ({"nodePools.worker.ramGib": 32}, "nodePools.worker.ramGib", "below the sizing table's 64"),
    ({"nodePools.etcd.volumeType": "standard"}, "nodePools.etcd.volumeType", "SSD volume type"),
    ({"nodePools.gpu.taints.0.effect": "NoRun"}, "nodePools.gpu.taints[0].effect", "NoSchedule"),
    ({"nodePools.ssd.labels": {"bad key!": "x"}}, "nodePools.ssd.labels", "label key"),
    ({"cni.plugin": "flannel"}, "cni.encapsulation", "vxlan"),
    ({"workloads.0.pool": "nowhere"}, "workloads[0].pool", "not a pool"),
    ({"environment": "staging"}, "environment", "'lab', 'test' or 'prod'"),
    ({"network.nodeCidr": "10.20.0.1/22"}, "network.nodeCidr", "host bits"),
    ({"nodePools.lb.count": 1}, "nodePools.lb.count", "at least 2"),
    ({"kubelet.systemReserved": {"cpu": "lots", "memory": "250Mi"}}, "kubelet.systemReserved.cpu", "pattern"),
    ({"environment": None}, "environment", "required key is missing"),
    ({"network.adminCidrs": ["0.0.0.0/0"]}, "network.adminCidrs", "0.0.0.0/0"),
    ({"nodePools.master.count": 1}, "nodePools.master.count", "at least 2 masters"),
    ({"workloads.1.memory": "80Gi"}, "workloads[1].memory", "more memory than a worker node"),
    ({"pkiEpoch": "2026-02-30"}, "pkiEpoch", "not a real date"),
    ({"pkiEpoch": TOMORROW}, "pkiEpoch", "is in the future"),
    ({"pkiEpoch": "1 Dec 2026"}, "pkiEpoch", "expected a date YYYY-MM-DD"),
    ({"pkiEpoch": 20261201}, "pkiEpoch", "expected a date YYYY-MM-DD"),
    ({"pkiEpoch": None}, "pkiEpoch", "required key is missing"),
]


@pytest.mark.parametrize(("override", "path", "words"), BAD_CONFIGS, ids=[c[1] + ":" + c[2] for c in BAD_CONFIGS])
def test_bad_config_is_rejected_naming_its_key(override, path, words):
    with pytest.raises(SpecError) as caught:
        parse(stack_config("prod", override))
    paths = [p for p, _ in caught.value.violations]
    assert f"{NAMESPACE}:{path}" in paths, str(caught.value)
    message = next(rule for p, rule in caught.value.violations if p == f"{NAMESPACE}:{path}")
    assert words in message


def test_bad_configs_are_distinct():
    assert len({repr(c[0]) for c in BAD_CONFIGS}) == len(BAD_CONFIGS) >= 15
    assert len({c[1] for c in BAD_CONFIGS}) >= 15, "at least 15 different keys"


def test_lab_allows_a_single_stacked_member():
    spec = parse(stack_config("lab"))
    assert spec.etcd.members == 1 and spec.etcd.topology.value == "stacked"
    with pytest.raises(SpecError, match=r"etcd.members: etcd needs an odd member count"):
        parse(stack_config("lab", {"etcd.members": 2, "nodePools.master.count": 2}))


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"etcd.members": 4, "nodePools.etcd.count": 4}, "etcd.members"),
        ({"network.serviceCidr": "10.240.0.0/12"}, "network.serviceCidr"),
        ({"nodePools.worker.count": 5001}, "nodePools.worker.count"),
    ],
)
def test_issue_examples_fail_with_one_line_naming_the_key(override, path, tmp_path):
    """Done-when of the foundation issue: even etcd, overlapping CIDRs, 5001 workers: one line."""
    document = {"config": stack_config("prod", override)}
    stack_file = tmp_path / "Pulumi.broken.yaml"
    stack_file.write_text(yaml.safe_dump(document))
    with pytest.raises(SpecError) as caught:
        load_stack_file(stack_file)
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{NAMESPACE}:{path}: "), lines


def test_bad_config_raises_a_clean_run_error_and_registers_nothing():
    import pulumi

    from tests.harness import ProgramRun

    run = ProgramRun("prod")
    with pytest.raises(pulumi.RunError) as caught:
        run_program("prod", {"etcd.members": 4}, into=run)
    assert str(caught.value).endswith(
        "nothing was changed:\nk8s-platform:etcd.members: outside lab etcd runs 3 or 5 members "
        "(odd, for quorum; blueprint HA), got 4"
    )
    assert run.resources == []


def test_capacity_cli_reports_a_bad_stack_file_without_traceback(tmp_path):
    result = capacity_cli(tmp_path, "prod", {"etcd.members": 4})
    assert result.returncode == 2  # config rejected; 1 is an insufficient plan
    assert "Traceback" not in result.stderr
    assert "k8s-platform:etcd.members: outside lab etcd runs 3 or 5 members" in result.stderr


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_secret_keys_in_plain_text_are_rejected(key):
    with pytest.raises(SpecError) as caught:
        parse(stack_config("prod", {key: "hunter2"}))
    assert caught.value.violations[0][0] == f"{NAMESPACE}:{key}"
    assert "pulumi config set --secret" in caught.value.violations[0][1]


# A well-formed value per secret key (the seed's format is checked whenever its value is readable).
SECRET_VALUES = {key: "hunter2" for key in SECRET_KEYS} | {"secretSeed": "c0ffee" * 10 + "beef"}


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_secret_keys_are_accepted_encrypted_and_kept_out_of_the_spec(key):
    spec = parse(stack_config("prod", {key: {"secure": "v1:abcd"}}))
    assert "v1:abcd" not in spec.model_dump_json()
    spec = parse(stack_config("prod", {key: SECRET_VALUES[key]}), secret_keys={f"{NAMESPACE}:{key}"})
    assert SECRET_VALUES[key] not in spec.model_dump_json()


PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2ZmYWtlLWNhLWZvci10ZXN0cw==\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize(
    ("setup", "path", "words"),
    [
        ({"registries": [{"host": "harbor.example.com", "caCert": "not a pem"}]}, "nodeSetup.registries[0]", "PEM"),
        ({"registries": [{"host": "bad host!", "caCert": PEM}]}, "nodeSetup.registries[0]", "host"),
        ({"aptRepository": "ftp://mirror/k8s/"}, "nodeSetup.aptRepository", "http(s) URL"),
        ({"aptRepository": "https://mirror.internal/k8s"}, "nodeSetup.aptRepository", "must end with '/'"),
        ({"ntpServers": ["ntp.example.com"]}, "nodeSetup.ntpServers[0]", "IPv4"),
    ],
)
def test_bad_node_setup_is_rejected_naming_its_key(setup, path, words):
    with pytest.raises(SpecError) as caught:
        parse(stack_config("prod", {"nodeSetup": setup}))
    message = dict(caught.value.violations).get(f"{NAMESPACE}:{path}")
    assert message is not None and words in message, str(caught.value)


def test_the_pki_epoch_is_a_date_today_or_earlier_quoted_or_not(tmp_path):
    today = datetime.now(UTC).date()
    assert parse(stack_config("prod", {"pkiEpoch": today.isoformat()})).pki_epoch == today
    assert load_stack_file(ROOT / "Pulumi.prod.yaml").pki_epoch == date(2026, 12, 1)
    # Unquoted in a stack file, YAML reads a date: the same value.
    stack_file = tmp_path / "Pulumi.unquoted.yaml"
    stack_file.write_text(yaml.safe_dump({"config": stack_config("prod", {"pkiEpoch": date(2025, 3, 1)})}))
    assert "pkiEpoch: 2025-03-01" in stack_file.read_text()
    assert load_stack_file(stack_file).pki_epoch == date(2025, 3, 1)
    with pytest.raises(SpecError, match=r"pkiEpoch: .*not a timestamp"):
        parse(stack_config("prod", {"pkiEpoch": datetime(2025, 3, 1, 10, 0)}))


@pytest.mark.parametrize("bad", ["abc", "ab" * 31, "zz" * 32, {"nested": 1}])
def test_a_malformed_seed_is_rejected_naming_the_key_never_the_value(bad):
    with pytest.raises(SpecError) as caught:
        parse(stack_config("prod", {"secretSeed": bad}), secret_keys={f"{NAMESPACE}:secretSeed"})
    [(path, message)] = caught.value.violations
    assert path == f"{NAMESPACE}:secretSeed" and ("64 hex characters" in message or "hex" in message)
    assert str(bad) not in str(caught.value)


def test_the_seed_is_required_by_the_program_only():
    parse(stack_config("prod"))  # the capacity plan and the policy pack read stack files without it
    with pytest.raises(SpecError) as caught:
        parse(stack_config("prod"), seed_required_for="prod")
    assert str(caught.value) == (
        "k8s-platform:secretSeed: not set: run `scripts/pulumi prod init-secrets` (stores the stack's random seed, "
        "encrypted; docs/runbooks/secrets.md)"
    )

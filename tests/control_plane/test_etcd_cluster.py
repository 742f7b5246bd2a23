"""EtcdCluster under mocks: members, PKI, the bootstrap, health, backup and removal steps.

3 members (test, prod), 5 (prod with etcd.members 5 and an etcd pool of 5), 1 stacked on the lab
master. Secrecy of the keys is in test_secrets.py; the certificates themselves (chain, SANs,
usages, determinism) in tests/render/test_etcd_pki.py.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import re
import shlex
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.control_plane.etcd_cluster import release_url
from config.load import parse
from config.spec import NAMESPACE, EtcdTopology, SpecError
from config.versions import ETCD
from tests.control_plane.endpoint_etcd_mocks import (
    COMMAND,
    decode_payload,
    etcd_members,
    expected_pki,
    plain,
    run,
)
from tests.control_plane.endpoint_etcd_mocks import ETCD as ETCD_CLUSTER
from tests.control_plane.kubeadm_mocks import run_bootstrap
from tests.harness import ProgramRun, Secret, stack_config

ET = "platform-etcd"
FIVE = {"etcd.members": 5, "nodePools.etcd.count": 5}


@functools.cache
def committed(stack: str) -> ProgramRun:
    return run(stack)


@functools.cache
def five_members() -> ProgramRun:
    return run("prod", FIVE)


members = etcd_members


def step(program: ProgramRun, member: str, kind: str):
    return program.named(f"{ET}-{member}-{kind}")


def value(command_line: str, name: str) -> str:
    """The value a step's script assigns to ``name`` (``readonly NAME=...``)."""
    sudo, _, bash, _, script = shlex.split(command_line)
    assert (sudo, bash) == ("sudo", "/bin/bash")
    match = re.search(rf"^readonly {name}=(.*)$", script, re.MULTILINE)
    assert match, f"{name} not in the script"
    return "".join(shlex.split(match.group(1)))


def instance_of(program: ProgramRun, hostname: str):
    return next(r for r in program.resources if r.type.endswith("instance:Instance") and r.inputs["name"] == hostname)


def unit_of(member) -> str:
    return decode_payload(member.inputs["stdin"].value)["/etc/systemd/system/etcd.service"][2]


CASES = [("lab", 1), ("test", 3), ("prod", 3), ("prod-5", 5)]


def program_of(case: str) -> ProgramRun:
    return five_members() if case == "prod-5" else committed(case)


@pytest.mark.parametrize(("case", "count"), CASES)
def test_one_bootstrap_and_one_backup_step_per_member_and_one_health_step(case, count):
    program = program_of(case)
    nodes = members(program)
    assert len(nodes) == count
    etcd = program.of_type(ETCD_CLUSTER)[0]
    ours = [c for c in program.of_type(COMMAND) if c.parent == etcd.urn]
    assert sorted(c.name for c in ours) == sorted(
        [f"{ET}-health"] + [f"{ET}-{n['name']}-{kind}" for n in nodes for kind in ("member", "backup")]
    )
    assert program.outputs["etcd_endpoints"] == [f"https://{n['private_ip']}:2379" for n in nodes]


def pushed(program: ProgramRun, member: str) -> dict[str, str]:
    """What the member's bootstrap step writes under /etc/etcd/pki: file name -> content."""
    files = decode_payload(step(program, member, "member").inputs["stdin"].value)
    return {path.rsplit("/", 1)[1]: content for path, (_, _, content) in files.items() if "/etc/etcd/pki/" in path}


@pytest.mark.parametrize(("case", "count"), CASES)
def test_the_pki_is_computed_in_the_program_not_registered_as_resources(case, count):
    program = program_of(case)
    assert not [r.type for r in program.resources if r.type.startswith(("tls:", "random:"))]
    etcd = program.of_type(ETCD_CLUSTER)[0]
    assert {r.type for r in program.resources if r.parent == etcd.urn} == {COMMAND}
    assert len(members(program)) == count


@pytest.mark.parametrize(("case", "count"), CASES)
def test_each_member_gets_its_own_certificates_under_the_shared_ca(case, count):
    program = program_of(case)
    cluster = f"k8s-{program.stack}"
    cas = set()
    for node in members(program):
        files = pushed(program, node["name"])
        assert sorted(files) == [
            "ca.crt",
            "etcdctl.crt",
            "etcdctl.key",
            "peer.crt",
            "peer.key",
            "server.crt",
            "server.key",
        ]
        cas.add(files["ca.crt"])
        ca = x509.load_pem_x509_certificate(files["ca.crt"].encode())
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert ca.not_valid_after_utc - ca.not_valid_before_utc == timedelta(days=3650)
        for role in ("server", "peer"):
            cert = x509.load_pem_x509_certificate(files[f"{role}.crt"].encode())
            assert cert.issuer == ca.subject
            assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == node["name"]
            assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == cluster
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert sans.get_values_for_type(x509.IPAddress) == [
                ipaddress.IPv4Address(node["private_ip"]),
                ipaddress.IPv4Address("127.0.0.1"),
            ]
            assert sans.get_values_for_type(x509.DNSName) == [node["name"], "localhost"]
            usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        client = x509.load_pem_x509_certificate(files["etcdctl.crt"].encode())
        assert client.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "etcd-healthcheck-client"
    assert len(cas) == 1, "every member trusts the same CA"
    # Exactly what render/etcd_pki.py makes from the seed, the stack's pkiEpoch and the members.
    expected = expected_pki(program)
    for node in members(program):
        files, certs = pushed(program, node["name"]), expected.members[node["name"]]
        assert (files["server.crt"], files["server.key"]) == (certs.server.cert, certs.server.key)
        assert (files["peer.crt"], files["peer.key"]) == (certs.peer.cert, certs.peer.key)
        assert (files["etcdctl.crt"], files["ca.crt"]) == (expected.healthcheck_client.cert, expected.ca_cert)


def test_a_rerun_changes_nothing_and_bumping_the_epoch_changes_only_the_steps_carrying_certificates():
    # With what the remote steps print (the init's stdin includes master 2's rejoin-secrets output).
    before = run_bootstrap("test", {"pkiEpoch": "2025-06-01"})
    again = run_bootstrap("test", {"pkiEpoch": "2025-06-01"})
    after = run_bootstrap("test")  # pkiEpoch 2026-12-01: the bump

    def inputs(program: ProgramRun) -> dict[str, dict]:
        return {r.name: r.inputs for r in program.resources}

    assert inputs(before) == inputs(again), "same seed and epoch: byte-identical inputs (no diff)"
    changed = {name for name, value in inputs(after).items() if inputs(before)[name] != value}
    member_steps = {f"{ET}-{n['name']}-member" for n in members(after)}
    masters = [n["name"] for n in after.outputs["nodes"] if n["role"] == "master"]
    # The members' certificates, kubeadm's copy of the CA and the apiserver's client certificate, and
    # Prometheus's copy of the CA and its client certificate (the monitoring add-on's Secret).
    carriers = member_steps | {"platform-kubeadm-init"} | {f"platform-kubeadm-{m}-join" for m in masters}
    carriers |= {"platform-addons-monitoring-etcd-client"}
    assert member_steps | {"platform-kubeadm-init"} <= changed <= carriers
    for node in members(after):
        old, new = pushed(before, node["name"]), pushed(after, node["name"])
        assert all(old[f] != new[f] for f in old), "every certificate and key changes with the epoch"
        # The CA certificate is re-issued, its key is not: old and new leaves share the trust anchor.
        old_ca, new_ca = (x509.load_pem_x509_certificate(f["ca.crt"].encode()) for f in (old, new))
        assert old_ca.public_key() == new_ca.public_key() and old_ca.subject == new_ca.subject


def test_certificates_near_expiry_warn_naming_the_key_to_bump(caplog):
    old = (datetime.now(UTC).date() - timedelta(days=700)).isoformat()
    with caplog.at_level(logging.WARNING):
        run("test", {"pkiEpoch": old})
    warnings = [r.getMessage() for r in caplog.records if "pkiEpoch" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("k8s-platform:pkiEpoch: the etcd certificates of epoch")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        committed.cache_clear()
        committed("test")
    assert not [r for r in caplog.records if "pkiEpoch" in r.getMessage()]


@pytest.mark.parametrize(("case", "count"), CASES)
def test_each_bootstrap_pushes_its_unit_and_certificates_through_a_secret_stdin(case, count):
    program = program_of(case)
    nodes = members(program)
    peers = ",".join(f"{n['name']}=https://{n['private_ip']}:2380" for n in nodes)
    for node in nodes:
        member = step(program, node["name"], "member")
        assert isinstance(member.inputs["stdin"], Secret)
        assert not isinstance(member.inputs["create"], Secret)
        files = decode_payload(member.inputs["stdin"].value)
        unit = files["/etc/systemd/system/etcd.service"][2]
        assert f"--name={node['name']}" in unit and f"--initial-cluster={peers}" in unit
        assert "--initial-cluster-state=new" in unit
        assert files["/etc/etcd/pki/server.key"][:2] == ("0600", "etcd:etcd")
        assert files["/etc/etcd/pki/peer.key"][:2] == ("0600", "etcd:etcd")
        assert files["/etc/etcd/pki/etcdctl.key"][:2] == ("0600", "root:root")
        assert files["/etc/etcd/pki/server.key"][2] == expected_pki(program).members[node["name"]].server.key
        assert files["/etc/etcd/pki/ca.crt"][2] == expected_pki(program).ca_cert
        create = member.inputs["create"]
        assert value(create, "MEMBER") == node["name"]
        assert value(create, "PEER_URL") == f"https://{node['private_ip']}:2380"
        others = [f"https://{n['private_ip']}:2379" for n in nodes if n is not node]
        assert value(create, "PEER_ENDPOINTS") == ",".join(others)
        assert value(create, "ETCD_VERSION") == ETCD.version
        assert (
            value(create, "ETCD_URL") == ETCD.source == release_url(parse(stack_config("test")).etcd.release_base_url)
        )
        assert "systemctl start --no-block etcd" in create


@pytest.mark.parametrize(("case", "count"), CASES)
def test_each_member_mounts_its_own_etcd_data_volume(case, count):
    program = program_of(case)
    for node in members(program):
        create = step(program, node["name"], "member").inputs["create"]
        index = node["name"].rsplit("-", 1)[1]
        expected = "" if case == "lab" else f"platform-iaas-pool-etcd-{index}-etcd-data-id"
        assert value(create, "VOLUME_ID") == expected
        assert "mkfs.ext4" in create and 'blkid -p "$device"' in create


@pytest.mark.parametrize(("case", "count"), CASES)
def test_the_delete_step_removes_its_own_member_through_the_cluster(case, count):
    program = program_of(case)
    nodes = members(program)
    endpoints = ",".join(f"https://{n['private_ip']}:2379" for n in nodes)
    for node in nodes:
        delete = step(program, node["name"], "member").inputs["delete"]
        assert value(delete, "MEMBER") == node["name"]
        assert value(delete, "PEER_URL") == f"https://{node['private_ip']}:2380"
        assert value(delete, "ENDPOINTS") == endpoints
        assert 'member remove "${line%%,*}"' in delete
        # The step depends on the member's instance, so it is deleted (and runs) before the machine.
        instance = next(
            r for r in program.resources if r.type.endswith("Instance") and r.inputs["name"] == node["name"]
        )
        assert instance.urn in step(program, node["name"], "member").dependencies


def test_removing_a_member_from_the_config_deletes_exactly_its_steps():
    before, after = five_members(), committed("prod")
    gone = {r.name for r in before.of_type(COMMAND)} - {r.name for r in after.of_type(COMMAND)}
    assert gone == {f"{ET}-k8s-prod-etcd-{i}-{kind}" for i in (4, 5) for kind in ("member", "backup")}
    # The remaining members' bootstrap stays the same script; only the unit's member list changes.
    for i in (1, 2, 3):
        name = f"k8s-prod-etcd-{i}"
        old, new = step(before, name, "member"), step(after, name, "member")
        assert value(old.inputs["create"], "VOLUME_ID") == value(new.inputs["create"], "VOLUME_ID")
        assert "k8s-prod-etcd-5=" in decode_payload(old.inputs["stdin"].value)["/etc/systemd/system/etcd.service"][2]
        assert (
            "k8s-prod-etcd-5=" not in decode_payload(new.inputs["stdin"].value)["/etc/systemd/system/etcd.service"][2]
        )


@pytest.mark.parametrize(("case", "count"), CASES)
def test_health_waits_for_every_member_and_backups_wait_for_health(case, count):
    program = program_of(case)
    nodes = members(program)
    health = program.named(f"{ET}-health")
    assert {step(program, n["name"], "member").urn for n in nodes} <= set(health.dependencies)
    assert value(health.inputs["create"], "PEER_URLS") == " ".join(f"https://{n['private_ip']}:2380" for n in nodes)
    for node in nodes:
        backup = step(program, node["name"], "backup")
        assert health.urn in backup.dependencies
        assert "systemctl disable --now etcd-backup.timer" in backup.inputs["delete"]


@pytest.mark.parametrize("case", ["lab", "test", "prod"])
def test_backups_follow_the_schedule_and_install_the_restore_script(case):
    program = committed(case)
    spec = parse(stack_config(case))
    for node in members(program):
        backup = step(program, node["name"], "backup")
        files = decode_payload(plain(backup.inputs["stdin"]))
        assert f"OnCalendar={spec.etcd.backup.schedule}" in files["/etc/systemd/system/etcd-backup.timer"][2]
        assert files["/usr/local/sbin/etcd-backup"][0] == "0755"
        assert f"readonly KEEP={spec.etcd.backup.keep}" in files["/usr/local/sbin/etcd-backup"][2]
        restore = files["/usr/local/sbin/etcd-restore"][2]
        assert node["name"] in restore
        # The lab's member shares its machine with the apiserver; a dedicated member has none.
        assert ("/etc/kubernetes/manifests/kube-apiserver.yaml" in restore) == (case == "lab")
        # prod uploads to S3 but has no credentials configured: no env file is pushed.
        assert "/etc/etcd/backup-s3.env" not in files
        assert value(backup.inputs["create"], "WITH_S3") == ("yes" if spec.etcd.backup.s3 else "no")
        stacked = spec.etcd.topology == EtcdTopology.STACKED
        assert value(backup.inputs["create"], "NODE_EXPORTER") == ("no" if stacked else "yes")


def test_s3_credentials_become_a_root_only_env_file_in_a_secret_stdin():
    program = run("prod", {"etcdBackupS3Credentials": Secret("AKIDPRODETCD:s3cr3tKeyV4lue")})
    for node in members(program):
        stdin = step(program, node["name"], "backup").inputs["stdin"]
        assert isinstance(stdin, Secret)
        mode, owner, env = decode_payload(stdin.value)["/etc/etcd/backup-s3.env"]
        assert (mode, owner) == ("0600", "root:root")
        assert "RCLONE_CONFIG_ETCDBACKUP_ACCESS_KEY_ID=AKIDPRODETCD" in env
        assert "RCLONE_CONFIG_ETCDBACKUP_SECRET_ACCESS_KEY=s3cr3tKeyV4lue" in env
        assert "RCLONE_CONFIG_ETCDBACKUP_ENDPOINT=https://rgw.storage.internal" in env


def test_malformed_s3_credentials_fail_naming_the_key_not_the_value():
    with pytest.raises(Exception, match=f"{NAMESPACE}:etcdBackupS3Credentials: expected") as caught:
        run("prod", {"etcdBackupS3Credentials": Secret("no-colon-h3re")})
    assert "no-colon-h3re" not in str(caught.value)


def test_an_etcd_pool_without_the_etcd_data_volume_is_rejected():
    with pytest.raises(SpecError) as caught:
        parse(stack_config("test", {"nodePools.etcd.dataVolumes": []}))
    assert "etcd-data" in dict(caught.value.violations)[f"{NAMESPACE}:nodePools.etcd.dataVolumes"]


@pytest.mark.parametrize(
    ("key", "bad"),
    [("releaseBaseUrl", "ftp://mirror"), ("releaseBaseUrl", "https://mirror/"), ("releaseSha256", "abc")],
)
def test_release_settings_are_validated(key, bad):
    with pytest.raises(SpecError, match=f"{NAMESPACE}:etcd.{key}"):
        parse(stack_config("test", {f"etcd.{key}": bad}))


def test_a_mirror_and_a_pinned_checksum_reach_the_bootstrap():
    sha = "a" * 64
    program = run("test", {"etcd.releaseBaseUrl": "https://mirror.internal/etcd", "etcd.releaseSha256": sha})
    create = step(program, "k8s-test-etcd-1", "member").inputs["create"]
    assert value(create, "ETCD_URL") == (
        f"https://mirror.internal/etcd/v{ETCD.version}/etcd-v{ETCD.version}-linux-amd64.tar.gz"
    )
    assert value(create, "ETCD_SUMS_URL") == f"https://mirror.internal/etcd/v{ETCD.version}/SHA256SUMS"
    assert value(create, "ETCD_SHA256") == sha

"""The stack-config keys and rules the IaaS layer added: sshPublicKey, image IDs, floating-IP pool,
subnet gateway, public ingress, Ceph disks. Each bad value is rejected naming its key path."""

from __future__ import annotations

import base64

import pytest

from config.load import load_stack_file, parse
from config.openssh import check_ssh_public_key
from config.spec import NAMESPACE, SpecError
from tests.harness import ROOT, STACKS, stack_config

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFs6ar6B0Z3LUUvSssD5N4/KP5SRAVgb66G95QTL5xt8 someone@example"
# The blob names a different algorithm than the first field: a mangled paste.
MISLABELLED = "ssh-rsa " + ED25519.split()[1]
TRUNCATED = "ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\x0bssh-").decode()


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stacks_carry_an_ed25519_public_key(stack):
    key = load_stack_file(ROOT / f"Pulumi.{stack}.yaml").ssh_public_key
    assert key.startswith("ssh-ed25519 ") and check_ssh_public_key(key) == key


def test_a_public_key_is_normalised_to_one_line():
    assert check_ssh_public_key(f"  {ED25519}\n") == ED25519


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", "required key is missing"),  # empty is unset (Pulumi.yaml declares the empty default)
        ("-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA", "not an OpenSSH public key"),
        ("ssh-ed25519", "not an OpenSSH public key"),
        ("ssh-ed25519 not*base64", "not base64"),
        (MISLABELLED, "not a ssh-rsa key"),
        (TRUNCATED, "not a ssh-ed25519 key"),
        (f"{ED25519}\n{ED25519}", "single line"),
    ],
)
def test_bad_ssh_public_key_is_rejected_naming_its_key(value, words):
    with pytest.raises(SpecError) as caught:
        parse(stack_config("test", {"sshPublicKey": value}))
    message = dict(caught.value.violations)[f"{NAMESPACE}:sshPublicKey"]
    assert words in message


def test_missing_ssh_public_key_is_rejected():
    with pytest.raises(SpecError, match=r"k8s-platform:sshPublicKey: required key is missing"):
        parse(stack_config("prod", {"sshPublicKey": None}))


# (stack, override, key path, words in the message)
BAD_IAAS_CONFIGS = [
    ("prod", {"nodePools.gpu.image": "ubuntu-22.04-nvidia"}, "nodePools.gpu.image", "not a Glance image ID"),
    ("prod", {"network.externalNetworkName": None}, "network.externalNetworkName", "bastion"),
    ("lab", {"network.externalNetworkName": None}, "network.externalNetworkName", "apiFloatingIp"),
    ("test", {"network.allocationPool.start": "10.30.0.1"}, "network.allocationPool.start", "gateway"),
    ("test", {"network.apiVip": "10.30.0.1"}, "network.apiVip", "gateway"),
    ("prod", {"nodePools.storage.dataVolumes": []}, "nodePools.storage.dataVolumes", "Ceph OSDs"),
    ("lab", {"network.publicIngressCidrs": ["10.0.0.0/8"]}, "network.publicIngressCidrs", "role ingress"),
]


@pytest.mark.parametrize(
    ("stack", "override", "path", "words"), BAD_IAAS_CONFIGS, ids=[c[2] + ":" + c[3] for c in BAD_IAAS_CONFIGS]
)
def test_bad_iaas_config_is_rejected_naming_its_key(stack, override, path, words):
    with pytest.raises(SpecError) as caught:
        parse(stack_config(stack, override))
    violations = dict(caught.value.violations)
    assert f"{NAMESPACE}:{path}" in violations, str(caught.value)
    assert words in violations[f"{NAMESPACE}:{path}"]


def test_an_existing_subnet_is_not_held_to_the_gateway_rule():
    # Its gateway is whatever the cloud chose; the program cannot see it.
    spec = parse(
        stack_config(
            "test",
            {
                "network.existingNetworkId": "net-id",
                "network.existingSubnetId": "subnet-id",
                "network.apiVip": "10.30.0.1",
            },
        )
    )
    assert str(spec.network.api_vip) == "10.30.0.1"

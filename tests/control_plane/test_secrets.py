"""Secrets of the control-plane layer stay secret Outputs wherever they appear.

The stack's seed and everything derived from it (every etcd key, the kubeadm init token and
certificate key, the VRRP password when unset), a configured VRRP password, the S3 credentials and
the SSH private key: none of them may appear, raw or base64-encoded (the steps' payload encoding),
in any registered input outside a Secret, nor in the stack outputs. The components' own secret
attributes (the apiserver's etcd client key) are secret Outputs, their certificates are not.
"""

from __future__ import annotations

import runpy

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from components.render.seed import bootstrap_token, certificate_key
from tests import harness
from tests.control_plane.endpoint_etcd_mocks import (
    COMMAND,
    b64,
    control_plane_mocks,
    decode_payload,
    derived_vrrp_password,
    expected_pki,
    key_texts,
    plaintext_outside_secrets,
    run,
    seed,
)

SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE SSH KEY OF THE OPERATOR\n-----END OPENSSH PRIVATE KEY-----\n"
S3 = "AKIDSECRETSCAN:Sup3rS3cretS3Key"
VRRP = "Vrrp:8ch"
RUNS = {
    "lab": ("lab", {"sshPrivateKey": harness.Secret(SSH_KEY)}),
    "test": ("test", {"sshPrivateKey": harness.Secret(SSH_KEY)}),
    "prod": ("prod", {"sshPrivateKey": harness.Secret(SSH_KEY), "etcdBackupS3Credentials": harness.Secret(S3)}),
    "prod-5-configured-vrrp": (
        "prod",
        {
            "keepalivedAuthPass": harness.Secret(VRRP),
            "etcdBackupS3Credentials": harness.Secret(S3),
            "etcd.members": 5,
            "nodePools.etcd.count": 5,
        },
    ),
    "test-configured-vrrp": ("test", {"keepalivedAuthPass": harness.Secret(VRRP)}),
}


def needles(program: harness.ProgramRun, overrides: dict) -> set[str]:
    """Every secret text of the run, raw and as the payload encodes it; for a key also its first
    base64 line, so a partial copy is caught too."""
    keys = key_texts(expected_pki(program, overrides))
    texts = keys | {key.splitlines()[1] for key in keys}
    texts |= {harness.TEST_SEED, seed().hex().upper(), bootstrap_token(seed()), certificate_key(seed())}
    texts |= {derived_vrrp_password(), SSH_KEY, S3, S3.split(":")[1], VRRP}
    return texts | {b64(t) for t in texts}


@pytest.mark.parametrize("case", sorted(RUNS))
def test_no_secret_appears_outside_a_secret_in_any_registration(case):
    stack, overrides = RUNS[case]
    program = run(stack, overrides)
    secrets = needles(program, overrides)
    assert len(secrets) > 20, "the scan has the PKI's keys to look for"
    leaks = [
        f"{r.type} {r.name}{hit}" for r in program.resources for hit in plaintext_outside_secrets(r.inputs, secrets)
    ]
    leaks += [f"stack output {hit}" for hit in plaintext_outside_secrets(program.outputs, secrets)]
    assert leaks == []
    # ...and the secrets did reach the machines (inside Secrets), so the scan had something to find.
    everything = repr([_reveal(r.inputs) for r in program.resources])
    pki = expected_pki(program, overrides)
    assert b64(pki.healthcheck_client.key) in everything
    assert all(b64(certs.server.key) in everything for certs in pki.members.values())
    if "keepalivedAuthPass" in overrides:
        assert any(f"auth_pass {VRRP}" in text for text in _payload_texts(program))
    elif stack != "lab":
        assert any(f"auth_pass {derived_vrrp_password()}" in text for text in _payload_texts(program))


def _reveal(value):
    if isinstance(value, harness.Secret):
        return _reveal(value.value)
    if isinstance(value, dict):
        return {k: _reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_reveal(v) for v in value]
    return value


def _payload_texts(program: harness.ProgramRun) -> list[str]:
    out = []
    for command in program.of_type(COMMAND):
        stdin = command.inputs.get("stdin")
        if isinstance(stdin, harness.Secret) and stdin.value and "platform-api-endpoint" in command.name:
            out += [content for _, _, content in decode_payload(stdin.value).values()]
    return out


def test_the_ssh_key_rides_every_connection_as_a_secret():
    program = run("test", {"sshPrivateKey": harness.Secret(SSH_KEY)})
    for command in program.of_type(COMMAND):
        connection = command.inputs["connection"]
        assert isinstance(connection, harness.Secret) or isinstance(connection.get("privateKey"), harness.Secret)


def test_the_components_secret_attributes_are_secret_outputs(monkeypatch):
    captured = {}
    original = runpy.run_path

    def run_path(path, *args, **kwargs):
        captured.update(original(path, *args, **kwargs))
        return captured

    monkeypatch.setattr(harness.runpy, "run_path", run_path)
    with control_plane_mocks():
        harness.run_program("test")
    platform = captured["platform"]
    etcd = platform.etcd
    assert _sync_await(etcd.client_key.is_secret())
    pki = expected_pki(harness.ProgramRun("test", outputs=_exported_nodes(captured)))
    assert _sync_await(etcd.client_key.future()) == pki.apiserver_client.key
    assert _sync_await(etcd.client_cert.future()) == pki.apiserver_client.cert
    assert _sync_await(etcd.ca_cert.future()) == pki.ca_cert
    # Certificates are public: computed from the secret seed, but not secret Outputs.
    for public in (etcd.ca_cert, etcd.client_cert, etcd.endpoints, platform.api_endpoint.sans):
        assert not _sync_await(public.is_secret())
    assert _sync_await(platform.api_endpoint.sans.future()) == ["10.30.0.10"]
    assert platform.api_endpoint.port == 6443
    assert platform.etcd.ready and platform.api_endpoint.ready


def _exported_nodes(namespace: dict) -> dict:
    nodes = [node.to_output() for node in namespace["platform"].nodes]
    return {"nodes": [_sync_await(pulumi.Output.from_input(n).future()) for n in nodes]}

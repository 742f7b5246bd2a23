"""components/render/seed.py: HKDF derivations from the stack's seed.

Golden vectors pin every derivation: a change to a label, the KDF or the character mapping would
silently rotate every deployed stack's secrets, so it must show up here first.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter

import pytest

from components.render import seed as s
from components.render.keepalived import MAX_AUTH_PASS, KeepalivedArgs, LoadBalancerNode
from components.render.kubeadm import BootstrapSecrets
from config import formats

GOLDEN_SEED = bytes(range(32))


def reference_hkdf(ikm: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF-SHA256 written out (no salt: HashLen zero bytes), to check ``derive`` against."""
    prk = hmac.new(b"\0" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def reference_chars(seed: bytes, label: str, alphabet: str, count: int) -> tuple[str, int]:
    """Rejection sampling as documented; returns the characters and how many blocks it used."""
    limit, out, block = 256 - 256 % len(alphabet), [], 0
    while len(out) < count:
        info = label if block == 0 else f"{label}#{block}"
        stream = reference_hkdf(seed, info.encode(), 2 * count + 16)
        accepted = [alphabet[b % len(alphabet)] for b in stream if b < limit]
        out += accepted[: count - len(out)]
        block += 1
    return "".join(out), block


def test_golden_vectors_for_a_fixed_seed():
    assert s.bootstrap_token(GOLDEN_SEED) == "o8tn5t.0zde8or6yh02c2uz"
    assert s.certificate_key(GOLDEN_SEED) == "ad95c63fbf80091fbe06b6919c7a62127ab1fc901cf0b65607095e7f7eb7dea2"
    assert s.vrrp_password(GOLDEN_SEED) == "Iq9TmRbI"
    assert s.derive(GOLDEN_SEED, "k8s-platform/v1/kubeadm/init-token", 16).hex() == "326a7f0d1f7fce610328220ee92084df"
    ca_scalar = 0x758CCC605B2D74C99DBD528CE12EB82C330BCF2103E34559B2E14864462A50D4
    assert s.p256_scalar(GOLDEN_SEED, s.LABELS["etcd_ca_key"]) == ca_scalar
    assert s.serial_number(GOLDEN_SEED, "x") == 118169589587403824301459571556309207908839348197


@pytest.mark.parametrize("label", [*s.LABELS.values(), "", "k8s-platform/v1/etcd-pki/2026-12-01/ca/serial/ab"])
@pytest.mark.parametrize("length", [1, 32, 64, 100])
def test_derive_is_rfc5869_hkdf_sha256_with_the_label_as_info(label, length):
    assert s.derive(GOLDEN_SEED, label, length) == reference_hkdf(GOLDEN_SEED, label.encode(), length)


def test_the_character_mapping_is_rejection_sampling_including_the_counter_blocks():
    blocks_seen = set()
    for index in range(40):
        seed = hashlib.sha256(bytes([index])).digest()
        for alphabet, count in ((s.TOKEN_ALPHABET, 22), (s.AUTH_PASS_ALPHABET, 8), ("x" * 129, 300)):
            expected, blocks = reference_chars(seed, f"label-{index}", alphabet, count)
            assert s.derive_chars(seed, f"label-{index}", alphabet, count) == expected
            blocks_seen.add(blocks)
    assert blocks_seen >= {1, 2}, "some case needed a second block (129 characters reject half the bytes)"


def test_characters_are_uniform_over_the_alphabet():
    # 36 does not divide 256: a plain `byte % 36` would give the first 4 characters 8/7 of the others' share.
    chars = "".join(s.derive_chars(GOLDEN_SEED, f"uniformity-{i}", s.TOKEN_ALPHABET, 360) for i in range(100))
    counts = Counter(chars)
    expected = len(chars) / 36
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in s.TOKEN_ALPHABET)
    assert set(counts) == set(s.TOKEN_ALPHABET)
    assert chi2 < 70, f"chi-square {chi2:.1f} over 35 degrees of freedom (p < 0.001 above ~66.6)"


@pytest.mark.parametrize("index", range(20))
def test_formats_are_what_kubeadm_and_keepalived_accept(index):
    seed = hashlib.sha256(b"format-%d" % index).digest()
    token, key, password = s.bootstrap_token(seed), s.certificate_key(seed), s.vrrp_password(seed)
    assert re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", token)
    assert re.fullmatch(r"[a-f0-9]{64}", key)
    assert re.fullmatch(r"[A-Za-z0-9]{8}", password)
    BootstrapSecrets(token=token, certificate_key=key)  # the renderers' own checks accept them
    node = LoadBalancerNode("lb-1", "10.0.0.5")
    KeepalivedArgs(
        node="lb-1", nodes=(node,), vip="10.0.0.10", vip_prefix_len=24, virtual_router_id=51, auth_pass=password
    )
    assert s.AUTH_PASS_LENGTH == MAX_AUTH_PASS


def test_labels_are_distinct_and_give_independent_values():
    epoch = "2026-12-01"
    roles = [f"member/k8s-prod-etcd-{i}/{kind}" for i in (1, 2, 3) for kind in ("server", "peer")]
    roles += ["client/kube-apiserver-etcd-client", "client/etcd-healthcheck-client"]
    labels = [*s.LABELS.values(), *(s.etcd_leaf_key_label(epoch, r) for r in roles)]
    labels += [s.etcd_serial_label(epoch, r, "0" * 32) for r in ["ca", *roles]]
    assert len(set(labels)) == len(labels)
    assert all(label.startswith("k8s-platform/v1/") for label in labels)
    values = [s.derive(GOLDEN_SEED, label, 32) for label in labels]
    assert len(set(values)) == len(values)


def test_a_different_seed_gives_different_secrets():
    other = bytes(31) + b"\x01"
    for derivation in (s.bootstrap_token, s.certificate_key, s.vrrp_password):
        assert derivation(GOLDEN_SEED) != derivation(other)


def test_private_scalars_and_serials_are_in_range():
    for index in range(200):
        scalar = s.p256_scalar(GOLDEN_SEED, f"scalar-{index}")
        assert 1 <= scalar < s.P256_ORDER
        serial = s.serial_number(GOLDEN_SEED, f"serial-{index}")
        assert 0 < serial < 2**159  # positive and at most 20 octets (RFC 5280 4.1.2.2)


@pytest.mark.parametrize(
    "text", ["", "abc", "g" * 64, "ab" * 31, "ab" * 33, "5eed" * 16 + "\x00", "0x" + "ab" * 31, "q" * 44]
)
def test_a_malformed_seed_is_rejected_without_echoing_it(text):
    assert formats.seed_problem(text) is not None
    with pytest.raises(ValueError, match=r"^k8s-platform:secretSeed: expected 64 hex characters") as caught:
        formats.parse_seed(text)
    assert not text or text not in str(caught.value)


def test_a_well_formed_seed_parses_whatever_the_case_and_surrounding_whitespace():
    text = GOLDEN_SEED.hex()
    assert (
        formats.parse_seed(text) == formats.parse_seed(text.upper()) == formats.parse_seed(f"{text}\n") == GOLDEN_SEED
    )
    with pytest.raises(ValueError, match="32 bytes"):
        s.derive(b"short", "label", 16)

"""components/secret_seed.py and the program's seed checks: no seed, no resources.

The program refuses to run without ``k8s-platform:secretSeed``, with it in plain text, or with a
malformed one, before it registers anything, and never quotes the value. What derives from the
seed stays a secret Output (the scans of every registration are in tests/control_plane/test_secrets.py).
"""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime.sync_await import _sync_await

from components.render.seed import vrrp_password
from components.secret_seed import derived_secret, stack_seed
from tests.harness import TEST_SEED, ProgramRun, Secret, run_program


def failed_run(stack: str, overrides: dict) -> tuple[str, ProgramRun]:
    run = ProgramRun(stack)
    with pytest.raises(pulumi.RunError) as caught:
        run_program(stack, overrides, into=run)
    return str(caught.value), run


@pytest.mark.parametrize("stack", ["lab", "test", "prod"])
def test_without_a_seed_the_program_stops_before_registering_anything(stack):
    message, run = failed_run(stack, {"secretSeed": None})
    assert message == (
        "stack config rejected (1 problem), nothing was changed:\n"
        f"k8s-platform:secretSeed: not set: run `scripts/pulumi {stack} init-secrets` (stores the stack's random "
        "seed, encrypted; docs/runbooks/secrets.md)"
    )
    assert run.resources == []


def test_a_seed_in_plain_text_is_rejected_without_quoting_it():
    message, run = failed_run("test", {"secretSeed": TEST_SEED})
    assert message.endswith(
        "k8s-platform:secretSeed: holds a secret: set it with `pulumi config set --secret`, never in plain text"
    )
    assert TEST_SEED not in message and run.resources == []


@pytest.mark.parametrize("bad", ["5eed" * 15, "not-hex-" * 8, ""])
def test_a_malformed_secret_seed_is_rejected_without_quoting_it(bad):
    message, run = failed_run("test", {"secretSeed": Secret(bad)})
    assert "k8s-platform:secretSeed: expected 64 hex characters" in message
    assert (not bad or bad not in message) and run.resources == []


def test_the_seed_and_what_derives_from_it_are_secret_outputs():
    run_program("lab")  # sets the engine config the program read, the seed among it
    seed = stack_seed()
    assert _sync_await(seed.is_secret())
    assert _sync_await(seed.future()) == bytes.fromhex(TEST_SEED)
    password = derived_secret(vrrp_password)
    assert _sync_await(password.is_secret())
    assert _sync_await(password.future()) == vrrp_password(bytes.fromhex(TEST_SEED))

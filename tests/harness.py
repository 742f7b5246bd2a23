"""Run the real ``__main__.py`` under Pulumi mocks and record every registration.

One harness for every component test: ``run_program("prod")`` returns each resource with its
type, name, parent, inputs (secret values marked), protect flag and dependencies, plus the stack
outputs. Overrides let a test change a stack file's config without writing a file.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import runpy
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.platform import READ_STACK_OUTPUTS
from config.formats import SEED_KEY
from config.load import read_stack_file
from config.spec import NAMESPACE

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("lab", "test", "prod")
TEST_SEED = "5eed" * 16
"""The mock runs' ``k8s-platform:secretSeed`` (64 hex characters), set as a secret like
``scripts/pulumi <stack> init-secrets`` does; a ``secretSeed`` override replaces it (None: unset)."""


class Secret:
    """Marks an input the program registered as a secret; ``.value`` holds the plaintext."""

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return "Secret(***)"

    # Two runs registering the same secret value compare equal (tests diff whole registrations).
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and self.value == other.value

    def __hash__(self) -> int:
        return hash(repr(self.value))


UNKNOWN = rpc.UNKNOWN
"""What an input unknown during the preview reads as (pulumi's own sentinel), so runs compare equal."""


def _unwrap(value: Any) -> Any:
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return Secret(_unwrap(value.get("value")))
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    custom: bool
    additional_secret_outputs: list[str] = field(default_factory=list)
    """Outputs the engine must store encrypted (e.g. a command's stdout carrying a kubeconfig)."""
    id: str = ""
    """The ID the mocks gave a custom resource."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """The state the mocks returned (secret values marked), as a cloud would after ``up``."""
    delete_before_replace: bool = False
    """The resource is deleted before its replacement is created (``delete_before_replace``)."""
    ignore_changes: list[str] = field(default_factory=list)
    """Input properties whose changes the engine ignores (``ignore_changes``)."""


@dataclass
class ProgramRun:
    stack: str
    resources: list[Registration] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Registration:
        return next(r for r in self.resources if r.name == name)

    def type_counts(self) -> Counter:
        """Resource type -> count, over everything the program registered (the Stack excluded)."""
        return Counter(r.type for r in self.resources)


# Attributes the cloud computes that later layers read: resource type -> (output, fake value maker).
# Ports get consecutive addresses of the stack's DHCP allocation pool, as Neutron hands them out,
# so renderers that check an address against the node subnet (keepalived, kubeadm) accept them;
# floating IPs come from the benchmarking range 198.19.0.0/16 (RFC 2544, never routed), chosen by
# the resource's name: the program registers floating IPs concurrently, so a counter would hand the
# bastion's address to another machine in some runs and every SSH step would seem to change. Both
# are unique within a run.
_POOL_START = [int(ipaddress.IPv4Address("198.18.0.1"))]
"""First address of the running stack's allocation pool (set by run_program; this default when
the config has none, e.g. a test of a broken config)."""
_COMPUTED = {
    "openstack:networking/port:Port": (
        "allFixedIps",
        lambda n, _name: [str(ipaddress.IPv4Address(_POOL_START[0] + n))],
    ),
    "openstack:networking/floatingIp:FloatingIp": ("address", lambda _n, name: _floating_ip(name)),
}


def _floating_ip(name: str) -> str:
    n = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % (250 * 250)
    return f"198.19.{n // 250}.{n % 250 + 1}"


def _allocation_pool_start(config: dict[str, Any]) -> int:
    try:
        return int(ipaddress.IPv4Address(config[f"{NAMESPACE}:network"]["allocationPool"]["start"]))
    except (KeyError, TypeError, ValueError):
        return int(ipaddress.IPv4Address("198.18.0.1"))


STACK_REFERENCE = "pulumi:pulumi:StackReference"
SECRET_EXPORTS = frozenset({"kubeconfig", "worker_join"})
"""The exports the program makes secret (a referenced stack's ``secretOutputNames``)."""


class _Mocks(pulumi.runtime.Mocks):
    """Echo inputs back as state; IDs are the resource names. Ports and floating IPs also get a
    fake address (see _COMPUTED) unless the program set one."""

    def __init__(self):
        self.counters: Counter = Counter()
        self.computed: dict[str, str] = {}
        self.recorded_outputs: dict[str, Any] = {}
        """The stack's outputs as its last update recorded them (``run_program(recorded=...)``)."""
        self.other_outputs: dict[str, dict[str, Any]] = {}
        """Other stacks' recorded outputs by stack name (``run_program(stacks=...)``)."""
        self.stack = ""
        # The SDK registers resources from a thread pool: reading and bumping a counter is one step.
        self.lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if args.typ == STACK_REFERENCE:  # read, not registered: the referenced stack's recorded outputs
            name = args.inputs["name"]
            outputs = self.other_outputs.get(name.rsplit("/", 1)[-1], {})
            return name, {"name": name, "outputs": outputs, "secretOutputNames": sorted(SECRET_EXPORTS & set(outputs))}
        state = dict(args.inputs)
        computed = _COMPUTED.get(args.typ)
        if computed and computed[0] not in state:
            with self.lock:
                state[computed[0]] = value = computed[1](self.counters[args.typ], args.name)
                self.counters[args.typ] += 1
                owner = self.computed.setdefault(repr(value), args.name)
            assert owner == args.name, f"{args.name} and {owner} got the same fake {computed[0]}"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == READ_STACK_OUTPUTS:  # a stack's recorded outputs (components/platform.py)
            stack = args.args["name"].rsplit("/", 1)[-1]
            outputs = self.recorded_outputs if stack == self.stack else self.other_outputs.get(stack, {})
            return {
                "name": args.args["name"],
                "outputs": outputs,
                "secretOutputNames": sorted(SECRET_EXPORTS & set(outputs)),
            }
        # The program must not look anything up during a preview (issue: no invokes).
        raise AssertionError(f"the program called {args.token}; pass names/IDs from config instead")


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: _Mocks, run: ProgramRun):
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            raw = rpc.deserialize_properties(request.object, keep_internal=True)
            self.run.resources.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    inputs=_unwrap(raw),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    additional_secret_outputs=list(request.additionalSecretOutputs),
                    dependencies=list(request.dependencies),
                    custom=bool(request.custom),
                    id=response.id,
                    outputs=_unwrap(rpc.deserialize_properties(response.object, keep_internal=True)),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    ignore_changes=list(request.ignoreChanges),
                )
            )
        return response


def stack_config(
    stack: str, overrides: dict[str, Any] | None = None, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The stack file's config map (or ``config``) with ``{"network.podCidr": value}``-style
    overrides applied.

    An override value of ``None`` deletes the key.
    """
    config = copy.deepcopy(config if config is not None else read_stack_file(ROOT / f"Pulumi.{stack}.yaml"))
    for path, value in (overrides or {}).items():
        top, *rest = path.split(".")
        key = f"{NAMESPACE}:{top}"
        if not rest:
            if value is None:
                config.pop(key, None)
            else:
                config[key] = value
            continue
        node = config.setdefault(key, {})
        for part in rest[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        last = rest[-1]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return config


def capacity_cli(tmp_path: Path, stack: str, overrides: dict[str, Any] | None = None):
    """``python -m planning.capacity`` on a stack file written from ``stack`` + ``overrides``."""
    import subprocess
    import sys

    import yaml

    stack_file = tmp_path / f"Pulumi.{stack}-variant.yaml"
    stack_file.write_text(yaml.safe_dump({"config": stack_config(stack, overrides)}))
    return subprocess.run(
        [sys.executable, "-m", "planning.capacity", str(stack_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def run_program(
    stack: str,
    overrides: dict[str, Any] | None = None,
    preview: bool = True,
    into: ProgramRun | None = None,
    recorded: dict[str, Any] | None = None,
    stacks: dict[str, dict[str, Any]] | None = None,
    config: dict[str, Any] | None = None,
) -> ProgramRun:
    """Run ``__main__.py`` for ``stack`` under mocks; raises what the program raises.

    The stack's secret seed is ``TEST_SEED`` (a secret) unless ``overrides`` sets ``secretSeed``.
    ``into`` receives the registrations even when the program fails (to show it registered nothing).
    ``recorded``: the stack outputs of its last update (default: none, a stack never deployed).
    ``stacks``: other stacks' recorded outputs by name (a pool stack's platform, its siblings).
    ``config``: the stack's config map instead of its committed file (a pool stack's; ``overrides``
    still apply).
    """
    run = into if into is not None else ProgramRun(stack)
    mocks = _Mocks()
    mocks.recorded_outputs = dict(recorded or {})
    mocks.other_outputs, mocks.stack = dict(stacks or {}), stack
    # A fresh root Stack per run: set_mocks keeps the previous run's (and its exports) otherwise.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks,
        project=NAMESPACE,
        stack=stack,
        preview=preview,
        monitor=_RecordingMonitor(mocks, run),
    )
    # The engine hands structured values to the program as JSON text and decrypts secrets, naming
    # them in a list of secret keys; do the same (an override wrapped in Secret is a secret value).
    config = stack_config(stack, overrides, config)
    _POOL_START[0] = _allocation_pool_start(config)
    if SEED_KEY not in (overrides or {}):
        config[f"{NAMESPACE}:{SEED_KEY}"] = Secret(TEST_SEED)
    secret_keys = [k for k, v in config.items() if isinstance(v, Secret)]
    config = {k: v.value if isinstance(v, Secret) else v for k, v in config.items()}
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    pulumi.runtime.set_all_config(encoded, secret_keys)
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")))
    # The mock Stack registered its outputs before the program ran; resolve the exports directly.
    root = pulumi.runtime.get_root_resource()
    for key, value in root.outputs.items():
        run.outputs[key] = _sync_await(pulumi.Output.from_input(value).future())
    return run

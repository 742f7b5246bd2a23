"""A test fixture: the state a real ``pulumi up`` of a stack would leave, made without a cloud.

No OpenStack and no SSH targets are reachable here, so ``up`` cannot run. To preview *changes* of an
existing stack with the real engine, this module builds its deployment instead, and imports it with
``pulumi stack import``:

1. The real engine previews the stack (``scripts/pulumi <stack> preview --json`` with an event log).
   The JSON gives each resource as the engine would store it (parent, provider, dependencies,
   protect, inputs after the provider's Check); the event log gives the provider's preview outputs
   and shows which values are secret. Both mask every secret value as ``[secret]``.
2. The program runs under the bootstrap mocks with ``preview=False`` (tests/control_plane/
   kubeadm_mocks.py): every value only the cloud or a remote host would know is filled in there, as
   it would be after ``up`` (IDs, port addresses, the join secrets a master prints).
3. Every unknown or masked value of (1) is taken from (2) at the same property path, with the
   defaults the provider's Check fills in (from its schema: e.g. a connection's port 22). A provider output the mocks do
   not know either (an attribute only the cloud computes, e.g. a network's availability zone hints)
   gets a value of its schema type (``fixture`` strings, 0, false, empty lists and maps): as after a
   real ``up``, every computed attribute has a value (a null one would be planned as unknown,
   "known after apply", which is a change). Secret values are stored as secrets; custom resources
   get the mock's ID, default providers a fixed one.

The stack's own outputs are the mock run's exports (secret where the event log shows a secret).
Both runs use the same secret seed (``tests.harness.TEST_SEED``), so what the program derives from it
is identical. A preview of the unchanged config against this state must plan no change: any step it
shows is a difference between the engine's view and this fixture, reported by the tests.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pulumi.runtime import rpc

from tests.control_plane.kubeadm_mocks import run_bootstrap
from tests.engine.project import Workspace
from tests.harness import NAMESPACE, ROOT, SEED_KEY, TEST_SEED, Secret

PLUGIN_VERSIONS = {
    name: line.split("==")[1].strip()
    for name in ("openstack", "command", "kubernetes")
    for line in (ROOT / "requirements.txt").read_text().splitlines()
    if line.startswith(f"pulumi-{name}==")
}
UNKNOWN = rpc.UNKNOWN
MASKED = "[secret]"
"""How the engine's JSON and event log show every secret value."""
SECRET_SIG = rpc._special_sig_key
SECRET_VALUE = rpc._special_secret_sig
DROP = object()
"""A value neither the engine nor the mocks know: left out of the state."""
V3_KEYS = (
    "urn", "custom", "type", "parent", "protect", "retainOnDelete", "dependencies", "propertyDependencies",
    "additionalSecretOutputs", "deleteBeforeReplace", "ignoreChanges", "replaceOnChanges", "aliases",
)  # fmt: skip
"""What the deployment keeps of the preview's resource states (not source positions, stack traces)."""


def _plain(value: Any) -> Any:
    """A mock value without the harness's Secret marks."""
    if isinstance(value, Secret):
        return _plain(value.value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def fill(value: Any, mock: Any) -> Any:
    """``value`` (the engine's, possibly with unknowns and masked secrets) with each of those taken
    from ``mock``."""
    if value in (UNKNOWN, MASKED):
        return DROP if mock is None else _plain(mock)
    mock = _plain(mock)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            filled = fill(item, mock.get(key) if isinstance(mock, dict) else None)
            if filled is not DROP:
                out[key] = filled
        return out
    if isinstance(value, list):
        mocks = list(mock) if isinstance(mock, list) else []
        named = [m["name"] for m in mocks if isinstance(m, dict) and isinstance(m.get("name"), str)]
        if len(named) == len(mocks) == len(set(named)) and all(
            isinstance(v, dict) and v.get("name") in named for v in value
        ):
            # Records with names (the `nodes` output) pair up by name: the engine hands the program
            # `nodePools` with sorted keys, the mocks in file order, so their lists differ in order.
            by_name = {m["name"]: m for m in mocks}
            mocks = [by_name[v["name"]] for v in value]
        filled = [fill(item, mocks[i] if i < len(mocks) else None) for i, item in enumerate(value)]
        return [item for item in filled if item is not DROP]
    return value


def secret(value: Any) -> dict:
    """A secret as ``pulumi stack import`` takes it: plaintext, encrypted on import."""
    return {SECRET_SIG: SECRET_VALUE, "plaintext": json.dumps(value)}


def mark_secrets(value: Any, shape: Any) -> Any:
    """``value`` with every part the event log shows as a secret envelope (``shape``) made secret."""
    if isinstance(shape, dict) and shape.get(SECRET_SIG) == SECRET_VALUE:
        return secret(value)
    if isinstance(value, dict) and isinstance(shape, dict):
        return {k: mark_secrets(v, shape.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(shape, list):
        return [mark_secrets(v, shape[i] if i < len(shape) else None) for i, v in enumerate(value)]
    return value


ZERO = {"string": "fixture", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}
"""A value of each schema type, for an output only the cloud would know (see the module docstring)."""


class Schemas:
    """The installed plugins' own schemas: the zero outputs and Check defaults of each resource type."""

    def __init__(self, workspace: Workspace, stack: str, packages: list[str]):
        self.resources: dict[str, dict] = {}
        self.types: dict[str, dict] = {}
        for package in packages:
            got = workspace.pulumi(stack, "package", "get-schema", package)
            assert got.ok, got.stderr
            schema = json.loads(got.stdout)
            self.resources.update(schema["resources"])
            self.types.update(schema.get("types", {}))

    def zeros(self, token: str) -> dict[str, Any]:
        properties = self.resources.get(token, {}).get("properties", {})
        return {name: ZERO.get(spec.get("type"), {}) for name, spec in properties.items()}

    def with_defaults(self, token: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """``inputs`` with the schema's defaults where Check would fill them (nested objects too)."""
        specs = self.resources.get(token, {}).get("inputProperties", {})
        return {key: self._default(value, specs.get(key, {})) for key, value in inputs.items()}

    def _default(self, value: Any, spec: dict) -> Any:
        ref = spec.get("$ref", "")
        if not ref.startswith("#/types/") or not isinstance(value, dict):
            return value
        properties = self.types.get(ref.removeprefix("#/types/"), {}).get("properties", {})
        out = {k: self._default(v, properties.get(k, {})) for k, v in value.items()}
        for name, prop in properties.items():
            if "default" in prop and out.get(name) is None:
                out[name] = prop["default"]
        return out


STATE_FUNCS: dict[str, dict[str, Any]] = {
    # terraform-provider-openstack v3.4.0, resource_openstack_compute_instance_v2.go: user_data's
    # StateFunc "just stash[es] the hash for state & diff comparisons" (its SHA-1, hex).
    "openstack:compute/instance:Instance": {"userData": lambda text: hashlib.sha1(text.encode()).hexdigest()},
}
"""Outputs a provider stores transformed (a Terraform StateFunc): what ``up`` would record for them."""


def stored(token: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """``outputs`` with the provider's ``STATE_FUNCS`` applied, secrets kept secret."""
    out = dict(outputs)
    for key, state_func in STATE_FUNCS.get(token, {}).items():
        value = out.get(key)
        if isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE:
            out[key] = secret(state_func(json.loads(value["plaintext"])))
        elif isinstance(value, str):
            out[key] = state_func(value)
    return out


def outputs_of(
    logged: dict[str, Any], inputs: dict[str, Any], mock: dict[str, Any], zeros: dict[str, Any]
) -> dict[str, Any]:
    """The outputs ``up`` would store: the provider's preview outputs (``logged``, from the event log),
    a masked secret from the plain inputs of the same name or the mocks, unknowns from the mocks or
    else a zero value of their type (``zeros``)."""
    out = {}
    for key, value in logged.items():
        envelope = isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE
        if envelope:
            plain = inputs[key] if key in inputs else _plain(mock.get(key))
            if plain is None:
                continue
            out[key] = secret(fill(plain, mock.get(key)))
            continue
        filled = fill(value, mock.get(key))
        if filled is DROP and key in zeros:
            filled = zeros[key]
        if filled is not DROP:
            out[key] = filled
    return out


def build_deployment(workspace: Workspace, stack: str, overrides: dict | None = None) -> dict:
    """The deployment (``pulumi stack export`` format, version 3) of ``stack`` after a fictive ``up``."""
    preview = workspace.preview(stack, "--json")
    assert preview.ok, preview.stderr[-3000:]
    steps = {s["urn"]: s["newState"] for s in json.loads(preview.stdout)["steps"]}
    logged = {
        e["resOutputsEvent"]["metadata"]["urn"]: e["resOutputsEvent"]["metadata"]["new"]
        for e in preview.events
        if "resOutputsEvent" in e
    }
    # By type and name: the mocks' URNs carry only the direct parent's type, the engine's the chain.
    program = run_bootstrap(stack, overrides, preview=False)
    mocked = {(r.type, r.name): r for r in program.resources}
    schemas = Schemas(workspace, stack, [f"{name}@{version}" for name, version in PLUGIN_VERSIONS.items()])
    providers = {
        urn: f"{urn.rsplit('::', 1)[1]}-id"
        for urn, state in logged.items()
        if state["type"].startswith("pulumi:providers:")
    }
    resources = [
        {
            "urn": urn,
            "custom": True,
            "id": providers[urn],
            "type": logged[urn]["type"],
            "inputs": logged[urn]["inputs"],
            "outputs": logged[urn]["outputs"],
        }
        # The engine's default providers; an explicit one the program registers (the add-on layer's
        # kubernetes provider) is a step of its own below, after its parent.
        for urn in providers
        if urn not in steps
    ]
    for urn, state in steps.items():
        resource = {k: state[k] for k in V3_KEYS if state.get(k) not in (None, [], {})}
        if state["type"] == "pulumi:pulumi:Stack":
            # The stack outputs an `up` records (the program reads its own `nodes`: components/platform.py).
            resource["outputs"] = outputs_of(logged.get(urn, {}).get("outputs") or {}, {}, program.outputs, {})
        mock = mocked.get((state["type"], urn.rsplit("::", 1)[1]))
        log = logged.get(urn, {})
        if state.get("provider"):
            provider_urn = state["provider"].rsplit("::", 1)[0]
            resource["provider"] = f"{provider_urn}::{providers[provider_urn]}"
        if mock is not None:
            inputs = schemas.with_defaults(state["type"], fill(state.get("inputs") or {}, mock.inputs))
            resource["inputs"] = mark_secrets(inputs, log.get("inputs"))
            zeros = schemas.zeros(state["type"])
            resource["outputs"] = stored(
                state["type"], outputs_of(log.get("outputs") or {}, inputs, mock.outputs, zeros)
            )
            if state["type"].startswith("kubernetes:"):
                # A Kubernetes object's state is the live object, which holds what was applied (plus
                # what the cluster adds); a preview logs none of it, so the applied inputs stand in.
                resource["outputs"] = {**resource["inputs"], **resource["outputs"]}
                meta = resource["outputs"].get("metadata")
                if isinstance(meta, dict) and not meta.get("name") and meta.get("generateName"):
                    # The apiserver names an object created with generateName (the setup Jobs).
                    resource["outputs"]["metadata"] = {**meta, "name": meta["generateName"] + "x7k2q"}
                if not state["type"].startswith("kubernetes:helm.sh/"):
                    # The provider's checkpoint of a plain object (checkpointObject in
                    # pulumi-kubernetes provider.go): the live object plus the applied inputs.
                    resource["outputs"] |= {
                        "__inputs": resource["inputs"],
                        "__initialApiVersion": resource["inputs"].get("apiVersion"),
                    }
            if state["type"].startswith("pulumi:providers:"):
                # An explicit provider (the add-on layer's): its outputs are its inputs without the
                # engine's `__internal` bag, as the engine logs the default providers' outputs.
                resource["outputs"] = {k: v for k, v in resource["inputs"].items() if k != "__internal"}
            if state.get("custom"):
                resource["id"] = mock.id
                if "id" in (log.get("outputs") or {}):
                    resource["outputs"]["id"] = mock.id
        resources.append(resource)
    exported = workspace.pulumi(stack, "stack", "export")
    assert exported.ok, exported.stderr
    document = json.loads(exported.stdout)
    # Providers first, then the engine's own order (parents and dependencies before their users).
    stack_first = sorted(resources, key=lambda r: r["type"] != "pulumi:pulumi:Stack")
    document["deployment"]["resources"] = stack_first
    return document


def deployed_workspace(workspace: Workspace, stack: str, overrides: dict | None = None) -> Workspace:
    """``workspace`` with ``stack`` written, its seed the harness's, and the fictive ``up`` imported."""
    workspace.write_stack(stack, overrides=overrides)
    seed = workspace.pulumi(stack, "config", "set", "--secret", f"{NAMESPACE}:{SEED_KEY}", stdin=TEST_SEED)
    assert seed.ok, seed.stderr
    document = build_deployment(workspace, stack, overrides)
    path = workspace.root / f"{stack}-deployment.json"
    path.write_text(json.dumps(document))
    imported = workspace.pulumi(stack, "stack", "import", "--file", str(path))
    assert imported.ok, imported.stderr
    return workspace

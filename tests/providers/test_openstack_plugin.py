"""The openstack provider plugin built from providers/openstack, checked against the Python SDK it serves.

The plugin (scripts/toolchain/openstack.sh) is this project's bridge wiring of terraform-provider-openstack;
the program only works if its schema uses exactly the tokens and property names that the installed
``pulumi_openstack`` SDK sends. The SDK side is read from the SDK's own source (its registered tokens
and the ``@pulumi.getter`` names of its ``*Args`` and resource classes), the plugin side from the real
binary over gRPC (GetSchema, Configure, Check) and through the real CLI (an inline preview, no cloud).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.engine.cli import PLACEHOLDER_AUTH_URL, Engine, toolchain_dir

ROOT = Path(__file__).resolve().parents[2]
SDK_VERSION = importlib.metadata.version("pulumi-openstack")
SDK_DIR = Path(importlib.util.find_spec("pulumi_openstack").origin).parent
PULUMI_HOME = Path(os.environ.get("PULUMI_HOME", Path.home() / ".pulumi"))
PLUGIN = PULUMI_HOME / "plugins" / f"resource-openstack-v{SDK_VERSION}" / "pulumi-resource-openstack"


def missing(step: str, path: Path) -> str | None:
    """Why a toolchain piece is not there to test, or None. Under scripts/test only a failed bootstrap
    step (K8S_PLATFORM_TOOLCHAIN_FAILED) excuses it; a plain pytest run looks at what is installed."""
    failed = os.environ.get("K8S_PLATFORM_TOOLCHAIN_FAILED")
    if failed is not None:
        return f"scripts/bootstrap failed to provide {step}" if step in failed.split() else None
    return None if path.exists() else f"no {path}: scripts/bootstrap provides it"


PLUGIN_MISSING = missing("pulumi-resource-openstack", PLUGIN)
pytestmark = pytest.mark.skipif(PLUGIN_MISSING is not None, reason=PLUGIN_MISSING or "")


# ---------------------------------------------------------------------------------------------
# The SDK side


@cache
def sdk_resources() -> dict[str, tuple[str, str]]:
    """Every resource token the SDK registers -> (python module, class name)."""
    tokens = {}
    for init in SDK_DIR.rglob("__init__.py"):
        for blob in re.findall(r'resource_modules="""(.*?)"""', init.read_text(), re.S):
            for module in json.loads(blob):
                for token, cls in module["classes"].items():
                    tokens[token] = (module["fqn"], cls)
    return tokens


@cache
def sdk_functions() -> set[str]:
    """Every function token the SDK invokes."""
    pattern = re.compile(r"pulumi\.runtime\.invoke(?:_output)?\('([^']+)'")
    return {tok for path in SDK_DIR.rglob("*.py") for tok in pattern.findall(path.read_text())}


@cache
def sdk_classes(package: str) -> dict[str, ast.ClassDef]:
    """Class name -> definition, for every class in the files of one SDK package (e.g. networking)."""
    directory = SDK_DIR.joinpath(*package.split(".")[1:])
    classes = {}
    for path in directory.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                classes[node.name] = node
    return classes


def getter_names(cls: ast.ClassDef) -> set[str]:
    """The Pulumi (schema) names of a class's ``@pulumi.getter`` properties."""
    names = set()
    for fn in cls.body:
        if not isinstance(fn, ast.FunctionDef):
            continue
        for deco in fn.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            if isinstance(target, ast.Attribute) and target.attr == "getter":
                named = [k.value.value for k in (call.keywords if call else []) if k.arg == "name"]
                names.add(named[0] if named else fn.name)
    return names


def sdk_properties(token: str) -> dict[str, set[str]]:
    """Input, output and state property names of an SDK resource, as the SDK sends/reads them."""
    package, name = sdk_resources()[token]
    classes = sdk_classes(package)
    return {
        "inputProperties": getter_names(classes[f"{name}Args"]),
        "properties": getter_names(classes[name]),
        "stateInputs": getter_names(classes[f"_{name}State"]),
    }


def program_types() -> list[str]:
    """``module.Type`` of every pulumi_openstack class the program uses (resources and nested Args)."""
    pattern = re.compile(r"openstack\.([a-z]+)\.([A-Z][A-Za-z]+)")
    found = {m for path in (ROOT / "components").rglob("*.py") for m in pattern.findall(path.read_text())}
    return sorted(f"{module}.{name}" for module, name in found)


def token_of(module: str, name: str) -> str:
    for token, (package, cls) in sdk_resources().items():
        if package == f"pulumi_openstack.{module}" and cls == name:
            return token
    raise KeyError(f"pulumi_openstack.{module}.{name} is not a resource the SDK registers")


# ---------------------------------------------------------------------------------------------
# The plugin side


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    """A gRPC client of the running plugin, configured as the program's previews configure it."""
    env = {**os.environ, "OS_AUTH_URL": PLACEHOLDER_AUTH_URL}
    log = tmp_path_factory.mktemp("plugin") / "stderr.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen([str(PLUGIN)], stdout=subprocess.PIPE, stderr=stderr, env=env, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip().isdigit(), f"the plugin did not print its port: {line!r}; {log.read_text()}"
        port = int(line)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = provider_pb2_grpc.ResourceProviderStub(channel)
        stub.Configure(
            provider_pb2.ConfigureRequest(args=struct({"authUrl": PLACEHOLDER_AUTH_URL}), acceptSecrets=True),
            timeout=60,
        )
        yield stub
        channel.close()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.fixture(scope="module")
def schema(provider) -> dict:
    return json.loads(provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=60).schema)


def struct(values: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(values)
    return s


def check(provider, token: str, inputs: dict) -> provider_pb2.CheckResponse:
    urn = f"urn:pulumi:test::k8s-platform::{token}::example"
    request = provider_pb2.CheckRequest(urn=urn, olds=struct({}), news=struct(inputs), randomSeed=b"\0" * 32)
    return provider.Check(request, timeout=60)


# ---------------------------------------------------------------------------------------------
# Tests


def test_plugin_reports_the_sdk_version(provider, schema):
    out = subprocess.run([str(PLUGIN), "-version"], capture_output=True, text=True, check=True).stdout.strip()
    assert out == SDK_VERSION
    assert provider.GetPluginInfo(empty_pb2.Empty(), timeout=60).version == SDK_VERSION
    assert schema["version"] == SDK_VERSION


def test_every_sdk_token_is_in_the_schema(schema):
    assert set(schema["resources"]) == set(sdk_resources())
    assert sdk_functions() <= set(schema["functions"])


def test_program_types_are_sdk_types():
    """Guards the discovery below: the program's types are found, and the resources among them are
    types the SDK registers."""
    types = program_types()
    assert "networking.SecGroupRule" in types
    for t in types:
        if not t.endswith("Args"):
            token_of(*t.split("."))


@pytest.mark.parametrize("sdk_type", program_types())
def test_program_type_matches_the_schema(schema, sdk_type):
    module, name = sdk_type.split(".")
    if name.endswith("Args"):  # a nested input type, e.g. networking.PortFixedIpArgs
        token = f"openstack:{module}/{name[:-4]}:{name[:-4]}"
        assert token in schema["types"], f"{token} not in the schema"
        cls = sdk_classes(f"pulumi_openstack.{module}")[name]
        assert getter_names(cls) == set(schema["types"][token]["properties"])
        return
    token = token_of(module, name)
    assert token in schema["resources"], f"{token} not in the schema"
    resource = schema["resources"][token]
    for key, names in sdk_properties(token).items():
        assert names == set(resource[key].get("properties", {}) if key == "stateInputs" else resource[key]), key


def test_all_sdk_resources_match_the_schema(schema):
    mismatched = {}
    for token in sdk_resources():
        resource = schema["resources"][token]
        for key, names in sdk_properties(token).items():
            have = set(resource[key].get("properties", {}) if key == "stateInputs" else resource.get(key, {}))
            if names != have:
                mismatched[f"{token} {key}"] = sorted(names ^ have)
    assert mismatched == {}


def test_config_matches_the_sdk(schema):
    """The provider config keys, and the environment variables the SDK's Config falls back to."""
    vars_py = (SDK_DIR / "config" / "vars.py").read_text()
    pattern = r"__config__\.get\w*\('(\w+)'\)(?: or _utilities\.get_env\w*\('(\w+)'\))?"
    sdk = dict(re.findall(pattern, vars_py))
    variables = schema["config"]["variables"]
    assert set(sdk) == set(variables)
    have = {key: (v.get("defaultInfo") or {}).get("environment", [""])[0] for key, v in variables.items()}
    assert have == sdk


def test_check_accepts_a_valid_rule(provider):
    rule = {"direction": "ingress", "ethertype": "IPv4", "securityGroupId": "sg-id", "protocol": "tcp"}
    response = check(provider, "openstack:networking/secGroupRule:SecGroupRule", rule)
    assert list(response.failures) == []
    assert dict(response.inputs)["direction"] == "ingress"


def test_check_rejects_an_invalid_direction(provider):
    rule = {"direction": "sideways", "ethertype": "IPv4", "securityGroupId": "sg-id"}
    response = check(provider, "openstack:networking/secGroupRule:SecGroupRule", rule)
    reasons = " ".join(f.reason for f in response.failures)
    assert "sideways" in reasons and "direction" in reasons


def test_check_rejects_a_missing_required_input(provider):
    response = check(provider, "openstack:networking/secGroupRule:SecGroupRule", {"direction": "ingress"})
    reasons = " ".join(f.reason for f in response.failures)
    assert "ethertype" in reasons and "securityGroupId" in reasons


def test_check_autonames_like_the_official_plugin(provider):
    response = check(provider, "openstack:networking/secGroup:SecGroup", {})
    assert list(response.failures) == []
    assert re.fullmatch(r"example-[0-9a-f]{7}", dict(response.inputs)["name"])


# ---------------------------------------------------------------------------------------------
# Through the real engine: an inline preview of new resources, with no cloud behind OS_AUTH_URL


def _engine(tmp_path):
    reason = missing("pulumi", toolchain_dir() / "bin" / "pulumi")
    if reason:
        pytest.skip(reason)
    return Engine(tmp_path)


def _rule_program(direction: str):
    def program():
        import pulumi_openstack as openstack

        group = openstack.networking.SecGroup("ssh", description="ssh from anywhere")
        openstack.networking.SecGroupRule(
            "ssh-in",
            security_group_id=group.id,
            direction=direction,
            ethertype="IPv4",
            protocol="tcp",
            port_range_min=22,
            port_range_max=22,
        )

    return program


@pytest.mark.engine
def test_preview_of_new_resources_needs_no_cloud(tmp_path):
    preview = _engine(tmp_path).preview({}, program=_rule_program("ingress"))
    assert preview.ok, preview.stderr
    assert preview.diagnostics() == []
    assert preview.type_counts() == {
        "openstack:networking/secGroup:SecGroup": 1,
        "openstack:networking/secGroupRule:SecGroupRule": 1,
    }
    assert {s.op for s in preview.steps() if s.type.startswith("openstack:networking")} == {"create"}


@pytest.mark.engine
def test_preview_reports_the_providers_check_failure(tmp_path):
    preview = _engine(tmp_path).preview({}, program=_rule_program("sideways"))
    assert not preview.ok
    assert any("sideways" in message and "direction" in message for message in preview.diagnostics())

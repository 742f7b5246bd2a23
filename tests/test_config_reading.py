"""Config reading (issue 16, item 8 and 9): a key written twice, options of the endpoint kind not
chosen, limits past upstream's maxima, each problem once; the capacity CLI's exit statuses."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from config import yaml_strict
from config.load import load_stack_file, parse
from config.rules_endpoint import OPTION_KIND
from config.spec import NAMESPACE, ApiEndpointOptions, SpecError
from scripts.stacks import EntryError, locate
from tests.harness import ROOT, stack_config


def _with_block_twice(text: str, header: str) -> str:
    """``text`` with the block that starts at the line ``header`` written a second time below it."""
    lines = text.splitlines(keepends=True)
    start = lines.index(header + "\n")
    indent = len(header) - len(header.lstrip())
    end = start + 1
    while end < len(lines) and len(lines[end]) - len(lines[end].lstrip()) > indent:
        end += 1
    return "".join(lines[:end] + lines[start:end] + lines[end:])


def _stack_text(stack: str = "prod") -> str:
    return yaml.safe_dump({"config": stack_config(stack)}, sort_keys=False)


# (block header to repeat, the key path it is reported under)
DUPLICATES = [
    ("    worker:", "k8s-platform:nodePools.worker"),  # a pool written twice
    ("  k8s-platform:etcd:", "k8s-platform:etcd"),  # a whole top-level key
    ("      count: 32", "k8s-platform:nodePools.worker.count"),  # a field inside a pool
]


@pytest.mark.parametrize(("header", "path"), DUPLICATES, ids=[d[1] for d in DUPLICATES])
def test_a_key_written_twice_is_rejected_naming_it(tmp_path, header, path):
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(_with_block_twice(_stack_text(), header))
    assert yaml.safe_load(stack_file.read_text())  # PyYAML alone keeps the last one, silently
    with pytest.raises(SpecError) as caught:
        load_stack_file(stack_file)
    [(where, message)] = caught.value.violations
    assert where == path
    assert "written 2 times" in message and "keep only the last" in message


def test_duplicates_inside_lists_and_at_the_top_name_their_place():
    text = "config:\n  k8s-platform:workloads:\n  - name: a\n    cpu: 1\n    cpu: 2\nconfig: {}\n"
    found = yaml_strict.duplicates(text)
    assert [(yaml_strict.dotted(d.path), d.lines) for d in found] == [
        ("config.k8s-platform:workloads[0].cpu", (4, 5)),
        ("config", (1, 6)),
    ]
    assert yaml_strict.load("a: 1\nb: {c: 2}\n") == {"a": 1, "b": {"c": 2}}


def test_the_capacity_cli_rejects_a_duplicate_with_exit_2(tmp_path):
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(_with_block_twice(_stack_text(), "    worker:"))
    result = _capacity(str(stack_file))
    assert result.returncode == 2, result.stdout
    assert "k8s-platform:nodePools.worker: key written 2 times" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_entry_rejects_a_duplicate_before_the_cli_reads_the_file(tmp_path):
    """scripts/pulumi's every place (copy, team, trial) reads the stack file through locate."""
    (tmp_path / "Pulumi.prod.yaml").write_text(_with_block_twice(_stack_text(), "    worker:"))
    env = {"K8S_PLATFORM_STACK_DIR": str(tmp_path), "K8S_PLATFORM_STATE": str(tmp_path / "state")}
    with pytest.raises(EntryError) as caught:
        locate("prod", "preview", env)
    assert "k8s-platform:nodePools.worker: key written 2 times" in str(caught.value)
    assert not (tmp_path / "state").exists(), "nothing may be written for a rejected file"


# ------------------------------------------------------------------------- endpoint options


@pytest.mark.parametrize(
    ("stack", "options", "path", "kind"),
    [
        ("prod", {"octaviaMonitor": "TCP"}, "apiEndpointOptions.octaviaMonitor", "octavia"),
        ("prod", {"octaviaProvider": "ovn"}, "apiEndpointOptions.octaviaProvider", "octavia"),
        ("test", {"octaviaLbMethod": "ROUND_ROBIN"}, "apiEndpointOptions.octaviaLbMethod", "octavia"),
        ("lab", {"vrrpRouterId": 77}, "apiEndpointOptions.vrrpRouterId", "haproxy-keepalived"),
        ("lab", {"interface": "ens4"}, "apiEndpointOptions.interface", "haproxy-keepalived"),
    ],
)
def test_options_of_the_endpoint_kind_not_chosen_are_rejected(stack, options, path, kind):
    with pytest.raises(SpecError) as caught:
        parse(stack_config(stack, {"apiEndpointOptions": options}))
    message = dict(caught.value.violations)[f"{NAMESPACE}:{path}"]
    assert f"applies to apiEndpoint {kind} only" in message and "remove it" in message


def test_options_of_the_chosen_kind_are_accepted_and_every_option_has_a_kind():
    parse(stack_config("prod", {"apiEndpointOptions": {"vrrpRouterId": 77}}))
    parse(stack_config("lab", {"apiEndpointOptions": {"octaviaProvider": "amphora"}}))
    assert set(OPTION_KIND) == set(ApiEndpointOptions.model_fields)


# ------------------------------------------------------------------------------------ limits


@pytest.mark.parametrize(
    ("key", "value", "maximum"),
    [
        ("maxNodes", 5001, 5000),
        ("maxPods", 150001, 150000),
        ("maxContainers", 300001, 300000),
        ("maxPodsPerNode", 111, 110),
    ],
)
def test_limits_may_not_be_raised_past_upstream(key, value, maximum):
    with pytest.raises(SpecError) as caught:
        parse(stack_config("prod", {"kubernetes.limits": {key: value}}))
    message = dict(caught.value.violations)[f"{NAMESPACE}:kubernetes.limits.{key}"]
    assert f"{value} is above upstream Kubernetes' supported maximum {maximum}" in message
    assert not message.startswith("Value error")


def test_limits_may_be_lowered_and_110_pods_per_node_is_allowed():
    spec = parse(stack_config("prod", {"kubernetes.limits": {"maxPodsPerNode": 110}, "kubelet.maxPods": 110}))
    assert spec.kubelet.max_pods == 110
    assert parse(stack_config("prod")).kubernetes.limits.max_pods_per_node == 100  # the blueprint's default
    with pytest.raises(SpecError, match=r"kubernetes.limits.maxNodes: Input should be greater than or equal to 1"):
        parse(stack_config("prod", {"kubernetes.limits": {"maxNodes": 0}}))
    with pytest.raises(SpecError, match=r"nodePools: 47 nodes in all exceed the Kubernetes limit of 40"):
        parse(stack_config("prod", {"kubernetes.limits": {"maxNodes": 40}}))


# ---------------------------------------------------------------------------------- once each


def test_a_node_setup_problem_is_reported_once():
    with pytest.raises(SpecError) as caught:
        parse(stack_config("prod", {"nodeSetup": {"aptRepository": "ftp://mirror/k8s/"}}))
    assert [p for p, _ in caught.value.violations] == [f"{NAMESPACE}:nodeSetup.aptRepository"]


# ----------------------------------------------------------------------- capacity CLI (item 9)


def _capacity(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "planning.capacity", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_capacity_cli_help_documents_its_exit_statuses():
    result = _capacity("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "0 the plan is sufficient" in text
    assert "1 the plan is insufficient" in text
    assert "2 the config is rejected" in text


def test_capacity_cli_exits_2_for_a_rejected_config_and_a_missing_file(tmp_path):
    bad = tmp_path / "Pulumi.prod.yaml"
    bad.write_text(yaml.safe_dump({"config": stack_config("prod", {"etcd.members": 4})}))
    rejected = _capacity(str(bad))
    assert rejected.returncode == 2 and "config rejected" in rejected.stderr
    assert "k8s-platform:etcd.members: outside lab etcd runs 3 or 5 members" in rejected.stderr
    (tmp_path / "broken.yaml").write_text("config: [unclosed\n")
    assert _capacity(str(tmp_path / "broken.yaml")).returncode == 2
    assert _capacity(str(tmp_path / "none.yaml")).returncode == 2
    assert _capacity().returncode == 2


def test_capacity_cli_exits_1_only_for_an_insufficient_plan(tmp_path):
    short = tmp_path / "Pulumi.prod.yaml"
    short.write_text(yaml.safe_dump({"config": stack_config("prod", {"nodePools.worker.count": 10})}))
    result = _capacity(str(short))
    assert result.returncode == 1 and "SHORT by 22" in result.stdout
    assert _capacity(str(ROOT / "Pulumi.prod.yaml")).returncode == 0

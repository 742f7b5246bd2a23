"""The policy pack's checks, called directly (the engine test shows the pack loads and runs)."""

from __future__ import annotations

import pytest

from config.sizing import SIZING_TABLE
from data_safety import unprotected_violations
from exposure import world_open_violations
from sizing import SIZING, instance_sizing_violations, node_count_violations


def _instance(environment: str, role: str, vcpu: int, ram: int, disk: int) -> dict:
    return {
        "metadata": {
            "k8s-platform.environment": environment,
            "k8s-platform.role": role,
            "k8s-platform.vcpu": str(vcpu),
            "k8s-platform.ram-gib": str(ram),
            "k8s-platform.disk-gib": str(disk),
        }
    }


def test_the_packs_sizing_rows_agree_with_the_programs_table():
    assert {(r.environment.value, r.kind.value): (r.vcpu, r.ram_gib, r.disk_gib) for r in SIZING_TABLE} == SIZING


@pytest.mark.parametrize(
    ("environment", "role", "size", "problems"),
    [
        ("prod", "worker", (8, 64, 500), 0),
        ("prod", "worker", (8, 32, 500), 1),
        ("prod", "master", (2, 4, 40), 3),
        ("prod", "etcd", (4, 8, 100), 0),
        ("test", "worker", (2, 8, 40), 1),
        ("lab", "master", (2, 2, 40), 0),
        ("prod", "lb", (1, 1, 10), 0),
    ],
)
def test_instance_sizing(environment, role, size, problems):
    assert len(instance_sizing_violations(_instance(environment, role, *size))) == problems


def test_instance_without_metadata_is_reported():
    assert "metadata lacks" in instance_sizing_violations({"metadata": {}})[0]


def test_node_limit():
    nodes = [_instance("prod", "worker", 8, 64, 500)] * 5000
    assert node_count_violations(nodes) == []
    assert node_count_violations([*nodes, _instance("prod", "master", 4, 8, 100)])
    assert node_count_violations([*nodes, _instance("prod", "etcd", 4, 8, 100)]) == []


@pytest.mark.parametrize(
    ("rule", "bad"),
    [
        ({"direction": "ingress", "remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 443, "portRangeMax": 443}, False),
        ({"direction": "ingress", "remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 80, "portRangeMax": 80}, False),
        ({"direction": "ingress", "remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 22, "portRangeMax": 22}, True),
        ({"direction": "ingress", "remoteIpPrefix": "0.0.0.0/0", "portRangeMin": 80, "portRangeMax": 443}, True),
        ({"direction": "ingress", "remoteIpPrefix": "0.0.0.0/0"}, True),
        ({"direction": "ingress", "remoteIpPrefix": "10.0.0.0/8", "portRangeMin": 22, "portRangeMax": 22}, False),
        ({"direction": "egress", "remoteIpPrefix": "0.0.0.0/0"}, False),
    ],
)
def test_world_open_ports(rule, bad):
    assert bool(world_open_violations(rule)) is bad


def test_volumes_must_be_protected():
    assert unprotected_violations("etcd-0-data", True) == []
    assert "protect=True" in unprotected_violations("etcd-0-data", False)[0]

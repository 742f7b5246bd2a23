"""The IaaS layer's registrations pass the policy pack's checks (called directly, as under the
engine: the pack reads the instance metadata, the rules' sources and the volumes' protect flag)."""

from __future__ import annotations

import importlib
import sys

from tests.harness import ROOT
from tests.iaas.conftest import INSTANCE, RULE, VOLUME


def _policy(module: str):
    if str(ROOT / "policies") not in sys.path:
        sys.path.insert(0, str(ROOT / "policies"))
    return importlib.import_module(module)


def test_instances_meet_the_sizing_gate_and_the_node_limit(program):
    sizing = _policy("sizing")
    instances = [i.inputs for i in program.of_type(INSTANCE)]
    assert [v for props in instances for v in sizing.instance_sizing_violations(props)] == []
    assert sizing.node_count_violations(instances) == []


def test_no_rule_trips_the_world_open_gate(program):
    exposure = _policy("exposure")
    assert [v for r in program.of_type(RULE) for v in exposure.world_open_violations(r.inputs)] == []


def test_every_volume_passes_the_data_safety_gate(program):
    data_safety = _policy("data_safety")
    assert [v for r in program.of_type(VOLUME) for v in data_safety.unprotected_violations(r.name, r.protect)] == []

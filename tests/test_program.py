"""The whole program (__main__.py) under Pulumi mocks, for every committed stack."""

from __future__ import annotations

from config.load import load_stack_file
from planning.capacity import plan
from tests.harness import ROOT


def test_program_registers_the_platform_and_exports_the_plan(program):
    platforms = program.of_type("k8splatform:index:Platform")
    assert len(platforms) == 1
    spec = load_stack_file(ROOT / f"Pulumi.{program.stack}.yaml")
    assert program.outputs["environment"] == program.stack
    assert program.outputs["capacity_plan"] == plan(spec).to_output()


def test_every_resource_is_a_child_of_the_platform(program):
    platform_urn = program.of_type("k8splatform:index:Platform")[0].urn
    children = [r for r in program.resources if r.urn != platform_urn]
    by_urn = {r.urn: r for r in program.resources}

    def root_of(resource):
        while resource.parent in by_urn:
            resource = by_urn[resource.parent]
        return resource.urn

    assert all(root_of(r) == platform_urn for r in children)

"""Helpers for reading the IaaS layer's registrations out of a mock run."""

from __future__ import annotations

import functools

import pytest

from config.load import load_stack_file
from config.spec import StackSpec
from tests.harness import ROOT, ProgramRun, Registration, run_program

INSTANCE = "openstack:compute/instance:Instance"
PORT = "openstack:networking/port:Port"
VOLUME = "openstack:blockstorage/volume:Volume"
ATTACH = "openstack:compute/volumeAttach:VolumeAttach"
SERVER_GROUP = "openstack:compute/serverGroup:ServerGroup"
SEC_GROUP = "openstack:networking/secGroup:SecGroup"
RULE = "openstack:networking/secGroupRule:SecGroupRule"
FLOATING_IP = "openstack:networking/floatingIp:FloatingIp"
SECGROUPS_PREFIX = "platform-iaas-secgroups-"
"""Resource-name prefix of the groups; the mocks' IDs are ``<resource name>-id``."""


@pytest.fixture
def spec(program: ProgramRun) -> StackSpec:
    """The committed stack file of the program run, parsed."""
    return load_stack_file(ROOT / f"Pulumi.{program.stack}.yaml")


def group_key(group_id: str) -> str:
    """``platform-iaas-secgroups-master-id`` -> ``master``."""
    assert group_id.startswith(SECGROUPS_PREFIX) and group_id.endswith("-id"), group_id
    return group_id[len(SECGROUPS_PREFIX) : -len("-id")]


def machine_ports(program: ProgramRun) -> list[Registration]:
    """The machines' ports (children of a NodePool); other layers add ports of their own (the API VIP)."""
    pools = {r.urn for r in program.of_type("k8splatform:iaas:NodePool")}
    return [p for p in program.of_type(PORT) if p.parent in pools]


def pool_of(instance: Registration) -> str:
    return instance.inputs["metadata"]["k8s-platform.pool"]


def id_of(resource: Registration) -> str:
    return f"{resource.name}-id"


@functools.cache
def committed(stack: str) -> ProgramRun:
    """A committed stack's mock run, shared by the tests that need one stack only (read-only)."""
    return run_program(stack)

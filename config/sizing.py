"""The blueprint's hardware sizing table (seed section "服务器配置"), as data.

Each environment has a minimum per node kind: masters (which also keep etcd, hence SSD) and
nodes (workers and every other role). The spec rejects a pool declared below its row and the
policy pack re-checks the registered instances, so a review of `pulumi preview` shows it too.
The lab row in the blueprint reads "2C/2G+" without a disk size; 40 GiB (the test row's disk) is
used as its floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Environment(StrEnum):
    """Which row of the sizing table a stack follows."""

    LAB = "lab"
    TEST = "test"
    PROD = "prod"


class NodeKind(StrEnum):
    """The blueprint sizes two kinds of machine: masters and nodes."""

    MASTER = "master"
    NODE = "node"


@dataclass(frozen=True)
class SizingRow:
    """Minimum resources of one node kind in one environment."""

    environment: Environment
    kind: NodeKind
    vcpu: int
    ram_gib: int
    disk_gib: int
    source: str
    """The blueprint's own words for this row, for error messages and docs."""


SIZING_TABLE: tuple[SizingRow, ...] = (
    SizingRow(Environment.LAB, NodeKind.MASTER, 2, 2, 40, "实验环境 master/node 2C/2G+"),
    SizingRow(Environment.LAB, NodeKind.NODE, 2, 2, 40, "实验环境 master/node 2C/2G+"),
    SizingRow(Environment.TEST, NodeKind.MASTER, 2, 4, 40, "测试环境 master 2C/4G/40G"),
    SizingRow(Environment.TEST, NodeKind.NODE, 4, 8, 40, "测试环境 node 4C/8G/40G"),
    SizingRow(Environment.PROD, NodeKind.MASTER, 4, 8, 100, "生产环境 master 4C/8G/100G"),
    SizingRow(Environment.PROD, NodeKind.NODE, 8, 64, 500, "生产环境 node 8C/64G/500G"),
)


def sizing_row(environment: Environment, kind: NodeKind) -> SizingRow:
    """The row for an environment and node kind (every combination exists)."""
    return next(r for r in SIZING_TABLE if r.environment == environment and r.kind == kind)

"""One Helm release of a pinned chart (config/charts.py) with typed values (config/chart_values.py).

Every add-on that ships as a chart goes through ``helm_release``: the chart's row decides name,
version and namespace; ``chartSource`` decides where Helm reads it (the repository, or a local
``.tgz`` verified against its sha256 before anything is registered); the values are the add-on's
model with the stack's override merged in and validated.

Why ``helm.v3.Release`` and not ``helm.v4.Chart`` (measured, docs/addons-network.md, "Previews"):
on an existing stack whose cluster the previewing host cannot reach, a Release previews (its chart
local, or the provider skipping unreachable updates) while ``helm.v4.Chart`` and
``yaml.v2.ConfigGroup`` fail the preview ("configured Kubernetes cluster is unreachable").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pulumi
from pulumi_kubernetes.helm.v3 import Release, ReleaseArgs, RepositoryOptsArgs

from components.addons.cluster import ClusterAccess
from config.chart_values import Values, merged
from config.charts import ChartPin, cached_chart
from config.spec_addons import ChartSource

RELEASE_TIMEOUT = 600
"""Seconds Helm waits for a release's resources to become ready (a first install pulls images)."""
MAX_HISTORY = 10
"""Release revisions Helm keeps (rollback depth); the default keeps every revision forever."""


@dataclass(frozen=True)
class ChartSourceArgs:
    """Where the charts come from (``addons.chartSource``, ``chartCache``, ``chartSha256``)."""

    source: ChartSource = ChartSource.REPOSITORY
    """repository (Helm pulls from the row's repository) or cache (local verified files)."""
    cache_dir: str | None = None
    """cache: the directory with ``<chart>-<version>.tgz`` files; required with cache."""
    digests: dict[str, str] = field(default_factory=dict)
    """cache: digests the stack records for charts the table does not pin."""

    def __post_init__(self) -> None:
        if self.source == ChartSource.CACHE and not self.cache_dir:
            raise ValueError("ChartSourceArgs.cache_dir: required with chartSource cache")


def release_args(pin: ChartPin, values: dict[str, Any], source: ChartSourceArgs) -> ReleaseArgs:
    """The Release's inputs: the chart from the repository or the verified cache file."""
    if source.source == ChartSource.CACHE:
        assert source.cache_dir is not None
        chart, repository = str(cached_chart(pin, source.cache_dir, source.digests)), None
    else:
        chart, repository = pin.chart, RepositoryOptsArgs(repo=pin.repository)
    return ReleaseArgs(
        name=pin.name,  # a fixed release name: what `helm list` shows, no random suffix
        chart=chart,
        version=pin.version,
        repository_opts=repository,
        namespace=pin.namespace,
        create_namespace=True,
        values=values,
        max_history=MAX_HISTORY,
        timeout=RELEASE_TIMEOUT,
        cleanup_on_fail=True,
    )


def helm_release(
    name: str,
    parent: pulumi.Resource,
    pin: ChartPin,
    values: Values | pulumi.Output[Values],
    override: dict[str, Any],
    source: ChartSourceArgs,
    cluster: ClusterAccess,
    *,
    protect: bool = False,
) -> Release:
    """The release ``name`` of ``pin`` with ``values`` and the stack's ``override`` merged in.

    ``values`` may be an Output when they depend on what only exists at deploy time (Rook's OSD
    devices are named by volume ID); ``protect`` for releases that hold data (Ceph, Harbor)."""
    if isinstance(values, pulumi.Output):
        dumped: Any = values.apply(lambda v: merged(v, override).dump())
    else:
        dumped = merged(values, override).dump()
    opts = cluster.options(parent)
    if protect:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True))
    return Release(name, release_args(pin, dumped, source), opts=opts)


class ChartComponent(pulumi.ComponentResource):
    """An add-on that is one Helm release. A subclass names its type token (``TYPE``) and chart
    (``PIN``, or ``chart()`` when the args choose it) and builds its values (``values()``); its args
    carry the stack's override as ``values``."""

    TYPE: ClassVar[str]
    PIN: ClassVar[ChartPin]
    release: Release
    """The add-on's release (later add-ons may wait for it)."""

    def __init__(
        self,
        name: str,
        args: Any,
        cluster: ClusterAccess,
        charts: ChartSourceArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(self.TYPE, name, None, opts)
        pin = self.chart(args)
        self.release = helm_release(f"{name}-{pin.name}", self, pin, self.values(args), args.values, charts, cluster)
        self.register_outputs({})

    def chart(self, args: Any) -> ChartPin:
        return self.PIN

    def values(self, args: Any) -> Values:
        raise NotImplementedError

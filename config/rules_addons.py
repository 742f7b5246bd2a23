"""Rules of ``k8s-platform:addons`` (config/spec_addons.py): the add-on layer's config fails before
any resource is registered, naming the key. Same form as config/rules.py, which lists ``addons``.
"""

from __future__ import annotations

from collections.abc import Iterator

from config import values_data, values_network
from config.chart_values import Values, override_problems
from config.charts import CHARTS, SHA256, ChartCacheError, cached_chart
from config.rules_addons_data import DATA_OVERRIDES, data_charts
from config.rules_endpoint import Violation
from config.spec import CniPlugin, Role, StackSpec, config_path
from config.spec_addons import ChartAddon, ChartSource, IngressExposure, tenant_name_problem

VALUES_MODELS: dict[str, type[Values]] = {**values_network.VALUES, **values_data.VALUES}
"""Values model by chart table name."""
CNI_CHARTS = {CniPlugin.CALICO: "tigera-operator", CniPlugin.FLANNEL: "flannel"}
ADDON_CHARTS: dict[str, str] = {
    "dnsAutoscaler": "cluster-proportional-autoscaler",
    "metricsServer": "metrics-server",
    "ingress": "ingress-nginx",
}
"""The chart of each chart add-on but the CNI (whose chart follows ``cni.plugin``)."""


def chart_of(spec: StackSpec, addon: str) -> str:
    """The chart table name (config/charts.py) add-on ``addon`` installs in this stack."""
    return CNI_CHARTS[spec.cni.plugin] if addon == "cni" else ADDON_CHARTS[addon]


def enabled_charts(spec: StackSpec) -> dict[str, str]:
    """Add-on key -> chart table name, for every enabled chart add-on."""
    keys = ("cni", *ADDON_CHARTS)
    return {key: chart_of(spec, key) for key in keys if spec.addons.is_enabled(key, spec.environment)}


def _path(*parts: str | int) -> str:
    return config_path(("addons", *parts))


def _values(spec: StackSpec) -> Iterator[Violation]:
    for key in ("cni", *ADDON_CHARTS):
        addon = spec.addons.addon(key)
        assert isinstance(addon, ChartAddon)
        model = VALUES_MODELS[chart_of(spec, key)]
        for loc, problem in override_problems(model, addon.values):
            yield _path(key, "values", *loc), problem
    for key, field, attribute, chart in DATA_OVERRIDES:
        override = getattr(spec.addons.addon(key), attribute)
        for loc, problem in override_problems(VALUES_MODELS[chart], override):
            yield _path(key, field, *loc), problem


def _charts(spec: StackSpec) -> Iterator[Violation]:
    addons = spec.addons
    for name, digest in addons.chart_sha256.items():
        if name not in CHARTS:
            yield _path("chartSha256", name), f"not a chart of config/charts.py ({', '.join(sorted(CHARTS))})"
        elif not SHA256.match(digest):
            yield _path("chartSha256", name), "expected a sha256 digest (64 lowercase hex characters)"
    if addons.chart_source != ChartSource.CACHE:
        return
    if not addons.chart_cache:
        yield _path("chartCache"), "chartSource cache needs the directory holding the pulled charts"
        return
    for key, name in {**enabled_charts(spec), **data_charts(spec)}.items():
        try:
            cached_chart(CHARTS[name], addons.chart_cache, addons.chart_sha256)
        except ChartCacheError as error:
            yield _path("chartCache"), f"{key}: {error}"


def _ingress(spec: StackSpec) -> Iterator[Violation]:
    ingress = spec.addons.ingress
    pools = [name for name, _ in spec.pools(Role.INGRESS)]
    if ingress.pool is not None and ingress.pool not in pools:
        yield (
            _path("ingress", "pool"),
            f"{ingress.pool!r} is not a pool with role ingress ({', '.join(pools) or 'none'})",
        )
    if not spec.addons.is_enabled("ingress", spec.environment):
        return
    if not pools:
        yield _path("ingress", "enabled"), "ingress-nginx runs on a pool with role ingress; the stack has none"
        return
    name = ingress.pool or pools[0]
    if not spec.node_pools[name].labels:
        yield (
            config_path(("nodePools", name, "labels")),
            "the ingress controller selects the ingress nodes by a label; set one",
        )
    if ingress.exposure == IngressExposure.NODE_PORT:
        if ingress.http_node_port == ingress.https_node_port:
            yield _path("ingress", "httpsNodePort"), "HTTP and HTTPS need different NodePorts"
        if not spec.network.node_port_cidrs:
            yield _path("ingress", "exposure"), "nodePort exposure needs network.nodePortCidrs (NodePorts are closed)"


def _events(spec: StackSpec) -> Iterator[Violation]:
    if spec.addons.is_enabled("events", spec.environment) and not spec.addons.events.webhook_url:
        yield _path("events", "webhookUrl"), "kube-eventer needs the webhook its events are posted to"


def _dns(spec: StackSpec) -> Iterator[Violation]:
    dns = spec.addons.dns_autoscaler
    if dns.max_replicas and dns.max_replicas < dns.min_replicas:
        yield _path("dnsAutoscaler", "maxReplicas"), f"{dns.max_replicas} is below minReplicas {dns.min_replicas}"


def _tenants(spec: StackSpec) -> Iterator[Violation]:
    seen: set[str] = set()
    for i, tenant in enumerate(spec.addons.governance.tenants):
        problem = tenant_name_problem(tenant.name)
        if problem:
            yield _path("governance", "tenants", i, "name"), problem
        elif tenant.name in seen:
            yield _path("governance", "tenants", i, "name"), f"tenant {tenant.name!r} is listed twice"
        seen.add(tenant.name)


def addons(spec: StackSpec) -> Iterator[Violation]:
    for rule in (_values, _charts, _ingress, _events, _dns, _tenants):
        yield from rule(spec)

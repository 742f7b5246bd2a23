"""Rules of the data add-ons (``addons.storage``, ``registry``, ``monitoring``, ``logging``;
config/spec_addons.py): what they need from the rest of the stack, checked before any resource is
registered, naming the key. config/rules_addons.py checks their values overrides and cached charts
with the other add-ons' through ``DATA_OVERRIDES``.
"""

from __future__ import annotations

from collections.abc import Iterator

from config.rules_endpoint import Violation
from config.spec import LoggingPipeline, NodePool, Role, StackSpec, config_path

DATA_OVERRIDES: tuple[tuple[str, str, str, str], ...] = (
    # (add-on key, override key, attribute, chart table name)
    ("storage", "operatorValues", "operator_values", "rook-ceph"),
    ("storage", "values", "values", "rook-ceph-cluster"),
    ("registry", "values", "values", "harbor"),
    ("monitoring", "values", "values", "kube-prometheus-stack"),
    ("logging", "values", "values", "eck-operator"),
    ("logging", "strimziValues", "strimzi_values", "strimzi-kafka-operator"),
)
"""Each data add-on's values overrides and the chart each one is checked against."""


def data_charts(spec: StackSpec) -> dict[str, str]:
    """``<add-on>.<override key>`` -> chart table name, for every chart an enabled data add-on installs."""
    on = spec.addons.is_enabled
    out = {}
    for addon, key, _, chart in DATA_OVERRIDES:
        if chart == "strimzi-kafka-operator" and spec.logging != LoggingPipeline.KAFKA:
            continue  # the buffer only runs with logging: kafka
        if on(addon, spec.environment):
            out[f"{addon}.{key}"] = chart
    return out


def _path(*parts: str | int) -> str:
    return config_path(("addons", *parts))


def storage_pool(spec: StackSpec) -> tuple[str, NodePool] | None:
    """The pool whose data volumes become OSDs: ``addons.storage.pool``, else the first storage pool."""
    pools = spec.pools(Role.STORAGE)
    wanted = spec.addons.storage.pool
    for name, pool in pools:
        if wanted in (None, name):
            return name, pool
    return None


def _storage(spec: StackSpec) -> Iterator[Violation]:
    s = spec.addons.storage
    names = [n for n, _ in spec.pools(Role.STORAGE)]
    if s.pool is not None and s.pool not in names:
        yield _path("storage", "pool"), f"{s.pool!r} is not a pool with role storage ({', '.join(names) or 'none'})"
        return
    if not spec.addons.is_enabled("storage", spec.environment):
        return
    found = storage_pool(spec)
    if found is None:
        yield _path("storage", "enabled"), "Rook-Ceph runs on a pool with role storage; the stack has none"
        return
    name, pool = found
    if not pool.data_volumes:
        yield _path("storage", "pool"), f"pool {name!r} has no dataVolumes for Ceph OSDs"
    if pool.count < s.replicas:
        yield (
            _path("storage", "replicas"),
            f"{s.replicas} copies with failure domain host need {s.replicas} storage nodes; "
            f"pool {name!r} has {pool.count}",
        )
    if s.mons % 2 == 0 or s.mons > pool.count:
        yield (
            _path("storage", "mons"),
            f"{s.mons} mons: must be odd and at most the {pool.count} storage nodes (one each)",
        )
    classes = [s.block_class, s.file_class, s.bucket_class]
    if len(set(classes)) != len(classes):
        yield _path("storage", "bucketClass"), f"the three storage classes need distinct names, got {classes}"


def _needs_storage(spec: StackSpec, addon: str, why: str) -> Iterator[Violation]:
    if spec.addons.is_enabled(addon, spec.environment) and not spec.addons.is_enabled("storage", spec.environment):
        yield _path(addon, "enabled"), f"{why} on the Ceph block class: enable addons.storage too"


def _needs_ingress(spec: StackSpec, addon: str, key: str, value: str | None) -> Iterator[Violation]:
    if (
        value
        and spec.addons.is_enabled(addon, spec.environment)
        and not spec.addons.is_enabled("ingress", spec.environment)
    ):
        yield _path(addon, key), f"{value} is served by the ingress controller: enable addons.ingress too"


def _registry(spec: StackSpec) -> Iterator[Violation]:
    r = spec.addons.registry
    if not spec.addons.is_enabled("registry", spec.environment):
        return
    yield from _needs_storage(spec, "registry", "Harbor keeps its images and database")
    if r.host is None:
        yield _path("registry", "host"), "Harbor needs its DNS name (images are <host>/<project>/<image>)"
    elif not spec.addons.is_enabled("ingress", spec.environment):
        yield _path("registry", "host"), "Harbor is reached through the ingress controller: enable addons.ingress too"
    for i, registry in enumerate(spec.node_setup.registries):
        if registry.host == r.host:
            yield (
                config_path(("nodeSetup", "registries", i, "host")),
                f"{r.host} is the stack's own Harbor: the nodes trust its derived CA already; remove this entry",
            )
    seen: set[str] = set()
    for i, cache in enumerate(r.proxy_cache):
        if cache.name in seen:
            yield _path("registry", "proxyCache", i, "name"), f"proxy-cache project {cache.name!r} is listed twice"
        seen.add(cache.name)


def _monitoring(spec: StackSpec) -> Iterator[Violation]:
    yield from _needs_ingress(spec, "monitoring", "grafanaHost", spec.addons.monitoring.grafana_host)


def _logging(spec: StackSpec) -> Iterator[Violation]:
    s = spec.addons.logging
    if not spec.addons.is_enabled("logging", spec.environment):
        return
    yield from _needs_storage(spec, "logging", "Elasticsearch (and Kafka) keep their data")
    if s.index_replicas >= s.elasticsearch_nodes:
        yield (
            _path("logging", "indexReplicas"),
            f"{s.index_replicas} replicas need more than the {s.elasticsearch_nodes} Elasticsearch nodes "
            "(one copy per node)",
        )
    yield from _needs_ingress(spec, "logging", "kibanaHost", s.kibana_host)


def data_addons(spec: StackSpec) -> Iterator[Violation]:
    for rule in (_storage, _registry, _monitoring, _logging):
        yield from rule(spec)

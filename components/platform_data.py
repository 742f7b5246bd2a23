"""The Platform's helpers for the data add-ons (issue 12 part 2): storage, registry, monitoring and
logging onto their components' args, after the add-on layer's provider and CNI exist; and the
registry CA every node trusts before its first pull.

Order inside the layer: Rook-Ceph first (the others keep their data on its block class), then
monitoring (its CRDs let Rook's ServiceMonitors land on a later ``up``), the registry, logging.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from components.addons.logging import Logging, LoggingArgs
from components.addons.monitoring import Monitoring, MonitoringArgs
from components.addons.registry import Registry, RegistryArgs
from components.addons.storage import RookCeph, RookCephArgs, StorageHostArgs
from components.control_plane.etcd_cluster import EtcdCluster
from components.iaas.node_pool import Node
from components.platform_addons import AddonLayer
from components.render.ceph_cluster import Taint
from components.render.etcd_pki import PkiScope
from components.render.node_prep import RegistryTrust
from components.render.registry_pki import registry_ca_cert
from components.secret_seed import derived_secret
from config.rules_addons_data import storage_pool
from config.spec import EtcdTopology, LoggingPipeline, StackSpec


def registry_trust(spec: StackSpec, cluster_name: str) -> pulumi.Output[Sequence[RegistryTrust]] | None:
    """The stack's Harbor with its derived CA, for every node's trust; None without the registry."""
    if not spec.addons.is_enabled("registry", spec.environment) or spec.addons.registry.host is None:
        return None
    host = spec.addons.registry.host
    scope = PkiScope(cluster_name, spec.pki_epoch)
    return derived_secret(lambda seed: (RegistryTrust(host, registry_ca_cert(seed, scope)),))


def data_addons(
    name: str,
    parent: pulumi.Resource,
    spec: StackSpec,
    layer: AddonLayer,
    nodes: Sequence[Node],
    etcd: EtcdCluster,
    cluster_name: str,
) -> None:
    """Every enabled data add-on, children of ``parent``, recorded in ``layer.components``."""
    on = spec.addons.is_enabled
    env = spec.environment
    addons = spec.addons
    cni = layer.components.get("cni")
    cluster = layer.cluster.after(cni) if cni is not None else layer.cluster
    child = pulumi.ResourceOptions(parent=parent)
    storage_class: str | None = None
    if on("storage", env):
        found = storage_pool(spec)
        assert found is not None  # config/rules_addons_data.py requires the pool
        pool_name, pool = found
        hosts = tuple(
            StorageHostArgs(n.name, [n.data_volume_ids[v.name] for v in pool.data_volumes])
            for n in nodes
            if n.pool == pool_name
        )
        rook = RookCeph(
            f"{name}-storage",
            RookCephArgs(
                settings=addons.storage,
                hosts=hosts,
                node_labels=tuple(pool.labels.items()),
                taints=tuple(Taint(t.key, t.value, t.effect.value) for t in pool.taints),
                monitoring=on("monitoring", env),
                charts=layer.charts,
                cluster=cluster,
            ),
            opts=child,
        )
        layer.components["storage"] = rook
        storage_class = rook.block_class
        cluster = cluster.after(rook.cluster)
    if on("monitoring", env):
        layer.components["monitoring"] = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                settings=addons.monitoring,
                etcd_addresses=etcd.addresses,
                dedicated_etcd=spec.etcd.topology == EtcdTopology.EXTERNAL,
                etcd_ca_cert=etcd.ca_cert,
                etcd_client=etcd.monitoring_client,
                backup_uploads=spec.etcd.backup.s3 is not None,
                storage_class=storage_class,
                charts=layer.charts,
                cluster=cluster,
            ),
            opts=child,
        )
    if on("registry", env):
        assert storage_class is not None  # the rules require the storage add-on
        governance = layer.components.get("governance")
        layer.components["registry"] = Registry(
            f"{name}-registry",
            RegistryArgs(
                settings=addons.registry,
                scope=PkiScope(cluster_name, spec.pki_epoch),
                storage_class=storage_class,
                tenants=tuple(t.name for t in addons.governance.tenants) if on("governance", env) else (),
                tenants_ready=[governance] if governance is not None else [],
                charts=layer.charts,
                cluster=cluster,
            ),
            opts=child,
        )
    if on("logging", env):
        assert storage_class is not None  # the rules require the storage add-on
        layer.components["logging"] = Logging(
            f"{name}-logging",
            LoggingArgs(
                settings=addons.logging,
                kafka=spec.logging == LoggingPipeline.KAFKA,
                storage_class=storage_class,
                charts=layer.charts,
                cluster=cluster,
            ),
            opts=child,
        )

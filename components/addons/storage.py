"""RookCeph: the Rook operator and a Ceph cluster on the storage pool's data volumes, with block
(RBD, the default class), file (CephFS) and object (RGW bucket) storage classes.

Two releases, in order: ``rook-ceph`` (operator, CRDs, the CSI operator) and ``rook-ceph-cluster``
(the CephCluster, pools, filesystem, object store and classes; render/ceph_cluster.py builds its
values from the storage nodes and their Cinder volume IDs). The OSD devices are the data volumes
the IaaS layer attaches, named by their stable ``/dev/disk/by-id/virtio-<id>`` path, so the
values are an Output of those IDs: unknown on a new stack's preview, exact on an update.

Stateful: the cluster release is protected (``protect``): deleting it would let Rook tear down the
cluster, and with ``preservePoolsOnDelete`` and Retain classes the data survives a mistake, but a
removal must be an explicit ``pulumi state unprotect`` (docs/addons-storage.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi

from components.addons.chart import ChartSourceArgs, helm_release
from components.addons.cluster import ClusterAccess
from components.render.ceph_cluster import CephLayout, OsdHost, StorageClasses, Taint, cluster_values, rgw_service
from config.charts import CHARTS
from config.spec_addons import StorageAddon
from config.values_data import RookClusterValues, RookOperatorValues, Toggle
from planning.platform_pods import CEPH_DAEMON_REQUESTS

CEPH_IMAGE = "quay.io/ceph/ceph:v20.2.4"
"""The Ceph release the pinned Rook (v1.20.6) defaults to (deploy/examples/images.txt): Tentacle."""


@dataclass(frozen=True)
class StorageHostArgs:
    """A storage node as the Ceph cluster needs it."""

    name: str
    """Kubernetes node name."""
    volume_ids: Sequence[pulumi.Output[str]]
    """Cinder IDs of its data volumes (components/iaas/node_pool.py ``Node.data_volume_ids``)."""


@dataclass(frozen=True)
class RookCephArgs:
    settings: StorageAddon
    """``addons.storage``: replicas, mons, gateways, class names, values overrides."""
    hosts: tuple[StorageHostArgs, ...]
    """The storage pool's nodes with their OSD volumes."""
    node_labels: tuple[tuple[str, str], ...]
    """The storage pool's labels (the daemons' node affinity)."""
    taints: tuple[Taint, ...]
    """The storage pool's taints (tolerated by every Ceph daemon)."""
    monitoring: bool
    """The monitoring add-on runs: enable Rook's and Ceph's ServiceMonitors and rules."""
    charts: ChartSourceArgs
    """Where the charts come from."""
    cluster: ClusterAccess
    """Provider and dependencies (the CNI)."""


class RookCeph(pulumi.ComponentResource):
    """Rook-Ceph operator and cluster (``k8splatform:addons:RookCeph``)."""

    block_class: str
    """The default storage class (RBD) the other add-ons put their volumes on."""
    rgw_endpoint: str
    """In-cluster S3 endpoint of the object store."""

    def __init__(self, name: str, args: RookCephArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:addons:RookCeph", name, None, opts)
        s = args.settings
        operator_pin, cluster_pin = CHARTS["rook-ceph"], CHARTS["rook-ceph-cluster"]
        classes = StorageClasses(block=s.block_class, file=s.file_class, bucket=s.bucket_class)
        self.block_class = classes.block
        operator = helm_release(
            f"{name}-operator",
            self,
            operator_pin,
            RookOperatorValues(monitoring=Toggle(enabled=args.monitoring)),
            s.operator_values,
            args.charts,
            args.cluster,
        )

        def values(ids: list[list[str]]) -> RookClusterValues:
            layout = CephLayout(
                hosts=tuple(OsdHost(h.name, tuple(v)) for h, v in zip(args.hosts, ids, strict=True)),
                node_labels=args.node_labels,
                taints=args.taints,
                replicas=s.replicas,
                mons=s.mons,
                rgw_instances=s.rgw_instances,
                classes=classes,
                ceph_image=CEPH_IMAGE,
                resources=CEPH_DAEMON_REQUESTS,
            )
            out = cluster_values(layout, cluster_pin.namespace)
            return RookClusterValues.model_validate({**out, "monitoring": {"enabled": args.monitoring}})

        ids = pulumi.Output.all(*[pulumi.Output.all(*h.volume_ids) for h in args.hosts])
        self.cluster = helm_release(
            f"{name}-cluster",
            self,
            cluster_pin,
            ids.apply(values),
            s.values,
            args.charts,
            args.cluster.after(operator),
            protect=True,
        )
        self.rgw_endpoint = rgw_service(cluster_pin.namespace)
        self.register_outputs({"block_class": self.block_class, "rgw_endpoint": self.rgw_endpoint})

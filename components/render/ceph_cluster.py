"""The Rook-Ceph cluster chart's values: the CephCluster spec on the storage pool's data volumes,
its pools and the three storage classes (pure: no Pulumi import, no config.spec).

Where the numbers and keys come from (Rook v1.20, ``deploy/charts/rook-ceph-cluster/values.yaml``
and ``Documentation/CRDs/Cluster/ceph-cluster-crd.md``):

- **OSDs on exactly the data volumes.** ``useAllNodes`` and ``useAllDevices`` are off; each storage
  node lists its devices by full udev path, which Rook accepts for ``devices[].name``. A Cinder
  volume attached through virtio-blk appears as ``/dev/disk/by-id/virtio-<first 20 characters of
  the volume ID>`` (the serial Nova passes; components/iaas/node_pool.py), a name that survives
  reboots and re-attachment order, unlike ``vdb``/``vdc``. A listed device makes Rook ignore any
  ``deviceFilter``, so nothing else on the machine (the boot disk, an etcd volume) is ever formatted.
- **Mons on distinct nodes.** ``mon.allowMultiplePerNode: false`` makes Rook's anti-affinity for
  mons a required rule, so the three (or five) mons land on as many different storage nodes.
- **Failure domain host.** Every pool replicates across hosts (``failureDomain: host``), so losing
  one storage node loses one copy; a replica count needs at least as many storage nodes.
- **Placement.** Every Ceph daemon runs on the storage pool's nodes: a required node affinity on the
  pool's labels and tolerations of exactly its taints, in the cluster's ``placement.all`` and in the
  object store's gateways and the filesystem's metadata servers (which ``all`` does not reach).
- **Storage classes.** RBD block (the cluster's default class), CephFS file and an RGW bucket class
  (ObjectBucketClaims), with the CSI secret parameters the chart's defaults carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.render._common import check_name, check_positive, check_unique

DISK_BY_ID = "/dev/disk/by-id/virtio-"
"""udev's path of a virtio-blk disk by its serial (Nova sets the serial to the Cinder volume ID)."""
VIRTIO_SERIAL_LENGTH = 20
"""virtio-blk serials hold 20 bytes, so the path carries the volume ID's first 20 characters."""
DATA_DIR = "/var/lib/rook"
"""Mon data and Ceph configuration on each host (the chart's default ``dataDirHostPath``)."""
CSI_SECRETS = {
    "rbd": ("rook-csi-rbd-provisioner", "rook-csi-rbd-node"),
    "cephfs": ("rook-csi-cephfs-provisioner", "rook-csi-cephfs-node"),
}
"""The CSI secrets Rook creates per driver (provisioner, node), as the chart's default classes name them."""
OBJECT_STORE = "ceph-objectstore"
"""Name of the CephObjectStore (the chart's default); its Service is ``rook-ceph-rgw-<name>``."""
_VOLUME_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{19,}$")
"""A Cinder volume ID (a UUID), at least the 20 characters the virtio serial keeps."""


def osd_device(volume_id: str) -> str:
    """The stable device path of the Cinder volume ``volume_id`` inside its machine."""
    if not _VOLUME_ID.match(volume_id):
        raise ValueError(f"osd_device: {volume_id!r} is not a Cinder volume ID")
    return DISK_BY_ID + volume_id[:VIRTIO_SERIAL_LENGTH]


@dataclass(frozen=True)
class OsdHost:
    """A storage node and the Cinder volumes that become its OSDs."""

    name: str
    """Kubernetes node name (the machine's hostname)."""
    volume_ids: tuple[str, ...]
    """IDs of the data volumes attached to it, one OSD each."""

    def __post_init__(self) -> None:
        check_name(self.name, "OsdHost.name")
        if not self.volume_ids:
            raise ValueError(f"OsdHost.volume_ids: storage node {self.name} has no data volume for an OSD")
        check_unique(list(self.volume_ids), f"OsdHost.volume_ids of {self.name}")
        for volume_id in self.volume_ids:
            osd_device(volume_id)


@dataclass(frozen=True)
class Taint:
    """A node taint the Ceph daemons tolerate."""

    key: str
    value: str
    effect: str


@dataclass(frozen=True)
class StorageClasses:
    """Names of the three storage classes."""

    block: str = "ceph-block"
    """RBD; the cluster's default class (default ``ceph-block``)."""
    file: str = "ceph-filesystem"
    """CephFS, ReadWriteMany (default ``ceph-filesystem``)."""
    bucket: str = "ceph-bucket"
    """RGW buckets through ObjectBucketClaims (default ``ceph-bucket``)."""

    def __post_init__(self) -> None:
        for name in ("block", "file", "bucket"):
            check_name(getattr(self, name), f"StorageClasses.{name}")
        check_unique([self.block, self.file, self.bucket], "StorageClasses")


@dataclass(frozen=True)
class CephLayout:
    """Everything the cluster chart's values depend on."""

    hosts: tuple[OsdHost, ...]
    """The storage nodes with their OSD volumes."""
    node_labels: tuple[tuple[str, str], ...]
    """Labels every storage node carries (the pool's ``labels``): the daemons' required node affinity."""
    taints: tuple[Taint, ...] = ()
    """The storage pool's taints, tolerated by every Ceph daemon."""
    replicas: int = 3
    """Copies of every object, on as many hosts (default 3)."""
    mons: int = 3
    """Ceph monitors, odd, one per host (default 3)."""
    rgw_instances: int = 2
    """RGW gateway pods (S3 endpoint of the bucket class, the etcd backups and Harbor; default 2)."""
    classes: StorageClasses = StorageClasses()
    object_store: str = OBJECT_STORE
    """Name of the CephObjectStore."""
    ceph_image: str = ""
    """Ceph container image, ``repository:tag`` (config/charts.py pins it with the chart)."""
    resources: tuple[tuple[str, str, str], ...] = ()
    """(daemon, cpu request, memory request) per Ceph daemon (``mon``, ``mgr``, ``osd``, ...): the
    numbers the capacity plan counts on the storage nodes. Memory limit = request for OSDs, whose
    memory target Rook derives from it."""

    def __post_init__(self) -> None:
        check_unique([h.name for h in self.hosts], "CephLayout.hosts")
        check_positive(self.replicas, "CephLayout.replicas")
        check_positive(self.rgw_instances, "CephLayout.rgw_instances")
        if len(self.hosts) < self.replicas:
            raise ValueError(
                f"CephLayout.hosts: {len(self.hosts)} storage nodes cannot hold {self.replicas} replicas "
                "with failure domain host"
            )
        if self.mons % 2 == 0 or not 1 <= self.mons <= len(self.hosts):
            raise ValueError(
                f"CephLayout.mons: {self.mons} must be odd and at most the {len(self.hosts)} storage nodes"
            )
        if not self.node_labels:
            raise ValueError("CephLayout.node_labels: the storage nodes need a label to select them by")
        check_name(self.object_store, "CephLayout.object_store")
        if ":" not in self.ceph_image:
            raise ValueError(f"CephLayout.ceph_image: {self.ceph_image!r} is not repository:tag")


def rgw_service(namespace: str, object_store: str = OBJECT_STORE) -> str:
    """The in-cluster S3 endpoint (URL) of the object store's gateways."""
    return f"http://rook-ceph-rgw-{object_store}.{namespace}.svc"


def _placement(layout: CephLayout) -> dict:
    terms = [{"key": key, "operator": "In", "values": [value]} for key, value in layout.node_labels]
    return {
        "all": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": terms}]}
            },
            "tolerations": tolerations(layout.taints),
        }
    }


def tolerations(taints: tuple[Taint, ...]) -> list[dict]:
    """Tolerations of exactly ``taints`` (an empty value tolerates by key: ``Exists``)."""
    out = []
    for t in taints:
        base = {"key": t.key, "effect": t.effect}
        out.append(base | ({"operator": "Equal", "value": t.value} if t.value else {"operator": "Exists"}))
    return out


def storage_nodes(layout: CephLayout) -> list[dict]:
    """CephCluster ``storage.nodes``: each storage node with its data volumes by stable path."""
    return [{"name": h.name, "devices": [{"name": osd_device(v)} for v in h.volume_ids]} for h in layout.hosts]


def ceph_cluster_spec(layout: CephLayout) -> dict:
    """The CephCluster ``spec`` (the chart's ``cephClusterSpec``)."""
    repository, tag = layout.ceph_image.rsplit(":", 1)
    return {
        "cephVersion": {"image": f"{repository}:{tag}", "allowUnsupported": False},
        "dataDirHostPath": DATA_DIR,
        "mon": {"count": layout.mons, "allowMultiplePerNode": False},
        # Two managers (active + standby) on different hosts, as the chart's default.
        "mgr": {"count": min(2, len(layout.hosts)), "allowMultiplePerNode": False},
        "dashboard": {"enabled": True, "ssl": True},
        "placement": _placement(layout),
        "storage": {"useAllNodes": False, "useAllDevices": False, "nodes": storage_nodes(layout)},
        "priorityClassNames": {
            "mon": "system-node-critical",
            "osd": "system-node-critical",
            "mgr": "system-cluster-critical",
        },
        "disruptionManagement": {"managePodBudgets": True},
        "resources": {
            daemon: _requests(cpu, memory) for daemon, cpu, memory in layout.resources if daemon not in POOL_DAEMONS
        },
    }


POOL_DAEMONS = ("rgw", "mds")
"""Daemons whose resources and placement sit in their own resource (object store, filesystem): the
cluster's ``placement.all`` and ``resources`` do not reach them."""


def _requests(cpu: str, memory: str) -> dict:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}


def _resources(layout: CephLayout, daemon: str) -> dict:
    """``{"resources": ...}`` of ``daemon`` when the layout states them, else nothing."""
    found = [_requests(cpu, memory) for d, cpu, memory in layout.resources if d == daemon]
    return {"resources": found[0]} if found else {}


def _csi(driver: str, namespace: str) -> dict[str, str]:
    provisioner, node = CSI_SECRETS[driver]
    params = {}
    for key in ("provisioner", "controller-expand", "controller-publish"):
        params[f"csi.storage.k8s.io/{key}-secret-name"] = provisioner
        params[f"csi.storage.k8s.io/{key}-secret-namespace"] = namespace
    params["csi.storage.k8s.io/node-stage-secret-name"] = node
    params["csi.storage.k8s.io/node-stage-secret-namespace"] = namespace
    params["csi.storage.k8s.io/fstype"] = "ext4"
    return params


def _replicated(layout: CephLayout) -> dict:
    return {"failureDomain": "host", "replicated": {"size": layout.replicas}}


def _class(name: str, *, default: bool = False, **extra) -> dict:
    # Retain: deleting a claim must not destroy the data behind it (principle 8, stateful things protected).
    return {"enabled": True, "name": name, "isDefault": default, "reclaimPolicy": "Retain", **extra}


def cluster_values(layout: CephLayout, namespace: str) -> dict:
    """The rook-ceph-cluster chart's values: cluster spec, block pool, filesystem, object store."""
    classes = layout.classes
    expand = {"allowVolumeExpansion": True, "volumeBindingMode": "Immediate"}
    return {
        "operatorNamespace": namespace,
        "toolbox": {"enabled": True},
        "cephClusterSpec": ceph_cluster_spec(layout),
        "cephBlockPools": [
            {
                "name": "ceph-blockpool",
                "spec": _replicated(layout),
                "storageClass": _class(
                    classes.block,
                    default=True,
                    **expand,
                    parameters={"imageFormat": "2", "imageFeatures": "layering", **_csi("rbd", namespace)},
                ),
            }
        ],
        "cephFileSystems": [
            {
                "name": "ceph-filesystem",
                "spec": {
                    "metadataPool": {"replicated": {"size": layout.replicas}},
                    "dataPools": [{"name": "data0", **_replicated(layout)}],
                    "metadataServer": {
                        "activeCount": 1,
                        "activeStandby": True,
                        "placement": _placement(layout)["all"],
                        **_resources(layout, "mds"),
                    },
                },
                "storageClass": _class(classes.file, pool="data0", **expand, parameters=_csi("cephfs", namespace)),
            }
        ],
        "cephObjectStores": [
            {
                "name": layout.object_store,
                "spec": {
                    "metadataPool": _replicated(layout),
                    "dataPool": _replicated(layout),
                    # Buckets outlive the store's custom resource (Harbor's images, etcd backups).
                    "preservePoolsOnDelete": True,
                    "gateway": {
                        "port": 80,
                        "instances": layout.rgw_instances,
                        "placement": _placement(layout)["all"],
                        **_resources(layout, "rgw"),
                    },
                },
                "storageClass": _class(
                    classes.bucket, volumeBindingMode="Immediate", parameters={"region": "us-east-1"}
                ),
            }
        ],
    }

"""components/render/ceph_cluster.py: the CephCluster spec and pools from the storage nodes."""

from __future__ import annotations

import pytest

from components.render.ceph_cluster import (
    CephLayout,
    OsdHost,
    StorageClasses,
    Taint,
    ceph_cluster_spec,
    cluster_values,
    osd_device,
    rgw_service,
)

VOLUMES = {
    "k8s-prod-storage-1": ("0c3b5f7e-1111-4a2b-9c3d-000000000001", "0c3b5f7e-1111-4a2b-9c3d-000000000002"),
    "k8s-prod-storage-2": ("1d4c6a8f-2222-4a2b-9c3d-000000000003", "1d4c6a8f-2222-4a2b-9c3d-000000000004"),
    "k8s-prod-storage-3": ("2e5d7b9a-3333-4a2b-9c3d-000000000005", "2e5d7b9a-3333-4a2b-9c3d-000000000006"),
}
TAINT = Taint("node-role.kubernetes.io/storage", "", "NoSchedule")


def layout(**overrides) -> CephLayout:
    base = {
        "hosts": tuple(OsdHost(name, ids) for name, ids in VOLUMES.items()),
        "node_labels": (("node-role.kubernetes.io/storage", ""),),
        "taints": (TAINT,),
        "ceph_image": "quay.io/ceph/ceph:v20.2.4",
    }
    return CephLayout(**(base | overrides))


def test_each_storage_node_lists_exactly_its_data_volumes_by_stable_path() -> None:
    storage = ceph_cluster_spec(layout())["storage"]
    assert storage["useAllNodes"] is False and storage["useAllDevices"] is False
    assert "deviceFilter" not in storage
    listed = {n["name"]: [d["name"] for d in n["devices"]] for n in storage["nodes"]}
    assert listed == {name: [f"/dev/disk/by-id/virtio-{i[:20]}" for i in ids] for name, ids in VOLUMES.items()}
    assert osd_device("0c3b5f7e-1111-4a2b-9c3d-000000000001") == "/dev/disk/by-id/virtio-0c3b5f7e-1111-4a2b-9"


def test_mons_on_distinct_nodes_and_every_pool_fails_over_by_host() -> None:
    values = cluster_values(layout(), "rook-ceph")
    spec = values["cephClusterSpec"]
    assert spec["mon"] == {"count": 3, "allowMultiplePerNode": False}
    assert spec["mgr"]["allowMultiplePerNode"] is False
    pools = [
        values["cephBlockPools"][0]["spec"],
        *values["cephFileSystems"][0]["spec"]["dataPools"],
        values["cephObjectStores"][0]["spec"]["metadataPool"],
        values["cephObjectStores"][0]["spec"]["dataPool"],
    ]
    assert [p["failureDomain"] for p in pools] == ["host"] * 4
    assert {p["replicated"]["size"] for p in pools} == {3}


def test_daemons_run_on_the_storage_pool_tolerating_exactly_its_taints() -> None:
    placement = ceph_cluster_spec(layout())["placement"]["all"]
    terms = placement["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [
        {"matchExpressions": [{"key": "node-role.kubernetes.io/storage", "operator": "In", "values": [""]}]}
    ]
    assert placement["tolerations"] == [
        {"key": "node-role.kubernetes.io/storage", "effect": "NoSchedule", "operator": "Exists"}
    ]


def test_three_storage_classes_block_is_the_default_and_data_is_retained() -> None:
    classes = StorageClasses(block="rbd", file="cephfs", bucket="s3")
    values = cluster_values(layout(classes=classes), "rook-ceph")
    block = values["cephBlockPools"][0]["storageClass"]
    file = values["cephFileSystems"][0]["storageClass"]
    bucket = values["cephObjectStores"][0]["storageClass"]
    assert [block["name"], file["name"], bucket["name"]] == ["rbd", "cephfs", "s3"]
    assert [block["isDefault"], file["isDefault"], bucket["isDefault"]] == [True, False, False]
    assert {block["reclaimPolicy"], file["reclaimPolicy"], bucket["reclaimPolicy"]} == {"Retain"}
    assert block["parameters"]["csi.storage.k8s.io/node-stage-secret-namespace"] == "rook-ceph"
    assert values["cephObjectStores"][0]["spec"]["preservePoolsOnDelete"] is True
    assert rgw_service("rook-ceph") == "http://rook-ceph-rgw-ceph-objectstore.rook-ceph.svc"


def test_resources_are_requests_and_memory_limits() -> None:
    resources = (("osd", "1", "4Gi"), ("mon", "500m", "1Gi"), ("rgw", "500m", "1Gi"))
    spec = ceph_cluster_spec(layout(resources=resources))
    assert spec["resources"]["osd"] == {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}
    assert "rgw" not in spec["resources"]  # the gateways' own resource carries theirs
    gateway = cluster_values(layout(resources=resources), "rook-ceph")["cephObjectStores"][0]["spec"]["gateway"]
    assert gateway["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}


def test_gateways_and_metadata_servers_run_on_the_storage_nodes_too() -> None:
    values = cluster_values(layout(), "rook-ceph")
    all_ = values["cephClusterSpec"]["placement"]["all"]
    assert values["cephObjectStores"][0]["spec"]["gateway"]["placement"] == all_
    assert values["cephFileSystems"][0]["spec"]["metadataServer"]["placement"] == all_


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"hosts": tuple(OsdHost(n, i) for n, i in list(VOLUMES.items())[:2])}, "cannot hold 3 replicas"),
        ({"mons": 2}, "must be odd"),
        ({"mons": 5}, "must be odd and at most"),
        ({"node_labels": ()}, "need a label"),
        ({"ceph_image": "quay.io/ceph/ceph"}, "repository:tag"),
    ],
)
def test_impossible_layouts_are_refused(overrides: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        layout(**overrides)


def test_a_host_without_volumes_or_with_a_bad_id_is_refused() -> None:
    with pytest.raises(ValueError, match="no data volume"):
        OsdHost("k8s-prod-storage-1", ())
    with pytest.raises(ValueError, match="not a Cinder volume ID"):
        OsdHost("k8s-prod-storage-1", ("/dev/vdb",))

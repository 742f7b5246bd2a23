"""NodePool under mocks: sizing, SSD, anti-affinity, ports, metadata, protected data volumes, and
the done-when check that a pool's count changes only that pool's machines."""

from __future__ import annotations

from components.iaas.node_pool import METADATA_PREFIX
from components.iaas.rules_table import memberships
from config.load import parse
from config.sizing import sizing_row
from config.spec import KUBERNETES_ROLES, ROLE_SIZING, Role
from tests.harness import run_program, stack_config
from tests.iaas.conftest import (
    ATTACH,
    INSTANCE,
    SERVER_GROUP,
    VOLUME,
    committed,
    group_key,
    id_of,
    machine_ports,
    pool_of,
)


def test_every_instance_has_its_pools_flavor_image_and_disk_and_meets_its_sizing_row(program, spec):
    for instance in program.of_type(INSTANCE):
        pool = spec.node_pools[pool_of(instance)]
        (boot,) = instance.inputs["blockDevices"]
        assert instance.inputs["flavorName"] == pool.flavor
        assert boot["sourceType"] == "image" and boot["destinationType"] == "volume"
        assert boot["uuid"] == pool.image and boot["bootIndex"] == 0 and boot["deleteOnTermination"] is True
        assert (boot["volumeSize"], boot["volumeType"]) == (pool.disk_gib, pool.volume_type)
        kind = ROLE_SIZING[pool.role]
        if kind is not None:
            row = sizing_row(spec.environment, kind)
            assert pool.vcpu >= row.vcpu and pool.ram_gib >= row.ram_gib and boot["volumeSize"] >= row.disk_gib
        # No image by name: the provider would ignore it for boot-from-volume anyway.
        assert "imageName" not in instance.inputs and "imageId" not in instance.inputs


def test_instance_metadata_records_role_environment_pool_and_declared_size(program, spec):
    for instance in program.of_type(INSTANCE):
        pool = spec.node_pools[pool_of(instance)]
        assert instance.inputs["metadata"] == {
            "k8s-platform.role": pool.role.value,
            "k8s-platform.environment": program.stack,
            "k8s-platform.pool": pool_of(instance),
            "k8s-platform.vcpu": str(pool.vcpu),
            "k8s-platform.ram-gib": str(pool.ram_gib),
            "k8s-platform.disk-gib": str(pool.disk_gib),
        }
    assert METADATA_PREFIX == "k8s-platform."


def test_masters_and_etcd_boot_and_keep_data_on_ssd(program, spec):
    ssd = spec.storage.ssd_volume_type
    for instance in program.of_type(INSTANCE):
        if instance.inputs["metadata"]["k8s-platform.role"] in ("master", "etcd"):
            assert instance.inputs["blockDevices"][0]["volumeType"] == ssd
    for volume in program.of_type(VOLUME):
        if volume.inputs["metadata"]["k8s-platform.role"] in ("master", "etcd"):
            assert volume.inputs["volumeType"] == ssd


def test_each_pool_has_its_own_anti_affinity_server_group(program, spec):
    groups = {g.name: g for g in program.of_type(SERVER_GROUP)}
    assert set(groups) == {f"platform-iaas-pool-{name}-servergroup" for name in spec.node_pools}
    for name, pool in spec.node_pools.items():
        group = groups[f"platform-iaas-pool-{name}-servergroup"]
        assert group.inputs["policies"] == pool.anti_affinity.value
        assert group.inputs["policies"] in ("anti-affinity", "soft-anti-affinity")
    for instance in program.of_type(INSTANCE):
        (hint,) = instance.inputs["schedulerHints"]
        assert hint["group"] == f"platform-iaas-pool-{pool_of(instance)}-servergroup-id"


def test_prod_control_plane_pools_use_hard_anti_affinity():
    run = committed("prod")
    policies = {g.name: g.inputs["policies"] for g in run.of_type(SERVER_GROUP)}
    for pool in ("master", "etcd", "lb", "ingress", "storage"):
        assert policies[f"platform-iaas-pool-{pool}-servergroup"] == "anti-affinity"


def test_every_machine_has_one_port_on_the_subnet_with_its_roles_groups(program, spec):
    ports = {p.name: p for p in machine_ports(program)}
    for instance in program.of_type(INSTANCE):
        port = ports[f"{instance.name}-port"]
        assert instance.inputs["networks"] == [{"port": id_of(port)}]
        assert port.inputs["name"] == instance.inputs["name"]
        assert port.inputs["fixedIps"] == [{"subnetId": program.outputs["subnet_id"]}]  # Neutron picks the IP
        role = Role(instance.inputs["metadata"]["k8s-platform.role"])
        assert [group_key(g) for g in port.inputs["securityGroupIds"]] == list(memberships(role))
    assert len(ports) == len(program.of_type(INSTANCE))


def _pairs_by_role(program) -> dict[Role, set[tuple[str, ...]]]:
    out: dict[Role, set[tuple[str, ...]]] = {}
    for port in machine_ports(program):
        instance = program.named(port.name.removesuffix("-port"))
        role = Role(instance.inputs["metadata"]["k8s-platform.role"])
        out.setdefault(role, set()).add(tuple(p["ipAddress"] for p in port.inputs.get("allowedAddressPairs", [])))
    return out


def test_allowed_address_pairs_carry_the_vip_only_with_an_encapsulating_cni(program, spec):
    """The committed stacks encapsulate (Calico ipip/vxlan, flannel vxlan): pods' addresses never
    leave a node unwrapped, so only the lb ports may use another address, the VIP."""
    vip = f"{spec.network.api_vip}/32"
    for role, pairs in _pairs_by_role(program).items():
        expected = (vip,) if role == Role.LB and spec.api_endpoint.value == "haproxy-keepalived" else ()
        assert pairs == {expected}, role


def test_calico_native_routing_gives_kubernetes_ports_the_pod_and_service_ranges():
    run = run_program("test", {"cni": {"plugin": "calico", "encapsulation": "none"}})
    net = parse(stack_config("test")).network
    for role, pairs in _pairs_by_role(run).items():
        if role in KUBERNETES_ROLES:
            assert pairs == {(str(net.pod_cidr), str(net.service_cidr))}, role
        else:
            assert pairs == ({(f"{net.api_vip}/32",)} if role == Role.LB else {()}), role


def test_data_volumes_are_protected_and_attached_to_their_machine(program, spec):
    volumes = program.of_type(VOLUME)
    attaches = {a.name: a for a in program.of_type(ATTACH)}
    assert len(volumes) == len(attaches) == sum(p.count * len(p.data_volumes) for _, p in spec.pools())
    for volume in volumes:
        assert volume.protect, f"{volume.name} must be protected (nothing lost)"
        attach = attaches[f"{volume.name}-attach"]
        assert attach.inputs["volumeId"] == id_of(volume)
        # Attached to the machine whose name it carries (resource name and Cinder name alike).
        instance = program.named(attach.inputs["instanceId"].removesuffix("-id"))
        assert volume.name.startswith(instance.name + "-")
        assert volume.inputs["name"].startswith(instance.inputs["name"] + "-")
        assert not attach.protect
    for instance in program.of_type(INSTANCE):
        assert not instance.protect  # machines are replaceable; their data volumes are not


def test_storage_and_etcd_data_volumes_in_prod():
    run = committed("prod")
    sizes = {v.inputs["name"]: (v.inputs["size"], v.inputs["volumeType"]) for v in run.of_type(VOLUME)}
    assert sizes["k8s-prod-storage-2-osd1"] == (1000, "ssd")
    assert sizes["k8s-prod-etcd-3-etcd-data"] == (50, "ssd")
    assert len(sizes) == 3 * 2 + 3


def _names(run) -> dict[str, tuple[str, dict]]:
    """The IaaS layer's resources; the bootstrap's per-node steps are checked in
    tests/control_plane/test_kubeadm_cluster.py over the whole program."""
    return {r.name: (r.type, r.inputs) for r in run.resources if r.name.startswith("platform-iaas-")}


def test_changing_a_pools_count_adds_or_removes_only_that_pools_machines():
    """Done-when: one pool scales, no other pool's resource appears, disappears or changes."""
    base = _names(committed("prod"))
    scaled = _names(run_program("prod", {"nodePools.worker.count": 31, "nodePools.storage.count": 4}))
    removed, added = set(base) - set(scaled), set(scaled) - set(base)
    assert removed == {"platform-iaas-pool-worker-32", "platform-iaas-pool-worker-32-port"}
    storage = "platform-iaas-pool-storage-4"
    assert added == {
        storage,
        f"{storage}-port",
        f"{storage}-osd0",
        f"{storage}-osd0-attach",
        f"{storage}-osd1",
        f"{storage}-osd1-attach",
    }
    for name in set(base) & set(scaled):
        assert base[name] == scaled[name], f"{name} changed although its pool did not"


def test_scaling_a_pool_to_zero_keeps_its_server_group_and_everything_else():
    base = _names(committed("test"))
    scaled = _names(run_program("test", {"nodePools.ingress.count": 0}))
    assert set(base) - set(scaled) == {"platform-iaas-pool-ingress-1", "platform-iaas-pool-ingress-1-port"}
    assert set(scaled) - set(base) == set()

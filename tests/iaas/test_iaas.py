"""The IaaS layer as a whole under mocks: counts per type, component tree, stack outputs."""

from __future__ import annotations

from config.spec import Role
from tests.expected_counts import EXPECTED_COUNTS
from tests.iaas.conftest import FLOATING_IP, INSTANCE, committed


def test_counts_per_resource_type_match_the_table(program):
    assert dict(program.type_counts()) == EXPECTED_COUNTS[program.stack]


def test_iaas_components_hang_under_the_platform(program):
    platform = program.of_type("k8splatform:index:Platform")[0]
    iaas = program.of_type("k8splatform:iaas:Iaas")[0]
    assert iaas.parent == platform.urn and iaas.name == "platform-iaas"
    for type_ in ("k8splatform:iaas:Network", "k8splatform:iaas:SecurityGroups", "k8splatform:iaas:NodePool"):
        assert all(r.parent == iaas.urn for r in program.of_type(type_))
    # Every child is named after its parent component (ARCHITECTURE.md principle 1).
    by_urn = {r.urn: r for r in program.resources}
    for resource in program.resources:
        parent = by_urn.get(resource.parent)
        if parent is not None:
            assert resource.name.startswith(parent.name + "-"), (resource.name, parent.name)


def test_the_node_list_is_exported_as_plain_data(program, spec):
    nodes = program.outputs["nodes"]
    instances = program.of_type(INSTANCE)
    assert sorted(n["name"] for n in nodes) == sorted(i.inputs["name"] for i in instances)
    # In declaration order, numbered from 1 within each pool.
    assert [n["name"] for n in nodes] == [
        f"k8s-{program.stack}-{name}-{i}" for name, pool in spec.pools() for i in range(1, pool.count + 1)
    ]
    assert len(nodes) == spec.count()
    for node in nodes:
        pool = spec.node_pools[node["pool"]]
        assert node["role"] == pool.role.value
        assert node["labels"] == pool.labels
        assert node["taints"] == [t.model_dump(mode="json") for t in pool.taints]
        assert node["private_ip"], node
        assert node["name"].startswith(f"k8s-{program.stack}-{node['pool']}-")
    assert len({n["private_ip"] for n in nodes}) == len(nodes)


def test_gpu_ssd_and_ingress_pools_carry_labels_and_taints_to_the_node_list():
    nodes = {n["name"]: n for n in committed("prod").outputs["nodes"]}
    assert nodes["k8s-prod-gpu-1"]["labels"] == {"nvidia.com/gpu.present": "true"}
    assert nodes["k8s-prod-gpu-1"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert nodes["k8s-prod-ssd-4"]["labels"] == {"node.kubernetes.io/disk": "ssd"}
    assert nodes["k8s-prod-ingress-2"]["taints"][0]["key"] == "node-role.kubernetes.io/ingress"


def test_network_outputs_are_exported(program):
    assert program.outputs["network_id"] == "platform-iaas-network-net-id"
    assert program.outputs["subnet_id"] == "platform-iaas-network-subnet-id"
    assert set(program.outputs["security_group_ids"]) >= {"master", "node"}


def test_floating_ips_where_configured(program, spec):
    fips = {r.name: r for r in program.of_type(FLOATING_IP)}
    roles = [Role.BASTION] + ([Role.INGRESS] if spec.network.ingress_floating_ip else [])
    expected = {
        f"platform-iaas-pool-{name}-{i}-fip" for name, pool in spec.pools(*roles) for i in range(1, pool.count + 1)
    }
    if spec.network.api_floating_ip:
        expected.add("platform-iaas-api-fip")
    assert set(fips) == expected
    for name, fip in fips.items():
        assert fip.inputs["pool"] == spec.network.external_network_name
        if name == "platform-iaas-api-fip":
            # The endpoint layer associates it with the port that carries the API address.
            assert "portId" not in fip.inputs
            assert program.outputs["api_floating_ip"]
        else:
            assert fip.inputs["portId"] == name.removesuffix("-fip") + "-port-id"
        assert any("routerInterface" in d for d in fip.dependencies), "a floating IP needs the routed subnet"
    if not spec.network.api_floating_ip:
        assert program.outputs["api_floating_ip"] is None


def test_one_key_pair_from_the_stack_config(program, spec):
    (key_pair,) = program.of_type("openstack:compute/keypair:Keypair")
    assert key_pair.inputs == {"name": f"k8s-{program.stack}-admin", "publicKey": spec.ssh_public_key}
    assert {i.inputs["keyPair"] for i in program.of_type(INSTANCE)} == {f"k8s-{program.stack}-admin"}
    assert all(key_pair.urn in i.dependencies for i in program.of_type(INSTANCE))

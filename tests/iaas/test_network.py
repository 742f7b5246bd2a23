"""Network under mocks: a new tenant network, or a pre-provisioned one passed through by ID."""

from __future__ import annotations

from tests.harness import run_program
from tests.iaas.conftest import INSTANCE, PORT, machine_ports

NETWORK_TYPES = {
    "openstack:networking/network:Network",
    "openstack:networking/subnet:Subnet",
    "openstack:networking/router:Router",
    "openstack:networking/routerInterface:RouterInterface",
}


def test_subnet_carries_the_node_cidr_allocation_pool_and_dns(program, spec):
    (subnet,) = program.of_type("openstack:networking/subnet:Subnet")
    net = spec.network
    assert subnet.inputs["cidr"] == str(net.node_cidr)
    assert subnet.inputs["ipVersion"] == 4 and subnet.inputs["enableDhcp"] is True
    assert subnet.inputs["allocationPools"] == [
        {"start": str(net.allocation_pool.start), "end": str(net.allocation_pool.end)}
    ]
    assert subnet.inputs.get("dnsNameservers", []) == [str(a) for a in net.dns_servers]
    # The VIP is outside DHCP's range, so no machine can be handed it.
    assert not net.allocation_pool.start <= net.api_vip <= net.allocation_pool.end


def test_router_has_the_external_gateway_and_an_interface_on_the_subnet(program, spec):
    (router,) = program.of_type("openstack:networking/router:Router")
    (interface,) = program.of_type("openstack:networking/routerInterface:RouterInterface")
    assert router.inputs["externalNetworkId"] == spec.network.external_network_id
    assert interface.inputs == {"routerId": f"{router.name}-id", "subnetId": "platform-iaas-network-subnet-id"}
    # Machines boot once the subnet is routed (metadata service, package mirrors).
    assert all(interface.urn in i.dependencies for i in program.of_type(INSTANCE))


def test_an_existing_network_is_used_by_id_and_nothing_is_created():
    run = run_program("test", {"network.existingNetworkId": "net-1234", "network.existingSubnetId": "subnet-5678"})
    assert not NETWORK_TYPES & set(run.type_counts())
    for port in run.of_type(PORT):
        assert port.inputs["networkId"] == "net-1234"
    for port in machine_ports(run):
        assert port.inputs["fixedIps"] == [{"subnetId": "subnet-5678"}]
    assert (run.outputs["network_id"], run.outputs["subnet_id"]) == ("net-1234", "subnet-5678")
    assert len(run.of_type(INSTANCE)) == 11

"""Security groups under mocks: the registered rules equal a least-privilege matrix per stack.

The matrix is written out here, independently of components/iaas/rules_table.py: which group may
be reached on which protocol/ports from where. ``@x`` is the security group x, anything else a
CIDR. A rule the table adds or drops fails this test until the matrix is updated on purpose.
"""

from __future__ import annotations

import pytest

from tests.iaas.conftest import RULE, SEC_GROUP, group_key

ADMIN = "10.10.0.0/24"
NODEPORTS = "30000-32767"

# (group, protocol, ports, source) of every ingress rule.
INGRESS_MATRIX: dict[str, set[tuple[str, str, str, str]]] = {
    "lab": {
        ("node", "tcp", "22", "192.168.0.0/16"),  # no bastion: SSH from the admin network
        ("master", "tcp", "6443", "@node"),
        ("master", "tcp", "6443", "192.168.50.0/24"),  # Octavia amphorae on the node subnet
        ("master", "tcp", "6443", "192.168.0.0/16"),
        ("master", "tcp", "2379-2380", "@master"),  # stacked etcd
        ("node", "tcp", "10250", "@node"),  # kubelet node to node (one all-in-one node: no workers)
        ("node", "udp", "8472", "@node"),  # flannel VXLAN
    },
    "test": {
        ("node", "tcp", "22", ADMIN),
        ("lb", "tcp", "22", ADMIN),
        ("etcd", "tcp", "22", ADMIN),
        ("master", "tcp", "6443", "@node"),
        ("master", "tcp", "6443", "@lb"),
        ("master", "tcp", "6443", ADMIN),
        ("lb", "tcp", "6443", "@node"),
        ("lb", "tcp", "6443", ADMIN),
        ("lb", "112", "any", "@lb"),  # VRRP
        ("lb", "tcp", "8404", ADMIN),  # haproxy stats
        ("etcd", "tcp", "2379", "@master"),
        ("etcd", "tcp", "2379-2380", "@etcd"),
        ("etcd", "tcp", "2379", "@worker"),  # etcd /metrics for Prometheus (client certificate)
        ("etcd", "tcp", "9100", "@worker"),  # node-exporter on the members (backup metrics)
        ("node", "tcp", "10250", "@node"),  # kubelet: apiserver, metrics-server, Prometheus
        ("node", "tcp", "9100", "@worker"),  # node-exporter for Prometheus on the workers
        ("node", "udp", "4789", "@node"),  # Calico VXLAN
        ("node", "tcp", "5473", "@node"),  # Typha
        ("ingress", "tcp", "80", "10.0.0.0/8"),
        ("ingress", "tcp", "443", "10.0.0.0/8"),
        ("worker", "tcp", NODEPORTS, ADMIN),
        ("worker", "udp", NODEPORTS, ADMIN),
        ("ingress", "tcp", NODEPORTS, ADMIN),
        ("ingress", "udp", NODEPORTS, ADMIN),
    },
    "prod": {
        ("node", "tcp", "22", "@bastion"),  # bastion: SSH only through it
        ("lb", "tcp", "22", "@bastion"),
        ("etcd", "tcp", "22", "@bastion"),
        ("bastion", "tcp", "22", ADMIN),
        ("master", "tcp", "6443", "@node"),
        ("master", "tcp", "6443", "@lb"),
        ("master", "tcp", "6443", ADMIN),
        ("lb", "tcp", "6443", "@node"),
        ("lb", "tcp", "6443", ADMIN),
        ("lb", "112", "any", "@lb"),
        ("lb", "tcp", "8404", ADMIN),
        ("etcd", "tcp", "2379", "@master"),
        ("etcd", "tcp", "2379-2380", "@etcd"),
        ("etcd", "tcp", "2379", "@worker"),  # etcd /metrics for Prometheus (client certificate)
        ("etcd", "tcp", "9100", "@worker"),  # node-exporter on the members (backup metrics)
        ("node", "tcp", "10250", "@node"),
        ("node", "tcp", "9100", "@worker"),
        ("node", "tcp", "179", "@node"),  # Calico BGP
        ("node", "4", "any", "@node"),  # IP-in-IP
        ("node", "tcp", "5473", "@node"),
        ("ingress", "tcp", "80", "0.0.0.0/0"),  # publicIngressCidrs: [0.0.0.0/0]
        ("ingress", "tcp", "443", "0.0.0.0/0"),
        ("storage", "tcp", "3300", "@storage"),
        ("storage", "tcp", "6789", "@storage"),
        ("storage", "tcp", "6800-7300", "@storage"),
        ("storage", "tcp", "3300", "@worker"),
        ("storage", "tcp", "6789", "@worker"),
        ("storage", "tcp", "6800-7300", "@worker"),
    },
}
GROUPS = {
    "lab": {"master", "node"},
    "test": {"lb", "master", "etcd", "worker", "ingress", "node"},
    "prod": {"lb", "master", "etcd", "worker", "ingress", "storage", "bastion", "node"},
}


def _row(rule) -> tuple[str, str, str, str]:
    i = rule.inputs
    low, high = i.get("portRangeMin"), i.get("portRangeMax")
    ports = "any" if low is None else (str(int(low)) if low == high else f"{int(low)}-{int(high)}")
    source = f"@{group_key(i['remoteGroupId'])}" if "remoteGroupId" in i else i["remoteIpPrefix"]
    return group_key(i["securityGroupId"]), i.get("protocol", "any"), ports, source


def test_groups_one_per_role_present_and_node(program):
    groups = program.of_type(SEC_GROUP)
    assert {g.name.removeprefix("platform-iaas-secgroups-") for g in groups} == GROUPS[program.stack]
    for group in groups:
        # Neutron's unmanaged default egress rules go; the table's egress rule replaces them.
        assert group.inputs["deleteDefaultRules"] is True
        assert group.inputs["name"].startswith(f"k8s-{program.stack}-")


def test_ingress_rules_equal_the_least_privilege_matrix(program):
    rows = [_row(r) for r in program.of_type(RULE) if r.inputs["direction"] == "ingress"]
    assert len(rows) == len(set(rows)), "duplicate rules"
    assert set(rows) == INGRESS_MATRIX[program.stack]


def test_egress_is_one_ipv4_rule_per_role_group(program):
    egress = [r for r in program.of_type(RULE) if r.inputs["direction"] == "egress"]
    assert {group_key(r.inputs["securityGroupId"]) for r in egress} == GROUPS[program.stack] - {"node"}
    for rule in egress:
        assert rule.inputs["remoteIpPrefix"] == "0.0.0.0/0" and rule.inputs["ethertype"] == "IPv4"
        assert "protocol" not in rule.inputs


def test_no_world_open_ingress_except_the_configured_public_ports(program, spec):
    public = {str(c) for c in spec.network.public_ingress_cidrs}
    for rule in program.of_type(RULE):
        i = rule.inputs
        assert i["ethertype"] == "IPv4"
        if i["direction"] != "ingress" or i.get("remoteIpPrefix") != "0.0.0.0/0":
            continue
        assert "0.0.0.0/0" in public, f"{rule.name} is open to the world but no config key asks for it"
        assert group_key(i["securityGroupId"]) == "ingress"
        assert (i["protocol"], i["portRangeMin"], i["portRangeMax"]) in {("tcp", 80, 80), ("tcp", 443, 443)}


def test_every_rule_is_described_and_named_after_its_table_entry(program):
    for rule in program.of_type(RULE):
        assert rule.inputs["description"]
        assert rule.name.startswith("platform-iaas-secgroups-" + group_key(rule.inputs["securityGroupId"]) + "-")


@pytest.mark.parametrize(
    ("port", "allowed_sources"),
    [
        # etcd client: masters, members and Prometheus on the workers (monitoring; a client
        # certificate of etcd's CA is still required).
        ("2379", {"@master", "@etcd", "@worker"}),
        ("2379-2380", {"@master", "@etcd"}),
        ("10250", {"@node"}),  # kubelet: Kubernetes nodes only (apiserver, metrics-server, Prometheus)
        ("9100", {"@worker"}),  # node-exporter: the monitoring nodes only
        ("22", {"@bastion", "10.10.0.0/24", "192.168.0.0/16"}),  # SSH: bastion or admin networks
    ],
)
def test_sensitive_ports_are_reachable_only_from_their_peers(program, port, allowed_sources):
    sources = {source for _g, _p, ports, source in map(_row, program.of_type(RULE)) if ports == port}
    assert sources <= allowed_sources

"""components/iaas/rules_table.py without Pulumi: the rules as data, for any configuration."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.iaas.rules_table import (
    ANYWHERE,
    NODE_GROUP,
    REFERENCES,
    RulesInput,
    SecurityRule,
    groups,
    memberships,
    rules,
)
from config.spec import KUBERNETES_ROLES, ApiEndpointKind, CniPlugin, Encapsulation, EtcdTopology, Role
from tests.harness import ROOT

CIDRS = st.sampled_from(["10.10.0.0/24", "192.168.0.0/16", "172.16.5.0/24", "0.0.0.0/0", "100.64.0.0/10"])


@st.composite
def rules_inputs(draw) -> RulesInput:
    roles = draw(st.frozensets(st.sampled_from(list(Role)), min_size=1))
    cni = draw(st.sampled_from(list(CniPlugin)))
    return RulesInput(
        roles=roles,
        cni=cni,
        encapsulation=Encapsulation.VXLAN if cni == CniPlugin.FLANNEL else draw(st.sampled_from(list(Encapsulation))),
        api_endpoint=draw(st.sampled_from(list(ApiEndpointKind))),
        etcd_topology=draw(st.sampled_from(list(EtcdTopology))),
        node_cidr="10.20.0.0/22",
        # adminCidrs may not be 0.0.0.0/0 (spec rule _access); the others may, explicitly.
        admin_cidrs=tuple(draw(st.lists(CIDRS.filter(lambda c: c != ANYWHERE), max_size=3, unique=True))),
        public_ingress_cidrs=tuple(draw(st.lists(CIDRS, max_size=3, unique=True))),
        node_port_cidrs=tuple(draw(st.lists(CIDRS.filter(lambda c: c != ANYWHERE), max_size=3, unique=True))),
    )


def _covers(rule: SecurityRule, port: int) -> bool:
    return rule.port_min is not None and rule.port_min <= port <= rule.port_max


@settings(max_examples=300, deadline=None)
@given(rules_inputs())
def test_invariants_hold_for_any_configuration(i):
    table = rules(i)  # raises on duplicate names
    present = set(groups(i))
    admin = set(i.admin_cidrs)
    for r in table:
        assert r.group in present and (r.remote_group is None or r.remote_group in present), r
        assert r.description and len(r.description) <= 255 and r.reference in REFERENCES
        if r.direction == "egress":
            assert r.group != NODE_GROUP and r.remote_cidr == ANYWHERE
            continue
        # Nothing is open to the world unless publicIngressCidrs asks, and then only 80/443 on ingress.
        if r.remote_cidr == ANYWHERE:
            assert ANYWHERE in i.public_ingress_cidrs and r.group == "ingress" and r.ports in ("80", "443")
        if r.group == "ingress" and r.ports in ("80", "443"):
            assert r.remote_cidr in i.public_ingress_cidrs
        if _covers(r, 2379) or _covers(r, 2380):
            assert r.remote_group in ("master", "etcd"), r
        if _covers(r, 10250):
            assert r.group == r.remote_group == NODE_GROUP, r  # every Kubernetes node, nothing else
        if _covers(r, 9100):
            assert r.group == NODE_GROUP and r.remote_group == Role.WORKER.value, r
        if _covers(r, 22):
            if Role.BASTION in i.roles:
                assert r.remote_group == "bastion" or (r.group == "bastion" and r.remote_cidr in admin), r
            else:
                assert r.remote_cidr in admin, r
        if _covers(r, 30000):
            assert r.remote_cidr in i.node_port_cidrs, r
        if r.ports == "8404":
            assert r.remote_cidr in admin and r.group == "lb"
        if r.protocol == "112":
            assert r.group == r.remote_group == "lb"
        if r.port_min == 6443:
            amphorae = {i.node_cidr} if i.api_endpoint == ApiEndpointKind.OCTAVIA else set()
            allowed = {"lb", NODE_GROUP} | admin | amphorae
            assert (r.remote_group or r.remote_cidr) in allowed, r
    # Every role group has exactly one egress rule; machines lose no egress to the deleted defaults.
    egress = sorted(r.group for r in table if r.direction == "egress")
    assert egress == sorted(g for g in present if g != NODE_GROUP)


@settings(max_examples=200, deadline=None)
@given(rules_inputs())
def test_stays_inside_neutrons_default_quotas(i):
    # Neutron defaults: 10 security groups (one is the project's "default") and 100 rules.
    assert len(groups(i)) <= 9
    assert len(rules(i)) <= 100


def _base(**changes) -> RulesInput:
    values = {
        "roles": frozenset({Role.MASTER, Role.WORKER}),
        "cni": CniPlugin.CALICO,
        "encapsulation": Encapsulation.IPIP,
        "api_endpoint": ApiEndpointKind.OCTAVIA,
        "etcd_topology": EtcdTopology.STACKED,
        "node_cidr": "10.20.0.0/22",
        "admin_cidrs": ("10.10.0.0/24",),
    }
    return RulesInput(**{**values, **changes})


def _cni_rows(i: RulesInput) -> set[tuple[str | None, str]]:
    return {(r.protocol, r.ports) for r in rules(i) if r.group == r.remote_group == NODE_GROUP and r.ports != "10250"}


@pytest.mark.parametrize(
    ("cni", "encapsulation", "expected"),
    [
        (CniPlugin.CALICO, Encapsulation.IPIP, {("tcp", "179"), ("4", "any"), ("tcp", "5473")}),
        (CniPlugin.CALICO, Encapsulation.VXLAN, {("udp", "4789"), ("tcp", "5473")}),
        (CniPlugin.CALICO, Encapsulation.NONE, {("tcp", "179"), ("tcp", "5473")}),  # native routing: BGP only
        (CniPlugin.FLANNEL, Encapsulation.VXLAN, {("udp", "8472")}),
    ],
)
def test_the_cni_derives_its_own_rules(cni, encapsulation, expected):
    assert _cni_rows(_base(cni=cni, encapsulation=encapsulation)) == expected


def test_kubelet_answers_every_node_and_node_exporter_the_monitoring_nodes():
    kubelet = [r for r in rules(_base()) if r.ports == "10250"]
    assert [(r.group, r.remote_group) for r in kubelet] == [(NODE_GROUP, NODE_GROUP)]
    exporter = [r for r in rules(_base()) if r.ports == "9100"]
    assert [(r.group, r.remote_group) for r in exporter] == [(NODE_GROUP, Role.WORKER.value)]
    # All-in-one (no worker pool): Prometheus runs on the one node, no rule to open.
    assert not [r for r in rules(_base(roles=frozenset({Role.MASTER}))) if r.ports == "9100"]


def test_without_kubernetes_nodes_there_is_no_node_group():
    i = _base(roles=frozenset({Role.BASTION}))
    assert groups(i) == ("bastion",)
    assert {r.name for r in rules(i)} == {"bastion-egress", "bastion-ssh-from-10-10-0-0-24"}


def test_external_etcd_opens_client_to_masters_and_peers_to_members_only():
    i = _base(roles=frozenset({Role.MASTER, Role.ETCD}), etcd_topology=EtcdTopology.EXTERNAL)
    etcd = {(r.ports, r.remote_group) for r in rules(i) if r.group == "etcd" and r.port_min in (2379, 2380)}
    assert etcd == {("2379", "master"), ("2379-2380", "etcd")}
    assert not [r for r in rules(i) if r.group == "master" and r.port_min == 2379]


def test_haproxy_endpoint_opens_the_lb_group_and_octavia_the_subnet():
    haproxy = _base(roles=frozenset({Role.MASTER, Role.LB}), api_endpoint=ApiEndpointKind.HAPROXY_KEEPALIVED)
    names = {r.name for r in rules(haproxy)}
    assert {"master-apiserver-from-lb", "lb-vrrp-from-lb", "lb-haproxy-stats-from-10-10-0-0-24"} <= names
    assert "master-apiserver-amphorae-from-10-20-0-0-22" not in names
    octavia = {r.name for r in rules(_base())}
    assert "master-apiserver-amphorae-from-10-20-0-0-22" in octavia
    assert not [n for n in octavia if n.startswith("lb-")]


def test_node_ports_go_to_workers_and_ingress_or_to_an_all_in_one_master():
    with_workers = _base(roles=frozenset({Role.MASTER, Role.WORKER, Role.INGRESS}), node_port_cidrs=("10.1.0.0/16",))
    assert {r.group for r in rules(with_workers) if r.port_min == 30000} == {"worker", "ingress"}
    all_in_one = _base(roles=frozenset({Role.MASTER}), node_port_cidrs=("10.1.0.0/16",))
    assert {r.group for r in rules(all_in_one) if r.port_min == 30000} == {"master"}
    assert not [r for r in rules(_base()) if r.port_min == 30000], "no nodePortCidrs: NodePorts closed"


def test_ceph_ports_between_storage_nodes_and_from_workers():
    i = _base(roles=frozenset({Role.MASTER, Role.WORKER, Role.STORAGE}))
    ceph = {(r.ports, r.remote_group) for r in rules(i) if r.group == "storage" and r.direction == "ingress"}
    expected = {(p, s) for p in ("3300", "6789", "6800-7300") for s in ("storage", "worker")}
    assert ceph == expected
    assert not [r for r in rules(_base()) if r.port_min == 3300]


def test_memberships_put_every_kubernetes_node_in_the_node_group():
    for role in Role:
        assert memberships(role)[0] == role.value
        assert (NODE_GROUP in memberships(role)) == (role in KUBERNETES_ROLES)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"remote_group": "a", "remote_cidr": "10.0.0.0/8"}, "exactly one"),
        ({}, "exactly one"),
        ({"remote_group": "a", "port_min": 10, "port_max": 5}, "bad port range"),
        ({"remote_group": "a", "port_min": 10}, "bad port range"),
        ({"remote_group": "a", "protocol": "4", "port_min": 1, "port_max": 1}, "tcp or udp"),
        ({"remote_group": "a", "description": "x" * 256}, "255"),
    ],
)
def test_a_malformed_rule_is_refused(kwargs, words):
    values = {"name": "r", "group": "g", "description": "why", "protocol": "tcp", **kwargs}
    with pytest.raises(ValueError, match=words):
        SecurityRule(**values)


def test_the_table_modules_import_nothing_from_pulumi():
    code = (
        "import sys, components.iaas.rules_table, components.iaas.rules_doc; "
        "leaked = sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')); "
        "assert not leaked, leaked"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)

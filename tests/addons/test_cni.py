"""The CNI add-on under mocks: Calico's operator values per encapsulation, Flannel's, and their
agreement with the security-group rules derived from the same ``cni`` section."""

from __future__ import annotations

import pytest

from components.addons.cni import CALICO_MODES
from components.iaas.rules_table import RulesInput, rules
from config.load import parse
from config.spec import Encapsulation
from tests.harness import run_program, stack_config

RELEASE = "kubernetes:helm.sh/v3:Release"


def _release(run, suffix: str):
    (release,) = [r for r in run.of_type(RELEASE) if r.name.endswith(suffix)]
    return release


def _diff(a, b, path=()):
    """Key paths where two values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [p for k in sorted(set(a) | set(b)) for p in _diff(a.get(k), b.get(k), (*path, k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True)) for p in _diff(x, y, (*path, i))]
    return [] if a == b else [path]


def test_ipip_and_vxlan_change_exactly_the_pools_encapsulation_and_bgp():
    ipip = _release(run_program("prod"), "tigera-operator").inputs
    vxlan = _release(run_program("prod", {"cni.encapsulation": "vxlan"}), "tigera-operator").inputs
    assert _diff(ipip, vxlan) == [
        ("values", "installation", "calicoNetwork", "bgp"),
        ("values", "installation", "calicoNetwork", "ipPools", 0, "encapsulation"),
    ]
    network = ipip["values"]["installation"]["calicoNetwork"]
    assert network["bgp"] == "Enabled" and network["ipPools"][0]["encapsulation"] == "IPIP"
    assert network["ipPools"][0]["cidr"] == "10.244.0.0/16" and network["ipPools"][0]["blockSize"] == 24
    pool = vxlan["values"]["installation"]["calicoNetwork"]["ipPools"][0]
    assert (pool["encapsulation"], vxlan["values"]["installation"]["calicoNetwork"]["bgp"]) == ("VXLAN", "Disabled")


def test_the_release_is_pinned_and_waits_for_the_whole_cluster():
    run = run_program("test")
    release = _release(run, "tigera-operator")
    assert release.inputs["chart"] == "tigera-operator" and release.inputs["version"] == "v3.32.1"
    assert release.inputs["repositoryOpts"] == {"repo": "https://docs.tigera.io/calico/charts"}
    assert release.inputs["namespace"] == "tigera-operator" and release.inputs["name"] == "tigera-operator"
    steps = run.of_type("command:remote:Command")
    # kubeadm init, the kubeconfig read, the second master's join and every worker pool's Node step
    # (each waits for its pool's joins).
    joins = {r.urn for r in steps if r.name.endswith(("-nodes", "-kubeconfig", "-init", "master-2-join"))}
    assert len(joins) == 2 + 1 + 2
    assert joins <= set(release.dependencies), joins - set(release.dependencies)


def test_flannel_takes_the_pod_cidr_and_enforces_network_policies():
    values = _release(run_program("lab"), "flannel").inputs["values"]
    assert values["podCidr"] == "10.244.0.0/16"
    assert values["flannel"]["backend"] == "vxlan" and values["netpol"]["enabled"] is True


@pytest.mark.parametrize("encapsulation", list(Encapsulation))
def test_calico_modes_match_the_security_group_rules(encapsulation):
    """BGP runs exactly where the node group opens TCP 179; the overlay's port is open for its mode."""
    spec = parse(stack_config("prod", {"cni.encapsulation": encapsulation.value}))
    names = {r.name for r in rules(RulesInput.from_spec(spec))}
    overlay, bgp = CALICO_MODES[encapsulation]
    assert ("node-bgp-from-node" in names) is (bgp == "Enabled")
    assert ("node-ipip-from-node" in names) is (overlay == "IPIP")
    assert ("node-vxlan-from-node" in names) is (overlay == "VXLAN")


def test_a_values_override_reaches_the_release():
    run = run_program("prod", {"addons.cni": {"values": {"installation": {"calicoNetwork": {"mtu": 1400}}}}})
    assert _release(run, "tigera-operator").inputs["values"]["installation"]["calicoNetwork"]["mtu"] == 1400


def test_the_cni_off_registers_no_cni_and_the_others_do_not_wait_for_it():
    run = run_program("test", {"addons.cni": {"enabled": False}})
    assert not run.of_type("k8splatform:addons:Cni")
    assert not [r for r in run.of_type(RELEASE) if r.name.endswith(("tigera-operator", "flannel"))]

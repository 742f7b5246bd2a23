"""ApiServerEndpoint under mocks: both implementations, the VIP port, the floating IP, the SSH steps.

test and prod use haproxy-keepalived, lab uses Octavia; overrides run each stack with the other
implementation too. Config rules of the endpoint options are checked here as well.
"""

from __future__ import annotations

import functools
import itertools
import re
import shlex

import pytest

from config.load import parse
from config.spec import NAMESPACE, SpecError
from tests.control_plane.endpoint_etcd_mocks import (
    COMMAND,
    ENDPOINT,
    FIP_ASSOCIATION,
    FLOATING_IP,
    LISTENER,
    LOAD_BALANCER,
    MEMBER,
    MONITOR,
    POOL,
    PORT,
    decode_payload,
    derived_vrrp_password,
    plain,
    run,
)
from tests.harness import ProgramRun, Secret, stack_config

EP = "platform-api-endpoint"
LAB_LB_POOL = {
    "role": "lb",
    "count": 1,
    "flavor": "m1.tiny",
    "image": "973e8a31-c517-51a1-9be3-2072cada6a3b",
    "vcpu": 1,
    "ramGib": 1,
    "diskGib": 10,
    "volumeType": "standard",
}


@functools.cache
def committed(stack: str) -> ProgramRun:
    return run(stack)


def masters(run_: ProgramRun) -> list[tuple[str, str]]:
    """(hostname, private IP) of every master, in pool order."""
    return [(n["name"], n["private_ip"]) for n in run_.outputs["nodes"] if n["role"] == "master"]


def commands(run_: ProgramRun, suffix: str) -> list:
    return [c for c in run_.of_type(COMMAND) if c.name.startswith(EP) and c.name.endswith(suffix)]


# --------------------------------------------------------------------------- haproxy-keepalived


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_the_vip_port_reserves_the_vip_with_the_lb_group_and_no_device(stack):
    program = committed(stack)
    port = program.named(f"{EP}-vip-port")
    vip = parse(stack_config(stack)).network.api_vip
    assert port.inputs["fixedIps"] == [{"subnetId": "platform-iaas-network-subnet-id", "ipAddress": str(vip)}]
    assert port.inputs["securityGroupIds"] == ["platform-iaas-secgroups-lb-id"]
    assert "deviceId" not in port.inputs and "deviceOwner" not in port.inputs
    assert program.outputs["api_endpoint_host"] == str(vip)
    assert program.outputs["api_endpoint_port"] == 6443


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_every_lb_machine_gets_prepare_haproxy_keepalived_in_that_order(stack):
    program = committed(stack)
    by_name = {r.name: r for r in program.resources}
    lbs = [n["name"] for n in program.outputs["nodes"] if n["role"] == "lb"]
    assert len(lbs) == 2
    for lb in lbs:
        prepare, haproxy, keepalived = (by_name[f"{EP}-{lb}-{step}"] for step in ("prepare", "haproxy", "keepalived"))
        assert prepare.urn in haproxy.dependencies
        assert haproxy.urn in keepalived.dependencies
        assert by_name[f"{EP}-vip-port"].urn in keepalived.dependencies
        # The machine's instance is a dependency (a rebuilt machine is configured again).
        instance = next(r for r in program.resources if r.type.endswith("instance:Instance") and r.inputs["name"] == lb)
        assert instance.urn in prepare.dependencies
        create = prepare.inputs["create"]
        assert create.startswith("sudo -n /bin/bash -c ")
        assert "apt_install haproxy keepalived" in create and "net.ipv4.ip_nonlocal_bind = 1" in create
        assert f"readonly INSTANCE_ID={instance.name}-id" in create


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_haproxy_config_lists_every_master_and_is_validated_before_reload(stack):
    program = committed(stack)
    vip = parse(stack_config(stack)).network.api_vip
    for command in commands(program, "-haproxy"):
        create = command.inputs["create"]
        assert not isinstance(create, Secret) and not isinstance(command.inputs["stdin"], Secret)
        assert create.index("haproxy -c -q -f") < create.index("commit_payload\n") < create.index("reload haproxy")
        files = decode_payload(command.inputs["stdin"])
        mode, owner, config = files["/etc/haproxy/haproxy.cfg"]
        assert (mode, owner) == ("0644", "root:root")
        assert f"bind {vip}:6443" in config
        servers = re.findall(r"^\s+server (\S+) (\S+):6443", config, re.MULTILINE)
        assert servers == masters(program)


@pytest.mark.parametrize("stack", ["test", "prod"])
def test_keepalived_config_is_a_secret_holding_the_password_derived_from_the_seed(stack):
    program = committed(stack)
    password = derived_vrrp_password()
    assert re.fullmatch(r"[A-Za-z0-9]{8}", password)
    assert not [r for r in program.resources if r.type.startswith("random:")]
    lbs = [n for n in program.outputs["nodes"] if n["role"] == "lb"]
    for index, lb in enumerate(lbs):
        command = program.named(f"{EP}-{lb['name']}-keepalived")
        stdin = command.inputs["stdin"]
        assert isinstance(stdin, Secret)
        mode, _, config = decode_payload(stdin.value)["/etc/keepalived/keepalived.conf"]
        assert mode == "0600"
        assert f"auth_pass {password}" in config
        assert "virtual_router_id 51" in config and "interface ${K8S_PLATFORM_INTERFACE}" in config
        assert "include /etc/keepalived/k8s-platform-interface.conf" in config  # detected on the machine
        # The apiserver is tracked through this machine's own haproxy (its stats listener).
        assert f"http://{lb['private_ip']}:8404/apiserver-ready" in config and "nopreempt" in config
        assert f"priority {150 - 10 * index}" in config
        peers = {n["private_ip"] for n in lbs} - {lbs[index]["private_ip"]}
        assert all(peer in config for peer in peers)
        create = command.inputs["create"]
        assert password not in create
        assert "\nreadonly INTERFACE=''\n" in shlex.split(create)[-1], "empty: the step detects it"
        assert create.index("keepalived --config-test") < create.index("commit_payload\n")


def test_a_configured_vrrp_password_replaces_the_derived_one_and_stays_secret():
    program = run("test", {"keepalivedAuthPass": Secret("Vr1pPw:x"), "apiEndpointOptions": {"vrrpRouterId": 77}})
    for command in commands(program, "-keepalived"):
        assert isinstance(command.inputs["stdin"], Secret)
        config = decode_payload(command.inputs["stdin"].value)["/etc/keepalived/keepalived.conf"][2]
        assert "auth_pass Vr1pPw:x" in config and "virtual_router_id 77" in config
        assert derived_vrrp_password() not in config


def test_another_seed_derives_another_vrrp_password():
    other = run("test", {"secretSeed": Secret("0f" * 32)})
    configs = [
        decode_payload(c.inputs["stdin"].value)["/etc/keepalived/keepalived.conf"][2]
        for c in commands(other, "-keepalived")
    ]
    assert configs and all(f"auth_pass {derived_vrrp_password()}" not in c for c in configs)
    assert all(re.search(r"auth_pass [A-Za-z0-9]{8}\n", c) for c in configs)


def test_a_changed_master_list_changes_the_haproxy_steps_only():
    before = committed("test")
    after = run("test", {"nodePools.master.count": 3})

    def inputs(program: ProgramRun, suffix: str) -> dict:
        return {c.name: (c.inputs["create"], plain(c.inputs.get("stdin"))) for c in commands(program, suffix)}

    assert inputs(before, "-haproxy").keys() == inputs(after, "-haproxy").keys()
    for name, (create, stdin) in inputs(after, "-haproxy").items():
        assert create == inputs(before, "-haproxy")[name][0]
        assert stdin != inputs(before, "-haproxy")[name][1]
        assert "server k8s-test-master-3 " in decode_payload(stdin)["/etc/haproxy/haproxy.cfg"][2]
    # Nothing else of the lb machines changes: same keepalived file, same preparation.
    assert inputs(after, "-keepalived") == inputs(before, "-keepalived")
    assert inputs(after, "-prepare") == inputs(before, "-prepare")


def test_the_api_floating_ip_is_associated_with_the_vip_port():
    program = run("test", {"network.apiFloatingIp": True})
    [fip] = program.of_type(FLOATING_IP)
    [association] = program.of_type(FIP_ASSOCIATION)
    assert association.parent == program.of_type(ENDPOINT)[0].urn
    assert association.inputs["portId"] == f"{EP}-vip-port-id"
    assert association.inputs["floatingIp"] == program.outputs["api_floating_ip"]
    assert fip.urn in association.dependencies
    assert committed("test").of_type(FIP_ASSOCIATION) == []


def test_lab_runs_haproxy_keepalived_on_one_lb_machine():
    program = run("lab", {"apiEndpoint": "haproxy-keepalived", "nodePools.lb": LAB_LB_POOL})
    assert program.of_type(LOAD_BALANCER) == []
    assert len(commands(program, "-keepalived")) == 1
    [association] = program.of_type(FIP_ASSOCIATION)
    assert association.inputs["portId"] == f"{EP}-vip-port-id"


# --------------------------------------------------------------------------- octavia


def octavia_checks(program: ProgramRun) -> None:
    spec = parse(stack_config(program.stack, OCTAVIA_OVERRIDES.get(program.stack)))
    [balancer] = program.of_type(LOAD_BALANCER)
    assert balancer.inputs["vipAddress"] == str(spec.network.api_vip)
    assert balancer.inputs["vipSubnetId"] == "platform-iaas-network-subnet-id"
    [listener] = program.of_type(LISTENER)
    assert listener.inputs["protocol"] == "TCP" and listener.inputs["protocolPort"] == 6443
    assert listener.inputs["allowedCidrs"] == [*(str(c) for c in spec.network.admin_cidrs), str(spec.network.node_cidr)]
    assert listener.inputs["timeoutClientData"] == listener.inputs["timeoutMemberData"] == 3_600_000
    [pool] = program.of_type(POOL)
    assert pool.inputs["protocol"] == "TCP" and pool.inputs["lbMethod"] == "LEAST_CONNECTIONS"
    [monitor] = program.of_type(MONITOR)
    assert monitor.inputs["type"] == "HTTPS" and monitor.inputs["urlPath"] == "/readyz"
    assert monitor.inputs["expectedCodes"] == "200"
    members = program.of_type(MEMBER)
    assert [(m.inputs["name"], m.inputs["address"]) for m in members] == masters(program)
    assert all(m.inputs["protocolPort"] == 6443 and m.inputs["poolId"] == f"{EP}-pool-id" for m in members)
    # Chained: Octavia takes one change per load balancer at a time.
    assert monitor.urn in members[0].dependencies
    for previous, member in itertools.pairwise(members):
        assert previous.urn in member.dependencies
    assert not any(c.name.startswith(EP) for c in program.of_type(COMMAND))


OCTAVIA_OVERRIDES = {"prod": {"apiEndpoint": "octavia", "nodePools.lb": None}}


def test_lab_octavia_members_are_the_masters_and_the_fip_goes_to_the_vip_port():
    program = committed("lab")
    octavia_checks(program)
    [association] = program.of_type(FIP_ASSOCIATION)
    assert association.inputs["portId"] == f"{EP}-lb-vip-port-id"
    assert program.named(f"{EP}-lb").urn in association.dependencies


def test_prod_on_octavia_has_one_member_per_master():
    program = run("prod", OCTAVIA_OVERRIDES["prod"])
    octavia_checks(program)
    assert len(program.of_type(MEMBER)) == 3
    assert not any(p.name == f"{EP}-vip-port" for p in program.of_type(PORT))


def test_octavia_options_reach_the_pool_and_monitor():
    options = {"octaviaProvider": "ovn", "octaviaLbMethod": "SOURCE_IP_PORT", "octaviaMonitor": "TCP"}
    program = run("lab", {"apiEndpointOptions": options})
    assert program.of_type(LOAD_BALANCER)[0].inputs["loadbalancerProvider"] == "ovn"
    assert program.of_type(POOL)[0].inputs["lbMethod"] == "SOURCE_IP_PORT"
    monitor = program.of_type(MONITOR)[0].inputs
    assert monitor["type"] == "TCP" and "urlPath" not in monitor


# --------------------------------------------------------------------------- config rules


@pytest.mark.parametrize(
    ("stack", "overrides", "path", "words"),
    [
        ("test", {"apiEndpointOptions": {"vrrpRouterId": 0}}, "apiEndpointOptions.vrrpRouterId", "greater than"),
        ("test", {"apiEndpointOptions": {"interface": "eth 0"}}, "apiEndpointOptions.interface", "pattern"),
        ("test", {"apiEndpointOptions": {"vrrp": 1}}, "apiEndpointOptions.vrrp", "unknown key"),
        ("test", {"nodePools.lb.count": 16}, "nodePools.lb.count", "at most 15 lb machines"),
        ("lab", {"apiEndpointOptions": {"octaviaProvider": "ovn"}}, "apiEndpointOptions.octaviaMonitor", "TCP"),
        (
            "lab",
            {"apiEndpointOptions": {"octaviaProvider": "ovn", "octaviaMonitor": "TCP"}},
            "apiEndpointOptions.octaviaLbMethod",
            "SOURCE_IP_PORT",
        ),
    ],
)
def test_bad_endpoint_options_are_rejected_naming_their_key(stack, overrides, path, words):
    with pytest.raises(SpecError) as caught:
        parse(stack_config(stack, overrides))
    violations = dict(caught.value.violations)
    assert words in violations[f"{NAMESPACE}:{path}"]


def test_endpoint_options_default_once_on_the_field():
    options = parse(stack_config("prod")).api_endpoint_options
    assert (options.vrrp_router_id, options.interface, options.octavia_provider) == (51, None, None)


def test_a_configured_interface_is_used_as_is_and_not_detected():
    program = run("test", {"apiEndpointOptions": {"interface": "ens7"}})
    command = program.named(f"{EP}-k8s-test-lb-1-keepalived")
    config = decode_payload(command.inputs["stdin"].value)["/etc/keepalived/keepalived.conf"][2]
    assert "interface ens7\n" in config and "include" not in config
    assert "\nreadonly INTERFACE=ens7\n" in shlex.split(command.inputs["create"])[-1]

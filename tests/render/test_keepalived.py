"""keepalived renderer: argument checks and ``keepalived -t`` (config test) on the rendered file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from components.render.keepalived import KeepalivedArgs, LoadBalancerNode, render_keepalived_config
from config.load import load_stack_file
from config.spec import Role
from tests.render.test_haproxy import haproxy_stacks
from tests.render.tools import ROOT, tool

NODES = (
    LoadBalancerNode("lb-0", "10.20.0.5"),
    LoadBalancerNode("lb-1", "10.20.0.6"),
    LoadBalancerNode("lb-2", "10.20.0.7"),
)


def args(node: str = "lb-0", **overrides) -> KeepalivedArgs:
    values = {
        "node": node,
        "nodes": NODES,
        "vip": "10.20.0.10",
        "vip_prefix_len": 22,
        "virtual_router_id": 51,
        "auth_pass": "Xy7.k2_Q",
    }
    values.update(overrides)
    return KeepalivedArgs(**values)


def host_interface() -> str:
    """A real non-loopback interface: ``keepalived -t`` rejects interfaces the machine lacks."""
    for path in sorted(Path("/sys/class/net").iterdir()):
        if path.name != "lo" and (path / "type").read_text().strip() == "1":  # ARPHRD_ETHER
            return path.name
    pytest.fail("no Ethernet interface on this machine for keepalived -t")


def keepalived_check(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([tool("keepalived"), "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)


def test_priorities_descend_and_peers_are_the_others() -> None:
    rendered = {n.name: render_keepalived_config(args(n.name)) for n in NODES}
    assert "priority 150" in rendered["lb-0"]
    assert "priority 140" in rendered["lb-1"]
    assert "priority 130" in rendered["lb-2"]
    assert "unicast_src_ip 10.20.0.6" in rendered["lb-1"]
    peers = rendered["lb-1"].split("unicast_peer {")[1].split("}")[0].split()
    assert peers == ["10.20.0.5", "10.20.0.7"]
    for text in rendered.values():
        assert "state BACKUP" in text
        assert "10.20.0.10/22 dev ${K8S_PLATFORM_INTERFACE}" in text  # detected on the machine by default
        assert "include /etc/keepalived/k8s-platform-interface.conf" in text
        assert "virtual_router_id 51" in text
        assert "auth_pass Xy7.k2_Q" in text
        assert 'script "/usr/bin/pgrep -x haproxy"' in text
        assert "track_script {\n        chk_haproxy\n        chk_apiserver\n    }" in text
        assert "    state BACKUP\n    nopreempt\n" in text


def test_the_apiserver_is_tracked_through_this_machines_haproxy() -> None:
    text = render_keepalived_config(args("lb-1", ready_port=8404))
    check = "/usr/bin/curl -fsS -o /dev/null --max-time 2 http://10.20.0.6:8404/apiserver-ready"
    assert f'vrrp_script chk_apiserver {{\n    script "{check}"' in text
    # Without weight: a failing check puts the instance in FAULT, which moves the VIP even under nopreempt.
    assert "weight" not in text


def test_a_configured_interface_is_written_as_is() -> None:
    text = render_keepalived_config(args(interface="ens7"))
    assert "interface ens7\n" in text and "10.20.0.10/22 dev ens7" in text
    assert "include" not in text and "K8S_PLATFORM_INTERFACE" not in text


def test_auth_pass_longer_than_keepalived_keeps_is_rejected() -> None:
    # keepalived would silently use only the first 8 characters.
    with pytest.raises(ValueError, match="truncate"):
        args(auth_pass="123456789")
    with pytest.raises(ValueError, match="auth_pass"):
        args(auth_pass="")
    with pytest.raises(ValueError, match="auth_pass"):
        args(auth_pass="a b#c")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"virtual_router_id": 0}, "virtual_router_id"),
        ({"virtual_router_id": 256}, "virtual_router_id"),
        ({"node": "lb-9"}, "not one of nodes"),
        ({"vip": "10.99.0.10"}, "outside the VIP's subnet"),
        ({"vip": "10.20.0.5"}, "also the address"),
        ({"top_priority": 255}, "priorities"),
        ({"check_command": "pgrep haproxy"}, "absolute path"),
    ],
)
def test_invalid_args(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        args(**overrides)


@pytest.mark.realtool
@pytest.mark.parametrize("node", [n.name for n in NODES])
def test_keepalived_config_test_accepts_rendered_config(node: str, tmp_path: Path) -> None:
    config = tmp_path / "keepalived.conf"
    config.write_text(render_keepalived_config(args(node, interface=host_interface())))
    result = keepalived_check(config)
    # keepalived -t prints every problem it finds (unknown keyword, truncated auth_pass, missing
    # interface) and exits non-zero; a clean file prints nothing.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.realtool
def test_keepalived_config_test_accepts_a_detected_interface(tmp_path: Path) -> None:
    """The include and the parameter the keepalived step fills in, through the real keepalived -t."""
    interface_file = tmp_path / "interface.conf"
    interface_file.write_text(f"$K8S_PLATFORM_INTERFACE={host_interface()}\n")
    config = tmp_path / "keepalived.conf"
    config.write_text(render_keepalived_config(args(interface_file=str(interface_file))))
    result = keepalived_check(config)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    # The parameter really is what names the interface: a wrong one fails the test.
    interface_file.write_text("$K8S_PLATFORM_INTERFACE=nosuchif0\n")
    result = keepalived_check(config)
    assert result.returncode != 0 and "nosuchif0" in result.stderr


@pytest.mark.realtool
def test_keepalived_config_test_catches_a_broken_file(tmp_path: Path) -> None:
    """The check above has teeth: keepalived -t fails on what the renderer forbids."""
    config = tmp_path / "keepalived.conf"
    text = render_keepalived_config(args(interface=host_interface())).replace("Xy7.k2_Q", "Xy7.k2_Q_too_long")
    config.write_text(text)
    result = keepalived_check(config)
    assert result.returncode != 0
    assert "Truncating auth_pass" in result.stderr


@pytest.mark.realtool
@pytest.mark.parametrize("stack", haproxy_stacks())
def test_keepalived_config_test_accepts_each_stack(stack: str, tmp_path: Path) -> None:
    """Each load balancer of each haproxy stack: its VIP and subnet, one node per LB machine."""
    spec = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    subnet = spec.network.node_cidr
    hosts = list(subnet.hosts())
    nodes = tuple(LoadBalancerNode(f"lb-{i}", str(hosts[4 + i])) for i in range(spec.count(Role.LB)))
    assert len(nodes) >= 2, "VRRP needs at least two load balancers"
    for node in nodes:
        config = tmp_path / f"{node.name}.conf"
        config.write_text(
            render_keepalived_config(
                KeepalivedArgs(
                    node=node.name,
                    nodes=nodes,
                    vip=str(spec.network.api_vip),
                    vip_prefix_len=subnet.prefixlen,
                    virtual_router_id=51,
                    auth_pass="Xy7.k2_Q",
                    interface=host_interface(),
                )
            )
        )
        result = keepalived_check(config)
        assert result.returncode == 0 and result.stderr.strip() == "", result.stderr

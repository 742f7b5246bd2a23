"""The SSH steps (components/control_plane/remote_scripts.py, etcd_scripts.py): shellcheck on every step exactly as
the components register it, and real runs of the file-push and validate-then-reload logic with
the real haproxy and keepalived (systemctl replaced by a recorder)."""

from __future__ import annotations

import functools
import grp
import os
import pwd
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from components.control_plane import remote_scripts
from components.control_plane.remote_scripts import (
    HAPROXY_APPLY,
    KEEPALIVED_APPLY,
    RemoteFile,
    command_line,
    payload,
    script,
)
from components.render.haproxy import HaproxyArgs, render_haproxy_config
from components.render.keepalived import KeepalivedArgs, LoadBalancerNode, render_keepalived_config
from tests.control_plane.endpoint_etcd_mocks import COMMAND, plain, run
from tests.render.test_haproxy import masters
from tests.render.test_keepalived import host_interface
from tests.render.tools import shellcheck, tool

OWNER = f"{pwd.getpwuid(os.getuid()).pw_name}:{grp.getgrgid(os.getgid()).gr_name}"


KINDS = (
    "prod-prepare/create",
    "prod-haproxy/create",
    "prod-keepalived/create",
    "prod-member/create",
    "prod-member/delete",
    "prod-health/create",
    "prod-backup/create",
    "prod-backup/delete",
    "lab-member/create",
    "lab-member/delete",
    "lab-health/create",
    "lab-backup/create",
    "lab-backup/delete",
)
"""Every kind of step, from the prod (haproxy-keepalived, S3) and lab (Octavia, stacked) programs."""


@functools.cache
def steps() -> dict[str, str]:
    """One registered script per kind of step (``<stack>-<kind>/<create|delete>``)."""
    out: dict[str, str] = {}
    for stack in ("prod", "lab"):
        for command in run(stack).of_type(COMMAND):
            if not command.name.startswith(("platform-api-endpoint-", "platform-etcd-")):
                continue
            kind = f"{stack}-{command.name.rsplit('-', 1)[1]}"
            for field in ("create", "delete"):
                if field in command.inputs:
                    out.setdefault(f"{kind}/{field}", plain(command.inputs[field]))
    return out


def test_every_kind_of_step_is_covered():
    assert set(steps()) == set(KINDS)


@pytest.mark.realtool
@pytest.mark.parametrize("name", KINDS)
def test_registered_step_is_sudo_bash_and_passes_shellcheck(name: str, tmp_path: Path) -> None:
    sudo, no_prompt, bash, flag, text = shlex.split(steps()[name])
    assert (sudo, no_prompt, bash, flag) == ("sudo", "-n", "/bin/bash", "-c")
    path = tmp_path / "step.sh"
    path.write_text("#!/bin/bash\n" + text)
    result = shellcheck(path)
    assert result.returncode == 0, result.stdout


def test_files_and_values_are_validated():
    with pytest.raises(ValueError, match="octal mode"):
        RemoteFile("/etc/x", "", mode="644")
    with pytest.raises(ValueError, match="absolute path"):
        RemoteFile("etc/x", "")
    with pytest.raises(ValueError, match="user:group"):
        RemoteFile("/etc/x", "", owner="root")
    with pytest.raises(ValueError, match="shell variable"):
        script("true", {"lower": "x"})
    assert "readonly A='it'\"'\"'s'" in script("true", {"A": "it's"})


def _run(body: str, values: dict, files: list[RemoteFile], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run a step locally: its script through bash, the payload on stdin, systemctl recorded."""
    stubs = tmp_path / "bin"
    stubs.mkdir(exist_ok=True)
    (stubs / "systemctl").write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/systemctl.log\n')
    (stubs / "systemctl").chmod(0o755)
    for name in ("haproxy", "keepalived"):
        (stubs / name).symlink_to(tool(name)) if not (stubs / name).exists() else None
    stage = tmp_path / "stage"
    stage.mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "STAGE_BASE": str(stage)}
    argv = shlex.split(command_line(script(body, values)))[2:]  # without sudo -n: already this user
    return subprocess.run(argv, input=payload(files), capture_output=True, text=True, env=env, timeout=60)


def _systemctl(tmp_path: Path) -> list[str]:
    log = tmp_path / "systemctl.log"
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.realtool
def test_payload_files_land_atomically_with_their_mode_and_owner(tmp_path: Path) -> None:
    body = remote_scripts.STAGE_FILES + "stage_payload\ncommit_payload\n"
    target = tmp_path / "etc" / "pki"
    files = [
        RemoteFile(f"{target}/server.key", "KEY ü\n", mode="0600", owner=OWNER),
        RemoteFile(f"{target}/ca.crt", "CA\n", mode="0644", owner=OWNER),
    ]
    (target).mkdir(parents=True)
    (target / "ca.crt").write_text("old CA\n")
    result = _run(body, {}, files, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (target / "server.key").read_text() == "KEY ü\n"
    assert stat.S_IMODE((target / "server.key").stat().st_mode) == 0o600
    assert (target / "ca.crt").read_text() == "CA\n"
    assert stat.S_IMODE((target / "ca.crt").stat().st_mode) == 0o644
    assert sorted(p.name for p in target.iterdir()) == ["ca.crt", "server.key"]  # no temporary left
    assert list((tmp_path / "stage").iterdir()) == []  # the staging directory is gone


def _haproxy_config() -> str:
    return render_haproxy_config(HaproxyArgs("10.30.0.10", masters(2, "10.30.0.0/24"), stats_bind_address="10.30.0.5"))


@pytest.mark.realtool
def test_haproxy_step_installs_a_valid_config_then_reloads(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "haproxy" / "haproxy.cfg"
    values = {"NODE": "lb-1", "INSTANCE_ID": "i-1", "CONFIG": str(config)}
    result = _run(HAPROXY_APPLY, values, [RemoteFile(str(config), _haproxy_config(), owner=OWNER)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert config.read_text() == _haproxy_config()
    assert _systemctl(tmp_path) == ["enable --now haproxy", "reload haproxy"]


@pytest.mark.realtool
def test_haproxy_step_refuses_a_broken_config_and_keeps_the_running_one(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "haproxy" / "haproxy.cfg"
    config.parent.mkdir(parents=True)
    config.write_text("previous\n")
    values = {"NODE": "lb-1", "INSTANCE_ID": "i-1", "CONFIG": str(config)}
    broken = _haproxy_config() + "\nbackend broken\n    no-such-directive on\n"
    result = _run(HAPROXY_APPLY, values, [RemoteFile(str(config), broken, owner=OWNER)], tmp_path)
    assert result.returncode != 0
    assert config.read_text() == "previous\n"
    assert _systemctl(tmp_path) == []


def _keepalived_config(interface: str | None, password: str = "Pw.4test", interface_file: str = "/x") -> str:
    nodes = (LoadBalancerNode("lb-1", "10.30.0.5"), LoadBalancerNode("lb-2", "10.30.0.6"))
    args = KeepalivedArgs("lb-1", nodes, "10.30.0.10", 24, 51, password, interface, interface_file)
    return render_keepalived_config(args)


def _keepalived_values(tmp_path: Path, config: Path, interface: str = "") -> dict[str, str]:
    return {
        "NODE": "lb-1",
        "INSTANCE_ID": "i-1",
        "CONFIG": str(config),
        "CHECK_LOG": str(tmp_path / "check.log"),
        "INTERFACE": interface,
        "INTERFACE_FILE": str(tmp_path / "etc" / "keepalived" / "interface.conf"),
    }


def default_route_interface() -> str:
    """The interface of the IPv4 default route, read from the kernel's table (not from ``ip``)."""
    for line in Path("/proc/net/route").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == "00000000" and int(fields[7], 16) == 0:  # destination and mask 0.0.0.0
            return fields[0]
    pytest.skip("this machine has no IPv4 default route")


@pytest.mark.realtool
def test_keepalived_step_detects_the_interface_from_the_default_route(tmp_path: Path) -> None:
    """apiEndpointOptions.interface unset: the step writes the default route's interface where the
    rendered file includes it, and the real keepalived -t accepts the result."""
    config = tmp_path / "etc" / "keepalived" / "keepalived.conf"
    values = _keepalived_values(tmp_path, config)
    text = _keepalived_config(None, interface_file=values["INTERFACE_FILE"])
    assert f"include {values['INTERFACE_FILE']}" in text and "dev ${K8S_PLATFORM_INTERFACE}" in text
    result = _run(KEEPALIVED_APPLY, values, [RemoteFile(str(config), text, mode="0600", owner=OWNER)], tmp_path)
    assert result.returncode == 0, result.stderr + (tmp_path / "check.log").read_text()
    expected = default_route_interface()
    assert Path(values["INTERFACE_FILE"]).read_text() == f"$K8S_PLATFORM_INTERFACE={expected}\n"
    assert f"VRRP interface on lb-1: {expected} (its default route)" in result.stdout
    assert config.read_text() == text
    assert _systemctl(tmp_path) == ["enable --now keepalived", "reload keepalived"]


@pytest.mark.realtool
def test_keepalived_step_without_a_default_route_asks_for_the_interface(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "keepalived" / "keepalived.conf"
    values = _keepalived_values(tmp_path, config)
    stubs = tmp_path / "bin"
    stubs.mkdir()
    (stubs / "ip").write_text("#!/bin/sh\nexit 0\n")  # `ip route show default`: no route
    (stubs / "ip").chmod(0o755)
    text = _keepalived_config(None, interface_file=values["INTERFACE_FILE"])
    result = _run(KEEPALIVED_APPLY, values, [RemoteFile(str(config), text, mode="0600", owner=OWNER)], tmp_path)
    assert result.returncode != 0
    assert "no IPv4 default route on lb-1" in result.stderr and "apiEndpointOptions.interface" in result.stderr
    assert not config.exists() and _systemctl(tmp_path) == []


@pytest.mark.realtool
def test_keepalived_step_installs_a_valid_config_root_only_then_reloads(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "keepalived" / "keepalived.conf"
    values = _keepalived_values(tmp_path, config, host_interface())
    text = _keepalived_config(host_interface())
    result = _run(KEEPALIVED_APPLY, values, [RemoteFile(str(config), text, mode="0600", owner=OWNER)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert config.read_text() == text
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert _systemctl(tmp_path) == ["enable --now keepalived", "reload keepalived"]
    assert "Pw.4test" not in result.stdout + result.stderr


@pytest.mark.realtool
def test_keepalived_step_refuses_a_bad_config_without_printing_it(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "keepalived" / "keepalived.conf"
    values = _keepalived_values(tmp_path, config, "nosuchif0")
    # An interface the machine lacks: keepalived -t fails, as on an lb with a wrong apiEndpointOptions.interface.
    text = _keepalived_config("nosuchif0")
    result = _run(KEEPALIVED_APPLY, values, [RemoteFile(str(config), text, mode="0600", owner=OWNER)], tmp_path)
    assert result.returncode != 0
    assert "keepalived -t rejected" in result.stderr
    assert "Pw.4test" not in result.stdout + result.stderr
    assert "nosuchif0" in (tmp_path / "check.log").read_text()  # the messages are on the machine
    assert stat.S_IMODE((tmp_path / "check.log").stat().st_mode) == 0o600
    assert not config.exists()
    assert _systemctl(tmp_path) == []

"""haproxy renderer: argument checks, ``haproxy -c`` on every stack, and a real failover."""

from __future__ import annotations

import csv
import io
import ipaddress
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.render.haproxy import ApiServer, Balance, HaproxyArgs, HealthCheck, render_haproxy_config
from components.render.keepalived import KeepalivedArgs, LoadBalancerNode
from config.load import load_stack_file
from config.spec import ApiEndpointKind, Role
from tests.render.tools import ROOT, free_port, make_pki, port_open, tool, wait_until, write_result


def masters(count: int, subnet: str = "10.20.0.0/22", first: int = 20) -> tuple[ApiServer, ...]:
    hosts = list(ipaddress.IPv4Network(subnet).hosts())
    return tuple(ApiServer(f"master-{i}", str(hosts[first + i])) for i in range(count))


def stack_args(stack: str) -> HaproxyArgs:
    """Args as the endpoint component builds them for a stack: the VIP, one server per master.

    Machine addresses come from Neutron at deploy time; here they are taken from the node subnet.
    """
    spec = load_stack_file(ROOT / f"Pulumi.{stack}.yaml")
    subnet = spec.network.node_cidr
    return HaproxyArgs(
        bind_address=str(spec.network.api_vip),
        stats_bind_address=str(next(subnet.hosts()) + 4),
        masters=masters(spec.count(Role.MASTER), str(subnet)),
    )


def haproxy_check(config: str, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    return subprocess.run([tool("haproxy"), "-c", "-f", str(path)], capture_output=True, text=True, timeout=30)


def test_rendered_config_shape() -> None:
    config = render_haproxy_config(HaproxyArgs("10.20.0.10", masters(3), stats_bind_address="10.20.0.5"))
    assert "mode tcp" in config
    assert "bind 10.20.0.10:6443" in config
    assert "option httpchk GET /readyz" in config
    assert "http-check expect status 200" in config
    assert "check check-ssl verify none" in config
    assert "timeout tunnel 3600s" in config
    assert "bind 10.20.0.5:8404" in config
    assert "prometheus-exporter" in config
    assert [line.split()[1] for line in config.splitlines() if line.strip().startswith("server ")] == [
        "master-0",
        "master-1",
        "master-2",
    ]


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "*", ""])
def test_stats_never_on_a_wildcard(wildcard: str) -> None:
    with pytest.raises(ValueError, match="stats_bind_address"):
        HaproxyArgs("10.20.0.10", masters(3), stats_bind_address=wildcard)


def test_rejects_duplicate_masters_and_empty_lists() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        HaproxyArgs("10.20.0.10", (ApiServer("m", "10.0.0.1"), ApiServer("m", "10.0.0.2")), "10.20.0.5")
    with pytest.raises(ValueError, match="at least one master"):
        HaproxyArgs("10.20.0.10", (), "10.20.0.5")
    with pytest.raises(ValueError, match="IPv4"):
        ApiServer("m", "master.example")


@pytest.mark.realtool
@pytest.mark.parametrize(
    "args",
    [
        HaproxyArgs("10.20.0.10", masters(3), stats_bind_address="10.20.0.5"),
        HaproxyArgs("10.20.0.10", masters(5), stats_bind_address="10.20.0.5", balance=Balance.ROUNDROBIN),
    ],
    ids=["3-masters-leastconn", "5-masters-roundrobin"],
)
def test_haproxy_accepts_rendered_config(args: HaproxyArgs, tmp_path: Path) -> None:
    result = haproxy_check(render_haproxy_config(args), tmp_path)
    assert result.returncode == 0, result.stderr
    # Warnings are defects too: haproxy prints them for ignored or misplaced directives.
    assert "WARNING" not in result.stderr + result.stdout, result.stderr


def haproxy_stacks() -> list[str]:
    """The committed stacks whose API endpoint is haproxy + keepalived (Octavia stacks render none)."""
    stacks = {p.name.split(".")[1]: load_stack_file(p) for p in sorted(ROOT.glob("Pulumi.*.yaml"))}
    return [name for name, spec in stacks.items() if spec.api_endpoint == ApiEndpointKind.HAPROXY_KEEPALIVED]


def test_some_stack_uses_haproxy() -> None:
    assert haproxy_stacks(), "no committed stack renders a haproxy config"


@pytest.mark.realtool
@pytest.mark.parametrize("stack", haproxy_stacks())
def test_haproxy_accepts_each_stack(stack: str, tmp_path: Path) -> None:
    result = haproxy_check(render_haproxy_config(stack_args(stack)), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr + result.stdout, result.stderr


# --------------------------------------------------------------------------- real failover

BACKEND = r"""
import http.server, socketserver, ssl, sys
port, cert, key, name = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class Handler(http.server.BaseHTTPRequestHandler):
    timeout = 5
    def do_GET(self):
        body = b"ok" if self.path == "/readyz" else name.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server = Server(("127.0.0.1", port), Handler)
# Handshake in the handler thread, so one slow client cannot stall accept().
server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
server.serve_forever()
"""


@dataclass
class Sample:
    started: float
    at: float
    """When the request ended (response or error)."""
    ok: bool
    backend: str


class Client(threading.Thread):
    """Opens a new TLS connection through haproxy for every request until stopped."""

    def __init__(self, port: int, ca: Path):
        super().__init__(daemon=True)
        self.port = port
        self.context = ssl.create_default_context(cafile=str(ca))
        self.samples: list[Sample] = []
        self.stop = threading.Event()

    def request(self) -> str:
        with (
            socket.create_connection(("127.0.0.1", self.port), timeout=3) as raw,
            self.context.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"GET /whoami HTTP/1.0\r\nHost: kubernetes\r\n\r\n")
            data = b""
            while chunk := tls.recv(4096):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.0 200"):
            raise OSError(f"unexpected response {head[:40]!r}")
        return body.decode()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                backend = self.request()
                self.samples.append(Sample(started, time.monotonic(), True, backend))
            except (OSError, ssl.SSLError) as error:
                self.samples.append(Sample(started, time.monotonic(), False, repr(error)))
            time.sleep(0.01)


def server_states(stats_port: int) -> dict[str, str]:
    """Server name -> status (UP, DOWN, ...) of the API backend, from the stats page's CSV."""
    with urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/stats;csv", timeout=2) as response:
        text = response.read().decode()
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    servers = (r for r in rows if r["pxname"] == "kube-apiserver" and r["svname"] not in ("FRONTEND", "BACKEND"))
    return {r["svname"]: r["status"] for r in servers}


@pytest.fixture
def processes():
    """Every process a test starts; killed (and reaped) at teardown whatever happened."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


@pytest.mark.realtool
def test_failover_with_real_haproxy(tmp_path: Path, processes: list[subprocess.Popen]) -> None:
    haproxy = tool("haproxy")
    pki = make_pki(tmp_path / "pki")
    names = ["master-0", "master-1", "master-2"]
    ports = {name: free_port() for name in names}
    backends = {}
    for name in names:
        backends[name] = subprocess.Popen(
            [sys.executable, "-c", BACKEND, str(ports[name]), str(pki["server_cert"]), str(pki["server_key"]), name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(backends[name])
    for name in names:
        wait_until(lambda p=ports[name]: port_open(p), 15, f"backend {name}")

    # The production renderer with the machine addresses remapped to loopback and free ports.
    front_port, stats_port = free_port(), free_port()
    health = HealthCheck()
    args = HaproxyArgs(
        bind_address="127.0.0.1",
        port=front_port,
        masters=tuple(ApiServer(name, "127.0.0.1", ports[name]) for name in names),
        stats_bind_address="127.0.0.1",
        stats_port=stats_port,
        health_check=health,
        # haproxy needs ~2 x maxconn file descriptors; CI containers cap the hard limit (20000 here).
        maxconn=4000,
        user=None,
        chroot=None,
        admin_socket=None,
        log_target=None,
    )
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_haproxy_config(args))
    with (tmp_path / "haproxy.log").open("w") as log:  # haproxy keeps its own copy of the descriptor
        processes.append(subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT))
    wait_until(lambda: port_open(stats_port), 15, "haproxy stats endpoint")
    wait_until(lambda: set(server_states(stats_port).values()) == {"UP"}, 15, "all three backends UP")

    with urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/metrics", timeout=2) as response:
        assert "haproxy_server_status" in response.read().decode()

    client = Client(front_port, pki["ca"])
    client.start()
    kills = []
    deadline = time.monotonic() + 30  # the whole scenario is bounded
    try:
        time.sleep(1.0)
        for victim in ("master-0", "master-1"):
            killed_at = time.monotonic()
            backends[victim].send_signal(signal.SIGKILL)
            backends[victim].wait(timeout=5)
            marked_down_at = wait_until(
                lambda v=victim: server_states(stats_port)[v].startswith("DOWN"),
                max(1.0, deadline - time.monotonic()),
                f"haproxy to mark {victim} DOWN",
                interval=0.05,
            )
            kills.append({"server": victim, "killed_at": killed_at, "marked_down_at": marked_down_at})
            time.sleep(1.5)
    finally:
        client.stop.set()
        client.join(timeout=10)

    samples = client.samples
    failures = [s for s in samples if not s.ok]

    def under_way(sample: Sample, kill: dict) -> bool:
        """The request overlapped the time between the kill and haproxy marking the server DOWN."""
        return kill["killed_at"] <= sample.at and sample.started <= kill["marked_down_at"]

    per_kill = []
    for kill in kills:
        failed = [f for f in failures if under_way(f, kill)]
        per_kill.append(
            {
                "server": kill["server"],
                "detection_s": round(kill["marked_down_at"] - kill["killed_at"], 3),
                "requests_during_detection": sum(under_way(s, kill) for s in samples),
                "failed_requests": len(failed),
                "last_failure_after_kill_s": round(max((f.at - kill["killed_at"] for f in failed), default=0.0), 3),
            }
        )
    report = {
        "haproxy": subprocess.run([haproxy, "-v"], capture_output=True, text=True).stdout.splitlines()[0],
        "health_check": {
            "inter_ms": health.inter_ms,
            "fastinter_ms": health.fastinter_ms,
            "fall": health.fall,
            "rise": health.rise,
        },
        "requests": len(samples),
        "failed_requests": len(failures),
        "kills": per_kill,
        # kill -> haproxy marks the server DOWN (health-check detection)
        "failover_s": max(k["detection_s"] for k in per_kill),
        # kill -> last failed request (what a client saw; 0 when retries hid the dead server)
        "client_visible_outage_s": max(k["last_failure_after_kill_s"] for k in per_kill),
    }
    write_result("haproxy-failover", report)

    # A request may fail only if it was under way between a kill and the moment the health check
    # marked that server DOWN; every request started after that must succeed.
    for failure in failures:
        assert any(under_way(failure, k) for k in kills), failure
    before = [s.backend for s in samples if s.at < kills[0]["killed_at"]]
    assert set(before) == set(names), "all three backends served before the first kill"
    after = [s.backend for s in samples if s.started > kills[1]["marked_down_at"]]
    assert after and set(after) == {"master-2"}, "the survivor serves everything after both kills"

    # keepalived's apiserver check, the rendered command itself, against this haproxy: healthy while
    # one apiserver is ready, failing (503) once none is, so the VIP leaves this load balancer.
    check = KeepalivedArgs(
        node="lb-0",
        nodes=(LoadBalancerNode("lb-0", "127.0.0.1"),),
        vip="127.0.0.10",
        vip_prefix_len=8,
        virtual_router_id=51,
        auth_pass="Xy7.k2_Q",
        ready_port=stats_port,
    ).apiserver_check_command
    assert subprocess.run(shlex.split(check), capture_output=True, timeout=10).returncode == 0
    backends["master-2"].send_signal(signal.SIGKILL)
    backends["master-2"].wait(timeout=5)
    wait_until(lambda: server_states(stats_port)["master-2"].startswith("DOWN"), 15, "haproxy to mark master-2 DOWN")
    failed = subprocess.run(shlex.split(check), capture_output=True, text=True, timeout=10)
    assert failed.returncode != 0 and "503" in failed.stderr, failed.stderr

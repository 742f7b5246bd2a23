"""components/render/harbor_setup.py: the setup job's script, run with the real curl and sh against a
stand-in of Harbor's REST API (the endpoints it calls, with Harbor's status codes)."""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from components.render.harbor_setup import ROBOT, ProxyCacheProject, docker_config, robot_request, setup_script
from tests.render.tools import tool

PASSWORD = "Adm1nPassword"


class FakeHarbor:
    """Registries, projects and robots in memory; 409 on a name that exists, 401 on a bad login."""

    def __init__(self) -> None:
        self.objects: dict[str, list[dict]] = {"registries": [], "projects": [], "robots": []}
        self.calls: list[tuple[str, str, dict | None]] = []
        harbor = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _reply(self, code: int, body: object = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                import base64

                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                harbor.calls.append((method, self.path, body))
                if (
                    self.headers.get("Authorization")
                    != "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
                ):
                    return self._reply(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                path, _, query = self.path.removeprefix("/api/v2.0/").partition("?")
                kind, _, ident = path.partition("/")
                items = harbor.objects[kind]
                key = "project_name" if kind == "projects" else "name"
                if method == "POST":
                    if any(i[key] == body[key] for i in items):
                        return self._reply(409, {"errors": [{"code": "CONFLICT"}]})
                    items.append({"id": len(items) + 1, **body})
                    return self._reply(201)
                if method == "GET":
                    name = query.removeprefix("q=name%3D")
                    return self._reply(200, [i for i in items if i.get(key) == name])
                if method == "PATCH":
                    match = [i for i in items if str(i["id"]) == ident]
                    if not match:
                        return self._reply(404)
                    match[0].update(body)
                    return self._reply(200)
                return self._reply(405)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def harbor():
    fake = FakeHarbor()
    yield fake
    fake.server.shutdown()


CACHES = (
    ProxyCacheProject("dockerhub", "https://registry-1.docker.io", "docker-hub"),
    ProxyCacheProject("k8s", "https://registry.k8s.io"),
)


def run(harbor: FakeHarbor, secret: str = "R0botSecret", password: str = PASSWORD) -> subprocess.CompletedProcess:
    script = setup_script(harbor.url, CACHES)
    env = {
        "PATH": f"{tool('curl').rsplit('/', 1)[0]}:/usr/bin:/bin",
        "HARBOR_ADMIN_PASSWORD": password,
        "ROBOT_SECRET": secret,
    }
    return subprocess.run([tool("sh"), "-c", script], env=env, capture_output=True, text=True, timeout=60)


def test_creates_proxy_caches_and_the_robot_with_the_derived_secret(harbor: FakeHarbor) -> None:
    result = run(harbor)
    assert result.returncode == 0, result.stderr
    registries = {r["name"]: r for r in harbor.objects["registries"]}
    assert registries["dockerhub"]["type"] == "docker-hub" and registries["k8s"]["url"] == "https://registry.k8s.io"
    projects = {p["project_name"]: p for p in harbor.objects["projects"]}
    assert projects["k8s"]["registry_id"] == registries["k8s"]["id"]
    assert projects["dockerhub"]["metadata"] == {"public": "true"}
    (robot,) = harbor.objects["robots"]
    assert {k: robot[k] for k in robot_request()} == robot_request()
    assert robot["secret"] == "R0botSecret"


def test_rerunning_is_idempotent_and_refreshes_the_secret(harbor: FakeHarbor) -> None:
    assert run(harbor).returncode == 0
    result = run(harbor, secret="N3wSecret")
    assert result.returncode == 0, result.stderr
    assert len(harbor.objects["registries"]) == 2 and len(harbor.objects["robots"]) == 1
    assert harbor.objects["robots"][0]["secret"] == "N3wSecret"


def test_a_rejected_login_fails_the_job(harbor: FakeHarbor) -> None:
    result = run(harbor, password="wrong")
    assert result.returncode != 0
    assert "HTTP 401" in result.stderr
    assert harbor.objects["robots"] == []


def test_docker_config_names_the_robot() -> None:
    config = json.loads(docker_config("harbor.example.com", f"robot${ROBOT}", "s3cret"))
    entry = config["auths"]["harbor.example.com"]
    assert entry["username"] == "robot$k8s-pull" and entry["password"] == "s3cret"


@pytest.mark.parametrize(
    ("name", "endpoint", "adapter"),
    [("Bad", "https://x.io", "harbor"), ("ok", "http://x.io", "harbor"), ("ok", "https://x.io", "gcr")],
)
def test_bad_proxy_caches_are_refused(name: str, endpoint: str, adapter: str) -> None:
    with pytest.raises(ValueError, match="ProxyCacheProject"):
        ProxyCacheProject(name, endpoint, adapter)

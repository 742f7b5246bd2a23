"""Harbor's setup job (pure: no Pulumi import): the proxy-cache projects and the pull-only robot
account, through Harbor's REST API (``/api/v2.0``, Harbor 2.x swagger), idempotently.

The chart cannot create projects or robot accounts; the API can. The job's script, run with
``curl`` in a one-shot Job after the release is ready:

1. for each proxy cache: a registry endpoint (``POST /registries``; 409 = exists) and a public
   project bound to it (``POST /projects`` with ``registry_id``; 409 = exists). Nodes then pull
   ``<host>/<project>/<image>`` and Harbor fetches and caches from upstream (air-gapped sites
   point ``endpoint`` at the one mirror they may reach);
2. the system robot ``robot$k8s-pull``, allowed to pull from every project (``POST /robots``; when
   it exists, its id from ``GET /robots?q=name=k8s-pull``), and its secret set to the one the
   program derives from the seed (``PATCH /robots/<id>``), so the tenants' image pull secrets,
   built by the program from the same derivation, are valid without reading anything back.

Credentials reach the script only as environment variables from Secrets (``HARBOR_ADMIN_PASSWORD``,
``ROBOT_SECRET``); the script itself holds none.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from components.render._common import check_name

ROBOT = "k8s-pull"
"""The robot's name; Harbor shows it as ``robot$k8s-pull`` (its login user)."""
ROBOT_USER = f"robot${ROBOT}"
_ENDPOINT = re.compile(r"^https://[^\s/'\"]+(/[^\s'\"]*)?$")
ADAPTERS = ("docker-hub", "docker-registry", "harbor", "quay", "github-ghcr")


@dataclass(frozen=True)
class ProxyCacheProject:
    """A proxy-cache project."""

    name: str
    """Project name (``<host>/<name>/...``)."""
    endpoint: str
    """Upstream registry URL."""
    adapter: str = "docker-registry"
    """Harbor's registry type: one of ``ADAPTERS``."""

    def __post_init__(self) -> None:
        check_name(self.name, "ProxyCacheProject.name")
        if not _ENDPOINT.match(self.endpoint):
            raise ValueError(f"ProxyCacheProject.endpoint: {self.endpoint!r} is not an https URL")
        if self.adapter not in ADAPTERS:
            raise ValueError(f"ProxyCacheProject.adapter: {self.adapter!r} is not one of {', '.join(ADAPTERS)}")


def robot_request() -> dict:
    """The robot's definition: system level, never expiring, pull on every project."""
    return {
        "name": ROBOT,
        "level": "system",
        "duration": -1,
        "description": "image pulls of the tenant namespaces (k8s-platform)",
        "permissions": [
            {"kind": "project", "namespace": "*", "access": [{"resource": "repository", "action": "pull"}]}
        ],
    }


def setup_script(api: str, caches: tuple[ProxyCacheProject, ...]) -> str:
    """The job's POSIX shell script against Harbor's API at ``api`` (``http://harbor-core.<ns>.svc``)."""
    if not re.match(r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?$", api):
        raise ValueError(f"setup_script: {api!r} is not a base URL")
    lines = [
        "set -eu",
        f"API={shlex.quote(api + '/api/v2.0')}",
        "# call METHOD PATH [BODY]: prints the body, fails on any status but 2xx and 409 (exists).",
        "call() {",
        '  code=$(curl -sS -o /tmp/out -w "%{http_code}" --retry 30 --retry-all-errors --retry-delay 10 \\',
        '    -u "admin:$HARBOR_ADMIN_PASSWORD" -H "Content-Type: application/json" -X "$1" "$API$2" ${3:+-d "$3"})',
        '  case "$code" in 2*|409) cat /tmp/out ;; *) echo "$1 $2: HTTP $code" >&2; cat /tmp/out >&2; exit 1 ;; esac',
        "}",
        "# The first object's id (Harbor's models serialise ``id`` first; the query matches one name).",
        "first_id() { grep -o '\"id\": *[0-9]*' | head -n 1 | tr -dc '0-9'; }",
    ]
    for cache in caches:
        registry = {"name": cache.name, "type": cache.adapter, "url": cache.endpoint, "insecure": False}
        lines += [
            f"call POST /registries {shlex.quote(json.dumps(registry, sort_keys=True))} >/dev/null",
            f"id=$(call GET '/registries?q=name%3D{cache.name}' | first_id)",
            f'[ -n "$id" ] || {{ echo "registry {cache.name} not found" >&2; exit 1; }}',
            f'call POST /projects "{{\\"project_name\\":\\"{cache.name}\\",\\"registry_id\\":$id,'
            f'\\"metadata\\":{{\\"public\\":\\"true\\"}}}}" >/dev/null',
        ]
    lines += [
        f"call POST /robots {shlex.quote(json.dumps(robot_request(), sort_keys=True))} >/dev/null",
        f"robot=$(call GET '/robots?q=name%3D{ROBOT}' | first_id)",
        '[ -n "$robot" ] || { echo "robot account not found" >&2; exit 1; }',
        'call PATCH "/robots/$robot" "{\\"secret\\":\\"$ROBOT_SECRET\\"}" >/dev/null',
        'echo "harbor setup done"',
    ]
    return "\n".join(lines) + "\n"


def docker_config(host: str, user: str, secret: str) -> str:
    """A ``.dockerconfigjson`` for ``host`` (contains the secret: treat the text as secret)."""
    import base64

    auth = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return json.dumps({"auths": {host: {"username": user, "password": secret, "auth": auth}}}, sort_keys=True)

"""The add-ons' one-shot setup jobs: a shell script run with curl (config/versions.py CURL_IMAGE)
against an API no chart or CRD covers (Harbor's projects and robot, Elasticsearch's retention).

A Job's pod template is immutable, so a changed script replaces the Job (``generateName``: the new
one never collides with the old); the provider waits for it to complete on ``up``.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as kubernetes

from config.versions import CURL_IMAGE

BACKOFF_LIMIT = 6
"""Retries of a failed pod (the scripts retry their own calls for ~5 minutes first)."""


def setup_job(
    name: str,
    namespace: str,
    prefix: str,
    script: str,
    opts: pulumi.ResourceOptions,
    *,
    env: list[dict] | None = None,
    secret_volumes: dict[str, str] | None = None,
) -> kubernetes.batch.v1.Job:
    """The Job ``name`` (Kubernetes name ``<prefix>-<random>``) running ``script`` with ``env``
    (values from Secrets) and each Secret of ``secret_volumes`` (mount path -> name) mounted read-only."""
    volumes = secret_volumes or {}
    container = {
        "name": "setup",
        "image": CURL_IMAGE.version,
        "command": ["sh", "-c", script],
        "env": env or [],
        "volumeMounts": [
            {"name": f"secret-{i}", "mountPath": path, "readOnly": True} for i, path in enumerate(volumes)
        ],
    }
    return kubernetes.batch.v1.Job(
        name,
        metadata={"namespace": namespace, "generateName": f"{prefix}-"},
        spec={
            "backoffLimit": BACKOFF_LIMIT,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [container],
                    "volumes": [
                        {"name": f"secret-{i}", "secret": {"secretName": secret}}
                        for i, secret in enumerate(volumes.values())
                    ],
                }
            },
        },
        opts=opts,
    )

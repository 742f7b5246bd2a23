"""Stateful volumes are protected (ARCHITECTURE.md principle 8, "nothing lost").

Every standalone Cinder volume the program creates holds data (etcd data, Ceph OSDs, Harbor);
boot volumes live inside the instances. A volume without ``protect`` could be deleted by a
config change that nobody noticed in review.
"""

from __future__ import annotations

VOLUME = "openstack:blockstorage/volume:Volume"


def unprotected_violations(name: str, protect: bool) -> list[str]:
    return [] if protect else [f"volume {name} holds data and must be created with protect=True"]

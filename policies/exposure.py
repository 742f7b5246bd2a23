"""Nothing administrative is open to the whole internet.

Only the ingress ports (80/443), which a stack opens to 0.0.0.0/0 solely when its
``network.publicIngressCidrs`` says so, may have a world-wide source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECURITY_GROUP_RULE = "openstack:networking/secGroupRule:SecGroupRule"
PUBLIC_PORTS = {80, 443}
WORLD = {"0.0.0.0/0", "::/0"}


def world_open_violations(props: Mapping[str, Any]) -> list[str]:
    if props.get("direction", "ingress") != "ingress" or props.get("remoteIpPrefix") not in WORLD:
        return []
    low, high = props.get("portRangeMin"), props.get("portRangeMax")
    if low is not None and high is not None and set(range(int(low), int(high) + 1)) <= PUBLIC_PORTS:
        return []
    ports = f"{low}-{high}" if low is not None else "all ports"
    protocol = props.get("protocol") or "any protocol"
    return [f"ingress {protocol} {ports} is open to {props['remoteIpPrefix']}; only 80/443 may be"]

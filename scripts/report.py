"""The pull-request report of one preview, as Markdown, from the engine's event log.

    scripts/preview prod --report report.md        (scripts/pulumi <stack> preview --report FILE)

What a reviewer needs before approving: how many resources each operation touches; which ones are
replaced or deleted, the stateful ones (etcd and master machines, data volumes and their
attachments, etcd member steps) first and flagged; every policy's result with its messages; and the
capacity plan the program exposes as the Platform's inputs. Only names, types, property names,
policy messages and the plan's numbers are written: never an input's value, so no secret can reach
the report (the event log masks them anyway).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from scripts.engine import policy_results

PLATFORM = "k8splatform:index:Platform"
OPS = ("create", "update", "replace", "delete", "same", "read", "import", "refresh", "discard")
"""The operations counted, in the table's order. A replacement's own create-replacement and
delete-replaced steps are counted as its ``replace``, the way the CLI's summary counts them."""
REPLACEMENT_PARTS = {"create-replacement": "replace", "delete-replaced": "replace"}
DESTRUCTIVE = ("replace", "delete")
INSTANCE = "openstack:compute/instance:Instance"
ROLE_KEY = "k8s-platform.role"


@dataclass(frozen=True)
class Stateful:
    """A kind of resource whose replacement or deletion loses data or quorum unless rolled with care."""

    type: str
    what: str
    roles: frozenset[str] = frozenset()
    """For instances: the roles that make one stateful (its ``k8s-platform.role`` metadata)."""
    name_suffix: str = ""
    parent_type: str = ""


STATEFUL = (
    Stateful(INSTANCE, "etcd/master machine", roles=frozenset({"etcd", "master"})),
    Stateful("openstack:blockstorage/volume:Volume", "data volume"),
    Stateful("openstack:compute/volumeAttach:VolumeAttach", "data volume attachment"),
    Stateful(
        "command:remote:Command",
        "etcd member step",
        name_suffix="-member",
        parent_type="k8splatform:control_plane:EtcdCluster",
    ),
)


def _state(step: dict) -> dict:
    return step.get("new") or step.get("old") or {}


def stateful_kind(step: dict) -> str | None:
    """What stateful thing the step's resource is, or None."""
    urn = step["urn"]
    name, qualified = urn.rsplit("::", 1)[1], urn.split("::")[2]
    for kind in STATEFUL:
        if step["type"] != kind.type or not name.endswith(kind.name_suffix):
            continue
        if kind.parent_type and kind.parent_type not in qualified:
            continue
        if kind.roles and ((_state(step).get("inputs") or {}).get("metadata") or {}).get(ROLE_KEY) not in kind.roles:
            continue
        return kind.what
    return None


def engine_own(step: dict) -> bool:
    """The engine's Stack and default providers (``default``, ``default_4_25_0``); an explicit
    provider (the add-on layer's kubernetes provider) is the program's own resource."""
    name = step["urn"].rsplit("::", 1)[-1]
    return step["type"] == "pulumi:pulumi:Stack" or (
        step["type"].startswith("pulumi:providers:") and name.startswith("default")
    )


def program_steps(events: Iterable[dict]) -> list[dict]:
    steps = [e["resourcePreEvent"]["metadata"] for e in events if "resourcePreEvent" in e]
    return [s for s in steps if not engine_own(s)]


def op_counts(steps: list[dict]) -> Counter:
    """Operation -> resources; a replacement counted once even when its parts are separate steps."""
    seen: dict[str, str] = {}
    for step in steps:
        op = REPLACEMENT_PARTS.get(step["op"], step["op"])
        if seen.get(step["urn"]) != "replace":
            seen[step["urn"]] = op
    return Counter(seen.values())


def destructive_rows(steps: list[dict]) -> list[tuple[str, str, str, str, str]]:
    """(flag, op, name, type, why) of every replaced or deleted resource, stateful ones first.

    A replacement comes as several steps of one URN (replace, create-replacement, delete-replaced);
    the keys that force it are on some of them, so they are gathered over all.
    """
    found: dict[str, tuple[str, dict, set[str]]] = {}
    for step in steps:
        op = REPLACEMENT_PARTS.get(step["op"], step["op"])
        if op in DESTRUCTIVE:
            found.setdefault(step["urn"], (op, step, set()))[2].update(step.get("keys") or [])
    rows = []
    for urn, (op, step, keys) in found.items():
        kind = stateful_kind(step)
        why = ", ".join(f"`{k}`" for k in sorted(keys)) if op == "replace" else "no longer in the program"
        rows.append((f"**stateful: {kind}**" if kind else "", op, urn.rsplit("::", 1)[1], step["type"], why))
    return sorted(rows, key=lambda r: (not r[0], r[1], r[2]))


def capacity_plan(steps: list[dict]) -> dict | None:
    for step in steps:
        if step["type"] == PLATFORM:
            return (_state(step).get("inputs") or {}).get("capacityPlan")
    return None


def _table(header: tuple[str, ...], rows: Iterable[tuple]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]


def _int(value) -> int:
    """Numbers come through the engine as doubles."""
    return int(value or 0)


def capacity_section(plan: dict | None) -> list[str]:
    if plan is None:
        return ["No capacity plan: the preview planned no Platform component."]
    rows = []
    for pool in plan.get("pools") or []:
        demand, alloc = pool["demand"], pool["allocatable"]
        need, have = _int(pool["required_nodes"]), _int(pool["configured_nodes"])
        rows.append(
            (
                pool["pool"],
                f"{_int(demand['cpu_millicores'])}m / {_int(demand['memory_mib'])} MiB / {_int(demand['pods'])}",
                f"{_int(alloc['cpu_millicores'])}m / {_int(alloc['memory_mib'])} MiB / {_int(alloc['pods'])}",
                need,
                have,
                f"{have - need:+d} nodes" + (f" ({(have - need) * 100 // need} %)" if need else ""),
                pool["bound_by"],
                "ok" if have >= need else "**short**",
            )
        )
    limits = plan.get("limits") or {}
    header = ("pool", "demand CPU / memory / pods (+20 %)", "allocatable per node", "nodes needed", "planned")
    lines = _table((*header, "headroom", "bound by", ""), rows) if rows else ["No workloads planned."]
    return [
        *lines,
        "",
        f"- Kubernetes nodes: {_int(plan.get('total_nodes'))} of {_int(limits.get('max_nodes'))}",
        f"- Pods: {_int(plan.get('total_pods'))} of {_int(limits.get('max_pods'))} "
        f"({_int(plan.get('workload_pods'))} workloads + {_int(plan.get('platform_pods'))} the platform's own; "
        f"the nodes could hold {_int(plan.get('pod_capacity'))})",
        f"- Containers: {_int(plan.get('total_containers'))} of {_int(limits.get('max_containers'))}",
    ]


def policy_section(events: list[dict]) -> list[str]:
    packs = policy_results(events)
    if not packs:
        return ["No policy pack reported: the preview stopped before the pack analyzed anything."]
    lines: list[str] = []
    for pack, result in packs.items():
        messages: dict[str, list[str]] = {}
        for v in result.get("violations", []):
            where = v.get("resourceUrn", "").rsplit("::", 1)[-1]
            text = " ".join(v.get("message", "").split())
            messages.setdefault(v["policyName"], []).append(f"[{v.get('enforcementLevel', '?')}] {where}: {text}")
        rows = [
            (name, "**violation**" if name in messages else "pass", "<br>".join(messages.get(name, [])))
            for name in sorted(set(result["policies"]) | set(messages))
        ]
        lines += [f"Pack `{pack}`:", "", *_table(("policy", "result", "messages"), rows), ""]
    return lines[:-1]


def render(events: list[dict], stack: str) -> str:
    steps = program_steps(events)
    counts = op_counts(steps)
    failed = any(v.get("enforcementLevel") == "mandatory" for p in policy_results(events).values()
                 for v in p.get("violations", []))  # fmt: skip
    errors = [e for e in events if e.get("diagnosticEvent", {}).get("severity") == "error"]
    verdict = "fails" if failed or errors else "passes"
    lines = [f"## Preview of stack `{stack}`", "", f"The preview {verdict}: {len(errors)} errors, "
             f"{'mandatory policy violations' if failed else 'no mandatory policy violation'}.", ""]  # fmt: skip
    lines += ["### Changes", "", *_table(("operation", "resources"), ((op, counts[op]) for op in OPS if counts[op]))]
    rows = destructive_rows(steps)
    lines += ["", "### Replaced or deleted", ""]
    lines += _table(("", "operation", "resource", "type", "why"), rows) if rows else ["Nothing is replaced or deleted."]
    lines += ["", "### Policies", "", *policy_section(events)]
    lines += ["", "### Capacity plan", "", *capacity_section(capacity_plan(steps))]
    return "\n".join(lines) + "\n"

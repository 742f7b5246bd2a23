"""Rules across a platform stack and its pool stacks (issue 14, docs/scaling.md section 5).

A platform stack lists its pool stacks with a node budget each (``poolStacks``); a pool stack names
its platform (``platformStack``) and runs worker pools only. What one stack knows of another is
what that stack's last update recorded as outputs, read through the engine before any resource
(``pulumi:pulumi:readStackOutputs``, the invoke behind StackReference; components/platform.py):

* ``environment``, ``pool_stacks`` (the budgets) and ``nodes`` of the platform stack;
* ``nodes`` of every pool stack.

So a pool stack refuses a count above its budget, a platform that does not list it, another
environment, and a pool name another stack of the cluster already uses (machine names are
``<platform cluster>-<pool>-<n>``); a platform refuses dropping a pool stack that still runs
nodes, or a budget below what it runs (its nodes are drained only by the pool stack's own
``destroy``). Each budget counts towards the cluster's limits in the platform's own rules
(config/rules.py: nodes, addresses, pod ranges), so the sum holds by construction. Same form as
config/rules.py: ``(config key path, what is wrong)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import Any

from config.rules_endpoint import Violation
from config.spec import PoolStackSpec, StackSpec, config_path

StackOutputs = Callable[[str], Mapping[str, Any]]
"""Stack name -> the outputs its last update recorded (empty: never deployed, or no such stack)."""
POOL_STACK_KEYS = frozenset(PoolStackSpec.model_fields[f].alias or f for f in PoolStackSpec.model_fields)
"""The keys a pool stack has; every other key of the platform's schema is the platform's."""
PLATFORM_SECRETS = ("keepalivedAuthPass", "etcdBackupS3Credentials")
"""Secrets only a platform stack uses (a pool stack has its own secretSeed, and may have an sshPrivateKey)."""


def recorded_nodes(outputs: Mapping[str, Any]) -> list[dict]:
    """The ``nodes`` output's machines (each a dict with ``name`` and ``pool``)."""
    nodes = outputs.get("nodes") or []
    return [n for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)]


def platform_keys(data: Mapping[str, Any], platform: str) -> Iterator[Violation]:
    """Keys a pool stack sets that belong to its platform stack. A value equal to the schema's
    default counts as unset: the CLI merges Pulumi.yaml's declared defaults into every stack."""
    for key, value in data.items():
        if key in POOL_STACK_KEYS:
            continue
        field = StackSpec.model_fields.get(_snake(key))
        optional = field is not None and not field.is_required()
        default = field.get_default(call_default_factory=True) if optional else None
        default = default.value if isinstance(default, Enum) else default
        if field is None or value != default:
            owner = f"the platform stack's ({platform})" if field is not None else "not part of the config schema"
            yield config_path((key,)), f"is {owner}: a pool stack sets only {', '.join(sorted(POOL_STACK_KEYS))}"


def pool_stack(spec: PoolStackSpec, stack: str, outputs: StackOutputs) -> Iterator[Violation]:
    """What a pool stack must agree on with its platform stack and its sibling pool stacks."""
    platform = spec.platform_stack
    where = config_path(("platformStack",))
    if platform == stack:
        yield where, "names this stack itself: a pool stack joins another stack's platform"
        return
    recorded = outputs(platform)
    if not recorded:
        yield where, (f"stack {platform!r} has recorded no outputs: deploy it first (`scripts/pulumi {platform} up`), "
                      "or correct the name (a stack of this project in the same backend)")  # fmt: skip
        return
    budgets = recorded.get("pool_stacks")
    if not isinstance(budgets, Mapping) or stack not in budgets:
        yield where, (f"{platform} lists no node budget for this stack: add `poolStacks: {{{stack}: <nodes>}}` "
                      f"to Pulumi.{platform}.yaml and run its up first")  # fmt: skip
        return
    if recorded.get("environment") != spec.environment.value:
        theirs = recorded.get("environment")
        yield config_path(("environment",)), f"{spec.environment.value} differs from the platform stack's {theirs!r}"
    budget, nodes = int(budgets[stack]), spec.count()
    if nodes > budget:
        yield config_path(("nodePools",)), (f"{nodes} machines exceed this stack's node budget of {budget} "
                                            f"(poolStacks.{stack} of the platform stack {platform})")  # fmt: skip
    owners = {n["pool"]: platform for n in recorded_nodes(recorded) if isinstance(n.get("pool"), str)}
    for sibling in sorted(set(budgets) - {stack}):
        owners.update({n["pool"]: sibling for n in recorded_nodes(outputs(sibling)) if isinstance(n.get("pool"), str)})
    for name in spec.node_pools:
        if name in owners:
            yield (
                config_path(("nodePools", name)),
                (
                    f"the pool name is taken by stack {owners[name]}: machines are named <cluster>-<pool>-<n>, "
                    "so a pool name is unique across a platform and its pool stacks"
                ),
            )


def pool_stack_removal(spec: StackSpec, own: Mapping[str, Any], outputs: StackOutputs) -> Iterator[Violation]:
    """A platform may not drop a pool stack, or lower its budget, below the nodes it runs: only the
    pool stack's ``destroy`` (or a lower count there) drains and deletes them. ``own``: this stack's
    recorded outputs (the budgets it recorded)."""
    before = own.get("pool_stacks")
    dropped = [s for s in before if s not in spec.pool_stacks] if isinstance(before, Mapping) else []
    stacks = [*spec.pool_stacks, *dropped]
    for name in stacks:
        running = len(recorded_nodes(outputs(name)))
        if not running:
            continue
        budget = spec.pool_stacks.get(name)
        if budget is None:
            yield (
                config_path(("poolStacks",)),
                (
                    f"drops pool stack {name}, which runs {running} nodes: destroy it first "
                    f"(`scripts/pulumi {name} destroy` drains them), then remove it"
                ),
            )
        elif budget < running:
            yield (
                config_path(("poolStacks", name)),
                (f"{budget} is below the {running} nodes pool stack {name} runs: lower its pools' counts there first"),
            )


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)

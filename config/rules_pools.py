"""Rules across a platform stack and its pool stacks (issue 14, docs/scaling.md section 5).

A platform stack lists its pool stacks with a node budget each (``poolStacks``); a pool stack names
its platform (``platformStack``) and runs worker pools only. What one stack knows of another is
what that stack's last update recorded as outputs, read through the engine before any resource
(``pulumi:pulumi:readStackOutputs``, the invoke behind StackReference; components/platform.py):

* ``environment`` and ``pool_stacks`` (the budgets and pool names) of the platform stack;
* ``nodes`` of every pool stack (what it runs).

So a pool stack refuses a count above its budget, a pool its platform does not list for it, a
platform that does not budget it, and another environment; a platform refuses dropping a pool
stack that still runs nodes, a budget below what it runs, or unlisting a pool it runs (its nodes
are drained only by the pool stack's own ``destroy``). The platform owns every pool name of its
cluster (machine names are ``<platform cluster>-<pool>-<n>`` in every stack), and its own rules
(config/rules.py) keep each name in one place and count each budget towards the cluster's
limits, addresses and pod ranges, so the sum holds by construction. Same form as
config/rules.py: ``(config key path, what is wrong)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from typing import Any

from pydantic import ValidationError

from config.rules_endpoint import Violation
from config.spec import PoolStackBudget, PoolStackSpec, StackSpec, config_path

StackOutputs = Callable[[str], Mapping[str, Any]]
"""Stack name -> the outputs its last update recorded (empty: never deployed, or no such stack)."""
POOL_STACK_KEYS = frozenset(PoolStackSpec.model_fields[f].alias or f for f in PoolStackSpec.model_fields)
"""The keys a pool stack has; every other key of the platform's schema is the platform's."""
_PLATFORM_FIELDS = {field.alias or name: field for name, field in StackSpec.model_fields.items()}
PLATFORM_SECRETS = ("keepalivedAuthPass", "etcdBackupS3Credentials")
"""Secrets only a platform stack uses (a pool stack has its own secretSeed, and may have an sshPrivateKey)."""


def machines(outputs: Mapping[str, Any]) -> list[dict]:
    """The ``nodes`` output's machines (each a dict with ``name`` and ``pool``)."""
    nodes = outputs.get("nodes") or []
    return [n for n in nodes if isinstance(n, dict) and isinstance(n.get("name"), str)]


def platform_keys(data: Mapping[str, Any], platform: str) -> Iterator[Violation]:
    """Keys a pool stack sets that belong to its platform stack. A value equal to the schema's
    default counts as unset: the CLI merges Pulumi.yaml's declared defaults into every stack."""
    for key, value in data.items():
        if key in POOL_STACK_KEYS:
            continue
        field = _PLATFORM_FIELDS.get(key)
        optional = field is not None and not field.is_required()
        default = field.get_default(call_default_factory=True) if optional else None
        default = default.value if isinstance(default, Enum) else default
        if field is None or value != default:
            owner = f"the platform stack's ({platform})" if field is not None else "not part of the config schema"
            yield config_path((key,)), f"is {owner}: a pool stack sets only {', '.join(sorted(POOL_STACK_KEYS))}"


def pool_stack(spec: PoolStackSpec, stack: str, outputs: StackOutputs) -> Iterator[Violation]:
    """What a pool stack must agree on with its platform stack's recorded outputs."""
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
    budget = _budget(budgets.get(stack) if isinstance(budgets, Mapping) else None)
    if budget is None:
        yield where, (f"{platform} lists no budget for this stack: add `poolStacks: {{{stack}: {{nodes: <n>, "
                      f"pools: [<names>]}}}}` to Pulumi.{platform}.yaml and run its up first")  # fmt: skip
        return
    if recorded.get("environment") != spec.environment.value:
        theirs = recorded.get("environment")
        yield config_path(("environment",)), f"{spec.environment.value} differs from the platform stack's {theirs!r}"
    if spec.count() > budget.nodes:
        yield (
            config_path(("nodePools",)),
            (
                f"{spec.count()} machines exceed this stack's node budget of {budget.nodes} "
                f"(poolStacks.{stack}.nodes of the platform stack {platform})"
            ),
        )
    for name in spec.node_pools:
        if name not in budget.pools:
            yield (
                config_path(("nodePools", name)),
                (
                    f"is not a pool {platform} lists for this stack (poolStacks.{stack}.pools: "
                    f"{', '.join(budget.pools)}): the platform owns its cluster's pool names "
                    "(machines are <cluster>-<pool>-<n>)"
                ),
            )


def platform_pool_stacks(
    spec: StackSpec, stack: str, own: Mapping[str, Any], outputs: StackOutputs
) -> Iterator[Violation]:
    """A platform may not budget itself, nor drop a pool stack, lower its budget or unlist a pool
    below what that stack runs: only the pool stack's ``destroy`` (or lower counts there) drains
    and deletes its nodes. ``own``: this stack's recorded outputs (the budgets it recorded)."""
    if stack in spec.pool_stacks:
        yield config_path(("poolStacks", stack)), "is this stack itself: a pool stack is another stack of the project"
    before = own.get("pool_stacks")
    dropped = [s for s in before if s not in spec.pool_stacks] if isinstance(before, Mapping) else []
    for name in [*spec.pool_stacks, *dropped]:
        running = machines(outputs(name)) if name != stack else []
        if not running:
            continue
        budget = spec.pool_stacks.get(name)
        if budget is None:
            yield (
                config_path(("poolStacks",)),
                (
                    f"drops pool stack {name}, which runs {len(running)} nodes: destroy it first "
                    f"(`scripts/pulumi {name} destroy` drains them), then remove it"
                ),
            )
            continue
        if budget.nodes < len(running):
            yield (
                config_path(("poolStacks", name, "nodes")),
                (
                    f"{budget.nodes} is below the {len(running)} nodes pool stack {name} runs: "
                    "lower its counts there first"
                ),
            )
        unlisted = sorted({n.get("pool") for n in running} - set(budget.pools) - {None})
        if unlisted:
            yield (
                config_path(("poolStacks", name, "pools")),
                (f"pool stack {name} still runs {', '.join(unlisted)}: remove those pools there first"),
            )


def _budget(value: Any) -> PoolStackBudget | None:
    try:
        return PoolStackBudget.model_validate(value)
    except ValidationError:
        return None

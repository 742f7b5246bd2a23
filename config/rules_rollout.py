"""Rules of ``nodePools.<pool>.rollout`` (master and etcd pools change one member per ``up``) and of
``confirmRemoval`` (a lower master count is confirmed from the deployed one).

A changed image, flavor, disk, volume type or anti-affinity of a master or etcd pool would replace
(or resize) every member in one ``up`` and take the control plane, or etcd's quorum, away. The IaaS
layer pins those members (``ignore_changes``, components/iaas/node_pool.py) except the one listed
here; these rules keep that list safe. Same form as config/rules.py, which lists them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from config.spec import ROLLED_ROLES, EtcdTopology, Role, StackSpec, config_path

Violation = tuple[str, str]
RUNBOOK = "docs/runbooks/upgrade.md, 9.5"
REMOVAL_RUNBOOK = "docs/runbooks/upgrade.md, 9.6"
MIN_ROLLED_ETCD = 3
"""Members an etcd needs so that one being rebuilt or resized leaves a quorum (2 of 3)."""
INIT_MASTER = 1
"""The master kubeadm init ran on (components/control_plane/kubeadm_masters.py): rebuilt, it joins the
running cluster with material from master 2, so it needs a second master."""


def rollout(spec: StackSpec) -> Iterator[Violation]:
    for name, pool in spec.pools():
        if not pool.rollout:
            continue
        path = config_path(("nodePools", name, "rollout"))
        if pool.role not in ROLLED_ROLES:
            yield path, f"applies to master and etcd pools only; a {pool.role.value} pool follows its config"
            continue
        if len(pool.rollout) > 1:
            yield (
                path,
                f"one member per `pulumi up`: list one, run `pulumi up`, then the next ({RUNBOOK}); "
                f"got {list(pool.rollout)}",
            )
            continue
        (member,) = pool.rollout
        if not 1 <= member <= pool.count:
            yield path, f"member {member} does not exist (the pool's members are 1-{pool.count})"
            continue
        keeps_etcd = pool.role == Role.ETCD or spec.etcd.topology == EtcdTopology.STACKED
        if keeps_etcd and pool.count < MIN_ROLLED_ETCD:
            yield (
                path,
                f"a {pool.count}-member etcd loses its quorum while a member is rebuilt or resized; "
                f"grow it to {MIN_ROLLED_ETCD} members first, or rebuild the stack ({RUNBOOK})",
            )
            continue
        if pool.role == Role.MASTER and member == INIT_MASTER and pool.count < 2:
            yield (
                path,
                f"a rebuilt master {INIT_MASTER} joins the running cluster with join material from master 2, "
                f"and this pool has no master 2; grow it to 2 masters first ({RUNBOOK})",
            )


def removal_confirmation(spec: StackSpec) -> Iterator[Violation]:
    """``confirmRemoval``: master pools only, and above the new count (it names what is deployed)."""
    for name, pool in spec.pools():
        if pool.confirm_removal is None:
            continue
        path = config_path(("nodePools", name, "confirmRemoval"))
        if pool.role != Role.MASTER:
            yield path, f"applies to master pools only; a {pool.role.value} pool's count changes without it"
        elif pool.confirm_removal <= pool.count:
            yield path, f"{pool.confirm_removal} removes no master from count {pool.count}; delete the key"


def master_removal(spec: StackSpec, deployed: Mapping[str, int]) -> Iterator[Violation]:
    """A master pool's count below what the stack runs (``deployed``: pool -> machines, from the
    stack's recorded ``nodes`` output) needs ``confirmRemoval`` equal to that number.

    The masters beyond the new count are drained, reset and deleted on this ``up``
    (components/control_plane/kubeadm_masters.py). With etcd on the masters (stacked) each one is
    also an etcd member: removing more than one per ``up``, or going below the quorum-safe 3, is
    said so, and still needs the confirmation.
    """
    stacked = spec.etcd.topology == EtcdTopology.STACKED
    for name, pool in spec.pools(Role.MASTER):
        running = deployed.get(name)
        if running is None or pool.count >= running or pool.confirm_removal == running:
            continue
        risks = []
        if stacked and running - pool.count > 1:
            risks.append(f"{running - pool.count} etcd members leave at once")
        if stacked and pool.count < MIN_ROLLED_ETCD <= running:
            risks.append(f"a {pool.count}-member etcd keeps no quorum when one member fails")
        unsafe = f" ({'; '.join(risks)})" if risks else ""
        yield (
            config_path(("nodePools", name, "count")),
            f"lowers the masters from {running} (deployed, the stack's `nodes` output) to {pool.count}{unsafe}: "
            f"masters {pool.count + 1}-{running} are drained, reset and deleted; confirm with "
            f"nodePools.{name}.confirmRemoval: {running} ({REMOVAL_RUNBOOK})",
        )

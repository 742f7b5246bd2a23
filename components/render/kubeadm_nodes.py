"""What each Kubernetes node gets from its pool: registration, labels, taints, removal.

The kubelet may label its own Node only outside the ``kubernetes.io``/``k8s.io`` namespaces, or
inside ``node.kubernetes.io``/``kubelet.kubernetes.io`` and a few well-known keys (NodeRestriction,
k8s.io/kubelet ``IsKubeletLabel``; a kubelet given another one refuses to start). Such labels go
into ``--node-labels`` (``components/render/kubeadm.py``); the others are set after the join by
``kubectl label`` from a master (``render_label_command``). Removing a node cordons, drains and
deletes that node only (``render_remove_node_commands``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from components.render._common import check_ipv4, check_name, check_unique

ADMIN_KUBECONFIG = "/etc/kubernetes/admin.conf"
_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True)
class NodeTaint:
    """A taint the kubelet registers at join (``nodeRegistration.taints``)."""

    key: str
    """Label-style key (``nvidia.com/gpu``); the config checked its form (``nodePools.<pool>.taints``)."""
    effect: str
    """NoSchedule, PreferNoSchedule or NoExecute."""
    value: str = ""
    """Value; empty: none is written."""

    def __post_init__(self) -> None:
        if self.effect not in _EFFECTS:
            raise ValueError(f"NodeTaint.effect: {self.effect!r} is not one of {', '.join(_EFFECTS)}")


CONTROL_PLANE_TAINT = NodeTaint(key="node-role.kubernetes.io/control-plane", effect="NoSchedule")
"""kubeadm's default taint of control-plane nodes."""

_KUBELET_LABELS = frozenset(
    # kubeletLabels in k8s.io/kubelet/pkg/apis/well_known_labels.go (v0.37.2).
    [f"kubernetes.io/{n}" for n in ("hostname", "os", "arch")]
    + [f"beta.kubernetes.io/{n}" for n in ("os", "arch", "instance-type")]
    + [f"{p}/{n}" for p in ("topology.kubernetes.io", "failure-domain.beta.kubernetes.io") for n in ("zone", "region")]
    + ["node.kubernetes.io/instance-type"]
)


def _in_namespace(namespace: str, suffixes: tuple[str, ...]) -> bool:
    return any(namespace == s or namespace.endswith("." + s) for s in suffixes)


def kubelet_may_set_label(key: str) -> bool:
    """Whether a kubelet may set ``key`` on its own Node (``--node-labels``) under NodeRestriction."""
    namespace = key.split("/", 1)[0] if "/" in key else ""
    if not _in_namespace(namespace, ("kubernetes.io", "k8s.io")):
        return True
    return key in _KUBELET_LABELS or _in_namespace(namespace, ("node.kubernetes.io", "kubelet.kubernetes.io"))


@dataclass(frozen=True)
class KubernetesNode:
    """One machine as a Kubernetes node (the IaaS side of the machine is components/iaas/node_pool.py Node)."""

    name: str
    """Node name (the machine's hostname), a DNS label."""
    address: str
    """IPv4 address on the node network: the kubelet's ``--node-ip``, a master's advertise address."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """The pool's labels (spec ``nodePools.<pool>.labels``)."""
    taints: tuple[NodeTaint, ...] = ()
    """Taints registered at join; for masters, including the control-plane taint when wanted."""

    def __post_init__(self) -> None:
        check_name(self.name, "KubernetesNode.name")
        check_ipv4(self.address, "KubernetesNode.address")
        check_unique([(t.key, t.effect) for t in self.taints], f"KubernetesNode({self.name}).taints")

    @property
    def kubelet_labels(self) -> dict[str, str]:
        """Labels the kubelet sets itself at registration (``--node-labels``)."""
        return {k: v for k, v in sorted(self.labels.items()) if kubelet_may_set_label(k)}

    @property
    def admin_labels(self) -> dict[str, str]:
        """Labels only an administrator may set (applied after the join from a master)."""
        return {k: v for k, v in sorted(self.labels.items()) if not kubelet_may_set_label(k)}


def render_label_command(node: KubernetesNode) -> str | None:
    """``kubectl label`` run on a master after ``node`` joined: the labels its kubelet may not set.

    None when the kubelet set them all. ``--overwrite`` makes it idempotent; the node name is the
    only target.
    """
    if not node.admin_labels:
        return None
    labels = " ".join(shlex.quote(f"{k}={v}") for k, v in node.admin_labels.items())
    return f"kubectl --kubeconfig {ADMIN_KUBECONFIG} label node --overwrite {node.name} {labels}"


def render_remove_node_commands(name: str, timeout: str = "10m") -> tuple[str, ...]:
    """Commands a master runs before a node's VM is deleted: cordon, drain, delete that node only."""
    check_name(name, "render_remove_node_commands.name")
    kubectl = f"kubectl --kubeconfig {ADMIN_KUBECONFIG}"
    return (
        f"{kubectl} cordon {name}",
        f"{kubectl} drain {name} --ignore-daemonsets --delete-emptydir-data --timeout={timeout}",
        f"{kubectl} delete node {name} --ignore-not-found",
    )

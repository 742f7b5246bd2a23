"""kubeadm renderer: the blueprint's numbers, SANs, labels/taints per pool (pure checks; the real
kubeadm reads the same documents in test_kubeadm_real.py)."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from components.render.audit_policy import LOG_DIR, POLICY_FILE
from components.render.kubeadm import (
    KUBEADM_API,
    BootstrapSecrets,
    ClusterArgs,
    render_join_config,
    render_kubeadm_config,
)
from components.render.kubeadm_nodes import (
    KubernetesNode,
    kubelet_may_set_label,
    render_label_command,
    render_remove_node_commands,
)
from config.load import load_stack_file
from config.spec import KUBERNETES_ROLES, EtcdTopology, Role, StackSpec
from config.versions import KUBERNETES
from tests.render.from_spec import cluster_args_from_spec, pool_nodes
from tests.render.tools import ROOT

STACKS = ("lab", "test", "prod")
SECRETS = BootstrapSecrets(
    token="abcdef.0123456789abcdef", certificate_key="0f" * 32, ca_cert_hash="sha256:" + "ab" * 32
)
FLOATING_IP = "203.0.113.10"

# The blueprint's kubelet flags (seed "容量规划"), written out here on purpose rather than read from
# the spec: a drift in the spec's defaults must fail this test.
BLUEPRINT_KUBELET = {
    "systemReserved": {"cpu": "200m", "memory": "250Mi"},
    "kubeReserved": {"cpu": "200m", "memory": "250Mi"},
    "evictionHard": {"memory.available": "1Gi", "nodefs.available": "1Gi", "imagefs.available": "1Gi"},
    "evictionMinimumReclaim": {"memory.available": "500Mi", "nodefs.available": "500Mi", "imagefs.available": "1Gi"},
    "nodeStatusUpdateFrequency": "10s",
    "evictionPressureTransitionPeriod": "180s",
    "maxPods": 100,
}


# --------------------------------------------------------------------------- stack fixtures


def spec_of(stack: str) -> StackSpec:
    return load_stack_file(ROOT / f"Pulumi.{stack}.yaml")


def addresses(spec: StackSpec, pool: str) -> tuple[str, ...]:
    """Example machine addresses (Neutron assigns them at deploy time): a block per pool."""
    hosts = list(spec.network.node_cidr.hosts())
    start = 20 + 10 * list(spec.node_pools).index(pool)
    if spec.network.node_cidr.prefixlen < 24:  # prod: 30 workers need a bigger block
        start = 40 + 50 * list(spec.node_pools).index(pool)
    return tuple(str(hosts[start + i]) for i in range(spec.node_pools[pool].count))


def masters_of(spec: StackSpec) -> tuple[KubernetesNode, ...]:
    return tuple(n for pool, _ in spec.pools(Role.MASTER) for n in pool_nodes(spec, pool, addresses(spec, pool)))


def stack_args(stack: str, etcd_on_masters: bool = False) -> ClusterArgs:
    """ClusterArgs as the bootstrap component builds them for a committed stack."""
    spec = spec_of(stack)
    masters = masters_of(spec)
    endpoints: tuple[str, ...] = ()
    if spec.etcd.topology == EtcdTopology.EXTERNAL:
        endpoints = tuple(f"https://{a}:2379" for pool, _ in spec.pools(Role.ETCD) for a in addresses(spec, pool))
    elif etcd_on_masters:  # the etcd renderer's variant: the lab's etcd unit on the master, as external
        endpoints = tuple(f"https://{m.address}:2379" for m in masters)
    fip = FLOATING_IP if spec.network.api_floating_ip else None
    return cluster_args_from_spec(spec, masters, etcd_endpoints=endpoints, floating_ip=fip)


def documents(text: str) -> dict[str, dict]:
    return {d["kind"]: d for d in yaml.safe_load_all(text) if d}


def join_nodes(stack: str) -> list[tuple[str, KubernetesNode, bool]]:
    """(pool, node, control_plane) for every node that joins: masters after the first, all others."""
    spec = spec_of(stack)
    out = []
    for pool, config in spec.pools(*KUBERNETES_ROLES):
        for i, node in enumerate(pool_nodes(spec, pool, addresses(spec, pool))):
            if config.role == Role.MASTER and i == 0:
                continue
            out.append((pool, node, config.role == Role.MASTER))
    return out


# --------------------------------------------------------------------------- pure checks


@pytest.mark.parametrize("stack", STACKS)
def test_kubelet_configuration_is_exactly_the_blueprint(stack: str) -> None:
    kubelet = documents(render_kubeadm_config(stack_args(stack), SECRETS))["KubeletConfiguration"]
    for key, value in BLUEPRINT_KUBELET.items():
        assert kubelet[key] == value, key
    assert kubelet["cgroupDriver"] == "systemd"
    assert kubelet["apiVersion"] == "kubelet.config.k8s.io/v1beta1"


@pytest.mark.parametrize("stack", STACKS)
def test_cluster_configuration_follows_the_spec(stack: str) -> None:
    spec, args = spec_of(stack), stack_args(stack)
    cluster = documents(render_kubeadm_config(args, SECRETS))["ClusterConfiguration"]
    assert cluster["apiVersion"] == KUBEADM_API == "kubeadm.k8s.io/v1beta4"
    assert cluster["kubernetesVersion"] == f"v{KUBERNETES.version}"
    assert cluster["controlPlaneEndpoint"] == f"{spec.network.api_vip}:6443"
    assert cluster["networking"] == {
        "podSubnet": str(spec.network.pod_cidr),
        "serviceSubnet": str(spec.network.service_cidr),
    }
    api = {a["name"]: a["value"] for a in cluster["apiServer"]["extraArgs"]}
    assert api["event-ttl"] == spec.kubernetes.event_ttl
    assert api["authorization-mode"] == "Node,RBAC" and api["profiling"] == "false"
    assert "anonymous-auth" not in api  # join discovery and /readyz checks need it (module docstring)
    assert api["audit-policy-file"] == POLICY_FILE and api["audit-log-path"] == f"{LOG_DIR}/audit.log"
    mounts = {v["hostPath"]: v for v in cluster["apiServer"]["extraVolumes"]}
    assert mounts[POLICY_FILE]["readOnly"] is True and not mounts[LOG_DIR]["readOnly"]
    cm = {a["name"]: a["value"] for a in cluster["controllerManager"]["extraArgs"]}
    assert cm["node-cidr-mask-size"] == str(spec.network.pod_cidr_node_prefix)
    assert cm["leader-elect"] == "true"
    assert {"name": "leader-elect", "value": "true"} in cluster["scheduler"]["extraArgs"]
    if spec.etcd.topology == EtcdTopology.EXTERNAL:
        assert len(cluster["etcd"]["external"]["endpoints"]) == spec.etcd.members
    else:
        assert "local" in cluster["etcd"]


@pytest.mark.parametrize("stack", STACKS)
def test_cert_sans_cover_vip_floating_ip_and_every_master(stack: str) -> None:
    spec, args = spec_of(stack), stack_args(stack)
    sans = documents(render_kubeadm_config(args, SECRETS))["ClusterConfiguration"]["apiServer"]["certSANs"]
    expected = {str(spec.network.api_vip), *(m.address for m in args.masters)}
    if spec.network.api_floating_ip:
        expected.add(FLOATING_IP)
    assert set(sans) == expected
    assert len(args.masters) == spec.count(Role.MASTER)


def test_labels_and_taints_reach_the_right_join_configuration() -> None:
    args = stack_args("prod")
    first: dict[str, tuple[KubernetesNode, bool]] = {}
    for pool, node, control_plane in join_nodes("prod"):
        first.setdefault(pool, (node, control_plane))
    joins = {
        pool: documents(render_join_config(args, node, SECRETS, cp))["JoinConfiguration"]
        for pool, (node, cp) in first.items()
    }

    def kubelet_args(pool: str) -> dict[str, str]:
        return {a["name"]: a["value"] for a in joins[pool]["nodeRegistration"]["kubeletExtraArgs"]}

    assert kubelet_args("gpu")["node-labels"] == "nvidia.com/gpu.present=true"
    assert joins["gpu"]["nodeRegistration"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    ]
    assert kubelet_args("ssd")["node-labels"] == "node.kubernetes.io/disk=ssd"
    assert joins["ssd"]["nodeRegistration"]["taints"] == []
    # node-role.kubernetes.io/* is forbidden to kubelets: not in --node-labels, set by kubectl instead.
    for pool in ("ingress", "storage"):
        assert "node-labels" not in kubelet_args(pool)
        assert joins[pool]["nodeRegistration"]["taints"] == [
            {"key": f"node-role.kubernetes.io/{pool}", "effect": "NoSchedule"}
        ]
    assert "node-labels" not in kubelet_args("worker") and joins["worker"]["nodeRegistration"]["taints"] == []
    # Only control-plane joins carry the certificate key; masters keep kubeadm's control-plane taint.
    assert joins["master"]["controlPlane"]["certificateKey"] == SECRETS.certificate_key
    assert joins["master"]["nodeRegistration"]["taints"] == [
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
    ]
    assert all("controlPlane" not in joins[p] for p in ("worker", "ssd", "gpu", "ingress", "storage"))
    for pool, (node, _) in first.items():
        assert joins[pool]["nodeRegistration"]["name"] == node.name
        assert kubelet_args(pool)["node-ip"] == node.address
        assert joins[pool]["discovery"]["bootstrapToken"]["apiServerEndpoint"] == "10.20.0.10:6443"


def test_label_command_sets_forbidden_labels_on_that_node_only() -> None:
    spec = spec_of("prod")
    ingress = pool_nodes(spec, "ingress", addresses(spec, "ingress"))[1]
    assert render_label_command(ingress) == (
        "kubectl --kubeconfig /etc/kubernetes/admin.conf label node --overwrite ingress-1 "
        "node-role.kubernetes.io/ingress="
    )
    for pool in ("worker", "ssd", "gpu"):  # nothing the kubelet could not set itself
        assert render_label_command(pool_nodes(spec, pool, addresses(spec, pool))[0]) is None


def test_all_in_one_master_is_untainted_and_ha_masters_are_tainted() -> None:
    lab = documents(render_kubeadm_config(stack_args("lab"), SECRETS))["InitConfiguration"]
    assert lab["nodeRegistration"]["taints"] == []  # the lab's master runs the workloads
    test = documents(render_kubeadm_config(stack_args("test"), SECRETS))["InitConfiguration"]
    assert test["nodeRegistration"]["taints"][0]["key"] == "node-role.kubernetes.io/control-plane"


@pytest.mark.parametrize(
    ("key", "allowed"),
    [
        ("node-role.kubernetes.io/ingress", False),
        ("node-restriction.kubernetes.io/dedicated", False),
        ("kubernetes.io/role", False),
        ("example.k8s.io/x", False),
        ("node.kubernetes.io/disk", True),
        ("kubelet.kubernetes.io/x", True),
        ("topology.kubernetes.io/zone", True),
        ("nvidia.com/gpu.present", True),
        ("disk", True),
    ],
)
def test_kubelet_label_rules_follow_node_restriction(key: str, allowed: bool) -> None:
    assert kubelet_may_set_label(key) is allowed


def test_secrets_never_show_in_reprs_or_errors() -> None:
    assert "abcdef" not in repr(SECRETS) and "0f0f" not in repr(SECRETS)
    assert "abcdef" not in repr(stack_args("prod"))
    with pytest.raises(ValueError) as error:
        BootstrapSecrets(token="SECRET-TOKEN-VALUE", certificate_key="0f" * 32)
    assert "SECRET-TOKEN-VALUE" not in str(error.value)
    with pytest.raises(ValueError, match="ca_cert_hash"):
        render_join_config(
            stack_args("prod"), masters_of(spec_of("prod"))[1], BootstrapSecrets(SECRETS.token, SECRETS.certificate_key)
        )


def test_remove_node_commands_target_that_node_only() -> None:
    commands = render_remove_node_commands("worker-7")
    assert [c.split()[3] for c in commands] == ["cordon", "drain", "delete"]
    assert all(" worker-7" in c and "worker-1 " not in c for c in commands)
    with pytest.raises(ValueError):
        render_remove_node_commands("worker-7 --all")


def test_invalid_cluster_args_are_rejected() -> None:
    args = stack_args("test")
    with pytest.raises(ValueError, match="overlap"):
        dataclasses.replace(args, pod_subnet="10.96.0.0/16", service_subnet="10.96.0.0/12")
    with pytest.raises(ValueError, match="node_cidr_mask_size"):
        dataclasses.replace(args, pod_subnet="10.244.0.0/24", service_subnet="10.96.0.0/12", node_cidr_mask_size=24)
    with pytest.raises(ValueError, match="floating_ip"):
        dataclasses.replace(args, floating_ip="not-an-address")

"""Iaas: the bottom layer of the blueprint (servers, network, storage) on OpenStack.

Order: key pair and network -> security groups -> one NodePool per ``nodePools`` entry -> the API
floating IP. What a role needs from the network is decided here, as small pure functions, so
NodePool stays generic: which groups its ports carry, which extra source addresses Neutron's
anti-spoofing must let through, and whether its machines get floating IPs.

The API floating IP is allocated here but not associated: the port that carries the API address
belongs to the endpoint (issue 5: the keepalived VIP port, or Octavia's own VIP port), which
associates it with ``networking.FloatingIpAssociate``. Allocating it in this layer gives the
address early, for certificate SANs and kubeconfigs, and keeps it when the endpoint is rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from components.iaas.network import Network, NetworkArgs
from components.iaas.node_pool import Node, NodePool, NodePoolArgs
from components.iaas.rules_table import RulesInput, memberships
from components.iaas.security_groups import SecurityGroups, SecurityGroupsArgs
from config.spec import KUBERNETES_ROLES, ROLLED_ROLES, Role
from config.spec import Network as NetworkSpec
from config.spec import NodePool as PoolSpec


@dataclass(frozen=True)
class IaasArgs:
    """What the IaaS layer builds: the network, the pools and what decides their security groups."""

    cluster_name: str
    """Prefix of every OpenStack name (``k8s-<stack>``); unique per stack in a project."""
    environment: str
    """lab, test or prod: recorded in every instance's metadata for the policy pack."""
    ssh_public_key: str
    """``sshPublicKey``: the OpenSSH public key of the stack's Nova key pair (one line)."""
    network: NetworkSpec
    """The ``network`` section: subnet and DHCP pool, VIP, pod and service CIDRs, external network,
    floating IPs (API, ingress)."""
    pools: Mapping[str, PoolSpec]
    """``nodePools`` by name, in declaration order: one NodePool each."""
    rules_input: RulesInput
    """What decides the security-group rules (roles present, CNI, API endpoint, source CIDRs)."""
    keepalived_vip: bool
    """The lb machines move ``network.apiVip`` between them (``apiEndpoint`` haproxy-keepalived):
    their ports list it as an allowed address pair."""
    native_routing: bool
    """The CNI routes pod and service addresses unencapsulated (``cni``): Kubernetes ports list
    the pod and service CIDRs as allowed address pairs."""
    legacy_hosts: frozenset[str] = frozenset()
    """Machines that booted before SSH host keys were injected (NodePoolArgs.legacy_hosts)."""


def allowed_address_pairs(args: IaasArgs, role: Role) -> tuple[str, ...]:
    """Source addresses a role's ports may use besides their own (Neutron port security)."""
    pairs: list[str] = []
    if role == Role.LB and args.keepalived_vip:
        # keepalived moves the VIP between the lb machines; Neutron drops traffic from an address
        # the port does not own unless it is an allowed address pair.
        pairs.append(f"{args.network.api_vip}/32")
    if role in KUBERNETES_ROLES and args.native_routing:
        # Only where the CNI does not encapsulate do pod and service addresses reach the wire
        # (kubespray docs/cloud_providers/openstack.md, "allowed address pairs"); an overlay's outer
        # packets carry node addresses, and extra pairs would only widen what a port may spoof.
        pairs += [str(args.network.pod_cidr), str(args.network.service_cidr)]
    return tuple(pairs)


def floating_ip_pool(network: NetworkSpec, role: Role) -> str | None:
    """The external network name a role's machines take floating IPs from, or None."""
    wants = role == Role.BASTION or (role == Role.INGRESS and network.ingress_floating_ip)
    return network.external_network_name if wants else None


def key_pair_name(cluster_name: str) -> str:
    """The Nova key pair of a cluster's machines (its pool stacks' machines boot with it too)."""
    return f"{cluster_name}-admin"


class Iaas(pulumi.ComponentResource):
    """Network, security groups, node pools, key pair and floating IPs of one stack."""

    network_id: pulumi.Output[str]
    """Neutron network of the machines (created, or network.existingNetworkId)."""
    subnet_id: pulumi.Output[str]
    """Node subnet (created, or network.existingSubnetId); Octavia members and the VIP port use it."""
    security_group_ids: dict[str, pulumi.Output[str]]
    """Group key (role value or ``node``) -> ID, for the endpoint layer's VIP port."""
    key_pair_name: str
    """The Nova key pair every machine was booted with."""
    nodes: list[Node]
    """Every machine of every pool, in declaration order."""
    api_floating_ip: pulumi.Output[str] | None
    """Address of the API floating IP (``network.apiFloatingIp``), unassociated; None without it."""
    api_floating_ip_id: pulumi.Output[str] | None
    """Its Neutron ID, for the endpoint layer's FloatingIpAssociate."""

    def __init__(self, name: str, args: IaasArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:iaas:Iaas", name, None, opts)
        cluster, net = args.cluster_name, args.network
        child = pulumi.ResourceOptions(parent=self)
        self.key_pair_name = key_pair_name(cluster)
        # Nova key pair names are unique: replace by deleting first. Instances reference the plain
        # name, so a rotated public key replaces the key pair only (running machines keep the old
        # key in authorized_keys until the bootstrap layer rotates it).
        key_pair = openstack.compute.Keypair(
            f"{name}-keypair",
            name=self.key_pair_name,
            public_key=args.ssh_public_key,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        network = Network(f"{name}-network", NetworkArgs(spec=net, cluster_name=cluster), opts=child)
        groups = SecurityGroups(
            f"{name}-secgroups",
            SecurityGroupsArgs(rules_input=args.rules_input, cluster_name=cluster),
            opts=child,
        )
        self.nodes = []
        for pool_name, pool in args.pools.items():
            node_pool = NodePool(
                f"{name}-pool-{pool_name}",
                NodePoolArgs(
                    pool_name=pool_name,
                    pool=pool,
                    environment=args.environment,
                    cluster_name=cluster,
                    network_id=network.network_id,
                    subnet_id=network.subnet_id,
                    security_group_ids=[groups.group_ids[g] for g in memberships(pool.role)],
                    key_pair=self.key_pair_name,
                    allowed_address_pairs=allowed_address_pairs(args, pool.role),
                    floating_ip_pool=floating_ip_pool(net, pool.role),
                    network_ready=network.ready,
                    boot_after=[key_pair],
                    pinned=pool.role in ROLLED_ROLES,
                    legacy_hosts=args.legacy_hosts,
                ),
                opts=child,
            )
            self.nodes += node_pool.nodes
        self.api_floating_ip = self.api_floating_ip_id = None
        if net.api_floating_ip:
            fip = openstack.networking.FloatingIp(
                f"{name}-api-fip",
                pool=net.external_network_name,
                description=f"k8s-platform {cluster}: Kubernetes API endpoint",
                opts=pulumi.ResourceOptions(parent=self, depends_on=network.ready),
            )
            self.api_floating_ip, self.api_floating_ip_id = fip.address, fip.id
        self.network_id, self.subnet_id = network.network_id, network.subnet_id
        self.security_group_ids = groups.group_ids
        self.register_outputs(
            {
                "network_id": self.network_id,
                "subnet_id": self.subnet_id,
                "security_group_ids": self.security_group_ids,
                "key_pair_name": self.key_pair_name,
                "nodes": [n.to_output() for n in self.nodes],
                "api_floating_ip": self.api_floating_ip,
                "api_floating_ip_id": self.api_floating_ip_id,
            }
        )

"""NodePool: the machines of one ``nodePools`` entry, spread by a Nova server group.

Per machine: a Neutron port on the node subnet (the address comes from the DHCP allocation pool,
so the VIP range stays free) carrying the role's security groups; an instance booting from a
new volume of the pool's size and volume type; the pool's data volumes as separate, protected
Cinder volumes (etcd data, Ceph OSD disks: ARCHITECTURE.md principle 8, nothing lost); and a
floating IP when the role needs one. Machines are numbered from 1 and every resource name
carries pool and number, so changing ``count`` adds or removes that pool's last machines only.

Images are Glance image IDs: Nova's block device mapping (source image -> volume) takes a UUID,
and the program may not look a name up (https://docs.openstack.org/nova/latest/user/block-device-mapping.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_openstack as openstack

from components.render.host_keys import host_key, render_host_key_user_data
from components.secret_seed import derived_secret
from config.spec import NodePool as PoolSpec
from config.spec import Role, Taint

METADATA_PREFIX = "k8s-platform."
"""Instance metadata keys the policy pack and operators read (role, environment, pool, size)."""
PINNED_PROPERTIES = ("flavorName", "blockDevices", "schedulerHints", "metadata")
"""What a pinned member keeps while its pool changes: flavor (a resize reboots it), boot image,
disk size and volume type (a replacement), server group (a new group replaces it too), and the
metadata declaring its size (it still runs the old flavor)."""


@dataclass(frozen=True)
class Node:
    """One machine, as the bootstrap layer needs it."""

    name: str
    """Hostname, Nova instance name and Kubernetes node name (``<cluster>-<pool>-<n>``)."""
    pool: str
    """Name of the pool in ``nodePools``."""
    role: Role
    """What the machine does (decides the bootstrap step)."""
    private_ip: pulumi.Output[str]
    """The port's fixed IPv4 address on the node subnet."""
    labels: Mapping[str, str]
    """Kubernetes node labels, applied at join time."""
    taints: tuple[Taint, ...]
    """Kubernetes node taints, applied at join time."""
    instance_id: pulumi.Output[str]
    """Nova instance ID (replaced machine -> new ID: the bootstrap steps re-run)."""
    port_id: pulumi.Output[str]
    """Neutron port ID of the machine's address."""
    floating_ip: pulumi.Output[str] | None = None
    """Public address (bastion, ingress with ingressFloatingIp); None otherwise."""
    data_volume_ids: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """Data volume name -> Cinder volume ID (the disk appears as /dev/disk/by-id/virtio-<id[:20]>)."""
    host_key: pulumi.Output[str] | None = None
    """Its SSH host key (``ssh-ed25519 AAAA...``, injected at boot: render/host_keys.py), which every
    SSH step verifies; None for a machine that booted before keys were injected (not verified)."""

    def to_output(self) -> dict:
        """Plain data (with Outputs inside) for stack outputs and register_outputs."""
        return {
            "name": self.name,
            "pool": self.pool,
            "role": self.role.value,
            "private_ip": self.private_ip,
            "floating_ip": self.floating_ip,
            "labels": dict(self.labels),
            "taints": [t.model_dump(mode="json") for t in self.taints],
            # Recorded per machine: the next run verifies only machines that booted with their key.
            "host_key": self.host_key,
        }


@dataclass(frozen=True)
class NodePoolArgs:
    pool_name: str
    """The pool's key in ``nodePools``; part of every name."""
    pool: PoolSpec
    """The pool's config: role, count, flavor, image ID, declared size, volume type, placement."""
    environment: str
    """lab, test or prod: recorded in the instance metadata for the policy pack."""
    cluster_name: str
    """Prefix of the machines' names (e.g. ``k8s-prod`` -> ``k8s-prod-worker-1``)."""
    network_id: pulumi.Input[str]
    """Neutron network of the ports."""
    subnet_id: pulumi.Input[str]
    """Subnet the ports take their fixed IP from (Neutron picks it from the allocation pool)."""
    security_group_ids: Sequence[pulumi.Input[str]]
    """Groups on every port of the pool (the role's group, plus ``node`` for Kubernetes nodes)."""
    key_pair: str
    """Nova key pair name. A plain name, so a rotated key replaces the key pair, not the machines."""
    allowed_address_pairs: tuple[str, ...] = ()
    """Extra source addresses/CIDRs the ports may send from (the keepalived VIP; Calico's pod and
    service CIDRs). Default: none, Neutron's anti-spoofing applies."""
    floating_ip_pool: str | None = None
    """External network *name*: give every machine a floating IP from it. Default: none."""
    network_ready: Sequence[pulumi.Resource] = ()
    """The router interface: machines boot (metadata, egress) and floating IPs attach only once the
    subnet is routed. Empty for a pre-provisioned network."""
    boot_after: Sequence[pulumi.Resource] = ()
    """Other resources the instances wait for (the key pair, referenced by plain name)."""
    legacy_hosts: frozenset[str] = frozenset()
    """Machines the stack runs that booted without an injected host key (the stack's recorded
    ``nodes`` output has none for them): their SSH host key is not verified, and their user data is
    left as it is (a change would replace them). Default: none."""
    pinned: bool = False
    """Members not listed in ``pool.rollout`` keep their image, flavor, boot disk and server group
    when the pool's change (``ignore_changes``): master and etcd pools, rolled one member per up.
    Default: False, every member follows the pool."""


class NodePool(pulumi.ComponentResource):
    """A pool of identical machines in one anti-affinity server group."""

    nodes: list[Node]
    """The machines, in index order."""
    server_group_id: pulumi.Output[str]
    """Nova server group spreading the pool (its policy is the pool's antiAffinity)."""

    def __init__(self, name: str, args: NodePoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:iaas:NodePool", name, None, opts)
        pool = args.pool
        # Soft or hard anti-affinity spreads the pool across hypervisors; hard refuses to schedule
        # more members than hosts, and Nova's server_group_members quota (default 10) must cover
        # the pool's count (https://docs.openstack.org/nova/latest/user/server-groups.html).
        server_group = openstack.compute.ServerGroup(
            f"{name}-servergroup",
            name=f"{args.cluster_name}-{args.pool_name}",
            policies=pool.anti_affinity.value,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.server_group_id = server_group.id
        self.nodes = [self._machine(name, args, index, server_group) for index in range(1, pool.count + 1)]
        self.register_outputs({"nodes": [n.to_output() for n in self.nodes], "server_group_id": self.server_group_id})

    def _machine(self, name: str, args: NodePoolArgs, index: int, group: openstack.compute.ServerGroup) -> Node:
        pool = args.pool
        hostname = f"{args.cluster_name}-{args.pool_name}-{index}"
        prefix = f"{name}-{index}"
        child = pulumi.ResourceOptions(parent=self)
        port = openstack.networking.Port(
            f"{prefix}-port",
            name=hostname,
            network_id=args.network_id,
            fixed_ips=[openstack.networking.PortFixedIpArgs(subnet_id=args.subnet_id)],
            security_group_ids=list(args.security_group_ids),
            allowed_address_pairs=[
                openstack.networking.PortAllowedAddressPairArgs(ip_address=a) for a in args.allowed_address_pairs
            ]
            or None,
            admin_state_up=True,
            opts=child,
        )
        metadata = {
            METADATA_PREFIX + "role": pool.role.value,
            METADATA_PREFIX + "environment": args.environment,
            METADATA_PREFIX + "pool": args.pool_name,
            METADATA_PREFIX + "vcpu": str(pool.vcpu),
            METADATA_PREFIX + "ram-gib": str(pool.ram_gib),
            METADATA_PREFIX + "disk-gib": str(pool.disk_gib),
        }
        rolled = args.pinned and index in pool.rollout
        # The host key from the seed, injected through the user data (secret: it holds the private
        # key). A user-data change replaces an instance, so it is ignored except on a rolled member,
        # which is rebuilt anyway: a machine that booted without it keeps running, unverified.
        keys = derived_secret(lambda seed: host_key(seed, hostname))
        ignored = [*(PINNED_PROPERTIES if args.pinned and not rolled else ()), *(() if rolled else ("userData",))]
        instance = openstack.compute.Instance(
            prefix,
            user_data=pulumi.Output.secret(keys.apply(render_host_key_user_data)),
            name=hostname,
            flavor_name=pool.flavor,
            key_pair=args.key_pair,
            block_devices=[
                openstack.compute.InstanceBlockDeviceArgs(
                    source_type="image",
                    uuid=pool.image,
                    destination_type="volume",
                    volume_size=pool.disk_gib,
                    volume_type=pool.volume_type,
                    boot_index=0,
                    # The boot volume is the machine's own disk: it goes with the machine. Data that
                    # must outlive it lives on the protected data volumes below.
                    delete_on_termination=True,
                )
            ],
            networks=[openstack.compute.InstanceNetworkArgs(port=port.id)],
            scheduler_hints=[openstack.compute.InstanceSchedulerHintArgs(group=group.id)],
            metadata=metadata,
            # A clean ACPI shutdown lets kubelet, etcd and Ceph stop before the machine is deleted.
            stop_before_destroy=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*args.network_ready, *args.boot_after],
                # The replacement reuses the port (same address) and the data volumes: Nova refuses a
                # port or volume still attached to the old machine, so the old one goes first.
                delete_before_replace=True,
                ignore_changes=ignored,
            ),
        )
        volume_ids = {}
        for volume in pool.data_volumes:
            data = openstack.blockstorage.Volume(
                f"{prefix}-{volume.name}",
                name=f"{hostname}-{volume.name}",
                description=f"k8s-platform {args.cluster_name}: {volume.name} of {hostname} (protected)",
                size=volume.size_gib,
                volume_type=volume.volume_type,
                metadata={METADATA_PREFIX + "role": pool.role.value, METADATA_PREFIX + "pool": args.pool_name},
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            openstack.compute.VolumeAttach(
                f"{prefix}-{volume.name}-attach",
                instance_id=instance.id,
                volume_id=data.id,
                # A volume attaches to one machine at a time: detach before the new attachment.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
            volume_ids[volume.name] = data.id
        floating_ip = None
        if args.floating_ip_pool:
            floating_ip = openstack.networking.FloatingIp(
                f"{prefix}-fip",
                pool=args.floating_ip_pool,
                port_id=port.id,
                description=f"k8s-platform {args.cluster_name}: {hostname}",
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.network_ready)),
            ).address
        return Node(
            name=hostname,
            pool=args.pool_name,
            role=pool.role,
            private_ip=port.all_fixed_ips.apply(lambda ips: ips[0] if ips else None),
            labels=dict(pool.labels),
            taints=pool.taints,
            instance_id=instance.id,
            port_id=port.id,
            floating_ip=floating_ip,
            data_volume_ids=volume_ids,
            host_key=(
                pulumi.Output.unsecret(keys.apply(lambda k: k.public))
                if rolled or hostname not in args.legacy_hosts
                else None
            ),
        )

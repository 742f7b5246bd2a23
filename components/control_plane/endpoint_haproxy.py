"""The haproxy + keepalived API endpoint: the blueprint's "haproxy + keepalived" on the lb machines.

Resources (children of the ApiServerEndpoint):

- a Neutron port holding ``network.apiVip`` with no device: Neutron never hands the address to
  another port, and the API floating IP has a port to be associated with. The lb machines' own
  ports list the VIP as an allowed address pair (IaaS layer), so the one keepalived elects may
  answer for it (https://docs.openstack.org/api-ref/network/v2/#allowed-address-pairs);
- the VRRP password: the secret config ``keepalivedAuthPass`` or 8 letters and digits derived from
  the stack's seed (render/seed.py; keepalived keeps 8 characters, render/keepalived.py rejects
  longer ones), a secret Output either way;
- per lb machine three SSH steps, in order: install haproxy + keepalived and set
  ``net.ipv4.ip_nonlocal_bind=1``; push haproxy.cfg, ``haproxy -c``, reload; push keepalived.conf,
  ``keepalived -t``, reload (the interface detected from the default route first, unless
  ``apiEndpointOptions.interface`` names it). The rendered files are the steps' stdin, so a changed master list
  changes the input and runs the step again; the keepalived file holds the password and is a
  secret Output. Every step also carries the machine's instance ID: a rebuilt machine is
  configured again.

haproxy and keepalived configs: render/haproxy.py and render/keepalived.py (tested with the real
programs); the layout follows kubeadm's "Options for software load balancing"
(https://github.com/kubernetes/kubeadm/blob/main/docs/ha-considerations.md).
"""

from __future__ import annotations

import pulumi
import pulumi_command as command
import pulumi_openstack as openstack

from components.control_plane.endpoint_parts import API_PORT, ApiServerEndpointArgs, EndpointParts
from components.control_plane.remote_scripts import (
    HAPROXY_APPLY,
    KEEPALIVED_APPLY,
    LB_PREPARE,
    RemoteFile,
    command_line,
    payload,
    script,
)
from components.iaas.node_pool import Node
from components.iaas.rules_table import HAPROXY_STATS_PORT
from components.render.haproxy import ApiServer, HaproxyArgs, render_haproxy_config
from components.render.keepalived import KeepalivedArgs, LoadBalancerNode, render_keepalived_config
from components.render.seed import vrrp_password as derived_vrrp_password
from components.secret_seed import derived_secret
from components.ssh import ssh_step
from config.spec import NAMESPACE, Role

HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
KEEPALIVED_CONF = "/etc/keepalived/keepalived.conf"
KEEPALIVED_INTERFACE_FILE = "/etc/keepalived/k8s-platform-interface.conf"
"""Detected VRRP interface (``apiEndpointOptions.interface`` unset), written by the keepalived step."""
KEEPALIVED_CHECK_LOG = "/var/log/k8s-platform-keepalived-check.log"
"""Where ``keepalived -t`` writes its messages on the lb machine (root only; never in the state)."""
AUTH_PASS_KEY = "keepalivedAuthPass"
"""Optional secret config key holding the VRRP password."""


def vrrp_password() -> pulumi.Output[str]:
    """The configured VRRP password, else one derived from the stack's seed; a secret Output."""
    configured = pulumi.Config(NAMESPACE).get_secret(AUTH_PASS_KEY)
    if configured is not None:
        return pulumi.Output.secret(configured)
    return derived_secret(derived_vrrp_password)


def build_haproxy_keepalived(parent: pulumi.Resource, name: str, args: ApiServerEndpointArgs) -> EndpointParts:
    """VIP port, VRRP password, and the SSH steps on every lb machine."""
    vip, settings = args.settings.vip, args.settings
    vip_port = openstack.networking.Port(
        f"{name}-vip-port",
        name=f"{args.cluster_name}-api-vip",
        description=f"k8s-platform {args.cluster_name}: Kubernetes API VIP, held by keepalived",
        network_id=args.network_id,
        fixed_ips=[openstack.networking.PortFixedIpArgs(subnet_id=args.subnet_id, ip_address=vip)],
        security_group_ids=[args.security_group_ids[Role.LB.value]],
        admin_state_up=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    password = vrrp_password()
    masters = [n for n in args.nodes if n.role == Role.MASTER]
    lbs = [n for n in args.nodes if n.role == Role.LB]
    backends = pulumi.Output.all(*[m.private_ip for m in masters]).apply(
        lambda ips: tuple(ApiServer(m.name, ip, port=API_PORT) for m, ip in zip(masters, ips, strict=True))
    )
    peers = pulumi.Output.all(*[n.private_ip for n in lbs]).apply(
        lambda ips: tuple(LoadBalancerNode(n.name, ip) for n, ip in zip(lbs, ips, strict=True))
    )
    ready: list[pulumi.Resource] = [vip_port]
    for node in lbs:
        haproxy_cfg = pulumi.Output.all(backends, node.private_ip).apply(
            lambda v: render_haproxy_config(
                HaproxyArgs(
                    bind_address=vip,
                    masters=v[0],
                    stats_bind_address=v[1],
                    port=API_PORT,
                    stats_port=HAPROXY_STATS_PORT,
                )
            )
        )
        keepalived_conf = pulumi.Output.all(peers, password).apply(
            lambda v, node=node: render_keepalived_config(
                KeepalivedArgs(
                    node=node.name,
                    nodes=v[0],
                    vip=vip,
                    vip_prefix_len=settings.vip_prefix_len,
                    virtual_router_id=settings.options.vrrp_router_id,
                    auth_pass=v[1],
                    interface=settings.options.interface,
                    ready_port=HAPROXY_STATS_PORT,
                    interface_file=KEEPALIVED_INTERFACE_FILE,
                )
            )
        )
        ready.append(_configure(parent, name, args, node, haproxy_cfg, keepalived_conf, vip_port))
    return EndpointParts(vip_port_id=vip_port.id, ready=ready)


def _configure(
    parent: pulumi.Resource,
    name: str,
    args: ApiServerEndpointArgs,
    node: Node,
    haproxy_cfg: pulumi.Output[str],
    keepalived_conf: pulumi.Output[str],
    vip_port: openstack.networking.Port,
) -> command.remote.Command:
    """The three SSH steps of one lb machine; returns the last."""
    connection = args.ssh.connection(node.private_ip, node.host_key)

    def step(body: str, **values: str) -> pulumi.Output[str]:
        return node.instance_id.apply(
            lambda instance_id: command_line(script(body, {"NODE": node.name, "INSTANCE_ID": instance_id, **values}))
        )

    prepare = ssh_step(f"{name}-{node.name}-prepare", parent, connection, create=step(LB_PREPARE))
    haproxy = ssh_step(
        f"{name}-{node.name}-haproxy",
        parent,
        connection,
        create=step(HAPROXY_APPLY, CONFIG=HAPROXY_CFG),
        stdin=haproxy_cfg.apply(lambda text: payload([RemoteFile(HAPROXY_CFG, text)])),
        depends_on=[prepare],
    )
    # keepalived last: its check tracks haproxy, and the VIP port must reserve the address first.
    return ssh_step(
        f"{name}-{node.name}-keepalived",
        parent,
        connection,
        create=step(
            KEEPALIVED_APPLY,
            CONFIG=KEEPALIVED_CONF,
            CHECK_LOG=KEEPALIVED_CHECK_LOG,
            INTERFACE=args.settings.options.interface or "",
            INTERFACE_FILE=KEEPALIVED_INTERFACE_FILE,
        ),
        stdin=pulumi.Output.secret(
            keepalived_conf.apply(lambda text: payload([RemoteFile(KEEPALIVED_CONF, text, mode="0600")]))
        ),
        depends_on=[haproxy, vip_port],
    )

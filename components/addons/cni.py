"""Cni: the pod network, without which every node stays NotReady. Calico through the Tigera
operator, or Flannel, per ``cni.plugin``; one Helm release either way.

The encapsulation decides the Calico IP pool and whether BGP runs, and it must match the
security-group rules the IaaS layer derived from the same ``cni`` section
(components/iaas/rules_table.py ``_cni``): IPIP opens BGP (TCP 179) and IP protocol 4, VXLAN opens
UDP 4789 only (so BGP is disabled: nothing would carry it), native routing opens BGP.
tests/addons/test_cni.py checks the two tables against each other.

Calico: https://docs.tigera.io/calico/latest/getting-started/kubernetes/helm (the Installation
resource's ``calicoNetwork``); Flannel: its chart's ``podCidr`` and the vxlan backend, with
kube-network-policies enforcing NetworkPolicy (flannel has none of its own).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from components.addons.chart import ChartComponent
from config.chart_values import Values
from config.charts import FLANNEL, TIGERA_OPERATOR, ChartPin
from config.spec import CniPlugin, Encapsulation
from config.values_network import CalicoNetwork, FlannelValues, Installation, IpPool, TigeraOperatorValues

TYPE = "k8splatform:addons:Cni"

CALICO_MODES: dict[Encapsulation, tuple[str, str]] = {
    Encapsulation.IPIP: ("IPIP", "Enabled"),
    Encapsulation.VXLAN: ("VXLAN", "Disabled"),
    Encapsulation.NONE: ("None", "Enabled"),
}
"""``cni.encapsulation`` -> (the IP pool's encapsulation, calicoNetwork.bgp)."""


@dataclass(frozen=True)
class CniArgs:
    plugin: CniPlugin
    """calico or flannel (``cni.plugin``)."""
    encapsulation: Encapsulation
    """ipip, vxlan or none (``cni.encapsulation``; flannel: vxlan only, the config rules ensure it)."""
    pod_cidr: str
    """The pod CIDR (``network.podCidr``), the same kubeadm gives the controller-manager."""
    block_size: int
    """Calico's IPAM block prefix, the per-node pod prefix (``network.podCidrNodePrefix``, 16-28)."""
    values: dict[str, Any] = field(default_factory=dict)
    """The stack's override of the chart values (``addons.cni.values``), already type-checked."""


def calico_values(args: CniArgs) -> TigeraOperatorValues:
    encapsulation, bgp = CALICO_MODES[args.encapsulation]
    pool = IpPool(cidr=args.pod_cidr, encapsulation=encapsulation, block_size=max(args.block_size, 20))
    return TigeraOperatorValues(installation=Installation(calico_network=CalicoNetwork(bgp=bgp, ip_pools=(pool,))))


def flannel_values(args: CniArgs) -> FlannelValues:
    return FlannelValues(pod_cidr=args.pod_cidr)


PLUGINS = {CniPlugin.CALICO: (TIGERA_OPERATOR, calico_values), CniPlugin.FLANNEL: (FLANNEL, flannel_values)}
"""Each plugin's chart and values."""


def cni_values(args: CniArgs) -> Values:
    """The chart values of ``args.plugin`` before the stack's override."""
    return PLUGINS[args.plugin][1](args)


class Cni(ChartComponent):
    """The CNI's Helm release."""

    TYPE = TYPE

    def values(self, args: CniArgs) -> Values:
        return cni_values(args)

    def chart(self, args: CniArgs) -> ChartPin:
        return PLUGINS[args.plugin][0]

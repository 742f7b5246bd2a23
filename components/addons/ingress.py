"""Ingress: ingress-nginx on the dedicated, tainted ingress pool (the blueprint's best practice:
the ingress controller on its own tainted workers).

The controller is a DaemonSet selected by the ingress pool's labels and tolerating exactly that
pool's taints, so it runs on every ingress node and nowhere else, and nothing else lands there.
Clients reach it one of two ways (``addons.ingress.exposure``):

* hostPort (default): each controller binds 80/443 on its node; the ingress floating IPs
  (``network.ingressFloatingIp``) and the ingress group's 80/443 rules from
  ``network.publicIngressCidrs`` point there (components/iaas/rules_table.py ``_ingress``).
* nodePort: a NodePort Service on fixed ports, reachable from ``network.nodePortCidrs``
  (the ``node-ports`` rules), e.g. behind an external load balancer.

Chart: https://github.com/kubernetes/ingress-nginx/tree/helm-chart-4.15.1/charts/ingress-nginx
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.addons.chart import ChartComponent
from config.chart_values import Toleration, Values
from config.charts import INGRESS_NGINX
from config.spec import Taint
from config.spec_addons import IngressExposure
from config.values_network import Controller, ControllerService, HostPort, IngressNginxValues, NodePorts

TYPE = "k8splatform:addons:Ingress"


@dataclass(frozen=True)
class IngressArgs:
    node_labels: Mapping[str, str]
    """The ingress pool's node labels (``nodePools.<pool>.labels``), the controller's nodeSelector; not empty."""
    taints: Sequence[Taint]
    """The ingress pool's taints (``nodePools.<pool>.taints``), each tolerated exactly."""
    exposure: IngressExposure = IngressExposure.HOST_PORT
    """hostPort (default) or nodePort (``addons.ingress.exposure``)."""
    http_node_port: int = 30080
    """nodePort exposure: the HTTP NodePort (30000-32767); default 30080."""
    https_node_port: int = 30443
    """nodePort exposure: the HTTPS NodePort (30000-32767); default 30443."""
    values: dict[str, Any] = field(default_factory=dict)
    """The stack's override of the chart values (``addons.ingress.values``), type-checked."""

    def __post_init__(self) -> None:
        if not self.node_labels:
            raise ValueError("IngressArgs.node_labels: the ingress pool needs a label to select its nodes")


def toleration(taint: Taint) -> Toleration:
    """The toleration of exactly ``taint`` (key, value and effect)."""
    if taint.value:
        return Toleration(key=taint.key, operator="Equal", value=taint.value, effect=str(taint.effect))
    return Toleration(key=taint.key, operator="Exists", effect=str(taint.effect))


EXPOSURES = {
    IngressExposure.HOST_PORT: lambda _args: (True, ControllerService(type="ClusterIP")),
    IngressExposure.NODE_PORT: lambda args: (
        False,
        ControllerService(type="NodePort", node_ports=NodePorts(http=args.http_node_port, https=args.https_node_port)),
    ),
}
"""Exposure -> (hostPort on, the controller's Service)."""


def ingress_values(args: IngressArgs) -> IngressNginxValues:
    host_port, service = EXPOSURES[args.exposure](args)
    controller = Controller(
        host_port=HostPort(enabled=host_port),
        service=service,
        node_selector=dict(args.node_labels),
        tolerations=tuple(toleration(t) for t in args.taints),
    )
    return IngressNginxValues(controller=controller)


class Ingress(ChartComponent):
    """ingress-nginx's Helm release."""

    TYPE = TYPE
    PIN = INGRESS_NGINX

    def values(self, args: IngressArgs) -> Values:
        return ingress_values(args)

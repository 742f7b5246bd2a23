"""Monitoring: kube-prometheus-stack (Prometheus, Alertmanager, Grafana, node-exporter,
kube-state-metrics) with the external etcd scraped over TLS and the platform's alert rules.

- **etcd**: the chart's ``kubeEtcd`` makes a selector-less Service with the members' addresses and
  a ServiceMonitor; Prometheus presents a client certificate of the etcd CA (``prometheus-etcd-client``,
  derived from the seed like every etcd certificate, render/etcd_pki.py) from a Secret mounted
  at ``/etc/prometheus/secrets/<secret>/``. etcd has no RBAC enabled here, so any certificate of its
  CA is a full client: the Secret is the monitoring namespace's most sensitive object.
- **Backups**: the etcd backup timer's textfile metrics (render/etcd_backup.py) are read by the
  node-exporter DaemonSet on Kubernetes nodes (the textfile directory mounted from the host) and,
  on dedicated etcd members, by Debian's node-exporter the backup step installs (an extra scrape
  job ``etcd-node-exporter``); render/prometheus_rules.py alerts on their age.
- **Grafana**: its admin password is derived from the seed (a Secret; the values name it only).
- **Storage**: Prometheus and Alertmanager volumes on the block class when the storage add-on runs.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.addons.chart import ChartSourceArgs, helm_release
from components.addons.cluster import ClusterAccess
from components.control_plane.etcd_pki import KeyPair
from components.render.etcd_backup import TEXTFILE_DIR
from components.render.prometheus_rules import ETCD_NODE_JOB, AlertThresholds, platform_rule_groups
from components.render.seed import grafana_admin_password
from components.secret_seed import derived_secret
from config.charts import CHARTS
from config.spec_addons import MonitoringAddon
from config.values_data import (
    AlertmanagerSpec,
    AlertmanagerValues,
    ClaimResources,
    ClaimSpec,
    ClaimTemplate,
    EtcdServiceMonitor,
    GrafanaAdmin,
    GrafanaIngress,
    GrafanaValues,
    HostMount,
    KubeEtcd,
    KubePrometheusStackValues,
    NodeExporterValues,
    PrometheusSpec,
    PrometheusValues,
    RuleGroups,
    StorageSpec,
)

ETCD_SECRET = "etcd-client"
"""Secret with the etcd CA and Prometheus's client certificate (``ca.crt``, ``tls.crt``, ``tls.key``)."""
GRAFANA_SECRET = "grafana-admin"
"""Secret with Grafana's admin user and derived password."""
NODE_EXPORTER_PORT = 9100


@dataclass(frozen=True)
class MonitoringArgs:
    settings: MonitoringAddon
    """``addons.monitoring``: retention, replicas, sizes, backup age, Grafana's host, override."""
    etcd_addresses: pulumi.Output[list[str]]
    """Private IPv4 addresses of the etcd members (scraped on 2379)."""
    dedicated_etcd: bool
    """The members are their own machines (external topology): scrape their node-exporter too."""
    etcd_ca_cert: pulumi.Output[str]
    """The etcd CA certificate (PEM)."""
    etcd_client: KeyPair
    """Prometheus's etcd client certificate and key (secret)."""
    backup_uploads: bool
    """``etcd.backup.s3`` is set: alert on the uploads' age too."""
    storage_class: str | None
    """Block storage class for Prometheus and Alertmanager, or None (emptyDir, lost on reschedule)."""
    charts: ChartSourceArgs
    cluster: ClusterAccess


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack and its secrets (``k8splatform:addons:Monitoring``)."""

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:addons:Monitoring", name, None, opts)
        s = args.settings
        pin = CHARTS["kube-prometheus-stack"]
        child = args.cluster.options(self)
        namespace = kubernetes.core.v1.Namespace(f"{name}-namespace", metadata={"name": pin.namespace}, opts=child)
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))
        etcd_secret = kubernetes.core.v1.Secret(
            f"{name}-etcd-client",
            metadata={"name": ETCD_SECRET, "namespace": pin.namespace},
            data=pulumi.Output.secret(
                pulumi.Output.all(args.etcd_ca_cert, args.etcd_client.cert, args.etcd_client.key).apply(
                    lambda v: {"ca.crt": _b64(v[0]), "tls.crt": _b64(v[1]), "tls.key": _b64(v[2])}
                )
            ),
            opts=in_ns,
        )
        grafana_secret = kubernetes.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata={"name": GRAFANA_SECRET, "namespace": pin.namespace},
            data=derived_secret(
                lambda seed: {"admin-user": _b64("admin"), "admin-password": _b64(grafana_admin_password(seed))}
            ),
            opts=in_ns,
        )
        thresholds = AlertThresholds(
            backup_max_age_hours=s.etcd_backup_max_age_hours,
            upload_max_age_hours=25 if args.backup_uploads else None,
        )

        def values(addresses: list[str]) -> KubePrometheusStackValues:
            return build_values(s, addresses, args.dedicated_etcd, args.storage_class, thresholds)

        self.release = helm_release(
            f"{name}-kps",
            self,
            pin,
            args.etcd_addresses.apply(values),
            s.values,
            args.charts,
            args.cluster.after(etcd_secret, grafana_secret),
        )
        self.register_outputs({})


def build_values(
    s: MonitoringAddon,
    etcd_addresses: list[str],
    dedicated_etcd: bool,
    storage_class: str | None,
    thresholds: AlertThresholds,
) -> KubePrometheusStackValues:
    """The chart's values (pure: the component calls it once the addresses are known)."""
    secrets = f"/etc/prometheus/secrets/{ETCD_SECRET}"
    scrape = []
    if dedicated_etcd:
        targets = [f"{a}:{NODE_EXPORTER_PORT}" for a in etcd_addresses]
        scrape.append({"job_name": ETCD_NODE_JOB, "static_configs": [{"targets": targets}]})
    storage = None
    if storage_class is not None:
        claim = ClaimSpec(
            storage_class_name=storage_class, resources=ClaimResources(requests={"storage": s.prometheus_storage})
        )
        storage = StorageSpec(volume_claim_template=ClaimTemplate(spec=claim))
    return KubePrometheusStackValues(
        kube_etcd=KubeEtcd(
            endpoints=tuple(etcd_addresses),
            service_monitor=EtcdServiceMonitor(
                ca_file=f"{secrets}/ca.crt", cert_file=f"{secrets}/tls.crt", key_file=f"{secrets}/tls.key"
            ),
        ),
        prometheus=PrometheusValues(
            prometheus_spec=PrometheusSpec(
                replicas=s.prometheus_replicas,
                retention=s.retention,
                secrets=(ETCD_SECRET,),
                storage_spec=storage,
                additional_scrape_configs=tuple(scrape),
            )
        ),
        alertmanager=AlertmanagerValues(alertmanager_spec=AlertmanagerSpec(replicas=s.alertmanager_replicas)),
        grafana=GrafanaValues(
            admin=GrafanaAdmin(existing_secret=GRAFANA_SECRET),
            ingress=GrafanaIngress(
                enabled=s.grafana_host is not None, hosts=(s.grafana_host,) if s.grafana_host else ()
            ),
        ),
        prometheus_node_exporter=NodeExporterValues(
            # Where the etcd backup timer of a stacked member (a master) writes its metrics.
            extra_args=(f"--collector.textfile.directory={TEXTFILE_DIR}",),
            extra_host_volume_mounts=(HostMount(name="textfile", host_path=TEXTFILE_DIR, mount_path=TEXTFILE_DIR),),
        ),
        additional_prometheus_rules_map={"k8s-platform": RuleGroups(groups=tuple(platform_rule_groups(thresholds)))},
    )

"""Logging: the blueprint's pipeline on ECK (and Strimzi for the Kafka buffer).

``logging: kafka``: filebeat (DaemonSet on every node) -> Kafka (Strimzi, KRaft) -> Logstash ->
Elasticsearch -> Kibana. ``logging: direct``: filebeat -> Elasticsearch -> Kibana. The operators
come from their charts (``eck-operator``, ``strimzi-kafka-operator``); the pipeline is their custom
resources, built by render/logging_stack.py: Elasticsearch data on the block storage class,
retention and index replicas through an ILM policy a one-shot Job sets, Kafka's own retention on
its topic. The Elasticsearch resource is protected (its volumes hold the logs).

Custom resources need their CRDs, which the operator charts install: each resource depends on its
operator's release. On a new stack's preview the provider is unconfigured and nothing is checked
against the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.addons.chart import ChartSourceArgs, helm_release
from components.addons.cluster import ClusterAccess
from components.addons.setup_job import setup_job
from components.render import logging_stack as ls
from config.charts import CHARTS
from config.spec_addons import LoggingAddon
from config.values_data import EckOperatorValues, StrimziValues

NAMESPACE = "logging"
"""Namespace of the pipeline's resources."""
STACK_VERSION = "9.4.3"
"""Elastic Stack version of Elasticsearch, Kibana, Logstash and filebeat: the one ECK 3.5.0's samples
and recipes use (config/samples, config/recipes of elastic/cloud-on-k8s v3.5.0)."""
KAFKA_VERSION = "4.3.1"
"""Apache Kafka version: Strimzi 1.2.0's default (kafka-versions.yaml)."""
FILEBEAT = "filebeat"


@dataclass(frozen=True)
class LoggingArgs:
    settings: LoggingAddon
    """``addons.logging``: sizes, counts, retention, Kibana's host, overrides."""
    kafka: bool
    """``logging: kafka`` (the blueprint's buffer) or ``direct``."""
    storage_class: str
    """Block storage class of the Elasticsearch and Kafka volumes."""
    charts: ChartSourceArgs
    cluster: ClusterAccess


def layout(s: LoggingAddon, kafka: bool, storage_class: str) -> ls.LoggingLayout:
    """The renderer's layout from the config (pure)."""
    return ls.LoggingLayout(
        name="logs",
        namespace=NAMESPACE,
        stack_version=STACK_VERSION,
        kafka=kafka,
        kafka_version=KAFKA_VERSION if kafka else "",
        es_nodes=s.elasticsearch_nodes,
        es_storage=s.elasticsearch_storage,
        storage_class=storage_class,
        es_memory=s.elasticsearch_memory,
        es_cpu=s.elasticsearch_cpu,
        replicas=s.index_replicas,
        retention_days=s.retention_days,
        kafka_brokers=s.kafka_brokers,
        kafka_storage=s.kafka_storage,
        kafka_retention_hours=s.kafka_retention_hours,
        logstash_replicas=s.logstash_replicas,
    )


class Logging(pulumi.ComponentResource):
    """ECK (+ Strimzi) and the pipeline's resources (``k8splatform:addons:Logging``)."""

    def __init__(self, name: str, args: LoggingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:addons:Logging", name, None, opts)
        s = args.settings
        lay = layout(s, args.kafka, args.storage_class)
        child = args.cluster.options(self)
        namespace = kubernetes.core.v1.Namespace(f"{name}-namespace", metadata={"name": NAMESPACE}, opts=child)
        eck = helm_release(
            f"{name}-eck", self, CHARTS["eck-operator"], EckOperatorValues(), s.values, args.charts, args.cluster
        )
        operators: list[pulumi.Resource] = [namespace, eck]
        if args.kafka:
            strimzi = helm_release(
                f"{name}-strimzi",
                self,
                CHARTS["strimzi-kafka-operator"],
                StrimziValues(watch_namespaces=(NAMESPACE,)),
                s.strimzi_values,
                args.charts,
                args.cluster,
            )
            operators.append(strimzi)
        after = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=operators))

        def custom(role: str, api: str, kind: str, spec: dict, protect: bool = False, labels: dict | None = None):
            return kubernetes.apiextensions.CustomResource(
                f"{name}-{role}",
                api_version=api,
                kind=kind,
                metadata={
                    "name": f"{lay.name}-{role}" if role != "es" else lay.es,
                    "namespace": NAMESPACE,
                    "labels": labels or {},
                },
                spec=spec,
                opts=pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(protect=protect)),
            )

        es = custom("es", "elasticsearch.k8s.elastic.co/v1", "Elasticsearch", ls.elasticsearch(lay), protect=True)
        custom("kibana", "kibana.k8s.elastic.co/v1", "Kibana", ls.kibana(lay))
        if args.kafka:
            cluster = {"strimzi.io/cluster": lay.kafka_cluster}
            kubernetes.apiextensions.CustomResource(
                f"{name}-kafka",
                api_version="kafka.strimzi.io/v1",
                kind="Kafka",
                metadata={"name": lay.kafka_cluster, "namespace": NAMESPACE},
                spec=ls.kafka(lay),
                opts=pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(protect=True)),
            )
            custom("kafka-nodes", "kafka.strimzi.io/v1", "KafkaNodePool", ls.kafka_node_pool(lay), labels=cluster)
            kubernetes.apiextensions.CustomResource(
                f"{name}-topic",
                api_version="kafka.strimzi.io/v1",
                kind="KafkaTopic",
                metadata={"name": ls.TOPIC, "namespace": NAMESPACE, "labels": cluster},
                spec=ls.kafka_topic(lay),
                opts=after,
            )
            custom("logstash", "logstash.k8s.elastic.co/v1alpha1", "Logstash", ls.logstash(lay))
        if s.kibana_host:
            # Kibana serves HTTPS with ECK's own certificate: the controller speaks HTTPS to it.
            kubernetes.networking.v1.Ingress(
                f"{name}-kibana-ingress",
                metadata={
                    "name": "kibana",
                    "namespace": NAMESPACE,
                    "annotations": {"nginx.ingress.kubernetes.io/backend-protocol": "HTTPS"},
                },
                spec={
                    "ingressClassName": "nginx",
                    "rules": [
                        {
                            "host": s.kibana_host,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": f"{lay.name}-kibana-kb-http", "port": {"number": 5601}}
                                        },
                                    }
                                ]
                            },
                        }
                    ],
                },
                opts=after,
            )
        self._filebeat(name, lay, after)
        self._retention(name, lay, pulumi.ResourceOptions.merge(after, pulumi.ResourceOptions(depends_on=[es])))
        self.register_outputs({})

    def _filebeat(self, name: str, lay: ls.LoggingLayout, opts: pulumi.ResourceOptions) -> None:
        """filebeat's ServiceAccount and read-only RBAC (pods, namespaces, nodes for its metadata), and the Beat."""
        account = kubernetes.core.v1.ServiceAccount(
            f"{name}-filebeat-sa", metadata={"name": FILEBEAT, "namespace": NAMESPACE}, opts=opts
        )
        role = kubernetes.rbac.v1.ClusterRole(
            f"{name}-filebeat-role",
            metadata={"name": "k8s-platform-filebeat"},
            rules=[
                {"apiGroups": [""], "resources": ["namespaces", "pods", "nodes"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]},
            ],
            opts=opts,
        )
        binding = kubernetes.rbac.v1.ClusterRoleBinding(
            f"{name}-filebeat-binding",
            metadata={"name": "k8s-platform-filebeat"},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "k8s-platform-filebeat"},
            subjects=[{"kind": "ServiceAccount", "name": FILEBEAT, "namespace": NAMESPACE}],
            opts=opts,
        )
        kubernetes.apiextensions.CustomResource(
            f"{name}-filebeat",
            api_version="beat.k8s.elastic.co/v1beta1",
            kind="Beat",
            metadata={"name": FILEBEAT, "namespace": NAMESPACE},
            spec=ls.filebeat(lay, FILEBEAT),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[account, role, binding])),
        )

    def _retention(self, name: str, lay: ls.LoggingLayout, opts: pulumi.ResourceOptions) -> None:
        """The Job that sets the ILM policy and index template (render/logging_stack.py retention_script),
        with ECK's superuser secret (``<es>-es-elastic-user``) and public HTTP CA (``<es>-es-http-certs-public``)."""
        setup_job(
            f"{name}-retention",
            NAMESPACE,
            "logs-retention",
            ls.retention_script(lay),
            opts,
            env=[
                {
                    "name": "ELASTIC_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": f"{lay.es}-es-elastic-user", "key": "elastic"}},
                }
            ],
            secret_volumes={"/es-ca": f"{lay.es}-es-http-certs-public"},
        )

"""The logging pipeline's custom resources (pure: no Pulumi import): ECK's Elasticsearch, Kibana,
Logstash and Beat (filebeat), Strimzi's Kafka, its node pool and topic, and the retention job.

The blueprint's pipeline is filebeat -> kafka -> logstash -> elasticsearch -> kibana, Kafka being
the buffer that absorbs bursts and Elasticsearch outages (``logging: kafka``); ``direct`` drops the
buffer: filebeat -> elasticsearch -> kibana. Keys follow the CRDs of ECK 3.5
(``elasticsearch.k8s.elastic.co/v1``, ``kibana.k8s.elastic.co/v1``, ``logstash.k8s.elastic.co/v1alpha1``,
``beat.k8s.elastic.co/v1beta1``; config/samples and config/recipes of elastic/cloud-on-k8s v3.5.0)
and Strimzi 1.2 (``kafka.strimzi.io/v1``, KRaft with KafkaNodePools; packaging/examples/kafka).

**Retention.** Both writers put every line into one data stream, ``logs-k8s-default``. An index
template of higher priority than Elasticsearch's built-in ``logs`` template gives that stream an ILM
policy that rolls over daily and deletes after ``retention_days``. Neither ECK (without an
enterprise licence) nor the charts can create an ILM policy, so a one-shot Job does, with curl
(config/versions.py CURL_IMAGE) and the credentials ECK generates (its ``elastic`` user secret and
the HTTP CA): ``retention_script``. Kafka's own retention is the topic's ``retention.ms``
(hours of buffer while Elasticsearch is down).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from components.render._common import check_name, check_positive

DATA_STREAM = "logs-k8s-default"
"""The data stream every log line goes to (type ``logs``, dataset ``k8s``, namespace ``default``)."""
POLICY = "k8s-platform-logs"
"""Name of the ILM policy and of the index template that applies it."""
TEMPLATE_PRIORITY = 500
"""Above the built-in ``logs`` template (priority 100), so ``logs-k8s-*`` takes this one."""
TOPIC = "k8s-logs"
"""Kafka topic between filebeat and Logstash."""
CONTAINER_LOGS = "/var/log/containers"


@dataclass(frozen=True)
class Placement:
    """Where a workload runs: node selector and tolerations (Kubernetes shapes, plain data)."""

    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[tuple[str, str, str], ...] = ()
    """(key, value, effect); an empty value tolerates the key (``Exists``)."""

    def pod_spec(self) -> dict:
        spec: dict = {}
        if self.node_selector:
            spec["nodeSelector"] = dict(self.node_selector)
        if self.tolerations:
            spec["tolerations"] = [
                {"key": k, "effect": e, **({"operator": "Equal", "value": v} if v else {"operator": "Exists"})}
                for k, v, e in self.tolerations
            ]
        return spec


@dataclass(frozen=True)
class LoggingLayout:
    """Everything the logging resources depend on."""

    name: str
    """Prefix of every resource (``<name>-es``, ``<name>-kibana``, ...)."""
    namespace: str
    """Namespace of the pipeline's resources."""
    stack_version: str
    """Elastic Stack version (Elasticsearch, Kibana, Logstash, filebeat), one for all."""
    kafka: bool
    """True: the blueprint's Kafka buffer (``logging: kafka``); False: ``direct``."""
    kafka_version: str = ""
    """Apache Kafka version Strimzi runs (only with ``kafka``)."""
    es_nodes: int = 3
    """Elasticsearch nodes (each master-eligible and data; 3 for a quorum; default 3)."""
    es_storage: str = "100Gi"
    """Data volume size per Elasticsearch node."""
    storage_class: str = "ceph-block"
    """Storage class of the Elasticsearch, Kafka (and Logstash queue) volumes."""
    es_memory: str = "4Gi"
    """Memory request and limit per Elasticsearch node (heap: ES sizes it to half the limit)."""
    es_cpu: str = "1"
    """CPU request per Elasticsearch node."""
    replicas: int = 1
    """Index replicas (copies of each shard on other nodes; at most es_nodes - 1; default 1)."""
    retention_days: int = 14
    """Days a log line stays searchable before its index is deleted."""
    kafka_brokers: int = 3
    """Kafka brokers (dual-role KRaft nodes; default 3)."""
    kafka_storage: str = "50Gi"
    """Volume per Kafka node."""
    kafka_retention_hours: int = 24
    """Hours Kafka keeps lines (how long Elasticsearch may be down without losing logs)."""
    partitions: int = 6
    """Partitions of the log topic (Logstash consumer parallelism)."""
    logstash_replicas: int = 2
    kibana_replicas: int = 1
    placement: Placement = Placement()
    """Where Elasticsearch, Kibana, Logstash and Kafka run (the general workers)."""

    def __post_init__(self) -> None:
        check_name(self.name, "LoggingLayout.name")
        check_name(self.namespace, "LoggingLayout.namespace")
        for field in ("es_nodes", "retention_days", "kafka_brokers", "kafka_retention_hours", "partitions"):
            check_positive(getattr(self, field), f"LoggingLayout.{field}")
        check_positive(self.logstash_replicas, "LoggingLayout.logstash_replicas")
        check_positive(self.kibana_replicas, "LoggingLayout.kibana_replicas")
        if not 0 <= self.replicas < self.es_nodes:
            raise ValueError(f"LoggingLayout.replicas: {self.replicas} copies need more than {self.es_nodes} nodes")
        if self.kafka and not self.kafka_version:
            raise ValueError("LoggingLayout.kafka_version: the Kafka pipeline needs a Kafka version")

    @property
    def es(self) -> str:
        return f"{self.name}-es"

    @property
    def kafka_cluster(self) -> str:
        return f"{self.name}-kafka"

    @property
    def bootstrap(self) -> str:
        """Kafka's in-cluster bootstrap address (Strimzi's ``<cluster>-kafka-bootstrap`` Service)."""
        return f"{self.kafka_cluster}-kafka-bootstrap.{self.namespace}.svc:9092"


def _pod(layout: LoggingLayout, container: str, memory: str, cpu: str) -> dict:
    resources = {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}}
    return {"spec": {**layout.placement.pod_spec(), "containers": [{"name": container, "resources": resources}]}}


def elasticsearch(layout: LoggingLayout) -> dict:
    """The Elasticsearch ``spec``: one node set, every node master-eligible and data, on the block class."""
    claim = {
        "metadata": {"name": "elasticsearch-data"},  # the name ECK mounts as the data path
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": layout.storage_class,
            "resources": {"requests": {"storage": layout.es_storage}},
        },
    }
    return {
        "version": layout.stack_version,
        "nodeSets": [
            {
                "name": "default",
                "count": layout.es_nodes,
                # No vm.max_map_count tuning on the nodes: niofs instead of mmap (ECK's documented choice).
                "config": {"node.store.allow_mmap": False},
                "podTemplate": _pod(layout, "elasticsearch", layout.es_memory, layout.es_cpu),
                "volumeClaimTemplates": [claim],
            }
        ],
        # Keep the volumes when a node set shrinks or the resource is deleted: the logs are data.
        "volumeClaimDeletePolicy": "DeleteOnScaledownOnly",
    }


def kibana(layout: LoggingLayout) -> dict:
    """The Kibana ``spec``, wired to the Elasticsearch above (ECK creates its user and TLS)."""
    return {
        "version": layout.stack_version,
        "count": layout.kibana_replicas,
        "elasticsearchRef": {"name": layout.es},
        "podTemplate": _pod(layout, "kibana", "1Gi", "200m"),
    }


def logstash_pipeline(layout: LoggingLayout) -> str:
    """Kafka topic in, the data stream out (ECK injects ``<CLUSTER>_ES_*`` from ``elasticsearchRefs``)."""
    threads = max(1, layout.partitions // layout.logstash_replicas)  # every partition has a consumer
    return (
        "input {\n"
        f'  kafka {{ bootstrap_servers => "{layout.bootstrap}" topics => ["{TOPIC}"] '
        f'group_id => "logstash" codec => "json" consumer_threads => {threads} }}\n'
        "}\n"
        "output {\n"
        "  elasticsearch {\n"
        '    hosts => ["${LOGS_ES_HOSTS}"]\n'
        '    user => "${LOGS_ES_USER}"\n'
        '    password => "${LOGS_ES_PASSWORD}"\n'
        "    ssl_enabled => true\n"
        '    ssl_certificate_authorities => "${LOGS_ES_SSL_CERTIFICATE_AUTHORITY}"\n'
        '    data_stream => true data_stream_type => "logs"\n'
        '    data_stream_dataset => "k8s" data_stream_namespace => "default"\n'
        "  }\n"
        "}\n"
    )


def logstash(layout: LoggingLayout) -> dict:
    """The Logstash ``spec`` (Kafka pipeline only)."""
    return {
        "version": layout.stack_version,
        "count": layout.logstash_replicas,
        "elasticsearchRefs": [{"name": layout.es, "clusterName": "logs"}],
        "pipelines": [{"pipeline.id": "main", "config.string": logstash_pipeline(layout)}],
        "podTemplate": _pod(layout, "logstash", "2Gi", "500m"),
    }


def filebeat_config(layout: LoggingLayout) -> dict:
    """filebeat's config: every container's log file, to Kafka or straight into the data stream."""
    config: dict = {
        "filebeat.inputs": [
            {
                "type": "filestream",
                "id": "kubernetes-container-logs",
                "paths": [f"{CONTAINER_LOGS}/*.log"],
                "parsers": [{"container": {}}],
                "prospector.scanner.symlinks": True,
                "processors": [
                    {
                        "add_kubernetes_metadata": {
                            "host": "${NODE_NAME}",
                            "matchers": [{"logs_path": {"logs_path": f"{CONTAINER_LOGS}/"}}],
                        }
                    }
                ],
            }
        ],
        "processors": [{"add_host_metadata": {}}],
    }
    if layout.kafka:
        config["output.kafka"] = {
            "hosts": [layout.bootstrap],
            "topic": TOPIC,
            "required_acks": -1,  # every in-sync replica: a broker loss loses no line
            "compression": "lz4",
        }
    else:
        # ECK fills hosts, credentials and CA from elasticsearchRef; the index is the data stream.
        config["output.elasticsearch"] = {"index": DATA_STREAM}
        config["setup.ilm.enabled"] = False
        config["setup.template.enabled"] = False
    return config


def filebeat(layout: LoggingLayout, service_account: str) -> dict:
    """The Beat ``spec``: filebeat as a DaemonSet on every node (tolerating every taint)."""
    spec: dict = {
        "type": "filebeat",
        "version": layout.stack_version,
        "config": filebeat_config(layout),
        "daemonSet": {
            "podTemplate": {
                "spec": {
                    "serviceAccountName": service_account,
                    "automountServiceAccountToken": True,
                    # Logs of every node, masters, ingress and storage nodes included.
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [
                        {
                            "name": "filebeat",
                            "securityContext": {"runAsUser": 0},  # reads root-owned log files
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "200Mi"},
                                "limits": {"memory": "400Mi"},
                            },
                            "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
                            "volumeMounts": [
                                {"name": "varlogcontainers", "mountPath": CONTAINER_LOGS},
                                {"name": "varlogpods", "mountPath": "/var/log/pods"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "varlogcontainers", "hostPath": {"path": CONTAINER_LOGS}},
                        {"name": "varlogpods", "hostPath": {"path": "/var/log/pods"}},
                    ],
                }
            }
        },
    }
    if not layout.kafka:
        spec["elasticsearchRef"] = {"name": layout.es}
    return spec


def kafka_node_pool(layout: LoggingLayout) -> dict:
    """The KafkaNodePool ``spec``: dual-role KRaft nodes with a persistent volume each."""
    return {
        "replicas": layout.kafka_brokers,
        "roles": ["controller", "broker"],
        "storage": {
            "type": "jbod",
            "volumes": [
                {
                    "id": 0,
                    "type": "persistent-claim",
                    "size": layout.kafka_storage,
                    "class": layout.storage_class,
                    "deleteClaim": False,
                    "kraftMetadata": "shared",
                }
            ],
        },
        "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
        "template": {"pod": {k: v for k, v in layout.placement.pod_spec().items() if k == "tolerations"}},
    }


def kafka(layout: LoggingLayout) -> dict:
    """The Kafka ``spec`` (KRaft; the node pool holds replicas and storage)."""
    copies = min(3, layout.kafka_brokers)
    return {
        "kafka": {
            "version": layout.kafka_version,
            "listeners": [{"name": "plain", "port": 9092, "type": "internal", "tls": False}],
            "config": {
                "offsets.topic.replication.factor": copies,
                "transaction.state.log.replication.factor": copies,
                "transaction.state.log.min.isr": max(1, copies - 1),
                "default.replication.factor": copies,
                "min.insync.replicas": max(1, copies - 1),
            },
        },
        "entityOperator": {"topicOperator": {}},
    }


def kafka_topic(layout: LoggingLayout) -> dict:
    """The log topic's ``spec``: partitions, replicas, retention."""
    return {
        "partitions": layout.partitions,
        "replicas": min(3, layout.kafka_brokers),
        "config": {"retention.ms": layout.kafka_retention_hours * 3_600_000},
    }


def ilm_policy(layout: LoggingLayout) -> dict:
    """The ILM policy: roll over daily (or at 50 GB a shard), delete ``retention_days`` after rollover."""
    return {
        "policy": {
            "phases": {
                "hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "50gb"}}},
                "delete": {"min_age": f"{layout.retention_days}d", "actions": {"delete": {}}},
            }
        }
    }


def index_template(layout: LoggingLayout) -> dict:
    """The composable index template applying the policy and the replica count to the data stream."""
    return {
        "index_patterns": ["logs-k8s-*"],
        "data_stream": {},
        "priority": TEMPLATE_PRIORITY,
        "composed_of": ["ecs@mappings"],
        "template": {"settings": {"index.lifecycle.name": POLICY, "index.number_of_replicas": layout.replicas}},
    }


def retention_script(layout: LoggingLayout) -> str:
    """The retention Job's script: PUT the policy and the template (idempotent; retried until ES answers)."""
    es = f"https://{layout.es}-es-http.{layout.namespace}.svc:9200"
    policy = json.dumps(ilm_policy(layout), sort_keys=True)
    template = json.dumps(index_template(layout), sort_keys=True)
    return (
        "set -eu\n"
        f"put() {{ curl -fsS --retry 30 --retry-all-errors --retry-delay 10 --cacert /es-ca/ca.crt "
        f'-u "elastic:$ELASTIC_PASSWORD" -H "Content-Type: application/json" -X PUT "{es}/$1" -d "$2"; echo; }}\n'
        f"put _ilm/policy/{POLICY} '{policy}'\n"
        f"put _index_template/{POLICY} '{template}'\n"
    )

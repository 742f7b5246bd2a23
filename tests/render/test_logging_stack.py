"""components/render/logging_stack.py: the logging pipeline's resources for both modes."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from components.render import logging_stack as ls
from tests.render.tools import tool


def layout(kafka: bool = True, **overrides) -> ls.LoggingLayout:
    base = {"name": "logs", "namespace": "logging", "stack_version": "9.4.3", "kafka": kafka, "kafka_version": "4.3.1"}
    return ls.LoggingLayout(**(base | overrides))


def test_kafka_mode_filebeat_writes_to_the_topic_logstash_reads_into_the_data_stream() -> None:
    lay = layout(kafka=True, partitions=8, logstash_replicas=2)
    beat = ls.filebeat(lay, "filebeat")
    assert "elasticsearchRef" not in beat
    out = beat["config"]["output.kafka"]
    assert out["hosts"] == ["logs-kafka-kafka-bootstrap.logging.svc:9092"] and out["topic"] == ls.TOPIC
    pipeline = ls.logstash(lay)["pipelines"][0]["config.string"]
    assert f'topics => ["{ls.TOPIC}"]' in pipeline and "consumer_threads => 4" in pipeline
    assert 'data_stream_dataset => "k8s"' in pipeline and "${LOGS_ES_PASSWORD}" in pipeline
    assert ls.logstash(lay)["elasticsearchRefs"] == [{"name": "logs-es", "clusterName": "logs"}]


def test_direct_mode_filebeat_writes_straight_into_the_data_stream() -> None:
    beat = ls.filebeat(layout(kafka=False), "filebeat")
    assert beat["elasticsearchRef"] == {"name": "logs-es"}
    assert beat["config"]["output.elasticsearch"] == {"index": ls.DATA_STREAM}
    assert "output.kafka" not in beat["config"]


def test_elasticsearch_data_on_the_block_class_and_kept() -> None:
    es = ls.elasticsearch(layout(es_nodes=5, es_storage="200Gi", storage_class="rbd"))
    node_set = es["nodeSets"][0]
    assert node_set["count"] == 5
    claim = node_set["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "elasticsearch-data"
    assert claim["spec"]["storageClassName"] == "rbd" and claim["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert es["volumeClaimDeletePolicy"] == "DeleteOnScaledownOnly"


def test_retention_and_replicas_reach_the_policy_template_and_topic() -> None:
    lay = layout(retention_days=9, replicas=2, kafka_retention_hours=48)
    assert ls.ilm_policy(lay)["policy"]["phases"]["delete"]["min_age"] == "9d"
    settings = ls.index_template(lay)["template"]["settings"]
    assert settings == {"index.lifecycle.name": ls.POLICY, "index.number_of_replicas": 2}
    assert ls.kafka_topic(lay)["config"]["retention.ms"] == 48 * 3_600_000
    assert ls.kafka_topic(lay)["replicas"] == 3


def test_retention_script_is_valid_shell_with_valid_json(tmp_path) -> None:
    script = ls.retention_script(layout(retention_days=9))
    path = tmp_path / "retention.sh"
    path.write_text("#!/bin/sh\n" + script)
    result = subprocess.run([tool("shellcheck"), "--shell=sh", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    bodies = [shlex.split(line)[2] for line in script.splitlines() if line.startswith("put _")]
    assert [json.loads(b) for b in bodies] == [ls.ilm_policy(layout(retention_days=9)), ls.index_template(layout())]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"replicas": 3}, "replicas"),
        ({"kafka_version": ""}, "kafka_version"),
        ({"retention_days": 0}, "retention_days"),
    ],
)
def test_impossible_layouts_are_refused(overrides: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=f"LoggingLayout.{problem}"):
        layout(**overrides)

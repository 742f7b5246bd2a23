"""Events: kube-eventer, which posts every Kubernetes event of the chosen level to a webhook, so
events outlive the apiserver's ``--event-ttl`` (``kubernetes.eventTtl``, the blueprint's 1h
default, kept by the kubeadm layer) and can page someone (the blueprint: archive events, alert on
them). The project ships no chart, so this is a plain Deployment with its RBAC
(https://github.com/AliyunContainerService/kube-eventer, deploy/deploy.yaml and docs/en/webhook-sink.md).

The sink flag carries the webhook URL, which often holds a token (chat robots): it lives in a
Secret and reaches the container through an environment variable (the kubelet expands
``$(KUBE_EVENTER_SINK)`` in the arguments), never in the Deployment's spec.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.addons.cluster import ClusterAccess
from config.spec_addons import EventLevel
from config.versions import KUBE_EVENTER
from planning.platform_pods import KUBE_EVENTER_CPU, KUBE_EVENTER_MEMORY

TYPE = "k8splatform:addons:Events"
NAMESPACE = "kube-system"
APP = "kube-eventer"
SINK_ENV = "KUBE_EVENTER_SINK"


@dataclass(frozen=True)
class EventsArgs:
    webhook_url: str
    """Where events are posted (``addons.events.webhookUrl``, http(s))."""
    level: EventLevel = EventLevel.WARNING
    """Lowest event type sent (``addons.events.level``); default Warning."""
    image: str = KUBE_EVENTER.source
    """The kube-eventer image (``addons.events.image``); default the pinned one."""

    def __post_init__(self) -> None:
        if not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("EventsArgs.webhook_url: an http(s) URL")


def sink(args: EventsArgs) -> str:
    """kube-eventer's ``--sink`` value: a JSON POST of each event of ``level`` or above."""
    separator = "&" if "?" in args.webhook_url else "?"
    options = f"level={args.level.value}&method=POST&header=Content-Type=application/json"
    return f"webhook:{args.webhook_url}{separator}{options}"


def _meta(name: str = APP) -> kubernetes.meta.v1.ObjectMetaArgs:
    return kubernetes.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE, labels={"app": APP})


class Events(pulumi.ComponentResource):
    """kube-eventer's ServiceAccount, read-only ClusterRole and binding, sink Secret and Deployment."""

    def __init__(self, name: str, args: EventsArgs, cluster: ClusterAccess, opts: pulumi.ResourceOptions | None = None):
        super().__init__(TYPE, name, None, opts)
        child = cluster.options(self)
        account = kubernetes.core.v1.ServiceAccount(f"{name}-account", metadata=_meta(), opts=child)
        role = kubernetes.rbac.v1.ClusterRole(
            f"{name}-role",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=APP),
            # Events to forward; configmaps for a custom body template (docs/en/webhook-sink.md).
            rules=[
                kubernetes.rbac.v1.PolicyRuleArgs(
                    api_groups=[""], resources=["events", "configmaps"], verbs=["get", "list", "watch"]
                )
            ],
            opts=child,
        )
        binding = kubernetes.rbac.v1.ClusterRoleBinding(
            f"{name}-binding",
            metadata=kubernetes.meta.v1.ObjectMetaArgs(name=APP),
            role_ref=kubernetes.rbac.v1.RoleRefArgs(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=APP
            ),
            subjects=[kubernetes.rbac.v1.SubjectArgs(kind="ServiceAccount", name=APP, namespace=NAMESPACE)],
            opts=child,
        )
        secret = kubernetes.core.v1.Secret(
            f"{name}-sink",
            metadata=_meta(f"{APP}-sink"),
            # `data` (base64) rather than `stringData`: the provider's Check folds stringData into data,
            # so data is what a deployed stack's state holds and a preview compares against.
            data={"sink": pulumi.Output.secret(base64.b64encode(sink(args).encode()).decode())},
            opts=child,
        )
        container = kubernetes.core.v1.ContainerArgs(
            name=APP,
            image=args.image,
            command=["/kube-eventer", "--source=kubernetes:https://kubernetes.default", f"--sink=$({SINK_ENV})"],
            env=[
                kubernetes.core.v1.EnvVarArgs(
                    name=SINK_ENV,
                    value_from=kubernetes.core.v1.EnvVarSourceArgs(
                        secret_key_ref=kubernetes.core.v1.SecretKeySelectorArgs(name=f"{APP}-sink", key="sink")
                    ),
                )
            ],
            resources=kubernetes.core.v1.ResourceRequirementsArgs(
                requests={"cpu": KUBE_EVENTER_CPU, "memory": KUBE_EVENTER_MEMORY},
                limits={"cpu": "500m", "memory": "250Mi"},  # deploy/deploy.yaml's limits
            ),
            security_context=kubernetes.core.v1.SecurityContextArgs(
                allow_privilege_escalation=False,
                read_only_root_filesystem=True,
                run_as_non_root=True,
                run_as_user=65534,
            ),
        )
        self.deployment = kubernetes.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=_meta(),
            spec=kubernetes.apps.v1.DeploymentSpecArgs(
                replicas=1,  # one sender: two would post every event twice
                selector=kubernetes.meta.v1.LabelSelectorArgs(match_labels={"app": APP}),
                template=kubernetes.core.v1.PodTemplateSpecArgs(
                    metadata=kubernetes.meta.v1.ObjectMetaArgs(labels={"app": APP}),
                    spec=kubernetes.core.v1.PodSpecArgs(
                        service_account_name=APP,
                        priority_class_name="system-cluster-critical",
                        containers=[container],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[account, role, binding, secret])
            ),
        )
        self.register_outputs({})

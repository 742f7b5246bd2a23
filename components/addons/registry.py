"""Registry: Harbor behind the ingress controller, its TLS from the registry CA the program derives,
images on a volume of the Ceph block class, proxy-cache projects and a pull secret per tenant.

- **TLS.** render/registry_pki.py derives the CA and the serving certificate for ``host`` from the
  seed; the certificate and key go into a ``kubernetes.io/tls`` Secret the ingress serves. The same
  CA is added to every node's trust by the node preparation (components/platform_data.py), before
  the cluster exists, so the first pull from Harbor already verifies.
- **Secrets.** The admin password, Harbor's ``secretKey`` and the pull robot's secret derive from
  the seed (render/seed.py); each is a Kubernetes Secret written from a secret Output, and the
  values only name the Secrets (``existingSecretAdminPassword``, ``existingSecretSecretKey``).
- **Setup job.** A one-shot Job (render/harbor_setup.py) creates the proxy-cache projects and the
  pull robot with its derived secret; each tenant namespace gets a ``harbor-pull`` image pull
  secret for that robot (read-only on every project).
- **Stateful.** The release is protected and its volumes are kept by Harbor's ``resourcePolicy``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as kubernetes

from components.addons.chart import ChartSourceArgs, helm_release
from components.addons.cluster import ClusterAccess
from components.addons.setup_job import setup_job
from components.render.etcd_pki import PkiScope
from components.render.harbor_setup import ROBOT_USER, ProxyCacheProject, docker_config, setup_script
from components.render.registry_pki import registry_tls
from components.render.seed import harbor_admin_password, harbor_robot_secret, harbor_secret_key
from components.secret_seed import derived_secret
from config.charts import CHARTS
from config.spec_addons import RegistryAddon
from config.values_data import (
    Expose,
    ExposeIngress,
    ExposeTls,
    HarborClaims,
    HarborPersistence,
    HarborValues,
    IngressHosts,
    JobserviceClaims,
    Pvc,
    TlsSecret,
)

TLS_SECRET = "harbor-tls"
ADMIN_SECRET = "harbor-admin"
KEY_SECRET = "harbor-secret-key"
ROBOT_SECRET = "harbor-robot"
PULL_SECRET = "harbor-pull"
"""The image pull secret in every tenant namespace (pods name it in ``imagePullSecrets``)."""


@dataclass(frozen=True)
class RegistryArgs:
    settings: RegistryAddon
    """``addons.registry``: host, sizes, proxy caches, pull secrets, override."""
    scope: PkiScope
    """Cluster name and ``pkiEpoch`` of the registry certificates."""
    storage_class: str
    """Block storage class of every Harbor volume."""
    tenants: tuple[str, ...]
    """Tenant namespaces (``addons.governance.tenants``) that get the pull secret."""
    tenants_ready: Sequence[pulumi.Resource]
    """What creates those namespaces (the governance add-on)."""
    charts: ChartSourceArgs
    cluster: ClusterAccess


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def harbor_values(s: RegistryAddon, host: str, storage_class: str) -> HarborValues:
    """The chart's values (pure)."""

    def claim(size: str) -> Pvc:
        return Pvc(storage_class=storage_class, size=size)

    return HarborValues(
        expose=Expose(
            tls=ExposeTls(secret=TlsSecret(secret_name=TLS_SECRET)),
            ingress=ExposeIngress(hosts=IngressHosts(core=host)),
        ),
        external_url=f"https://{host}",
        persistence=HarborPersistence(
            persistent_volume_claim=HarborClaims(
                registry=claim(s.storage_size),
                database=claim(s.database_size),
                redis=claim("2Gi"),
                trivy=claim("10Gi"),
                jobservice=JobserviceClaims(job_log=claim("2Gi")),
            )
        ),
        existing_secret_admin_password=ADMIN_SECRET,
        existing_secret_secret_key=KEY_SECRET,
        ca_secret_name=TLS_SECRET,
    )


class Registry(pulumi.ComponentResource):
    """Harbor, its secrets, setup job and pull secrets (``k8splatform:addons:Registry``)."""

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("k8splatform:addons:Registry", name, None, opts)
        s = args.settings
        assert s.host is not None  # config/rules_addons_data.py requires it when enabled
        host = s.host
        pin = CHARTS["harbor"]
        ns = pin.namespace
        child = args.cluster.options(self)
        namespace = kubernetes.core.v1.Namespace(f"{name}-namespace", metadata={"name": ns}, opts=child)
        in_ns = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))

        def secret(role: str, secret_name: str, derive, kind: str = "Opaque") -> kubernetes.core.v1.Secret:
            return kubernetes.core.v1.Secret(
                f"{name}-{role}",
                metadata={"name": secret_name, "namespace": ns},
                type=kind,
                data=derived_secret(lambda seed: {k: _b64(v) for k, v in derive(seed).items()}),
                opts=in_ns,
            )

        def tls(seed: bytes) -> dict[str, str]:
            issued = registry_tls(seed, args.scope, (host,))
            return {"tls.crt": issued.server.cert, "tls.key": issued.server.key, "ca.crt": issued.ca_cert}

        secrets = [
            secret("tls", TLS_SECRET, tls, "kubernetes.io/tls"),
            secret("admin", ADMIN_SECRET, lambda seed: {"HARBOR_ADMIN_PASSWORD": harbor_admin_password(seed)}),
            secret("secret-key", KEY_SECRET, lambda seed: {"secretKey": harbor_secret_key(seed)}),
            secret("robot", ROBOT_SECRET, lambda seed: {"ROBOT_SECRET": harbor_robot_secret(seed)}),
        ]
        self.release = helm_release(
            f"{name}-harbor",
            self,
            pin,
            harbor_values(s, host, args.storage_class),
            s.values,
            args.charts,
            args.cluster.after(*secrets),
            protect=True,
        )
        caches = tuple(ProxyCacheProject(c.name, c.endpoint, c.type) for c in s.proxy_cache)
        script = setup_script(f"http://{pin.name}-core.{ns}.svc", caches)
        env = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
            for key, secret_name in (("HARBOR_ADMIN_PASSWORD", ADMIN_SECRET), ("ROBOT_SECRET", ROBOT_SECRET))
        ]
        setup_job(
            f"{name}-setup",
            ns,
            "harbor-setup",
            script,
            pulumi.ResourceOptions.merge(in_ns, pulumi.ResourceOptions(depends_on=[self.release])),
            env=env,
        )
        pull = derived_secret(
            lambda seed: {".dockerconfigjson": _b64(docker_config(host, ROBOT_USER, harbor_robot_secret(seed)))}
        )
        tenant_opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(args.tenants_ready)))
        for tenant in args.tenants if s.pull_secret else ():
            kubernetes.core.v1.Secret(
                f"{name}-pull-{tenant}",
                metadata={"name": PULL_SECRET, "namespace": tenant},
                type="kubernetes.io/dockerconfigjson",
                data=pull,
                opts=tenant_opts,
            )
        self.register_outputs({})

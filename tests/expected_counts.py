"""Expected resource counts per committed stack: {stack: {resource type: count}}.

One table for two checks: the mock run of ``__main__.py`` (tests/iaas/test_iaas.py) and the real
engine's ``pulumi preview`` (tests/engine). The stack itself and the engine's default providers
are not counted (the mocks do not register them). A change to a stack file or a layer updates
this table in the same commit, so a review sees the count change.

How the numbers come about (per machine: one port and one instance; per data volume: one Volume
and one VolumeAttach; one server group per pool; security-group rules: docs/security-groups.md):

- lab: 1 master (all-in-one, Octavia, Flannel); groups master + node; API floating IP.
- test: 2 masters, 3 etcd (etcd-data volume each), 2 lb, 3 workers, 1 ingress = 11 machines;
  groups lb, master, etcd, worker, ingress, node.
- prod: 3 masters, 3 etcd (etcd-data each), 2 lb, 31 + 4 (ssd) + 3 (gpu) workers, 2 ingress,
  3 storage (osd0 + osd1 each), 1 bastion = 52 machines (31 workers since issue 12: the add-ons'
  own requests on the worker pool need one more node, planning/platform_pods.py); 8 groups;
  floating IPs for the 2 ingress nodes and the bastion.

Control plane (issue 5), per stack with m etcd members and l lb machines:

- the etcd PKI and every generated secret (kubeadm init token and certificate key, the VRRP
  password) are computed from the stack's seed in the program (components/render/seed.py,
  etcd_pki.py): no resources, so none appear here;
- commands 2m + 1 (bootstrap and backup per member, one health step) plus 3l for
  haproxy-keepalived (prepare, haproxy, keepalived per lb machine): lab (m=1, Octavia) 3; test and
  prod (m=3, l=2) 7 + 6 = 13.
- lab: load balancer, listener, pool, monitor, 1 member; the API floating IP's association.
  test and prod: the VIP port.

kubeadm bootstrap (issue 6, components/control_plane/kubeadm_cluster.py; issue 14), per stack with M
masters, W other Kubernetes nodes (workers, ingress, storage) in P pools: one KubeadmCluster,
commands M (prep) + 2 (init, kubeconfig) + 2(M - 1) (secrets, join per further master) + W (one join
per worker: preparation, its own token, join) + P (one Node step per pool) + 1 (the join issuer, when
W > 0): lab (M=1, W=0) 3; test (M=2, W=4, P=2) 2 + 2 + 2 + 4 + 2 + 1 = 13; prod (M=3, W=44, P=5)
3 + 2 + 4 + 44 + 5 + 1 = 59 (32 general workers: the add-ons' requests need the 31st and 32nd,
planning/platform_pods.py). With M > 1 (issue 16), one `<first>-rejoin-secrets` step on master 2
(join material for a rebuilt master 1) and M - 1 `<master>-member` steps (a removed master is
drained and reset): test + 2, prod + 3.

Per worker: before issue 14 six resources (port, instance, prep, secrets, join, node steps), now
three (port, instance, join); the drain moved to the pool's Node step. Commands per stack, before ->
after (measured with prod's 30 general workers, before the add-on layer): lab 6 -> 6, test 35 -> 26,
prod 190 -> 70; every resource of the stack (engine preview, with the Platform component), before ->
after: test 118 -> 109, prod 384 -> 264; a prod-shaped stack of N workers grows by 3 per worker
instead of 6.

Add-on layer (issue 12, components/addons/): one explicit ``kubernetes`` provider per stack, from
the admin kubeconfig (components/addons/cluster.py), and per enabled add-on its component:

- Cni: one Release (lab: flannel; test, prod: tigera-operator);
- DnsAutoscaler, MetricsServer, Ingress: one Release each (test, prod; the lab has no ingress pool
  and leaves the other two off on its 2G node);
- Events (test, prod): ServiceAccount, ClusterRole, ClusterRoleBinding, the sink Secret, Deployment;
- Governance, per tenant t: Namespace, ResourceQuota, LimitRange, RoleBinding and 3 NetworkPolicies
  (default-deny, allow-dns, allow-same-namespace), plus allow-ingress-controller where ingress runs:
  lab 1 tenant x 3 policies, test 1 x 4, prod 2 x 4.

Data add-ons (issue 12 part 2, ``DATA_ADDONS`` below, merged into the table): lab none (all off);
test monitoring only (a Namespace, the etcd client and Grafana admin Secrets, the release); prod:
- storage: RookCeph with the operator and cluster releases;
- monitoring: as in test, its release with the PrometheusRules in its values;
- registry: Namespace, 4 Secrets (TLS, admin password, secretKey, robot secret), the release, the
  setup Job, one pull Secret per tenant namespace (prod: 2);
- logging (kafka): Namespace, the ECK and Strimzi releases, Elasticsearch, Kibana, Kafka,
  KafkaNodePool, KafkaTopic, Logstash, filebeat's ServiceAccount, ClusterRole, ClusterRoleBinding
  and Beat, the retention Job, Kibana's Ingress (kibanaHost).
Monitoring opens two rules per stack with dedicated etcd: etcd 2379 and 9100 from the workers.
"""

from __future__ import annotations


def _addons(releases: int, tenants: int, policies: int, events: bool, components: tuple[str, ...]) -> dict[str, int]:
    """The add-on layer's resources of one stack (see the docstring)."""
    counts = {"pulumi:providers:kubernetes": 1, "kubernetes:helm.sh/v3:Release": releases}
    counts |= {f"k8splatform:addons:{c}": 1 for c in components}
    if tenants:
        for kind in ("core/v1:Namespace", "core/v1:ResourceQuota", "core/v1:LimitRange"):
            counts[f"kubernetes:{kind}"] = tenants
        counts["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"] = tenants
        counts["kubernetes:networking.k8s.io/v1:NetworkPolicy"] = tenants * policies
    if events:
        for kind in ("core/v1:ServiceAccount", "core/v1:Secret", "apps/v1:Deployment"):
            counts[f"kubernetes:{kind}"] = 1
        counts["kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"] = 1
        counts["kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"] = 1
    return counts


ALL_ADDONS = ("Cni", "DnsAutoscaler", "MetricsServer", "Ingress", "Events", "Governance")


EXPECTED_COUNTS: dict[str, dict[str, int]] = {
    "lab": {
        "k8splatform:index:Platform": 1,
        "k8splatform:iaas:Iaas": 1,
        "k8splatform:iaas:Network": 1,
        "k8splatform:iaas:SecurityGroups": 1,
        "k8splatform:iaas:NodePool": 1,
        "openstack:compute/keypair:Keypair": 1,
        "openstack:networking/network:Network": 1,
        "openstack:networking/subnet:Subnet": 1,
        "openstack:networking/router:Router": 1,
        "openstack:networking/routerInterface:RouterInterface": 1,
        "openstack:networking/secGroup:SecGroup": 2,
        "openstack:networking/secGroupRule:SecGroupRule": 8,
        "openstack:compute/serverGroup:ServerGroup": 1,
        "openstack:networking/port:Port": 1,
        "openstack:compute/instance:Instance": 1,
        "openstack:networking/floatingIp:FloatingIp": 1,
        # Control plane (issue 5): endpoint and etcd cluster (components/control_plane/).
        "k8splatform:control_plane:ApiServerEndpoint": 1,
        "k8splatform:control_plane:EtcdCluster": 1,
        "command:remote:Command": 3 + 3,  # control plane + kubeadm bootstrap
        "openstack:loadbalancer/loadBalancer:LoadBalancer": 1,
        "openstack:loadbalancer/listener:Listener": 1,
        "openstack:loadbalancer/pool:Pool": 1,
        "openstack:loadbalancer/monitor:Monitor": 1,
        "openstack:loadbalancer/member:Member": 1,
        "openstack:networking/floatingIpAssociate:FloatingIpAssociate": 1,
        # kubeadm bootstrap (issue 6): the component (its init secrets derive from the stack's seed).
        "k8splatform:control_plane:KubeadmCluster": 1,
        # Add-on layer (issue 12): the provider and each add-on (components/addons/).
        **_addons(1, tenants=1, policies=3, events=False, components=("Cni", "Governance")),
    },
    "test": {
        "k8splatform:index:Platform": 1,
        "k8splatform:iaas:Iaas": 1,
        "k8splatform:iaas:Network": 1,
        "k8splatform:iaas:SecurityGroups": 1,
        "k8splatform:iaas:NodePool": 5,
        "openstack:compute/keypair:Keypair": 1,
        "openstack:networking/network:Network": 1,
        "openstack:networking/subnet:Subnet": 1,
        "openstack:networking/router:Router": 1,
        "openstack:networking/routerInterface:RouterInterface": 1,
        "openstack:networking/secGroup:SecGroup": 6,
        "openstack:networking/secGroupRule:SecGroupRule": 27 + 2,  # + etcd metrics, node-exporter (monitoring)
        "openstack:compute/serverGroup:ServerGroup": 5,
        "openstack:networking/port:Port": 12,  # 11 machines + the API VIP port
        "openstack:compute/instance:Instance": 11,
        "openstack:blockstorage/volume:Volume": 3,
        "openstack:compute/volumeAttach:VolumeAttach": 3,
        # Control plane (issue 5): endpoint and etcd cluster (components/control_plane/).
        "k8splatform:control_plane:ApiServerEndpoint": 1,
        "k8splatform:control_plane:EtcdCluster": 1,
        "command:remote:Command": 13 + 13 + 2,  # control plane + kubeadm bootstrap + rejoin secrets, master 2's member
        # kubeadm bootstrap (issue 6): the component (its init secrets derive from the stack's seed).
        "k8splatform:control_plane:KubeadmCluster": 1,
        # Add-on layer (issue 12): the provider and each add-on (components/addons/).
        **_addons(4, tenants=1, policies=4, events=True, components=ALL_ADDONS),
    },
    "prod": {
        "k8splatform:index:Platform": 1,
        "k8splatform:iaas:Iaas": 1,
        "k8splatform:iaas:Network": 1,
        "k8splatform:iaas:SecurityGroups": 1,
        "k8splatform:iaas:NodePool": 9,
        "openstack:compute/keypair:Keypair": 1,
        "openstack:networking/network:Network": 1,
        "openstack:networking/subnet:Subnet": 1,
        "openstack:networking/router:Router": 1,
        "openstack:networking/routerInterface:RouterInterface": 1,
        "openstack:networking/secGroup:SecGroup": 8,
        "openstack:networking/secGroupRule:SecGroupRule": 33 + 2,  # + etcd metrics, node-exporter (monitoring)
        "openstack:compute/serverGroup:ServerGroup": 9,
        "openstack:networking/port:Port": 54,  # 53 machines + the API VIP port
        "openstack:compute/instance:Instance": 53,
        "openstack:blockstorage/volume:Volume": 9,
        "openstack:compute/volumeAttach:VolumeAttach": 9,
        "openstack:networking/floatingIp:FloatingIp": 3,
        # Control plane (issue 5): endpoint and etcd cluster (components/control_plane/).
        "k8splatform:control_plane:ApiServerEndpoint": 1,
        "k8splatform:control_plane:EtcdCluster": 1,
        "command:remote:Command": 13 + 59 + 3,  # control plane + kubeadm + rejoin secrets, masters 2-3's members
        # kubeadm bootstrap (issue 6): the component (its init secrets derive from the stack's seed).
        "k8splatform:control_plane:KubeadmCluster": 1,
        # Add-on layer (issue 12): the provider and each add-on (components/addons/).
        **_addons(4, tenants=2, policies=4, events=True, components=ALL_ADDONS),
    },
}

DATA_ADDONS: dict[str, dict[str, int]] = {
    "lab": {},
    "test": {
        "k8splatform:addons:Monitoring": 1,
        "kubernetes:core/v1:Namespace": 1,
        "kubernetes:core/v1:Secret": 2,
        "kubernetes:helm.sh/v3:Release": 1,
    },
    "prod": {
        "k8splatform:addons:RookCeph": 1,
        "k8splatform:addons:Monitoring": 1,
        "k8splatform:addons:Registry": 1,
        "k8splatform:addons:Logging": 1,
        "kubernetes:helm.sh/v3:Release": 2 + 1 + 1 + 2,  # rook-ceph (2), monitoring, harbor, eck + strimzi
        "kubernetes:core/v1:Namespace": 3,  # monitoring, harbor, logging
        "kubernetes:core/v1:Secret": 2 + 4 + 2,  # monitoring, registry, a pull secret per tenant (2)
        "kubernetes:batch/v1:Job": 2,  # harbor setup, log retention
        "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch": 1,
        "kubernetes:kibana.k8s.elastic.co/v1:Kibana": 1,
        "kubernetes:logstash.k8s.elastic.co/v1alpha1:Logstash": 1,
        "kubernetes:beat.k8s.elastic.co/v1beta1:Beat": 1,
        "kubernetes:kafka.strimzi.io/v1:Kafka": 1,
        "kubernetes:kafka.strimzi.io/v1:KafkaNodePool": 1,
        "kubernetes:kafka.strimzi.io/v1:KafkaTopic": 1,
        "kubernetes:core/v1:ServiceAccount": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": 1,
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": 1,
        "kubernetes:networking.k8s.io/v1:Ingress": 1,
    },
}
"""What the data add-ons register per stack (components/platform_data.py)."""

for _stack, _counts in DATA_ADDONS.items():
    for _type, _count in _counts.items():
        EXPECTED_COUNTS[_stack][_type] = EXPECTED_COUNTS[_stack].get(_type, 0) + _count

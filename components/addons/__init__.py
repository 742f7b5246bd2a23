"""The add-on layer: what runs on the cluster KubeadmCluster builds (CNI, DNS autoscaling, metrics,
ingress, events, governance; storage, registry, monitoring, logging), one ComponentResource per
module, through one explicit Kubernetes provider (cluster.py) and one Helm release helper (chart.py)."""

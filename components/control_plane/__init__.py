"""The HA control plane: the API-server endpoint, the etcd cluster (issue 5) and the kubeadm bootstrap.

``api_endpoint.ApiServerEndpoint`` (haproxy + keepalived on the lb machines, or Octavia),
``etcd_cluster.EtcdCluster`` (systemd etcd members with their own PKI, a health gate and
scheduled snapshots) and ``kubeadm_cluster.KubeadmCluster``. The SSH steps they run are pure
text in ``remote_scripts``, ``etcd_scripts`` and ``kubeadm_scripts``.
"""

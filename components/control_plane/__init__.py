"""The HA control plane, part 1 (issue 5): the API-server endpoint and the etcd cluster.

``api_endpoint.ApiServerEndpoint`` (haproxy + keepalived on the lb machines, or Octavia) and
``etcd_cluster.EtcdCluster`` (systemd etcd members with their own PKI, a health gate and
scheduled snapshots). The SSH steps they run are pure text in ``remote_scripts``.
"""

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
- prod: 3 masters, 3 etcd (etcd-data each), 2 lb, 30 + 4 (ssd) + 3 (gpu) workers, 2 ingress,
  3 storage (osd0 + osd1 each), 1 bastion = 51 machines; 8 groups; floating IPs for the 2 ingress
  nodes and the bastion.
"""

from __future__ import annotations

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
        "openstack:networking/secGroupRule:SecGroupRule": 26,
        "openstack:compute/serverGroup:ServerGroup": 5,
        "openstack:networking/port:Port": 11,
        "openstack:compute/instance:Instance": 11,
        "openstack:blockstorage/volume:Volume": 3,
        "openstack:compute/volumeAttach:VolumeAttach": 3,
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
        "openstack:networking/secGroupRule:SecGroupRule": 32,
        "openstack:compute/serverGroup:ServerGroup": 9,
        "openstack:networking/port:Port": 51,
        "openstack:compute/instance:Instance": 51,
        "openstack:blockstorage/volume:Volume": 9,
        "openstack:compute/volumeAttach:VolumeAttach": 9,
        "openstack:networking/floatingIp:FloatingIp": 3,
    },
}

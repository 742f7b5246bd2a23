"""The platform, layer by layer; all logic lives in components/."""

import pulumi

from components.platform import Platform, PlatformArgs, load_spec

spec = load_spec()
platform = Platform("platform", PlatformArgs(spec=spec))

pulumi.export("environment", spec.environment.value)
pulumi.export("capacity_plan", platform.capacity_plan)

# IaaS
pulumi.export("network_id", platform.iaas.network_id)
pulumi.export("subnet_id", platform.iaas.subnet_id)
pulumi.export("security_group_ids", platform.iaas.security_group_ids)
pulumi.export("nodes", [node.to_output() for node in platform.nodes])
pulumi.export("api_floating_ip", platform.iaas.api_floating_ip)

# Control plane: API endpoint and etcd
pulumi.export("api_endpoint_host", platform.api_endpoint.host)
pulumi.export("api_endpoint_port", platform.api_endpoint.port)
pulumi.export("etcd_endpoints", platform.etcd.endpoints)

# Kubernetes (kubeadm): the admin kubeconfig, a secret output
pulumi.export("kubeconfig", platform.kubeadm.kubeconfig)

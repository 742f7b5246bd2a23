"""The IaaS layer on OpenStack: network, security groups (rules as data), node pools, floating IPs.

Import the modules themselves (``components.iaas.network`` ...): this package file stays empty so
that ``components.iaas.rules_table`` can be imported, and its doc generator ``rules_doc`` run,
without Pulumi.
"""

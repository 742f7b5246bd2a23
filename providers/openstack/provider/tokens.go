package provider

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	bridgetokens "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Token rule (checked against the tokens pulumi-openstack 5.5.1 registers, see
// tests/providers/test_openstack_plugin.py):
//
//	openstack_<group>_<rest>  ->  openstack:<module>/<lowerFirst(Name)>:<Name>
//
// where <module> is modules[<group>] and Name is the camel case of <rest>, version suffix included
// ("networking_address_group_v2" -> networking AddressGroupV2; data sources get a "get" prefix).
// That is how the SDK names every type added since the bridge started inferring tokens. The older
// types kept the names they were first published under, usually without the version suffix; those
// are listed in legacyResources and legacyDataSources. A group with no module (taas, workflow) goes
// to the index module under the camel case of the whole name, without a "get" for data sources.
var modules = map[string]string{
	"bgpvpn":           "bgpvpn",
	"blockstorage":     "blockstorage",
	"compute":          "compute",
	"containerinfra":   "containerinfra",
	"db":               "database",
	"dns":              "dns",
	"fw":               "firewall",
	"identity":         "identity",
	"images":           "images",
	"keymanager":       "keymanager",
	"lb":               "loadbalancer",
	"loadbalancer":     "loadbalancer",
	"networking":       "networking",
	"objectstorage":    "objectstorage",
	"orchestration":    "orchestration",
	"sharedfilesystem": "sharedfilesystem",
	"vpnaas":           "vpnaas",
}

// legacyResources: Terraform name without "openstack_" -> the SDK's type name, where that is not
// the camel case of the name.
var legacyResources = map[string]string{
	"blockstorage_quotaset_v3":      "QuoteSetV3", // sic
	"blockstorage_volume_attach_v3": "VolumeAttach",
	"blockstorage_volume_v3":        "Volume",

	"compute_flavor_access_v2":    "FlavorAccess",
	"compute_flavor_v2":           "Flavor",
	"compute_instance_v2":         "Instance",
	"compute_interface_attach_v2": "InterfaceAttach",
	"compute_keypair_v2":          "Keypair",
	"compute_quotaset_v2":         "QuotaSetV2",
	"compute_servergroup_v2":      "ServerGroup",
	"compute_volume_attach_v2":    "VolumeAttach",

	"containerinfra_cluster_v1":         "Cluster",
	"containerinfra_clustertemplate_v1": "ClusterTemplate",
	"containerinfra_nodegroup_v1":       "NodeGroup",

	"db_configuration_v1": "Configuration",
	"db_database_v1":      "Database",
	"db_instance_v1":      "Instance",
	"db_user_v1":          "User",

	"dns_recordset_v2":        "RecordSet",
	"dns_transfer_accept_v2":  "TransferAccept",
	"dns_transfer_request_v2": "TransferRequest",
	"dns_zone_v2":             "Zone",

	"identity_application_credential_v3":  "ApplicationCredential",
	"identity_inherit_role_assignment_v3": "InheritRoleAssignment",
	"identity_project_v3":                 "Project",
	"identity_role_assignment_v3":         "RoleAssignment",
	"identity_role_v3":                    "Role",
	"identity_user_v3":                    "User",

	"images_image_access_accept_v2": "ImageAccessAccept",
	"images_image_access_v2":        "ImageAccess",
	"images_image_v2":               "Image",

	"lb_l7policy_v2":     "L7PolicyV2",
	"lb_l7rule_v2":       "L7RuleV2",
	"lb_listener_v2":     "Listener",
	"lb_loadbalancer_v2": "LoadBalancer",
	"lb_member_v2":       "Member",
	"lb_members_v2":      "Members",
	"lb_monitor_v2":      "Monitor",
	"lb_pool_v2":         "Pool",
	"lb_quota_v2":        "Quota",

	"networking_addressscope_v2":               "AddressScope",
	"networking_floatingip_associate_v2":       "FloatingIpAssociate",
	"networking_floatingip_v2":                 "FloatingIp",
	"networking_network_v2":                    "Network",
	"networking_port_secgroup_associate_v2":    "PortSecGroupAssociate",
	"networking_port_v2":                       "Port",
	"networking_portforwarding_v2":             "PortForwardingV2",
	"networking_qos_bandwidth_limit_rule_v2":   "QosBandwidthLimitRule",
	"networking_qos_dscp_marking_rule_v2":      "QosDscpMarkingRule",
	"networking_qos_minimum_bandwidth_rule_v2": "QosMinimumBandwidthRule",
	"networking_qos_policy_v2":                 "QosPolicy",
	"networking_router_interface_v2":           "RouterInterface",
	"networking_router_route_v2":               "RouterRoute",
	"networking_router_v2":                     "Router",
	"networking_secgroup_rule_v2":              "SecGroupRule",
	"networking_secgroup_v2":                   "SecGroup",
	"networking_subnet_route_v2":               "SubnetRoute",
	"networking_subnet_v2":                     "Subnet",
	"networking_subnetpool_v2":                 "SubnetPool",
	"networking_trunk_v2":                      "Trunk",

	"objectstorage_container_v1": "Container",
	"objectstorage_object_v1":    "ContainerObject",
	"objectstorage_tempurl_v1":   "TempUrl",

	"sharedfilesystem_securityservice_v2": "SecurityService",
	"sharedfilesystem_share_access_v2":    "ShareAccess",
	"sharedfilesystem_share_v2":           "Share",
	"sharedfilesystem_sharenetwork_v2":    "ShareNetwork",

	"vpnaas_endpoint_group_v2":  "EndpointGroup",
	"vpnaas_ike_policy_v2":      "IkePolicy",
	"vpnaas_ipsec_policy_v2":    "IpSecPolicy",
	"vpnaas_service_v2":         "Service",
	"vpnaas_site_connection_v2": "SiteConnection",
}

// legacyDataSources: as legacyResources, for data sources (SDK function names).
var legacyDataSources = map[string]string{
	"compute_availability_zones_v2": "getAvailabilityZones",
	"compute_flavor_v2":             "getFlavor",
	"compute_keypair_v2":            "getKeypair",
	"compute_quotaset_v2":           "getQuotaSetV2",

	"containerinfra_cluster_v1":         "getCluster",
	"containerinfra_clustertemplate_v1": "getClusterTemplate",
	"containerinfra_nodegroup_v1":       "getNodeGroup",

	"dns_zone_v2": "getDnsZone",

	"identity_auth_scope_v3": "getAuthScope",
	"identity_endpoint_v3":   "getEndpoint",
	"identity_group_v3":      "getGroup",
	"identity_project_v3":    "getProject",
	"identity_role_v3":       "getRole",
	"identity_service_v3":    "getService",
	"identity_user_v3":       "getUser",

	"images_image_ids_v2": "getImageIds",
	"images_image_v2":     "getImage",

	"keymanager_container_v1": "getContainer",
	"keymanager_secret_v1":    "getSecret",

	// The older of the two flavor data sources; "lb_flavor_v2" takes the inferred getFlavorV2.
	"loadbalancer_flavor_v2": "getLbFlavorDeprecated",

	"networking_addressscope_v2":               "getAddressScope",
	"networking_floatingip_v2":                 "getFloatingIp",
	"networking_network_v2":                    "getNetwork",
	"networking_port_ids_v2":                   "getPortIds",
	"networking_port_v2":                       "getPort",
	"networking_qos_bandwidth_limit_rule_v2":   "getQosBandwidthLimitRule",
	"networking_qos_dscp_marking_rule_v2":      "getQosDscpMarkingRule",
	"networking_qos_minimum_bandwidth_rule_v2": "getQosMinimumBandwidthRule",
	"networking_qos_policy_v2":                 "getQosPolicy",
	"networking_router_v2":                     "getRouter",
	"networking_secgroup_v2":                   "getSecGroup",
	"networking_subnet_v2":                     "getSubnet",
	"networking_subnetpool_v2":                 "getSubnetPool",
	"networking_trunk_v2":                      "getTrunk",

	"sharedfilesystem_availability_zones_v2": "getAvailbilityZones", // sic
	"sharedfilesystem_share_v2":              "getShare",
	"sharedfilesystem_sharenetwork_v2":       "getShareNetwork",
	"sharedfilesystem_snapshot_v2":           "getSnapshot",
}

// movedOutOfIndex: types first published in the index module, before their group got a module.
// The SDK still ships the old token as a deprecated copy that aliases the current one.
var movedOutOfIndex = struct{ resources, dataSources []string }{
	resources: []string{
		"bgpvpn_network_associate_v2", "bgpvpn_port_associate_v2", "bgpvpn_router_associate_v2",
		"bgpvpn_v2", "lb_flavorprofile_v2", "lb_loadbalancer_v2",
	},
	dataSources: []string{"fw_group_v2", "fw_policy_v2", "fw_rule_v2"},
}

const tfPrefix = "openstack_"

var makeToken = bridgetokens.MakeStandard("openstack")

// tokenFor returns the SDK token of a Terraform resource or data source (see the rule above).
func tokenFor(tfName string, dataSource bool) (string, error) {
	rest, ok := strings.CutPrefix(tfName, tfPrefix)
	if !ok {
		return "", fmt.Errorf("%q does not start with %q", tfName, tfPrefix)
	}
	legacy := legacyResources
	if dataSource {
		legacy = legacyDataSources
	}
	group, tail, _ := strings.Cut(rest, "_")
	module, known := modules[group]
	switch name, isLegacy := legacy[rest]; {
	case isLegacy && known:
		return makeToken(module, name)
	case isLegacy:
		return "", fmt.Errorf("%q is listed as legacy but %q has no module", tfName, group)
	case !known:
		return makeToken("index", camel(rest))
	case dataSource:
		return makeToken(module, "get"+camel(tail))
	default:
		return makeToken(module, camel(tail))
	}
}

// indexToken is the token a type had before its group got a module.
func indexToken(tfName string, dataSource bool) (string, error) {
	name := camel(strings.TrimPrefix(tfName, tfPrefix))
	if dataSource {
		name = "get" + name
	}
	return makeToken("index", name)
}

// camel turns "qos_association_v3" into "QosAssociationV3".
func camel(snake string) string {
	var b strings.Builder
	for _, word := range strings.Split(snake, "_") {
		if word != "" {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String()
}

func tokenStrategy() tfbridge.Strategy {
	return tfbridge.Strategy{
		Resource: func(tfName string, r *tfbridge.ResourceInfo) error {
			if r.Tok != "" {
				return nil
			}
			tok, err := tokenFor(tfName, false)
			r.Tok = tokens.Type(tok)
			return err
		},
		DataSource: func(tfName string, d *tfbridge.DataSourceInfo) error {
			if d.Tok != "" {
				return nil
			}
			tok, err := tokenFor(tfName, true)
			d.Tok = tokens.ModuleMember(tok)
			return err
		},
	}
}

// keepIndexAliases adds the deprecated index-module copies listed in movedOutOfIndex. The bridge
// would derive them from a bridge-metadata.json history; ours starts empty, so they are stated here.
func keepIndexAliases(prov *tfbridge.ProviderInfo) {
	for _, rest := range movedOutOfIndex.resources {
		tf := tfPrefix + rest
		current := prov.Resources[tf].Tok
		old := mustToken(indexToken(tf, false))
		prov.RenameResourceWithAlias(tf, tokens.Type(old), current,
			tokens.Type(old).Module().Name().String(), current.Module().Name().String(), prov.Resources[tf])
	}
	for _, rest := range movedOutOfIndex.dataSources {
		tf := tfPrefix + rest
		current := prov.DataSources[tf].Tok
		old := tokens.ModuleMember(mustToken(indexToken(tf, true)))
		prov.RenameDataSource(tf, old, current,
			old.Module().Name().String(), current.Module().Name().String(), prov.DataSources[tf])
	}
}

func mustToken(tok string, err error) string {
	if err != nil {
		panic(err)
	}
	return tok
}

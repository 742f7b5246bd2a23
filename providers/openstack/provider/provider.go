// Package provider bridges terraform-provider-openstack v3.4.0 to Pulumi under the tokens and
// property names of the pulumi-openstack 5.5.1 SDKs, so that the published Python SDK can drive it.
// The token rules live in tokens.go; this file holds the provider-level settings.
package provider

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/terraform-provider-openstack/terraform-provider-openstack/v3/openstack"
)

// Version is the plugin version reported to the engine; the build sets it with
// -ldflags "-X <module>/provider.Version=5.5.1" to the SDK release it serves.
var Version = "0.0.0-dev"

// Provider returns the bridge's description of the provider. metadata is the bridge-metadata.json
// that tfgen wrote next to schema.json (nil while tfgen itself runs): the running plugin must see
// the same auto-alias and max-items-one history the schema was generated with.
func Provider(metadata []byte) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(openstack.Provider()),
		Name:        "openstack",
		Version:     Version,
		Description: "A Pulumi package for creating and managing OpenStack cloud resources.",
		Keywords:    []string{"pulumi", "openstack"},
		License:     "Apache-2.0",
		Homepage:    "https://pulumi.io",
		Repository:  "https://github.com/pulumi/pulumi-openstack",
		// tfgen reads the Terraform docs (resource descriptions) from this module's copy in the
		// Go module cache; nothing is fetched from GitHub.
		GitHubOrg:               "terraform-provider-openstack",
		TFProviderModuleVersion: "v3",
		MetadataInfo:            tfbridge.NewProviderMetadata(metadata),

		// The Terraform provider already reads OS_AUTH_URL, OS_USERNAME, … itself. These are the
		// settings whose environment variables the SDK's Config also documents (pulumi_openstack/config),
		// so the schema states them as defaults the same way.
		Config: map[string]*tfbridge.SchemaInfo{
			"region":        envDefault("OS_REGION_NAME"),
			"insecure":      envDefault("OS_INSECURE"),
			"endpoint_type": envDefault("OS_ENDPOINT_TYPE"),
			"swauth":        envDefault("OS_SWAUTH"),
			"cloud":         envDefault("OS_CLOUD"),
			"delayed_auth":  envDefault("OS_DELAYED_AUTH"),
			"allow_reauth":  envDefault("OS_ALLOW_REAUTH"),
		},

		Resources: map[string]*tfbridge.ResourceInfo{
			// C# cannot name a property like its class (Members.Members).
			"openstack_lb_members_v2": {Fields: map[string]*tfbridge.SchemaInfo{
				"member": {CSharpName: "MemberList"},
			}},
			// The SDK publishes the stack's "outputs" as StackOutputs.
			"openstack_orchestration_stack_v1": {Fields: map[string]*tfbridge.SchemaInfo{
				"outputs": {Name: "StackOutputs"},
			}},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{},
	}

	prov.MustComputeTokens(tokenStrategy())
	keepIndexAliases(&prov)
	prov.MustApplyAutoAliases()
	// Like the official plugin: an omitted `name` input gets "<resource name>-<random suffix>".
	prov.SetAutonaming(255, "-")
	return prov
}

func envDefault(vars ...string) *tfbridge.SchemaInfo {
	return &tfbridge.SchemaInfo{Default: &tfbridge.DefaultInfo{EnvVars: vars}}
}

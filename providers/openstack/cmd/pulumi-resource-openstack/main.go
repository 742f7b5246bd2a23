// pulumi-resource-openstack is the bridged resource provider plugin. It embeds the schema and
// bridge metadata that pulumi-tfgen-openstack wrote into this directory at build time (they are
// build outputs, not committed: run scripts/toolchain/openstack.sh's build, or tfgen, first).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"k8s-platform/providers/openstack/provider"
)

//go:embed schema.json
var schema []byte

//go:embed bridge-metadata.json
var metadata []byte

func main() {
	tfbridge.Main("openstack", provider.Version, provider.Provider(metadata), schema)
}

// pulumi-tfgen-openstack writes the Pulumi schema of the bridged provider:
//
//	pulumi-tfgen-openstack schema --skip-examples --out cmd/pulumi-resource-openstack
//
// leaves schema.json and bridge-metadata.json there for the resource plugin to embed. Run it from
// the module root: tfgen finds the Terraform docs through `go mod download` in ./provider.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"github.com/spf13/afero"

	"k8s-platform/providers/openstack/provider"
)

func main() {
	prov := provider.Provider(nil)
	if err := prov.P.InternalValidate(); err != nil {
		fmt.Fprintf(os.Stderr, "the Terraform provider's schema is invalid: %v\n", err)
		os.Exit(1)
	}
	tfgen.MainWithCustomGenerate("openstack", provider.Version, prov, func(opts tfgen.GeneratorOptions) error {
		g, err := tfgen.NewGenerator(opts)
		if err != nil {
			return err
		}
		if _, err := g.Generate(); err != nil {
			return err
		}
		if opts.Language != tfgen.Schema {
			return nil
		}
		return stampVersion(opts.Root, opts.Version)
	})
}

// stampVersion puts the plugin version into schema.json. tfgen leaves it out so that a committed
// schema stays stable; ours is a build output, and `pulumi package get-schema` should report the
// version the plugin serves.
func stampVersion(root afero.Fs, version string) error {
	raw, err := afero.ReadFile(root, "schema.json")
	if err != nil {
		return err
	}
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("schema.json: %w", err)
	}
	if spec["version"], err = json.Marshal(version); err != nil {
		return err
	}
	if raw, err = json.Marshal(spec); err != nil {
		return err
	}
	return afero.WriteFile(root, "schema.json", raw, 0o644)
}

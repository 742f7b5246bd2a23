// Command pulumi-resource-command is k8s-platform's own build of the Pulumi `command` provider:
// command:remote:Command with the schema and behaviour of pulumi-command 1.2.1 (see README.md).
// The engine starts it with the address of its host service as the only argument.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"k8s-platform/providers/command/internal/provider"
	"k8s-platform/providers/command/internal/sshconn"
)

// version is what GetPluginInfo reports; the build sets it (-X main.version=...) to the pinned
// pulumi-command version, which must be provider.SchemaVersion.
var version = provider.SchemaVersion

func main() {
	if len(os.Args) == 2 && (os.Args[1] == "-version" || os.Args[1] == "--version") {
		fmt.Println(version)
		return
	}
	err := pprovider.Main("command", func(host *pprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		var h provider.Host = stderrHost{}
		if host != nil { // nil when started without an engine address (attach mode)
			h = host
		}
		return provider.New(h, version, sshconn.DefaultOptions()), nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// stderrHost prints diagnostics when there is no engine to send them to.
type stderrHost struct{}

func (stderrHost) Log(_ context.Context, sev diag.Severity, urn resource.URN, msg string) error {
	_, err := fmt.Fprintf(os.Stderr, "%s %s: %s\n", sev, urn.Name(), msg)
	return err
}

func (h stderrHost) LogStatus(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error {
	return h.Log(ctx, sev, urn, msg)
}

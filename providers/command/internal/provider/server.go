// Package provider implements the Pulumi resource provider gRPC interface for
// command:remote:Command, following pulumi-command 1.2.1's behaviour.
package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"

	"k8s-platform/providers/command/internal/sshconn"
)

// SchemaVersion is the pulumi-command release whose schema and behaviour this build implements.
const SchemaVersion = "1.2.1"

// Host is where diagnostics go: the engine (*provider.HostClient satisfies it) or a test recorder.
type Host interface {
	Log(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error
	LogStatus(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error
}

// Server is the command provider.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer

	host    Host
	version string
	ssh     sshconn.Options

	// cancelled ends when the engine calls Cancel; every operation's context derives from it.
	cancelled context.Context
	cancel    context.CancelFunc
}

// New returns a provider that reports version and logs to host.
func New(host Host, version string, opts sshconn.Options) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{host: host, version: version, ssh: opts, cancelled: ctx, cancel: cancel}
}

func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

func (s *Server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	b, err := schemaJSON(s.version)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetSchemaResponse{Schema: string(b)}, nil
}

// CheckConfig: the provider has no configuration of its own (upstream's config is empty); the
// engine's `version` and any other keys are passed back unchanged.
func (s *Server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

// DiffConfig: nothing in the configuration affects resources, so a change never replaces them.
func (s *Server) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := unmarshal("olds", req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := unmarshal("news", req.GetNews())
	if err != nil {
		return nil, err
	}
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if d := withoutEngineKeys(olds).Diff(withoutEngineKeys(news)); d != nil && d.AnyChanges() {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes}, nil
}

// Configure: secrets arrive as secrets (so they stay secret in state and are never logged) and
// Create/Update are called in previews too (to return unknown outputs, as upstream).
func (s *Server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

// Cancel stops every running command: the engine calls it when the user interrupts an update.
func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	s.cancel()
	return &emptypb.Empty{}, nil
}

// Invoke: upstream's only function, command:local:run, is not implemented here.
func (s *Server) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	return nil, fmt.Errorf("function %s is not implemented by this build of the command provider: it implements "+
		"only %s (k8s-platform's own implementation; see providers/command/README.md)", req.GetTok(), commandToken)
}

// withoutEngineKeys drops `version` and `__`-prefixed keys, which the engine adds, not the user.
func withoutEngineKeys(m resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range m {
		if k != "version" && !strings.HasPrefix(string(k), "__") {
			out[k] = v
		}
	}
	return out
}

// checkType rejects the resources this build does not implement, naming what it does.
func checkType(typ, urn string) error {
	if typ == "" {
		typ = string(resource.URN(urn).Type())
	}
	if typ != commandToken {
		return fmt.Errorf("resource type %s is not implemented by this build of the command provider: it "+
			"implements only %s (k8s-platform's own implementation; see providers/command/README.md)", typ, commandToken)
	}
	return nil
}

func name(reqName, urn string) string {
	if reqName != "" {
		return reqName
	}
	return resource.URN(urn).Name()
}

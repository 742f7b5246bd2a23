package provider

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"google.golang.org/protobuf/types/known/structpb"

	"k8s-platform/providers/command/internal/sshconn"
	"k8s-platform/providers/command/internal/sshdtest"
)

// recorder is the engine's log, as the provider sees it.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Log(_ context.Context, sev diag.Severity, urn resource.URN, msg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, string(sev)+" "+urn.Name()+": "+msg)
	return nil
}

func (r *recorder) LogStatus(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error {
	return r.Log(ctx, sev, urn, "(status) "+msg)
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

func urn(name string) string { return "urn:pulumi:test::proj::" + commandToken + "::" + name }

func newServer() (*Server, *recorder) {
	host := &recorder{}
	opts := sshconn.DefaultOptions()
	opts.RetryDelay = 100 * time.Millisecond
	return New(host, SchemaVersion, opts), host
}

func toStruct(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := marshal("test", m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fromStruct(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := unmarshal("test", s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func obj(m map[string]any) resource.PropertyValue {
	return resource.NewObjectProperty(resource.NewPropertyMapFromMap(m))
}

func secret(v any) resource.PropertyValue { return resource.MakeSecret(resource.NewPropertyValue(v)) }

// check runs Check and fails the test on check failures.
func check(t *testing.T, s *Server, name string, inputs resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	resp, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn(name), News: toStruct(t, inputs)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Failures) > 0 {
		t.Fatalf("check failures: %v", resp.Failures)
	}
	return fromStruct(t, resp.Inputs)
}

func create(t *testing.T, s *Server, name string, inputs resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	t.Helper()
	resp, err := s.Create(context.Background(), &pulumirpc.CreateRequest{
		Urn: urn(name), Properties: toStruct(t, inputs), Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	return fromStruct(t, resp.Properties), nil
}

func update(t *testing.T, s *Server, name string, olds, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	t.Helper()
	resp, err := s.Update(context.Background(), &pulumirpc.UpdateRequest{
		Urn: urn(name), Olds: toStruct(t, olds), News: toStruct(t, news), Preview: preview,
	})
	if err != nil {
		return nil, err
	}
	return fromStruct(t, resp.Properties), nil
}

func del(t *testing.T, s *Server, name string, state resource.PropertyMap) error {
	t.Helper()
	_, err := s.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: urn(name), Properties: toStruct(t, state)})
	return err
}

// hosts is a target reached through a bastion, both real sshd, sharing one client key.
type hosts struct {
	bastion, target *sshdtest.Server
	key             string
}

func startHosts(t *testing.T, target sshdtest.Options) *hosts {
	signer, key := sshdtest.NewKey(t, "")
	keys := []ssh.PublicKey{signer.PublicKey()}
	target.AuthorizedKeys, target.Role = keys, "target"
	return &hosts{
		bastion: sshdtest.Start(t, sshdtest.Options{Role: "bastion", AuthorizedKeys: keys}),
		target:  sshdtest.Start(t, target),
		key:     key,
	}
}

// connection is the `connection` input for the target via the bastion, with both host keys.
func (h *hosts) connection() resource.PropertyValue {
	return obj(map[string]any{
		"host": "127.0.0.1", "port": float64(h.target.Port), "user": h.target.User,
		"privateKey": h.key, "hostKey": h.target.HostKey["ed25519"],
		"proxy": map[string]any{
			"host": "127.0.0.1", "port": float64(h.bastion.Port), "user": h.bastion.User,
			"privateKey": h.key, "hostKey": h.bastion.HostKey["ed25519"],
		},
	})
}

func isUnknown(v resource.PropertyValue) bool { return plain(v).IsComputed() }

func stringOf(t *testing.T, m resource.PropertyMap, key string) string {
	t.Helper()
	s, ok := str(m, key)
	if !ok {
		t.Fatalf("%s is not a known string: %v", key, m[resource.PropertyKey(key)])
	}
	return s
}

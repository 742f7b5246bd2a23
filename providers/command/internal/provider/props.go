package provider

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/types/known/structpb"

	"k8s-platform/providers/command/internal/sshconn"
)

// Secrets and unknowns travel both ways (Configure answers acceptSecrets), and resource
// references inside `triggers` are kept as they are.
func unmarshal(label string, s *structpb.Struct) (resource.PropertyMap, error) {
	m, err := plugin.UnmarshalProperties(s, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, KeepResources: true,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return m, nil
}

func marshal(label string, m resource.PropertyMap) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, KeepResources: true,
	})
}

// plain strips a top-level secret marker.
func plain(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

// str returns m[key] as a string, and whether it is set.
func str(m resource.PropertyMap, key string) (string, bool) {
	v := plain(m[resource.PropertyKey(key)])
	if !v.IsString() {
		return "", false
	}
	return v.StringValue(), true
}

func strPtr(m resource.PropertyMap, key string) *string {
	if s, ok := str(m, key); ok {
		return &s
	}
	return nil
}

func number(m resource.PropertyMap, key string, def float64) float64 {
	if v := plain(m[resource.PropertyKey(key)]); v.IsNumber() {
		return v.NumberValue()
	}
	return def
}

func object(m resource.PropertyMap, key string) (resource.PropertyMap, bool) {
	v := plain(m[resource.PropertyKey(key)])
	if !v.IsObject() {
		return nil, false
	}
	return v.ObjectValue(), true
}

// isSecret: the value, or anything inside it, is secret.
func isSecret(m resource.PropertyMap, key string) bool {
	v, ok := m[resource.PropertyKey(key)]
	return ok && v.ContainsSecrets()
}

// outputsAreSecret: stdout and stderr become secret when what produces them is secret: the
// commands, stdin or the environment. (Upstream only keeps same-named outputs secret and
// leaves this to additionalSecretOutputs; being stricter cannot leak anything.)
func outputsAreSecret(inputs resource.PropertyMap) bool {
	for _, key := range []string{"create", "update", "delete", "stdin", "environment"} {
		if isSecret(inputs, key) {
			return true
		}
	}
	return false
}

// target maps a checked `connection` onto the SSH client's settings. Defaults are applied
// again so that state written without them (it should not happen) still works.
func target(inputs resource.PropertyMap) (*sshconn.Target, error) {
	conn, ok := object(inputs, "connection")
	if !ok {
		return nil, fmt.Errorf("connection is missing or not known yet")
	}
	e, err := endpoint(conn, "connection")
	if err != nil {
		return nil, err
	}
	t := &sshconn.Target{Endpoint: *e}
	if proxy, ok := object(conn, "proxy"); ok {
		if t.Proxy, err = endpoint(proxy, "connection.proxy"); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func endpoint(m resource.PropertyMap, path string) (*sshconn.Endpoint, error) {
	host, ok := str(m, "host")
	if !ok || host == "" {
		return nil, fmt.Errorf("%s.host is missing or not known yet", path)
	}
	user, ok := str(m, "user")
	if !ok {
		user = "root"
	}
	return &sshconn.Endpoint{
		Host:               host,
		Port:               int(number(m, "port", 22)),
		User:               user,
		Password:           strPtr(m, "password"),
		PrivateKey:         strPtr(m, "privateKey"),
		PrivateKeyPassword: strPtr(m, "privateKeyPassword"),
		AgentSocketPath:    strPtr(m, "agentSocketPath"),
		DialErrorLimit:     int(number(m, "dialErrorLimit", 10)),
		PerDialTimeout:     time.Duration(number(m, "perDialTimeout", 15)) * time.Second,
		HostKey:            strPtr(m, "hostKey"),
	}, nil
}

package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestCheckFillsUpstreamDefaultsAndMarksSecrets(t *testing.T) {
	s, _ := newServer()
	got := check(t, s, "c", resource.PropertyMap{
		"connection": obj(map[string]any{
			"host": "10.0.0.5", "password": "pw-value",
			"proxy": map[string]any{"host": "203.0.113.1", "privateKey": "key-value"},
		}),
		"create":       resource.NewStringProperty("true"),
		"notInSchema":  resource.NewStringProperty("dropped, as upstream does"),
		"environment":  obj(map[string]any{"A": "b"}),
		"triggers":     resource.NewArrayProperty([]resource.PropertyValue{resource.NewNumberProperty(1)}),
		"addPrevious":  resource.NewBoolProperty(true),
		"logging":      resource.NewStringProperty("none"),
		"stdin":        resource.MakeSecret(resource.NewStringProperty("in")),
		"__engineOnly": resource.NewStringProperty("x"),
	})
	conn := got["connection"]
	if !conn.IsSecret() {
		t.Fatal("connection must be secret")
	}
	c := plain(conn).ObjectValue()
	want := map[string]any{"user": "root", "port": 22.0, "dialErrorLimit": 10.0, "perDialTimeout": 15.0}
	for _, m := range []resource.PropertyMap{c, plain(c["proxy"]).ObjectValue()} {
		for k, v := range want {
			if m[resource.PropertyKey(k)].V != v {
				t.Errorf("default %s: got %v, want %v", k, m[resource.PropertyKey(k)], v)
			}
		}
		if _, ok := m["agentSocketPath"]; ok {
			t.Error("agentSocketPath must not be filled in by Check (SSH_AUTH_SOCK is read at run time)")
		}
	}
	if !c["password"].IsSecret() || !plain(c["proxy"]).ObjectValue()["privateKey"].IsSecret() {
		t.Error("password and privateKey must be secret inside the connection too")
	}
	for _, k := range []resource.PropertyKey{"notInSchema", "addPrevious", "__engineOnly", "addPreviousOutputInEnv"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s must not be in the checked inputs", k)
		}
	}
	if !got["stdin"].IsSecret() || stringOf(t, got, "logging") != "none" {
		t.Errorf("stdin must stay secret, logging stay: %v", got)
	}
}

func TestCheckNamesTheBadProperty(t *testing.T) {
	s, _ := newServer()
	conn := func(extra map[string]any) resource.PropertyValue {
		m := map[string]any{"host": "h"}
		for k, v := range extra {
			m[k] = v
		}
		return obj(m)
	}
	for _, tc := range []struct {
		inputs resource.PropertyMap
		path   string
		reason string
	}{
		{resource.PropertyMap{"create": resource.NewStringProperty("x")}, "connection", "missing required property"},
		{resource.PropertyMap{"connection": obj(map[string]any{"user": "u"})}, "connection.host", "missing required"},
		{resource.PropertyMap{"connection": conn(map[string]any{"port": "22"})}, "connection.port", "must be a number, not a string"},
		{resource.PropertyMap{"connection": conn(map[string]any{"dialErrorLimit": 1.5})}, "connection.dialErrorLimit", "whole number"},
		{resource.PropertyMap{"connection": conn(map[string]any{"proxy": map[string]any{"port": 22.0}})}, "connection.proxy.host", "missing"},
		{resource.PropertyMap{"connection": resource.NewStringProperty("h")}, "connection", "must be an object"},
		{resource.PropertyMap{"connection": conn(nil), "logging": resource.NewStringProperty("all")}, "logging", `one of "stdout"`},
		{resource.PropertyMap{"connection": conn(nil), "create": resource.NewNumberProperty(1)}, "create", "must be a string"},
		{resource.PropertyMap{"connection": conn(nil), "triggers": resource.NewStringProperty("x")}, "triggers", "must be a list"},
		{resource.PropertyMap{"connection": conn(nil), "environment": obj(map[string]any{"A": 1.0})}, "environment.A", "must be a string"},
		{resource.PropertyMap{"connection": conn(nil), "addPreviousOutputInEnv": resource.NewStringProperty("no")},
			"addPreviousOutputInEnv", "must be a boolean"},
		// A secret of the wrong type: the reason names the property, never the value.
		{resource.PropertyMap{"connection": conn(nil), "stdin": secret(12345.0)}, "stdin", "must be a string, not a number"},
	} {
		resp, err := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urn("bad"), News: toStruct(t, tc.inputs)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Failures) != 1 || resp.Failures[0].Property != tc.path || !strings.Contains(resp.Failures[0].Reason, tc.reason) {
			t.Errorf("%s: want one failure on %s mentioning %q, got %v", tc.path, tc.path, tc.reason, resp.Failures)
		}
		for _, f := range resp.Failures {
			if strings.Contains(f.Reason, "12345") {
				t.Errorf("a failure quotes a secret value: %s", f.Reason)
			}
		}
	}
}

func TestCheckPassesUnknownsThrough(t *testing.T) {
	s, _ := newServer()
	unknown := resource.MakeComputed(resource.NewStringProperty(""))
	got := check(t, s, "u", resource.PropertyMap{
		"connection": obj(map[string]any{"host": unknown, "proxy": unknown}),
		"create":     unknown,
	})
	c := plain(got["connection"]).ObjectValue()
	if !got["connection"].IsSecret() || !c["host"].IsComputed() || !c["proxy"].IsComputed() || c["port"].V != 22.0 {
		t.Fatalf("unknowns must pass, defaults still apply: %v", got)
	}
	whole := check(t, s, "u2", resource.PropertyMap{"connection": unknown})
	if !whole["connection"].IsSecret() || !plain(whole["connection"]).IsComputed() {
		t.Fatalf("an unknown connection stays unknown and becomes secret: %v", whole)
	}
}

func TestOnlyRemoteCommandIsImplemented(t *testing.T) {
	s, _ := newServer()
	_, err := s.Check(context.Background(), &pulumirpc.CheckRequest{
		Urn: "urn:pulumi:test::proj::command:local:Command::x", News: toStruct(t, resource.PropertyMap{}),
	})
	if err == nil || !strings.Contains(err.Error(), "command:local:Command is not implemented") ||
		!strings.Contains(err.Error(), "only command:remote:Command") {
		t.Fatalf("want a clear error for other resource types, got %v", err)
	}
	_, err = s.Invoke(context.Background(), &pulumirpc.InvokeRequest{Tok: "command:local:run"})
	if err == nil || !strings.Contains(err.Error(), "command:local:run is not implemented") {
		t.Fatalf("want a clear error for local:run, got %v", err)
	}
}

func TestProviderConfigAndInfo(t *testing.T) {
	s, _ := newServer()
	ctx := context.Background()
	info, _ := s.GetPluginInfo(ctx, nil)
	if info.Version != "1.2.1" {
		t.Fatalf("version %q", info.Version)
	}
	conf, _ := s.Configure(ctx, &pulumirpc.ConfigureRequest{})
	if !conf.AcceptSecrets || !conf.SupportsPreview {
		t.Fatal("the provider must accept secrets and support previews")
	}
	cfg := toStruct(t, resource.PropertyMap{"version": resource.NewStringProperty("1.2.1")})
	cc, err := s.CheckConfig(ctx, &pulumirpc.CheckRequest{News: cfg})
	if err != nil || len(cc.Failures) > 0 {
		t.Fatalf("CheckConfig of the default provider: %v %v", cc, err)
	}
	other := toStruct(t, resource.PropertyMap{"version": resource.NewStringProperty("1.2.2")})
	dc, err := s.DiffConfig(ctx, &pulumirpc.DiffRequest{OldInputs: cfg, News: other})
	if err != nil || dc.Changes != pulumirpc.DiffResponse_DIFF_NONE || len(dc.Replaces) > 0 {
		t.Fatalf("a version change alone is no config change: %v %v", dc, err)
	}
}

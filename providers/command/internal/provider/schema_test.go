package provider

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// upstreamFacts is what pulumi-command 1.2.1's schema says about command:remote:Command, one
// line per property: type (or $ref), default, secret, replaceOnChanges. Descriptions may differ.
var upstreamFacts = map[string]map[string]string{
	commandToken + " inputs": {
		"addPreviousOutputInEnv": "boolean", "connection": "#/types/command:remote:Connection secret",
		"create": "string", "delete": "string", "environment": "object<string>",
		"logging": "#/types/command:remote:Logging", "stdin": "string",
		"triggers": "array<pulumi.json#/Any> replaceOnChanges", "update": "string",
	},
	connToken: {
		"agentSocketPath": "string", "dialErrorLimit": "integer =10", "host": "string", "hostKey": "string",
		"password": "string secret", "perDialTimeout": "integer =15", "port": "number =22",
		"privateKey": "string secret", "privateKeyPassword": "string secret",
		"proxy": "#/types/command:remote:ProxyConnection", "user": "string =root",
	},
	proxyToken: {
		"agentSocketPath": "string", "dialErrorLimit": "integer =10", "host": "string", "hostKey": "string",
		"password": "string secret", "perDialTimeout": "integer =15", "port": "number =22",
		"privateKey": "string secret", "privateKeyPassword": "string secret", "user": "string =root",
	},
}

type schemaDoc struct {
	Name      string
	Resources map[string]struct {
		Properties      map[string]propDoc
		InputProperties map[string]propDoc
		Required        []string
		RequiredInputs  []string
	}
	Types map[string]struct {
		Properties map[string]propDoc
		Required   []string
		Enum       []struct{ Value string }
	}
}

type propDoc struct {
	Type                 string
	Ref                  string `json:"$ref"`
	Items                *propDoc
	AdditionalProperties *propDoc
	Default              any
	Secret               bool
	ReplaceOnChanges     bool
}

func (p propDoc) fact() string {
	s := p.Type + p.Ref
	if p.Items != nil {
		s += "<" + p.Items.Type + p.Items.Ref + ">"
	}
	if p.AdditionalProperties != nil {
		s += "<" + p.AdditionalProperties.Type + ">"
	}
	if p.Default != nil {
		b, _ := json.Marshal(p.Default)
		s += " =" + string(b)
		if str, ok := p.Default.(string); ok {
			s = p.Type + " =" + str
		}
	}
	if p.Secret {
		s += " secret"
	}
	if p.ReplaceOnChanges {
		s += " replaceOnChanges"
	}
	return s
}

func facts(t *testing.T, raw []byte) map[string]map[string]string {
	t.Helper()
	var doc schemaDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	add := func(group string, props map[string]propDoc) {
		out[group] = map[string]string{}
		for name, p := range props {
			out[group][name] = p.fact()
		}
	}
	add(commandToken+" inputs", doc.Resources[commandToken].InputProperties)
	add(connToken, doc.Types[connToken].Properties)
	add(proxyToken, doc.Types[proxyToken].Properties)
	return out
}

func TestSchemaMatchesUpstream121(t *testing.T) {
	raw, err := schemaJSON("1.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := facts(t, raw); !reflect.DeepEqual(got, upstreamFacts) {
		t.Fatalf("schema facts differ from pulumi-command 1.2.1's:\n got %v\nwant %v", got, upstreamFacts)
	}
	var doc schemaDoc
	_ = json.Unmarshal(raw, &doc)
	res := doc.Resources[commandToken]
	if !reflect.DeepEqual(res.Required, []string{"connection", "stdout", "stderr"}) ||
		!reflect.DeepEqual(res.RequiredInputs, []string{"connection"}) ||
		res.Properties["stdout"].Type != "string" || res.Properties["stderr"].Type != "string" ||
		len(res.Properties) != len(res.InputProperties)+2 {
		t.Errorf("outputs and required lists differ from upstream: %+v", res)
	}
	var values []string
	for _, e := range doc.Types[loggingToken].Enum {
		values = append(values, e.Value)
	}
	if !reflect.DeepEqual(values, []string{"stdout", "stderr", "stdoutAndStderr", "none"}) {
		t.Errorf("logging values %v", values)
	}
	if doc.Name != "command" || !reflect.DeepEqual(doc.Types[connToken].Required, []string{"host"}) {
		t.Errorf("package name %q, connection required %v", doc.Name, doc.Types[connToken].Required)
	}
}

// With COMMAND_UPSTREAM_SCHEMA pointing at upstream's provider/cmd/pulumi-resource-command/
// schema.json (v1.2.1), the same facts are read from it; the table above is checked too.
func TestSchemaAgainstUpstreamFile(t *testing.T) {
	path := os.Getenv("COMMAND_UPSTREAM_SCHEMA")
	if path == "" {
		t.Skip("SKIP: set COMMAND_UPSTREAM_SCHEMA to upstream's schema.json to compare with it")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ours, _ := schemaJSON("1.2.1")
	if got, want := facts(t, ours), facts(t, raw); !reflect.DeepEqual(got, want) {
		t.Fatalf("differs from %s:\n got %v\nwant %v", path, got, want)
	}
	if want := facts(t, raw); !reflect.DeepEqual(upstreamFacts, want) {
		t.Fatalf("the upstreamFacts table differs from %s", path)
	}
}

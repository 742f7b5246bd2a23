package provider

import (
	"encoding/json"
	"slices"
)

// The tables below are the single description of the resource: GetSchema renders them as a
// Pulumi package schema, and Check validates inputs and fills defaults from them. Tokens,
// property names, types, defaults, secret flags and replaceOnChanges are those of
// pulumi-command 1.2.1's command:remote:Command, so stacks move between this build and the
// official plugin without diffs. Descriptions are our own words.

const (
	commandToken = "command:remote:Command"
	connToken    = "command:remote:Connection"
	proxyToken   = "command:remote:ProxyConnection"
	loggingToken = "command:remote:Logging"
)

// kind is a property's type, as the schema and Check understand it.
type kind int

const (
	kindString kind = iota
	kindNumber
	kindInteger
	kindBool
	kindStringMap // map of strings
	kindAnyArray  // array of values of any type
	kindObject
	kindEnum // a string with fixed values
)

type property struct {
	name    string
	kind    kind
	desc    string
	secret  bool
	def     any // default filled by Check (string or float64); nil for none
	replace bool
	object  *objectType // for kindObject
	enum    *enumType   // for kindEnum
}

type objectType struct {
	token    string
	desc     string
	props    []property
	required []string
}

type enumType struct {
	token  string
	values [][2]string // value, description
}

func (t *objectType) isRequired(name string) bool { return slices.Contains(t.required, name) }

var loggingEnum = &enumType{token: loggingToken, values: [][2]string{
	{"stdout", "Log stdout only."},
	{"stderr", "Log stderr only."},
	{"stdoutAndStderr", "Log stdout and stderr."},
	{"none", "Log nothing."},
}}

// endpointProps are the fields shared by a connection and its proxy; `hop` names the machine
// in the descriptions.
func endpointProps(hop string) []property {
	return []property{
		{name: "user", kind: kindString, def: "root", desc: "User to log in as on " + hop + "."},
		{name: "password", kind: kindString, secret: true,
			desc: "Password for " + hop + " (password and keyboard-interactive authentication)."},
		{name: "host", kind: kindString, desc: "Address of " + hop + "."},
		{name: "port", kind: kindNumber, def: 22.0, desc: "SSH port of " + hop + ". Defaults to 22."},
		{name: "privateKey", kind: kindString, secret: true,
			desc: "Private key (file contents) to authenticate with; tried before the password."},
		{name: "privateKeyPassword", kind: kindString, secret: true, desc: "Passphrase of an encrypted privateKey."},
		{name: "agentSocketPath", kind: kindString,
			desc: "Socket of the ssh-agent to use. Defaults to the SSH_AUTH_SOCK environment variable, if set."},
		{name: "dialErrorLimit", kind: kindInteger, def: 10.0,
			desc: "How many failed connection attempts are tolerated; -1 for no limit. Defaults to 10."},
		{name: "perDialTimeout", kind: kindInteger, def: 15.0,
			desc: "Seconds one connection attempt may take; 0 for no limit. Defaults to 15."},
		{name: "hostKey", kind: kindString,
			desc: "Expected host key of " + hop + " (authorized_keys format). Not checked when unset."},
	}
}

var proxyType = &objectType{
	token:    proxyToken,
	desc:     "How to reach the bastion (jump host) the connection goes through.",
	props:    endpointProps("the bastion host"),
	required: []string{"host"},
}

var connectionType = &objectType{
	token: connToken,
	desc:  "How to reach the remote host over SSH.",
	props: append(endpointProps("the remote host"), property{
		name: "proxy", kind: kindObject, object: proxyType, desc: "Bastion (jump host) to connect through.",
	}),
	required: []string{"host"},
}

// commandInputs are the inputs of command:remote:Command, which are also part of its state.
var commandInputs = &objectType{
	token: commandToken,
	desc:  "A command run over SSH on a remote host when the resource is created, updated or deleted.",
	props: []property{
		{name: "triggers", kind: kindAnyArray, replace: true,
			desc: "Values of any type; a change to any of them replaces the resource (runs delete, then create)."},
		{name: "create", kind: kindString,
			desc: "Command run when the resource is created, and on updates when there is no update command."},
		{name: "update", kind: kindString,
			desc: "Command run when the inputs change. PULUMI_COMMAND_STDOUT/STDERR hold the previous outputs."},
		{name: "delete", kind: kindString,
			desc: "Command run when the resource is deleted. PULUMI_COMMAND_STDOUT/STDERR hold the last outputs."},
		{name: "stdin", kind: kindString, desc: "Text written to the command's standard input."},
		{name: "logging", kind: kindEnum, enum: loggingEnum,
			desc: "Which of stdout and stderr are shown as the command runs (both by default). Outputs are captured either way."},
		{name: "connection", kind: kindObject, object: connectionType, secret: true,
			desc: "How to reach the remote host."},
		{name: "environment", kind: kindStringMap,
			desc: "Environment variables for the command; the SSH server must accept them (sshd's AcceptEnv)."},
		{name: "addPreviousOutputInEnv", kind: kindBool,
			desc: "Whether PULUMI_COMMAND_STDOUT and PULUMI_COMMAND_STDERR carry the previous run's outputs. Defaults to true."},
	},
	required: []string{"connection"},
}

var commandOutputs = []property{
	{name: "stdout", kind: kindString, desc: "Standard output of the last command run."},
	{name: "stderr", kind: kindString, desc: "Standard error of the last command run."},
}

// schemaJSON renders the package schema.
func schemaJSON(version string) ([]byte, error) {
	outputs := map[string]any{}
	for _, p := range append(slices.Clone(commandInputs.props), commandOutputs...) {
		outputs[p.name] = propertySpec(&p)
	}
	inputs := map[string]any{}
	for _, p := range commandInputs.props {
		inputs[p.name] = propertySpec(&p)
	}
	types := map[string]any{loggingToken: enumSpec(loggingEnum)}
	for _, t := range []*objectType{connectionType, proxyType} {
		types[t.token] = objectSpec(t)
	}
	return json.MarshalIndent(map[string]any{
		"name":        "command",
		"version":     version,
		"displayName": "Command",
		"description": "k8s-platform's own implementation of pulumi-command 1.2.1's command:remote:Command " +
			"(only that resource): run commands over SSH as part of the resource model.",
		"keywords": []string{"pulumi", "command", "category/utility", "kind/native"},
		"config":   map[string]any{},
		"provider": map[string]any{},
		"resources": map[string]any{commandToken: map[string]any{
			"description":     commandInputs.desc,
			"type":            "object",
			"properties":      outputs,
			"required":        []string{"connection", "stdout", "stderr"},
			"inputProperties": inputs,
			"requiredInputs":  commandInputs.required,
		}},
		"types": types,
	}, "", "  ")
}

func propertySpec(p *property) map[string]any {
	spec := map[string]any{"description": p.desc}
	switch p.kind {
	case kindString:
		spec["type"] = "string"
	case kindNumber:
		spec["type"] = "number"
	case kindInteger:
		spec["type"] = "integer"
	case kindBool:
		spec["type"] = "boolean"
	case kindStringMap:
		spec["type"] = "object"
		spec["additionalProperties"] = map[string]any{"type": "string"}
	case kindAnyArray:
		spec["type"] = "array"
		spec["items"] = map[string]any{"$ref": "pulumi.json#/Any"}
	case kindObject:
		spec["$ref"] = "#/types/" + p.object.token
	case kindEnum:
		spec["$ref"] = "#/types/" + p.enum.token
	}
	if p.secret {
		spec["secret"] = true
	}
	if p.def != nil {
		spec["default"] = p.def
	}
	if p.replace {
		spec["replaceOnChanges"] = true
	}
	return spec
}

func objectSpec(t *objectType) map[string]any {
	props := map[string]any{}
	for _, p := range t.props {
		props[p.name] = propertySpec(&p)
	}
	return map[string]any{"description": t.desc, "type": "object", "properties": props, "required": t.required}
}

func enumSpec(e *enumType) map[string]any {
	values := []map[string]any{}
	for _, v := range e.values {
		values = append(values, map[string]any{"value": v[0], "description": v[1]})
	}
	return map[string]any{"type": "string", "enum": values}
}

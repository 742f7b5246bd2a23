package provider

import (
	"fmt"
	"math"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// checker validates inputs against the tables in schema.go the way upstream's Check does:
// every property of the right type, required ones present, unknown keys and nulls dropped,
// defaults filled in (connection and proxy: user, port, dialErrorLimit, perDialTimeout) and
// secret-flagged properties marked secret. Unknown values (preview) are passed through
// unchecked. Reasons never quote a value, so a secret cannot leak through a check failure.
type checker struct {
	failures []*pulumirpc.CheckFailure
}

func (c *checker) fail(path, format string, args ...any) {
	c.failures = append(c.failures, &pulumirpc.CheckFailure{Property: path, Reason: fmt.Sprintf(format, args...)})
}

func checkInputs(news resource.PropertyMap) (resource.PropertyMap, []*pulumirpc.CheckFailure) {
	var c checker
	out := c.object("", news, commandInputs)
	return out, c.failures
}

func (c *checker) object(prefix string, m resource.PropertyMap, t *objectType) resource.PropertyMap {
	out := resource.PropertyMap{}
	for i := range t.props {
		p := &t.props[i]
		key := resource.PropertyKey(p.name)
		v, ok := m[key]
		if !ok || v.IsNull() {
			switch {
			case p.def != nil:
				out[key] = defaultValue(p)
			case t.isRequired(p.name):
				c.fail(prefix+p.name, "missing required property %s (%s)", prefix+p.name, typeLabel(p))
			}
			continue
		}
		v = c.value(prefix+p.name, v, p)
		if p.secret && !v.IsSecret() {
			v = resource.MakeSecret(v)
		}
		out[key] = v
	}
	return out
}

func (c *checker) value(path string, v resource.PropertyValue, p *property) resource.PropertyValue {
	if v.IsSecret() {
		return resource.MakeSecret(c.value(path, v.SecretValue().Element, p))
	}
	if v.IsComputed() || v.IsOutput() {
		return v // not known before apply; the engine resolves it first
	}
	want := typeLabel(p)
	switch p.kind {
	case kindString:
		if !v.IsString() {
			c.fail(path, "%s must be %s, not %s", path, want, typeName(v))
		}
	case kindNumber:
		if !v.IsNumber() {
			c.fail(path, "%s must be %s, not %s", path, want, typeName(v))
		}
	case kindInteger:
		if !v.IsNumber() || v.NumberValue() != math.Trunc(v.NumberValue()) {
			c.fail(path, "%s must be %s, not %s", path, want, typeName(v))
		}
	case kindBool:
		if !v.IsBool() {
			c.fail(path, "%s must be %s, not %s", path, want, typeName(v))
		}
	case kindAnyArray:
		if !v.IsArray() {
			c.fail(path, "%s must be %s, not %s", path, want, typeName(v))
		}
	case kindEnum:
		if !v.IsString() || !slices.ContainsFunc(p.enum.values, func(e [2]string) bool { return e[0] == v.StringValue() }) {
			c.fail(path, "%s must be one of %s", path, enumList(p.enum))
		}
	case kindStringMap:
		if !v.IsObject() {
			c.fail(path, "%s must be %s, not %s", path, want, typeName(v))
			break
		}
		for _, k := range v.ObjectValue().StableKeys() {
			e := v.ObjectValue()[k]
			if e.IsSecret() {
				e = e.SecretValue().Element
			}
			if !e.IsString() && !e.IsComputed() && !e.IsOutput() {
				c.fail(path+"."+string(k), "%s.%s must be a string, not %s", path, k, typeName(e))
			}
		}
	case kindObject:
		if !v.IsObject() {
			c.fail(path, "%s must be %s, not %s", path, want, typeName(v))
			break
		}
		return resource.NewObjectProperty(c.object(path+".", v.ObjectValue(), p.object))
	}
	return v
}

func defaultValue(p *property) resource.PropertyValue {
	switch d := p.def.(type) {
	case string:
		return resource.NewStringProperty(d)
	case float64:
		return resource.NewNumberProperty(d)
	}
	panic(fmt.Sprintf("default of %s has an unsupported type %T", p.name, p.def))
}

func typeLabel(p *property) string {
	switch p.kind {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindInteger:
		return "a whole number"
	case kindBool:
		return "a boolean"
	case kindStringMap:
		return "a map of strings"
	case kindAnyArray:
		return "a list"
	case kindEnum:
		return "one of " + enumList(p.enum)
	default:
		return "an object (" + p.object.token + ")"
	}
}

// typeName describes what was given, without its value.
func typeName(v resource.PropertyValue) string {
	switch {
	case v.IsString():
		return "a string"
	case v.IsNumber():
		if v.NumberValue() != math.Trunc(v.NumberValue()) {
			return "a fractional number"
		}
		return "a number"
	case v.IsBool():
		return "a boolean"
	case v.IsArray():
		return "a list"
	case v.IsObject():
		return "an object"
	case v.IsAsset(), v.IsArchive():
		return "an asset or archive"
	case v.IsResourceReference():
		return "a resource reference"
	default:
		return "a value of another type"
	}
}

func enumList(e *enumType) string {
	s := ""
	for i, v := range e.values {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", v[0])
	}
	return s
}

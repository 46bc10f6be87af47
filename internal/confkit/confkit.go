// Package confkit holds the configuration helpers shared by internal/config and the packages that own a part of
// the configuration (provider types decode their own settings): durations, problems named by field path, and
// strict YAML decoding. It imports nothing of Weir's, so a package using it stays a leaf.
package confkit

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a config, at a field path such as "providers[2].keys[0].value".
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Msg
	}
	return p.Path + ": " + p.Msg
}

// Problems is every problem found; loaders return all of them at once.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// Prefix puts at before every path, so problems found in a section can be reported from the document's root.
func (ps Problems) Prefix(at string) Problems {
	for i := range ps {
		ps[i].Path = Join(at, ps[i].Path)
	}
	return ps
}

// Join appends the key k to path.
func Join(path, k string) string {
	switch {
	case path == "":
		return k
	case k == "":
		return path
	case strings.HasPrefix(k, "["):
		return path + k
	}
	return path + "." + k
}

// Duration is a time.Duration written as "30s" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText parses "250ms", "30s"; a bare number means seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the Go duration form.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use e.g. 500ms, 30s, 5m)", s)
	}
	return d, nil
}

// Checker is implemented by types that check their own YAML: a section whose valid keys depend on one of its
// values (a provider entry, whose type decides its settings). CheckYAML returns paths relative to n.
type Checker interface {
	CheckYAML(n *yaml.Node) Problems
}

// Decode decodes n into v (a pointer) strictly: a key v's type does not have, or a value of the wrong type, is a
// Problem at its path below n, and then v is left as it was. A nil or empty node decodes nothing.
func Decode(n *yaml.Node, v any) Problems {
	if n == nil || n.Kind == 0 {
		return nil
	}
	ps := Check(n, reflect.TypeOf(v))
	if len(ps) > 0 {
		return ps
	}
	if err := n.Decode(v); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, e := range te.Errors {
				ps = append(ps, Problem{Msg: e})
			}
			return ps
		}
		return Problems{{Msg: err.Error()}}
	}
	return nil
}

// Check walks the document beside the Go type t and reports every key t does not have and every scalar that does
// not decode, with paths relative to n.
func Check(n *yaml.Node, t reflect.Type) Problems {
	var ps Problems
	checkFields(n, t, "", &ps)
	return ps
}

func checkFields(n *yaml.Node, t reflect.Type, path string, probs *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if reflect.PointerTo(t).Implements(checkerType) {
		*probs = append(*probs, reflect.New(t).Interface().(Checker).CheckYAML(n).Prefix(path)...)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if reflect.PointerTo(t).Implements(textUnmarshaler) {
			checkScalar(n, t, path, probs)
			return
		}
		if n.Kind != yaml.MappingNode {
			if !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
				*probs = append(*probs, Problem{Path: path, Msg: "must be a mapping"})
			}
			return
		}
		fields := Fields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			ft, ok := fields[k]
			p := Join(path, k)
			if !ok {
				*probs = append(*probs, Problem{Path: p, Msg: "unknown field"})
				continue
			}
			checkFields(n.Content[i+1], ft, p, probs)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return // the decoder reports the type error
		}
		for i, c := range n.Content {
			checkFields(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), probs)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkFields(n.Content[i+1], t.Elem(), Join(path, n.Content[i].Value), probs)
		}
	default:
		checkScalar(n, t, path, probs)
	}
}

// checkScalar decodes one value on its own so a type error can name its field path.
func checkScalar(n *yaml.Node, t reflect.Type, path string, probs *Problems) {
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "yaml:") {
			msg = msg[i+2:]
		}
		*probs = append(*probs, Problem{Path: path, Msg: msg})
	}
}

var (
	textUnmarshaler = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
	checkerType     = reflect.TypeFor[Checker]()
)

// Fields maps the YAML keys of the struct type t (inline structs included) to their types.
func Fields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			for k, v := range Fields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

package provider

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weir-gateway/weir/internal/confkit"
)

// Common is the part of a provider entry every type shares. Whatever else an entry holds belongs to its type,
// which decodes it into its own settings (see Register).
type Common struct {
	Name    string      `yaml:"name"`
	Type    string      `yaml:"type"`
	BaseURL string      `yaml:"base_url"`
	Keys    []KeyConfig `yaml:"keys"`
	// Models, when set, lists the models this provider serves (shown in /v1/models).
	Models []string `yaml:"models"`
	// Headers are extra headers sent upstream on every request.
	Headers map[string]string `yaml:"headers"`
	// Endpoints, when set, lists the endpoints an OpenAI-compatible upstream offers (chat, completions,
	// embeddings, responses, images, image_edits, speech, transcriptions, translations, moderations, rerank,
	// files, batches, models), replacing its type's defaults. Other types ignore it.
	Endpoints []string `yaml:"endpoints"`

	Concurrency int `yaml:"concurrency"`
	BufferSize  int `yaml:"buffer_size"`
	// Timeout bounds a non-streaming request end to end, and a stream up to its response headers.
	Timeout confkit.Duration `yaml:"timeout"`
	// ConnectTimeout bounds dialing (TCP and TLS).
	ConnectTimeout confkit.Duration `yaml:"connect_timeout"`
	// StreamIdleTimeout bounds the gap between two chunks of a stream.
	StreamIdleTimeout confkit.Duration `yaml:"stream_idle_timeout"`
}

// KeyConfig is one configured API key of a provider.
type KeyConfig struct {
	Value  string   `yaml:"value"`
	Weight int      `yaml:"weight"`
	Models []string `yaml:"models"`
}

// Config is one entry of the providers list: the shared fields, and the rest of the entry as it was written,
// which only the entry's type can judge.
type Config struct {
	Common
	// Settings is a mapping of the entry's other fields; nil when there are none.
	Settings *yaml.Node
}

var commonFields = confkit.Fields(reflect.TypeFor[Common]())

// split separates a provider entry (a mapping) into its shared fields and its type's settings, keeping the
// document's order in each.
func split(n *yaml.Node) (common, settings *yaml.Node) {
	common = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if _, ok := commonFields[n.Content[i].Value]; ok {
			common.Content = append(common.Content, n.Content[i], n.Content[i+1])
			continue
		}
		if settings == nil {
			settings = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
		}
		settings.Content = append(settings.Content, n.Content[i], n.Content[i+1])
	}
	return common, settings
}

// UnmarshalYAML decodes the shared fields and keeps the others for the type. Strictness is CheckYAML's job,
// which config loading runs first, and Build's.
func (c *Config) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return n.Decode(&c.Common) // the decoder's own type error
	}
	common, settings := split(n)
	if err := common.Decode(&c.Common); err != nil {
		return err
	}
	c.Settings = settings
	return nil
}

// MarshalYAML writes the entry back as one mapping, the shared fields first.
func (c Config) MarshalYAML() (any, error) {
	var n yaml.Node
	if err := n.Encode(c.Common); err != nil {
		return nil, err
	}
	if c.Settings != nil {
		n.Content = append(n.Content, c.Settings.Content...)
	}
	return &n, nil
}

// CheckYAML reports every problem in an entry that decoding can find: unknown shared fields and values of the
// wrong type, and the settings its type rejects. An entry whose type is not registered has no settings, so its
// other fields are unknown, and so is its type.
func (*Config) CheckYAML(n *yaml.Node) confkit.Problems {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return confkit.Check(n, reflect.TypeFor[Common]()) // "must be a mapping", unless null
	}
	common, settings := split(n)
	ps := confkit.Check(common, reflect.TypeFor[Common]())
	if settings != nil {
		typ := ""
		for i := 0; i+1 < len(common.Content); i += 2 {
			if common.Content[i].Value == "type" {
				typ = common.Content[i+1].Value
			}
		}
		mu.RLock()
		e, ok := registry[typ]
		mu.RUnlock()
		if ok {
			ps = append(ps, e.check(settings)...)
		} else {
			ps = append(ps, confkit.Check(settings, reflect.TypeFor[struct{}]())...)
			// Say why they are unknown (a misspelt type), as Build would; a program with no types compiled in
			// (a test of the config alone) cannot judge the type.
			if known := Types(); len(known) > 0 {
				ps = append(ps, confkit.Problem{Path: "type", Msg: fmt.Sprintf("unknown provider type %q (known: %v)", typ, known)})
			}
		}
	}
	// Report in the document's order, as a whole-document check would.
	pos := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		pos[n.Content[i].Value] = i
	}
	sort.SliceStable(ps, func(i, j int) bool { return pos[topKey(ps[i].Path)] < pos[topKey(ps[j].Path)] })
	return ps
}

// topKey is the first key of a relative path: "keys" of "keys[0].value".
func topKey(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

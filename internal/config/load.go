package config

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weir-gateway/weir/internal/confkit"
)

// Problem is one thing wrong with a config, at a field path such as "providers[2].keys[0].value".
type Problem = confkit.Problem

// Problems is every problem found; Load returns all of them at once.
type Problems = confkit.Problems

// Load reads a YAML or JSON file.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b, os.LookupEnv)
}

// Parse decodes a config document, expanding ${VAR} (and ${VAR:-default}) in every value with lookup,
// rejecting unknown fields, applying defaults and validating. Every problem found is returned together.
func Parse(doc []byte, lookup func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, Problems{{Msg: "not valid YAML or JSON: " + err.Error()}}
	}
	var probs Problems
	if len(root.Content) > 0 {
		expandNode(&root, lookup)
		probs = confkit.Check(root.Content[0], reflect.TypeFor[Config]())
	}
	cfg := &Config{}
	if len(probs) > 0 {
		return nil, probs
	}
	if len(root.Content) > 0 {
		if err := root.Content[0].Decode(cfg); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				for _, e := range te.Errors {
					probs = append(probs, Problem{Msg: e})
				}
			} else {
				probs = append(probs, Problem{Msg: err.Error()})
			}
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	cfg.ApplyDefaults()
	if ps := cfg.Validate(); len(ps) > 0 {
		return nil, ps
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandNode replaces ${VAR} in scalar values (never in keys), so a secret with YAML syntax in it cannot
// change the document's structure.
func expandNode(n *yaml.Node, lookup func(string) (string, bool)) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
			sub := envRef.FindStringSubmatch(m)
			if v, ok := lookup(sub[1]); ok && v != "" {
				return v
			}
			return sub[3]
		})
		if n.Tag == "" || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			n.Tag = "" // let the decoder re-resolve: ${PORT} may become a number
		}
		return
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue
		}
		expandNode(c, lookup)
	}
}

// Marshal renders a config as YAML (for `weir config print` and tests).
func Marshal(c *Config) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

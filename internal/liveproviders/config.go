// Package liveproviders routes the providers stored through the admin API: it turns each stored provider into a
// provider configuration (decrypting its keys and credential headers), hands the set to the gateway, which swaps
// it in atomically, and keeps every replica sharing the store up to date by polling a generation the writers
// bump.
package liveproviders

import (
	"encoding/json"
	"fmt"
	"net/textproto"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/store"
)

// HeaderKeyPrefix marks a stored key that holds the value of a credential header (config.headers), not an API
// key: the admin API stores such headers encrypted under the id HeaderKeyPrefix + the header's canonical name.
const HeaderKeyPrefix = "header:"

// Config turns a stored provider into the configuration its type builds from: the stored config (a JSON object of
// the provider's non-secret settings) with the name, the type, the decrypted keys and credential headers added.
// Values are taken as they are: no ${VAR} is expanded in what the admin API stored. Problems have paths relative
// to the stored provider ("config.base_url", "keys[0]").
func Config(p *store.Provider, c *secret.Cipher) (provider.Config, error) {
	var pc provider.Config
	fields := map[string]any{}
	if len(p.Config) > 0 && string(p.Config) != "null" {
		if err := json.Unmarshal(p.Config, &fields); err != nil { // numbers as float64, which YAML writes back as 3, not "3"
			return pc, confkit.Problems{{Path: "config", Msg: "must be a JSON object"}}
		}
	}
	for _, f := range []string{"name", "type", "keys"} {
		if _, ok := fields[f]; ok {
			return pc, confkit.Problems{{Path: "config." + f, Msg: "is set outside config"}}
		}
	}
	fields["name"], fields["type"] = p.Name, p.Type
	var keys []map[string]any
	headers := map[string]any{}
	if h, ok := fields["headers"].(map[string]any); ok {
		headers = h
	}
	for i, k := range p.Keys {
		value := ""
		if len(k.Ciphertext) > 0 {
			if c == nil {
				return pc, confkit.Problems{{Path: fmt.Sprintf("keys[%d]", i), Msg: "is stored encrypted and no encryption key is configured (WEIR_ENCRYPTION_KEY)"}}
			}
			v, err := c.DecryptString(k.Ciphertext)
			if err != nil {
				return pc, confkit.Problems{{Path: fmt.Sprintf("keys[%d]", i), Msg: "does not decrypt with the configured encryption key: " + err.Error()}}
			}
			value = v
		}
		if name, ok := strings.CutPrefix(k.ID, HeaderKeyPrefix); ok {
			headers[textproto.CanonicalMIMEHeaderKey(name)] = value
			continue
		}
		key := map[string]any{"value": value}
		if k.Weight > 0 {
			key["weight"] = k.Weight
		}
		if len(k.Models) > 0 {
			key["models"] = k.Models
		}
		keys = append(keys, key)
	}
	if len(keys) > 0 {
		fields["keys"] = keys
	}
	if len(headers) > 0 {
		fields["headers"] = headers
	}
	doc, err := yaml.Marshal(fields)
	if err != nil {
		return pc, confkit.Problems{{Path: "config", Msg: err.Error()}}
	}
	var node yaml.Node
	if err := yaml.Unmarshal(doc, &node); err != nil || len(node.Content) != 1 {
		return pc, confkit.Problems{{Path: "config", Msg: fmt.Sprintf("cannot be read: %v", err)}}
	}
	entry := node.Content[0]
	if ps := pc.CheckYAML(entry); len(ps) > 0 {
		return pc, storedPaths(ps)
	}
	if err := entry.Decode(&pc); err != nil {
		return pc, confkit.Problems{{Path: "config", Msg: err.Error()}}
	}
	if ps := config.ValidateProvider(pc); len(ps) > 0 {
		return pc, storedPaths(ps)
	}
	config.ProviderDefaults(&pc) // the pool sizes and timeouts a provider of the config file gets
	return pc, nil
}

// storedPaths maps problem paths of a provider entry to the stored provider's fields: keys and type stay, the
// rest lives in config.
func storedPaths(ps confkit.Problems) confkit.Problems {
	out := make(confkit.Problems, len(ps))
	for i, p := range ps {
		if p.Path != "" && p.Path != "type" && p.Path != "name" && !strings.HasPrefix(p.Path, "keys") {
			p.Path = "config." + p.Path
		}
		out[i] = p
	}
	return out
}

// StoredPaths maps the problems of building a provider (relative to its entry) to the stored provider's fields.
func StoredPaths(err error) error {
	if ps, ok := err.(confkit.Problems); ok {
		return storedPaths(ps)
	}
	return err
}

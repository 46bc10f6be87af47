package admin

import (
	"bytes"
	"encoding/json"
	"net/textproto"
	"strings"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/liveproviders"
	"github.com/weir-gateway/weir/internal/store"
)

// A provider's config.headers may carry a credential (Authorization for a proxy, an API-management
// subscription key). Such headers are kept like key values: encrypted, as a store.ProviderKey whose id is
// headerKeyPrefix + the header's name (so encryption-key rotation re-encrypts them too), and answered masked.

// headerKeyPrefix marks a stored key that is the value of a credential header, not an API key.
const headerKeyPrefix = liveproviders.HeaderKeyPrefix

// maskedHeader is what answers show for a credential header; sent back unchanged, it keeps the stored value.
const maskedHeader = "********"

// credentialHeader says whether a header's value is a secret, by its name.
func credentialHeader(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"auth", "key", "token", "secret", "password", "credential", "cookie", "session", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// splitSecretHeaders takes the credential headers out of config (a JSON object) and encrypts them into keys;
// a masked value keeps old's ciphertext. It returns config without them.
func (a *admin) splitSecretHeaders(config []byte, old *store.Provider) ([]byte, []store.ProviderKey, *gateway.Error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(config, &obj); err != nil || obj["headers"] == nil {
		return config, nil, nil
	}
	var headers map[string]string
	if err := json.Unmarshal(obj["headers"], &headers); err != nil {
		return nil, nil, adminInvalid("config.headers", "must be an object of header names to string values")
	}
	oldCT := map[string][]byte{}
	if old != nil {
		for _, k := range old.Keys {
			if name, ok := strings.CutPrefix(k.ID, headerKeyPrefix); ok {
				oldCT[name] = k.Ciphertext
			}
		}
	}
	var keys []store.ProviderKey
	seen := map[string]bool{}
	for name, v := range headers {
		if !credentialHeader(name) {
			continue
		}
		delete(headers, name)
		canon := textproto.CanonicalMIMEHeaderKey(name)
		param := "config.headers." + name
		if seen[canon] {
			return nil, nil, adminInvalid(param, "given twice (header names are case-insensitive)")
		}
		seen[canon] = true
		if v == maskedHeader {
			if oldCT[canon] == nil {
				return nil, nil, adminInvalid(param, "%s is the mask of a stored value, and none is stored: send the value", maskedHeader)
			}
			keys = append(keys, store.ProviderKey{ID: headerKeyPrefix + canon, Ciphertext: oldCT[canon]})
			continue
		}
		if a.c.Cipher == nil {
			return nil, nil, adminInvalid(param, "looks like a credential, and provider secrets are stored only encrypted, but no encryption key is configured: "+
				"set WEIR_ENCRYPTION_KEY (32 bytes, base64: `openssl rand -base64 32`) and restart, or keep the header in the config file")
		}
		ct, err := a.c.Cipher.EncryptString(v)
		if err != nil {
			return nil, nil, adminInvalid(param, "could not encrypt: %v", err)
		}
		keys = append(keys, store.ProviderKey{ID: headerKeyPrefix + canon, Ciphertext: ct})
	}
	if len(headers) == 0 {
		delete(obj, "headers")
	} else {
		b, _ := json.Marshal(headers)
		obj["headers"] = b
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, adminInvalid("config", "must be a JSON object")
	}
	return out, keys, nil
}

// maskSecretHeaders puts the stored credential headers back into an answer's config, masked.
func maskSecretHeaders(config json.RawMessage, keys []store.ProviderKey) json.RawMessage {
	var masked map[string]string
	for _, k := range keys {
		if name, ok := strings.CutPrefix(k.ID, headerKeyPrefix); ok {
			if masked == nil {
				masked = map[string]string{}
			}
			masked[name] = maskedHeader
		}
	}
	if masked == nil {
		return config
	}
	obj := map[string]json.RawMessage{}
	if len(config) > 0 {
		_ = json.Unmarshal(config, &obj)
	}
	if h := obj["headers"]; h != nil {
		_ = json.Unmarshal(h, &masked) // the clear headers join the masked ones
	}
	obj["headers"], _ = json.Marshal(masked)
	var buf bytes.Buffer
	b, _ := json.Marshal(obj)
	_ = json.Compact(&buf, b)
	return buf.Bytes()
}

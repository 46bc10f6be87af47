package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/dispatch"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/health"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/store"
)

// wireProvider is a provider kept in the store. Key values are write-only: a request may carry keys[].value, an
// answer never does (it says has_value instead).
type wireProvider struct {
	Name      string            `json:"name"`
	Type      string            `json:"type"`
	Config    json.RawMessage   `json:"config,omitempty"`
	Keys      []wireProviderKey `json:"keys,omitempty"`
	CreatedAt *time.Time        `json:"created_at,omitempty"`
	UpdatedAt *time.Time        `json:"updated_at,omitempty"`
	// The rest is read-only: where the provider comes from and how it stands (provider_status.go).
	Source string           `json:"source,omitempty"`
	Status string           `json:"status,omitempty"`
	Error  string           `json:"error,omitempty"`
	Health *health.Health   `json:"health,omitempty"`
	Pool   *dispatch.Stats  `json:"pool,omitempty"`
	Usage  map[string]int64 `json:"usage,omitempty"`
}

type wireProviderKey struct {
	ID     string   `json:"id,omitempty"`
	Value  string   `json:"value,omitempty"`
	Weight int      `json:"weight,omitempty"`
	Models []string `json:"models,omitempty"`
	// HasValue and Masked are read-only: an encrypted value is stored, and its last four characters.
	HasValue bool   `json:"has_value,omitempty"`
	Masked   string `json:"masked,omitempty"`
}

// secretConfigFields may not be put in a provider's config, where they would be stored in clear.
var secretConfigFields = []string{"api_key", "key", "keys", "value", "secret_access_key", "session_token", "access_token", "password", "token", "credentials"}

func (a *admin) providerOut(p *store.Provider) wireProvider {
	w := wireProvider{Name: p.Name, Type: p.Type, CreatedAt: timeOut(p.CreatedAt), UpdatedAt: timeOut(p.UpdatedAt), Source: sourceAPI}
	if len(p.Config) > 0 && string(p.Config) != "null" {
		w.Config = json.RawMessage(p.Config)
	}
	for _, k := range p.Keys {
		if strings.HasPrefix(k.ID, headerKeyPrefix) {
			continue // shown masked in config.headers
		}
		w.Keys = append(w.Keys, wireProviderKey{ID: k.ID, Weight: k.Weight, Models: k.Models, HasValue: len(k.Ciphertext) > 0,
			Masked: a.maskedKey(k.Ciphertext)})
	}
	w.Config = maskSecretHeaders(w.Config, p.Keys)
	a.addLiveState(&w)
	return w
}

func (a *admin) providerStore() (store.ProviderStore, *gateway.Error) {
	if a.c.Store == nil {
		return nil, &gateway.Error{Status: http.StatusServiceUnavailable, Type: gateway.TypeAPI, Code: "no_store",
			Message: "no store is open, so providers cannot be kept in it"}
	}
	return a.c.Store.Providers(), nil
}

// providerIn validates w and encrypts its key values. Keys given by id without a value keep old's ciphertext.
func (a *admin) providerIn(w *wireProvider, old *store.Provider) (*store.Provider, *gateway.Error) {
	if err := checkID("name", w.Name); err != nil {
		return nil, err
	}
	if w.Type == "" {
		return nil, adminInvalid("type", "required (openai, anthropic, azure, bedrock, vertex, gemini, mock, ...)")
	}
	p := &store.Provider{Name: w.Name, Type: w.Type}
	if len(w.Config) > 0 && string(w.Config) != "null" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(w.Config, &obj); err != nil {
			return nil, adminInvalid("config", "must be a JSON object")
		}
		for _, f := range secretConfigFields {
			for k := range obj {
				if strings.EqualFold(k, f) {
					return nil, adminInvalid("config."+k, "secrets go in keys[].value, which is stored encrypted; config is stored in clear")
				}
			}
		}
		config, headerKeys, gerr := a.splitSecretHeaders(w.Config, old)
		if gerr != nil {
			return nil, gerr
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, config); err != nil {
			return nil, adminInvalid("config", "must be a JSON object")
		}
		p.Config = buf.Bytes()
		p.Keys = headerKeys
	}
	oldKeys := map[string]store.ProviderKey{}
	if old != nil {
		for _, k := range old.Keys {
			oldKeys[k.ID] = k
		}
	}
	seen := map[string]bool{}
	for i, k := range w.Keys {
		param := fmt.Sprintf("keys[%d]", i)
		if k.ID == "" {
			k.ID = fmt.Sprintf("key-%d", i+1)
		} else if err := checkID(param+".id", k.ID); err != nil {
			return nil, err
		}
		if strings.HasPrefix(k.ID, headerKeyPrefix) {
			return nil, adminInvalid(param+".id", "ids starting with %q are reserved for credential headers (config.headers)", headerKeyPrefix)
		}
		if seen[k.ID] {
			return nil, adminInvalid(param+".id", "duplicate %q", k.ID)
		}
		seen[k.ID] = true
		if k.Weight < 0 {
			return nil, adminInvalid(param+".weight", "must be >= 0")
		}
		pk := store.ProviderKey{ID: k.ID, Weight: k.Weight, Models: k.Models}
		switch {
		case k.Value != "":
			if a.c.Cipher == nil {
				return nil, adminInvalid(param+".value", "provider secrets are stored only encrypted, and no encryption key is configured: "+
					"set WEIR_ENCRYPTION_KEY (32 bytes, base64: `openssl rand -base64 32`) and restart, or keep the key in the config file")
			}
			ct, err := a.c.Cipher.EncryptString(k.Value)
			if err != nil {
				return nil, adminInvalid(param+".value", "could not encrypt: %v", err)
			}
			pk.Ciphertext = ct
		case oldKeys[k.ID].Ciphertext != nil:
			pk.Ciphertext = oldKeys[k.ID].Ciphertext // unchanged secret: omit value to keep it
		}
		p.Keys = append(p.Keys, pk)
	}
	return p, nil
}

func (a *admin) mountProviders(h func(string, func(http.ResponseWriter, *http.Request))) {
	h("GET /api/providers", func(w http.ResponseWriter, r *http.Request) {
		ps, gerr := a.providerStore()
		if gerr != nil {
			httpx.WriteOpenAIError(w, gerr)
			return
		}
		list, err := ps.List(r.Context())
		if err != nil {
			a.writeError(w, err)
			return
		}
		out := a.configuredProviders()
		for _, p := range list {
			out = append(out, a.providerOut(p))
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": out})
	})
	h("GET /api/providers/{name}", func(w http.ResponseWriter, r *http.Request) {
		ps, gerr := a.providerStore()
		if gerr != nil {
			httpx.WriteOpenAIError(w, gerr)
			return
		}
		if c, ok := a.configuredProvider(r.PathValue("name")); ok {
			httpx.WriteJSON(w, http.StatusOK, c)
			return
		}
		p, err := ps.Get(r.Context(), r.PathValue("name"))
		if errors.Is(err, store.ErrNotFound) {
			httpx.WriteOpenAIError(w, adminNotFound("provider", r.PathValue("name")))
			return
		} else if err != nil {
			a.writeError(w, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, a.providerOut(p))
	})
	put := func(create bool) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			ps, gerr := a.providerStore()
			if gerr != nil {
				httpx.WriteOpenAIError(w, gerr)
				return
			}
			var in wireProvider
			if gerr := decode(r, &in); gerr != nil {
				httpx.WriteOpenAIError(w, gerr)
				return
			}
			if !create {
				if in.Name != "" && in.Name != r.PathValue("name") {
					httpx.WriteOpenAIError(w, adminInvalid("name", "the body says %q but the URL says %q", in.Name, r.PathValue("name")))
					return
				}
				in.Name = r.PathValue("name")
			}
			if gerr := a.notConfigured(in.Name); gerr != nil {
				httpx.WriteOpenAIError(w, gerr)
				return
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			old, err := ps.Get(r.Context(), in.Name)
			switch {
			case errors.Is(err, store.ErrNotFound):
				old = nil
			case err != nil && in.Name != "":
				a.writeError(w, err)
				return
			case create && old != nil:
				httpx.WriteOpenAIError(w, adminConflict("provider %q already exists (PUT /api/providers/%s replaces it)", in.Name, in.Name))
				return
			}
			p, gerr := a.providerIn(&in, old)
			if gerr != nil {
				httpx.WriteOpenAIError(w, gerr)
				return
			}
			if gerr := a.checkProvider(p); gerr != nil {
				httpx.WriteOpenAIError(w, gerr)
				return
			}
			status := http.StatusCreated
			if old != nil {
				p.CreatedAt, status = old.CreatedAt, http.StatusOK
			}
			if err := ps.Put(r.Context(), p); err != nil {
				a.writeError(w, err)
				return
			}
			a.providersChanged(r.Context())
			if got, err := ps.Get(r.Context(), p.Name); err == nil {
				p = got
			}
			httpx.WriteJSON(w, status, a.providerOut(p))
		}
	}
	h("POST /api/providers", put(true))
	h("PUT /api/providers/{name}", put(false))
	h("DELETE /api/providers/{name}", func(w http.ResponseWriter, r *http.Request) {
		ps, gerr := a.providerStore()
		if gerr != nil {
			httpx.WriteOpenAIError(w, gerr)
			return
		}
		if gerr := a.notConfigured(r.PathValue("name")); gerr != nil {
			httpx.WriteOpenAIError(w, gerr)
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if err := ps.Delete(r.Context(), r.PathValue("name")); errors.Is(err, store.ErrNotFound) {
			httpx.WriteOpenAIError(w, adminNotFound("provider", r.PathValue("name")))
			return
		} else if err != nil {
			a.writeError(w, err)
			return
		}
		a.providersChanged(r.Context())
		w.WriteHeader(http.StatusNoContent)
	})
}

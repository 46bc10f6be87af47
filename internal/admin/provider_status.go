package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/catalog"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/store"
)

// LiveProviders routes stored providers (internal/liveproviders): the admin API checks a provider before storing
// it and tells it of every write.
type LiveProviders interface {
	// Check builds p without routing it; problems name the stored field (confkit.Problems).
	Check(p *store.Provider) error
	// Changed applies the store's providers here at once and tells the other replicas.
	Changed(ctx context.Context) error
	// Status is "active", "shadowed", "error" or "pending", with the reason of the two middle ones.
	Status(name string) (string, error)
}

// Where a listed provider comes from.
const (
	sourceConfig = "config" // the config file: read-only here
	sourceAPI    = "api"    // stored through this API
)

// notConfigured refuses a write to a provider of the config file.
func (a *admin) notConfigured(name string) *gateway.Error {
	if a.c.Engine == nil || !a.c.Engine.Routes().Configured(name) {
		return nil
	}
	return &gateway.Error{Status: http.StatusConflict, Type: gateway.TypeInvalidRequest, Code: "provider_configured",
		Message: "provider " + name + " is defined in the config file, which the admin API does not change: edit the file (or store this provider under another name)"}
}

// checkProvider refuses a provider that could not serve, naming the first field at fault.
func (a *admin) checkProvider(p *store.Provider) *gateway.Error {
	if a.c.Live == nil {
		return nil
	}
	err := a.c.Live.Check(p)
	if err == nil {
		return nil
	}
	var ps confkit.Problems
	if errors.As(err, &ps) && len(ps) > 0 {
		return adminInvalid(ps[0].Path, "%s", ps.Error())
	}
	return adminInvalid("", "%v", err)
}

// providersChanged applies a stored write. The write is stored whatever happens here: a failure is logged, and
// the next write, or the periodic full reload of internal/liveproviders, applies it.
func (a *admin) providersChanged(ctx context.Context) {
	if a.c.Live == nil {
		return
	}
	// Not cut short by a client that hangs up: the write is stored, so it should apply.
	if err := a.c.Live.Changed(context.WithoutCancel(ctx)); err != nil {
		a.c.Log.Error("a provider change is stored but could not be applied yet", "err", err)
	}
}

// maskedKey is the last four characters of an encrypted key value, or "" when it cannot be read.
func (a *admin) maskedKey(ct []byte) string {
	if a.c.Cipher == nil || len(ct) == 0 {
		return ""
	}
	v, err := a.c.Cipher.DecryptString(ct)
	if err != nil {
		return ""
	}
	return provider.MaskKey(v)
}

// addLiveState fills a stored provider's status and, when it is routed, its health, pool and usage.
func (a *admin) addLiveState(w *wireProvider) {
	if a.c.Live == nil {
		return
	}
	status, err := a.c.Live.Status(w.Name)
	w.Status = status
	if err != nil {
		w.Error = err.Error()
	}
	if status == "active" {
		a.addStats(w)
	}
}

func (a *admin) addStats(w *wireProvider) {
	if a.c.Engine == nil {
		return
	}
	st, ok := a.c.Engine.ProviderStats(w.Name)
	if !ok {
		return
	}
	w.Health, w.Pool, w.Usage = st.Health, &st.Pool, st.Usage
}

// configuredProviders lists the config file's providers, sorted by name.
func (a *admin) configuredProviders() []wireProvider {
	out := []wireProvider{}
	if a.c.Engine == nil {
		return out
	}
	for _, n := range a.c.Engine.Routes().ConfiguredNames() {
		if w, ok := a.configuredProvider(n); ok {
			out = append(out, w)
		}
	}
	return out
}

// configuredProvider shows a provider of the config file: its shared settings, header values and keys masked.
func (a *admin) configuredProvider(name string) (wireProvider, bool) {
	if a.c.Engine == nil || !a.c.Engine.Routes().Configured(name) {
		return wireProvider{}, false
	}
	up := a.c.Engine.Upstream(name)
	c := up.Config
	w := wireProvider{Name: c.Name, Type: c.Type, Source: sourceConfig, Status: "active"}
	shown := map[string]any{}
	if c.BaseURL != "" {
		shown["base_url"] = c.BaseURL
	}
	if len(c.Models) > 0 {
		shown["models"] = c.Models
	}
	if len(c.Endpoints) > 0 {
		shown["endpoints"] = c.Endpoints
	}
	if c.Concurrency > 0 {
		shown["concurrency"] = c.Concurrency
	}
	if c.BufferSize > 0 {
		shown["buffer_size"] = c.BufferSize
	}
	if len(c.Headers) > 0 {
		h := make(map[string]string, len(c.Headers))
		for k := range c.Headers {
			h[k] = maskedHeader
		}
		shown["headers"] = h
	}
	if len(shown) > 0 {
		w.Config, _ = json.Marshal(shown)
	}
	for _, k := range up.Keys.Keys() {
		w.Keys = append(w.Keys, wireProviderKey{ID: k.ID, Weight: k.Weight, Models: k.Models, HasValue: true, Masked: k.Hint})
	}
	a.addStats(&w)
	return w, true
}

// wireAlias is one alias of GET /api/models.
type wireAlias struct {
	Name      string            `json:"name"`
	Strategy  string            `json:"strategy"`
	TimeoutMS int64             `json:"timeout_ms"`
	Targets   []wireAliasTarget `json:"targets"`
	Fallbacks []string          `json:"fallbacks"`
}

type wireAliasTarget struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Weight   int    `json:"weight"`
	State    string `json:"state"`
}

// wireModel is one provider model of GET /api/models.
type wireModel struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Source   string `json:"source"`
}

// models answers GET /api/models: the aliases with their targets' breaker state, and every provider's models.
func (a *admin) models(w http.ResponseWriter, _ *http.Request) {
	aliases, models := []wireAlias{}, []wireModel{}
	if e := a.c.Engine; e != nil {
		reg := e.Router().Registry()
		for _, m := range e.Router().Models() {
			wa := wireAlias{Name: m.Name, Strategy: m.Strategy, TimeoutMS: m.Timeout.Milliseconds(), Targets: []wireAliasTarget{}, Fallbacks: m.Fallbacks}
			if wa.Strategy == "" {
				wa.Strategy = "weighted"
			}
			if wa.Fallbacks == nil {
				wa.Fallbacks = []string{}
			}
			for _, t := range m.Targets {
				state := "closed"
				if ts := reg.Lookup(t.Provider, t.Model); ts != nil {
					state = ts.State().State
				}
				wa.Targets = append(wa.Targets, wireAliasTarget{Provider: t.Provider, Model: t.Model, Weight: t.Weight, State: state})
			}
			aliases = append(aliases, wa)
		}
		sort.Slice(aliases, func(i, j int) bool { return aliases[i].Name < aliases[j].Name })
		var listed []catalog.Model
		if a.c.Models != nil {
			listed = a.c.Models()
		}
		for _, m := range listed {
			if m.OwnedBy == "weir" {
				continue // an alias, listed above
			}
			src := sourceAPI
			if e.Routes().Configured(m.OwnedBy) {
				src = sourceConfig
			}
			models = append(models, wireModel{ID: m.ID, Provider: m.OwnedBy, Source: src})
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "aliases": aliases, "models": models})
}

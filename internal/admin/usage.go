package admin

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/store"
)

// wireUsage is one limit's usage in its current window (rate limits: sliding) or period (budgets: calendar).
type wireUsage struct {
	Subject string `json:"subject"` // "key:ci-bot", "team:platform", "customer:acme", "provider:openai"
	Metric  string `json:"metric"`  // "rpm", "tpd@openai", "spend/1d"
	Limit   string `json:"limit"`   // "rpm 10", "budget $0.01/1d"
	// Rate limits: requests or tokens. Budgets: the *_usd fields, exact decimals.
	Max       *int64      `json:"max,omitempty"`
	Used      *int64      `json:"used,omitempty"`
	Remaining *int64      `json:"remaining,omitempty"`
	MaxUSD    json.Number `json:"max_usd,omitempty"`
	SpentUSD  json.Number `json:"spent_usd,omitempty"`
	LeftUSD   json.Number `json:"remaining_usd,omitempty"`
	Period    string      `json:"period,omitempty"` // budgets: 1m,1h,1d,1w,1M or never
	Window    string      `json:"window,omitempty"` // rate limits: 1m, 1h, 24h
	ResetsIn  string      `json:"resets_in,omitempty"`
	ResetsAt  *time.Time  `json:"resets_at,omitempty"`
}

func usageOf(subject, metric, label string, st governance.Status, now time.Time) wireUsage {
	u := wireUsage{Subject: subject, Metric: metric, Limit: label}
	if st.Reset > 0 && st.Reset < 100*365*24*time.Hour {
		u.ResetsIn = st.Reset.Round(time.Millisecond).String()
		t := now.Add(st.Reset).UTC().Truncate(time.Millisecond)
		u.ResetsAt = &t
	}
	if period, ok := strings.CutPrefix(metric, "spend/"); ok {
		u.Period = period
		u.MaxUSD = json.Number(usdString(pricing.Money(st.Limit)))
		u.SpentUSD = json.Number(usdString(pricing.Money(st.Used)))
		u.LeftUSD = json.Number(usdString(pricing.Money(max(st.Remaining, 0))))
		return u
	}
	u.Max, u.Used, u.Remaining = &st.Limit, &st.Used, &st.Remaining
	switch m, _, _ := strings.Cut(metric, "@"); m[len(m)-1] {
	case 'm':
		u.Window = "1m"
	case 'h':
		u.Window = "1h"
	default:
		u.Window = "24h"
	}
	return u
}

// limitFor finds the configured maximum of one of a subject's metrics.
func limitFor(metric string, l store.Limits, pl map[string]store.Limits, b *store.Budget) (int64, bool) {
	if strings.HasPrefix(metric, "spend/") {
		if b == nil {
			return 0, false
		}
		return int64(b.MaxUSD), true
	}
	m, prov, hasProv := strings.Cut(metric, "@")
	if hasProv {
		var ok bool
		if l, ok = pl[prov]; !ok {
			return 0, false
		}
	}
	switch m {
	case "rpm":
		return l.RPM, l.RPM > 0
	case "tpm":
		return l.TPM, l.TPM > 0
	case "rph":
		return l.RPH, l.RPH > 0
	case "tph":
		return l.TPH, l.TPH > 0
	case "rpd":
		return l.RPD, l.RPD > 0
	case "tpd":
		return l.TPD, l.TPD > 0
	}
	return 0, false
}

func limitLabel(metric string, max int64) string {
	if strings.HasPrefix(metric, "spend/") {
		return "budget " + pricing.Money(max).String() + "/" + strings.TrimPrefix(metric, "spend/")
	}
	m, prov, hasProv := strings.Cut(metric, "@")
	if hasProv {
		return prov + " " + m + " " + strconv.FormatInt(max, 10)
	}
	return m + " " + strconv.FormatInt(max, 10)
}

// subjectUsage reports a subject's own counters ("key:x", "team:x", "customer:x", "provider:x").
func (a *admin) subjectUsage(subject string, l store.Limits, pl map[string]store.Limits, b *store.Budget, now time.Time) []wireUsage {
	var out []wireUsage
	for _, ref := range a.gov().Counters() {
		if ref.Subject != subject {
			continue
		}
		mx, ok := limitFor(ref.Metric, l, pl, b)
		if !ok {
			continue
		}
		out = append(out, usageOf(subject, ref.Metric, limitLabel(ref.Metric, mx), ref.Counter.Peek(now.UnixNano(), mx), now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metric < out[j].Metric })
	return out
}

// providerLevel finds a configured provider level.
func (a *admin) providerLevel(name string) (governance.ProviderLimit, bool) {
	for _, pl := range a.gov().ProviderLimits() {
		if pl.Name == name {
			return pl, true
		}
	}
	return governance.ProviderLimit{}, false
}

var levelSubject = map[string]string{"virtual key ": "key:", "team ": "team:", "customer ": "customer:"}

func (a *admin) mountUsage(h func(string, func(http.ResponseWriter, *http.Request))) {
	h("GET /api/usage", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		now := time.Now()
		type subjectUsage struct {
			Subject string      `json:"subject"`
			Usage   []wireUsage `json:"usage"`
		}
		given := 0
		for _, p := range []string{"key", "team", "customer", "provider"} {
			if q.Has(p) {
				given++
			}
		}
		if given > 1 {
			httpx.WriteOpenAIError(w, adminInvalid("key", "give at most one of key, team, customer, provider"))
			return
		}
		switch {
		case q.Has("key"):
			id := q.Get("key")
			p := a.gov().Principal(id)
			if p == nil {
				httpx.WriteOpenAIError(w, adminNotFound("virtual key", id))
				return
			}
			// The key's limits and those of its team and customer: everything that can refuse its requests.
			out := []wireUsage{}
			for _, ls := range a.gov().Peek(p) {
				subj := ls.Subject
				for prefix, s := range levelSubject {
					if rest, ok := strings.CutPrefix(subj, prefix); ok {
						subj = s + rest
						break
					}
				}
				out = append(out, usageOf(subj, ls.Metric, ls.Limit, ls.Status, now))
			}
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"key": id, "team": p.TeamID(), "customer": p.CustomerID(), "usage": out})
		case q.Has("team"):
			id := q.Get("team")
			t, ok := a.team(id)
			if !ok {
				httpx.WriteOpenAIError(w, adminNotFound("team", id))
				return
			}
			out := a.subjectUsage("team:"+id, t.Limits, nil, t.Budget, now)
			if out == nil {
				out = []wireUsage{}
			}
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"team": id, "customer": t.CustomerID, "usage": out})
		case q.Has("customer"):
			id := q.Get("customer")
			c, ok := a.customer(id)
			if !ok {
				httpx.WriteOpenAIError(w, adminNotFound("customer", id))
				return
			}
			out := a.subjectUsage("customer:"+id, c.Limits, nil, c.Budget, now)
			if out == nil {
				out = []wireUsage{}
			}
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"customer": id, "usage": out})
		case q.Has("provider"):
			// A provider level (governance.providers): spend and limits of the provider account, whoever called.
			id := q.Get("provider")
			pl, ok := a.providerLevel(id)
			if !ok {
				httpx.WriteOpenAIError(w, adminNotFound("provider budget or limit", id))
				return
			}
			out := a.subjectUsage("provider:"+id, pl.Limits, nil, pl.Budget, now)
			if out == nil {
				out = []wireUsage{}
			}
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"provider": id, "usage": out})
		default:
			var all []subjectUsage
			for _, c := range a.gov().Customers() {
				if u := a.subjectUsage("customer:"+c.ID, c.Limits, nil, c.Budget, now); len(u) > 0 {
					all = append(all, subjectUsage{"customer:" + c.ID, u})
				}
			}
			for _, t := range a.gov().Teams() {
				if u := a.subjectUsage("team:"+t.ID, t.Limits, nil, t.Budget, now); len(u) > 0 {
					all = append(all, subjectUsage{"team:" + t.ID, u})
				}
			}
			for _, k := range a.gov().Keys() {
				if u := a.subjectUsage("key:"+k.ID, k.Limits, k.ProviderLimits, k.Budget, now); len(u) > 0 {
					all = append(all, subjectUsage{"key:" + k.ID, u})
				}
			}
			for _, pl := range a.gov().ProviderLimits() {
				if u := a.subjectUsage("provider:"+pl.Name, pl.Limits, nil, pl.Budget, now); len(u) > 0 {
					all = append(all, subjectUsage{"provider:" + pl.Name, u})
				}
			}
			if all == nil {
				all = []subjectUsage{}
			}
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": all})
		}
	})

	h("GET /api/pricing", func(w http.ResponseWriter, r *http.Request) {
		prices := a.gov().Prices()
		if m := r.URL.Query().Get("model"); m != "" {
			p, ok := prices.Lookup(m)
			if !ok {
				httpx.WriteOpenAIError(w, adminNotFound("price for model", m))
				return
			}
			httpx.WriteJSON(w, http.StatusOK, priceOut(m, p))
			return
		}
		// The table has no public iterator; list the prices of every model this gateway serves.
		out := []wirePrice{}
		seen := map[string]bool{}
		var names []string
		if a.c.Models != nil {
			for _, m := range a.c.Models() {
				names = append(names, m.ID)
			}
		}
		for _, n := range names {
			if seen[n] {
				continue
			}
			seen[n] = true
			if p, ok := prices.Lookup(n); ok {
				out = append(out, priceOut(n, p))
			}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "entries": prices.Table().Len(), "data": out})
	})
}

// wirePrice is one model's prices in LiteLLM's field names, per token in USD as exact decimals.
type wirePrice struct {
	Model           string      `json:"model"`
	Key             string      `json:"key"`
	Provider        string      `json:"litellm_provider,omitempty"`
	Mode            string      `json:"mode,omitempty"`
	Input           json.Number `json:"input_cost_per_token"`
	Output          json.Number `json:"output_cost_per_token"`
	CacheRead       json.Number `json:"cache_read_input_token_cost"`
	InputPerMillion json.Number `json:"input_usd_per_million_tokens"`
	OutputPerMill   json.Number `json:"output_usd_per_million_tokens"`
	MaxInputTokens  int64       `json:"max_input_tokens,omitempty"`
	MaxOutputTokens int64       `json:"max_output_tokens,omitempty"`
}

func priceOut(model string, p *pricing.Price) wirePrice {
	return wirePrice{Model: model, Key: p.Key, Provider: p.Provider, Mode: p.Mode,
		Input: picoUSD(p.InputPico, 0), Output: picoUSD(p.OutputPico, 0), CacheRead: picoUSD(p.CacheReadPico, 0),
		InputPerMillion: picoUSD(p.InputPico, 6), OutputPerMill: picoUSD(p.OutputPico, 6),
		MaxInputTokens: p.MaxInputTokens, MaxOutputTokens: p.MaxOutputTokens}
}

// picoUSD writes pico-dollars × 10^shift as an exact decimal of dollars.
func picoUSD(pico int64, shift int) json.Number {
	scale := 12 - shift
	s := strconv.FormatInt(pico, 10)
	if scale <= 0 {
		return json.Number(s + strings.Repeat("0", -scale))
	}
	if len(s) <= scale {
		s = strings.Repeat("0", scale-len(s)+1) + s
	}
	whole, frac := s[:len(s)-scale], strings.TrimRight(s[len(s)-scale:], "0")
	if frac == "" {
		return json.Number(whole)
	}
	return json.Number(whole + "." + frac)
}

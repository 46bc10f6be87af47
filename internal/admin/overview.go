package admin

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/requestlog"
	"github.com/weir-gateway/weir/internal/store"
)

// maxOverviewTop bounds the entries of each overview breakdown.
const maxOverviewTop = 100

// overview serves GET /api/stats/overview: the dashboard's figures from the request log's rollups, and the
// budgets near their limit from governance (docs/admin-api.md).
func (a *admin) overview(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("range")
	if name == "" {
		name = "24h"
	}
	rng, ok := requestlog.LookupRange(name)
	if !ok {
		httpx.WriteOpenAIError(w, adminInvalid("range", "must be one of 1h, 24h, 7d, 30d"))
		return
	}
	oq := requestlog.OverviewQuery{Range: rng, Now: time.Now(), Provider: q.Get("provider"), Model: q.Get("model"),
		KeyID: noneIdent(q.Get("key")), TeamID: noneIdent(q.Get("team")), Top: 10}
	if s := q.Get("top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxOverviewTop {
			httpx.WriteOpenAIError(w, adminInvalid("top", "must be an integer from 1 to %d", maxOverviewTop))
			return
		}
		oq.Top = n
	}
	threshold := 0.8
	if s := q.Get("budget_threshold"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || !(v >= 0 && v <= 1) {
			httpx.WriteOpenAIError(w, adminInvalid("budget_threshold", "must be a number from 0 to 1"))
			return
		}
		threshold = v
	}
	o, err := a.c.Overview.Overview(r.Context(), oq)
	if err != nil {
		a.c.Log.Error("admin: overview", "err", err)
		httpx.WriteOpenAIError(w, adminInternal("overview failed: "+err.Error()))
		return
	}
	series := make([]map[string]any, len(o.Series))
	for i := range o.Series {
		p := &o.Series[i]
		m := p.Measures
		lp50, lp99, op50, op99 := quantile(&m.Latency, 0.5), quantile(&m.Latency, 0.99), quantile(&m.Overhead, 0.5), quantile(&m.Overhead, 0.99)
		series[i] = map[string]any{"start": p.Start, "requests": m.Requests, "errors": m.Errors,
			"input_tokens": m.InputTokens, "output_tokens": m.OutputTokens, "cost_usd": usd(m.CostNano),
			"cost_nano_usd": m.CostNano, "latency_p50_ms": lp50, "latency_p99_ms": lp99,
			"overhead_p50_ms": op50, "overhead_p99_ms": op99}
	}
	t := &o.Totals
	totals := measuresJSON(t, false)
	totals["tokens"] = t.InputTokens + t.OutputTokens
	totals["latency_ms"] = map[string]any{"avg": avgMS(t.LatencyUS, t.Requests), "p50": quantile(&t.Latency, 0.5), "p99": quantile(&t.Latency, 0.99)}
	totals["overhead_ms"] = map[string]any{"avg": avgMS(t.OverheadUS, t.Requests), "p50": quantile(&t.Overhead, 0.5), "p99": quantile(&t.Overhead, 0.99)}
	delete(totals, "latency_avg_ms")
	keyNames, teamNames := a.entityNames()
	spenders := []map[string]any{}
	for _, g := range o.TopKeys {
		spenders = append(spenders, spenderJSON("key", g, keyNames))
	}
	for _, g := range o.TopTeams {
		spenders = append(spenders, spenderJSON("team", g, teamNames))
	}
	slices.SortStableFunc(spenders, func(x, y map[string]any) int {
		return cmp.Compare(y["cost_nano_usd"].(int64), x["cost_nano_usd"].(int64))
	})
	if len(spenders) > oq.Top {
		spenders = spenders[:oq.Top]
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"range": rng.Name, "from": o.From, "to": o.To, "step": shortDuration(o.Step), "step_seconds": o.Step.Seconds(),
		"filters": map[string]string{"provider": oq.Provider, "model": oq.Model, "key": q.Get("key"), "team": q.Get("team")},
		"totals":  totals, "series": series,
		"by_provider": groupsJSON(o.ByProvider, true, nil), "by_model": groupsJSON(o.ByModel, true, nil),
		"by_key": groupsJSON(o.ByKey, false, keyNames), "by_team": groupsJSON(o.ByTeam, false, teamNames),
		"by_route":     groupsJSON(o.ByRoute, false, nil),
		"top_spenders": spenders, "budgets": a.budgetsNearLimit(threshold, time.Now()),
	})
}

// noneIdent maps the query spelling of "no key/team" to requestlog.None.
func noneIdent(s string) string {
	if s == "(none)" {
		return requestlog.None
	}
	return s
}

func usd(nano int64) float64 { return float64(nano) / 1e9 }

func avgMS(sumUS, n int64) any {
	if n == 0 {
		return nil
	}
	return float64(sumUS) / float64(n) / 1000
}

// quantile is a histogram's quantile in milliseconds, or nil (JSON null) without values.
func quantile(h *requestlog.Histogram, q float64) any {
	v, ok := h.Quantile(q)
	if !ok {
		return nil
	}
	return v
}

func shortDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}

func measuresJSON(m *requestlog.Measures, percentiles bool) map[string]any {
	out := map[string]any{"requests": m.Requests, "errors": m.Errors, "error_rate": 0.0,
		"input_tokens": m.InputTokens, "output_tokens": m.OutputTokens, "cost_usd": usd(m.CostNano),
		"cost_nano_usd": m.CostNano, "latency_avg_ms": avgMS(m.LatencyUS, m.Requests)}
	if m.Requests > 0 {
		out["error_rate"] = float64(m.Errors) / float64(m.Requests)
	}
	if percentiles {
		out["latency_p50_ms"], out["latency_p99_ms"] = quantile(&m.Latency, 0.5), quantile(&m.Latency, 0.99)
	}
	return out
}

func groupsJSON(gs []requestlog.Group, percentiles bool, labels map[string]string) []map[string]any {
	out := make([]map[string]any, len(gs))
	for i := range gs {
		m := measuresJSON(&gs[i].Measures, percentiles)
		m["name"] = gs[i].Name
		if gs[i].Provider != "" {
			m["provider"] = gs[i].Provider
		}
		if l := labels[gs[i].Name]; l != "" {
			m["label"] = l
		}
		out[i] = m
	}
	return out
}

func spenderJSON(kind string, g requestlog.Group, labels map[string]string) map[string]any {
	m := map[string]any{"subject": kind + ":" + g.Name, "kind": kind, "id": g.Name, "cost_usd": usd(g.CostNano),
		"cost_nano_usd": g.CostNano, "requests": g.Requests}
	if l := labels[g.Name]; l != "" {
		m["label"] = l
	}
	return m
}

// entityNames maps key and team ids to their display names, where set.
func (a *admin) entityNames() (keys, teams map[string]string) {
	keys, teams = map[string]string{}, map[string]string{}
	if a.gov() == nil {
		return
	}
	for _, k := range a.gov().Keys() {
		if k.Name != "" {
			keys[k.ID] = k.Name
		}
	}
	for _, t := range a.gov().Teams() {
		if t.Name != "" {
			teams[t.ID] = t.Name
		}
	}
	return
}

// budgetsNearLimit lists the budgets of every governance level spent at least threshold of their limit in
// their current period, fullest first: one pass over the live counters.
func (a *admin) budgetsNearLimit(threshold float64, now time.Time) []map[string]any {
	out := []map[string]any{}
	if a.gov() == nil {
		return out
	}
	budgets := map[string]*store.Budget{}
	for _, c := range a.gov().Customers() {
		budgets["customer:"+c.ID] = c.Budget
	}
	for _, t := range a.gov().Teams() {
		budgets["team:"+t.ID] = t.Budget
	}
	for _, k := range a.gov().Keys() {
		budgets["key:"+k.ID] = k.Budget
	}
	for _, pl := range a.gov().ProviderLimits() {
		budgets["provider:"+pl.Name] = pl.Budget
	}
	type near struct {
		m    map[string]any
		frac float64
	}
	var found []near
	for _, ref := range a.gov().Counters() {
		period, ok := strings.CutPrefix(ref.Metric, "spend/")
		b := budgets[ref.Subject]
		if !ok || b == nil || b.MaxUSD <= 0 {
			continue
		}
		st := ref.Counter.Peek(now.UnixNano(), int64(b.MaxUSD))
		frac := float64(st.Used) / float64(b.MaxUSD)
		if frac < threshold || st.Used <= 0 {
			continue
		}
		kind, id, _ := strings.Cut(ref.Subject, ":")
		m := map[string]any{"subject": ref.Subject, "kind": kind, "id": id, "period": period,
			"spent_usd": usd(st.Used), "limit_usd": usd(int64(b.MaxUSD)), "fraction": frac}
		if st.Reset > 0 && st.Reset < 100*365*24*time.Hour {
			m["resets_at"] = now.Add(st.Reset).UTC().Truncate(time.Millisecond)
		}
		found = append(found, near{m, frac})
	}
	slices.SortStableFunc(found, func(x, y near) int {
		return cmp.Or(cmp.Compare(y.frac, x.frac), cmp.Compare(x.m["subject"].(string), y.m["subject"].(string)))
	})
	for _, n := range found {
		out = append(out, n.m)
	}
	return out
}

func adminInternal(msg string) *gateway.Error {
	return &gateway.Error{Status: http.StatusInternalServerError, Type: gateway.TypeAPI, Code: "internal_error", Message: msg}
}

package requestlog

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// LogFields are the row fields a query may choose (the `columns` parameter), each with the stored columns it
// reads. id and ts are always read (the cursor needs them).
var LogFields = []struct {
	Name    string
	Columns []string
}{
	{"time", nil},
	{"key_id", []string{"key_id"}},
	{"team_id", []string{"team_id"}},
	{"customer_id", []string{"customer_id"}},
	{"route", []string{"route"}},
	{"alias", []string{"alias"}},
	{"provider", []string{"provider"}},
	{"model", []string{"model"}},
	{"status", []string{"status"}},
	{"error", []string{"error"}},
	{"input_tokens", []string{"input_tokens"}},
	{"output_tokens", []string{"output_tokens"}},
	{"cost_usd", []string{"cost_nano"}},
	{"ttfb_ms", []string{"ttfb_us"}},
	{"duration_ms", []string{"duration_us"}},
	{"overhead_ms", []string{"overhead_us"}},
	{"stream", []string{"stream"}},
	{"caller_ip", []string{"caller_ip"}},
	{"trace_id", []string{"trace_id"}},
	{"provider_key", []string{"provider_key"}},
	{"attempts", []string{"attempts"}},
	{"headers", []string{"headers"}},
	{"request", []string{"request"}},
	{"response", []string{"response"}},
}

var fieldColumns = func() map[string][]string {
	m := make(map[string][]string, len(LogFields)+1)
	for _, f := range LogFields {
		m[f.Name] = f.Columns
	}
	m["id"] = nil
	return m
}()

// parseFields reads a comma-separated list of LogFields names.
func parseFields(s string) ([]string, error) {
	parts := strings.Split(s, ",")
	if len(parts) > 2*len(LogFields) {
		return nil, errors.New("too many columns")
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if _, ok := fieldColumns[p]; !ok {
			return nil, errors.New("unknown column " + jsonQuote(p) + " (see docs/admin-api.md)")
		}
		out = append(out, p)
	}
	return out, nil
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// selectColumns is the stored columns to read for fields (nil: all).
func selectColumns(fields []string) []string {
	if fields == nil {
		return columns
	}
	out := []string{"id", "ts"}
	seen := map[string]bool{"id": true, "ts": true}
	for _, f := range fields {
		for _, c := range fieldColumns[f] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// RowJSON is a record as the admin API shows it: durations in milliseconds, cost in dollars too, the provider
// key's hint only. fields chooses the fields (nil: all, with empty optional ones left out as before).
func RowJSON(r *Record, fields []string) map[string]any {
	all := fields == nil
	m := make(map[string]any, max(len(fields)+2, 8))
	m["id"] = r.ID
	want := func(name string) bool {
		if all {
			return true
		}
		for _, f := range fields {
			if f == name {
				return true
			}
		}
		return false
	}
	// opt sets an optional string field: always when chosen, only when non-empty when showing all.
	opt := func(name, v string) {
		if want(name) && (!all || v != "") {
			m[name] = v
		}
	}
	if want("time") {
		m["time"] = r.Time
	}
	opt("key_id", r.KeyID)
	opt("team_id", r.TeamID)
	opt("customer_id", r.CustomerID)
	if want("route") {
		m["route"] = r.Route
	}
	opt("alias", r.Alias)
	opt("provider", r.Provider)
	opt("model", r.Model)
	if want("status") {
		m["status"] = r.Status
	}
	opt("error", r.Error)
	if want("input_tokens") {
		m["input_tokens"] = r.InputTokens
	}
	if want("output_tokens") {
		m["output_tokens"] = r.OutputTokens
	}
	if want("cost_usd") {
		m["cost_nano_usd"] = r.CostNanoUSD
		m["cost_usd"] = float64(r.CostNanoUSD) / 1e9
	}
	if want("ttfb_ms") {
		m["ttfb_ms"] = ms(r.TTFB)
	}
	if want("duration_ms") {
		m["duration_ms"] = ms(r.Duration)
	}
	if want("overhead_ms") {
		m["overhead_ms"] = ms(r.Overhead)
	}
	if want("stream") {
		m["stream"] = r.Stream
	}
	opt("caller_ip", r.CallerIP)
	opt("trace_id", r.TraceID)
	opt("provider_key", r.ProviderKey)
	if want("attempts") {
		m["attempt_count"] = len(r.Attempts)
		if !all || len(r.Attempts) > 0 {
			m["attempts"] = attemptsJSON(r.Attempts)
		}
	}
	if want("headers") && (!all || len(r.Headers) > 0) {
		m["headers"] = r.Headers
	}
	opt("request", r.Request)
	opt("response", r.Response)
	return m
}

type attemptJSON struct {
	Provider    string  `json:"provider"`
	Model       string  `json:"model"`
	Status      int     `json:"status"`
	LatencyMS   float64 `json:"latency_ms"`
	Error       string  `json:"error,omitempty"`
	ProviderKey string  `json:"provider_key,omitempty"`
	Fallback    bool    `json:"fallback,omitempty"` // another provider or model than the attempt before
	Retry       bool    `json:"retry,omitempty"`    // the same provider and model again
	Call        int     `json:"call,omitempty"`     // the agent-mode model call it served
	// RequestBytes and ResponseBytes: an MCP tool call's arguments and result.
	RequestBytes  int64 `json:"request_bytes,omitempty"`
	ResponseBytes int64 `json:"response_bytes,omitempty"`
}

func attemptsJSON(as []Attempt) []attemptJSON {
	out := make([]attemptJSON, len(as))
	for i, a := range as {
		out[i] = attemptJSON{Provider: a.Provider, Model: a.Model, Status: a.Status, LatencyMS: ms(a.Latency),
			Error: a.Error, ProviderKey: a.KeyHint, Call: a.Call, RequestBytes: a.RequestBytes, ResponseBytes: a.ResponseBytes}
		if i > 0 && as[i-1].Call == a.Call {
			prev := as[i-1]
			same := prev.Provider == a.Provider && prev.Model == a.Model
			out[i].Retry, out[i].Fallback = same, !same
		}
	}
	return out
}

// DetailJSON is one request's drill-down: every field, plus its timings and whether content was logged.
func DetailJSON(r *Record) map[string]any {
	m := RowJSON(r, nil)
	var upstream time.Duration
	for _, a := range r.Attempts {
		upstream += a.Latency
	}
	m["timings"] = map[string]float64{"ttfb_ms": ms(r.TTFB), "total_ms": ms(r.Duration), "overhead_ms": ms(r.Overhead),
		"upstream_ms": ms(upstream)}
	m["content_logged"] = r.Request != "" || r.Response != ""
	if _, ok := m["attempts"]; !ok {
		m["attempts"] = []attemptJSON{}
	}
	return m
}

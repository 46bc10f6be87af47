package requestlog

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
)

// None, as the value of an identity filter (Filter.KeyID, TeamID, CustomerID), matches the requests without one.
// In a query string it is spelled "(none)", which no id can be.
const None = "\x00none"

// Filter selects rows for QueryLogs and the live tail. Zero fields do not filter; set fields combine with AND.
type Filter struct {
	From, To   time.Time // From ≤ time < To
	KeyID      string
	TeamID     string
	CustomerID string
	Model      string // upstream model
	Alias      string
	Provider   string
	Route      string
	TraceID    string
	// Status matches any of its ranges (OR); empty: any status.
	Status []StatusMatch
	// StatusMin and StatusMax bound the final status (inclusive); both 0: any. (Older form of Status.)
	StatusMin, StatusMax int
	// Stream, when set, matches streamed (true) or not streamed (false) requests.
	Stream *bool
	// Cost bounds in nano-dollars, inclusive; nil: none.
	MinCostNano, MaxCostNano *int64
	// MinLatency and MaxLatency bound the total duration, inclusive; 0: none.
	MinLatency, MaxLatency time.Duration
	// Token bounds on input + output tokens, inclusive; nil: none.
	MinTokens, MaxTokens *int64
	// ErrorText matches rows whose error contains it, ignoring ASCII case.
	ErrorText string

	// Limit is the page size: default 50, at most MaxPageSize.
	Limit int
	// Cursor is the previous page's nextCursor; "" for the first page. Rows come newest first.
	Cursor string
	// NoTotal skips counting the matching rows (total is then -1).
	NoTotal bool
	// Fields are the row fields to read (see LogFields); nil: all.
	Fields []string
}

// StatusMatch is one status condition of a Filter.
type StatusMatch struct {
	Min, Max int // inclusive range of status codes, when Kind is StatusRange
	Kind     StatusKind
}

// StatusKind says what a StatusMatch matches.
type StatusKind uint8

const (
	StatusRange StatusKind = iota // Min ≤ status ≤ Max
	StatusError                   // status ≥ 400 or an error recorded
	StatusOK                      // status < 400 and no error
)

// MaxPageSize bounds a page of QueryLogs.
const MaxPageSize = 200

// maxErrorText bounds the error-text filter.
const maxErrorText = 200

// FilterError names the query parameter a filter could not be parsed from.
type FilterError struct {
	Param, Msg string
}

func (e *FilterError) Error() string { return e.Param + ": " + e.Msg }

// ParseFilter reads the log filters of docs/admin-api.md from a query string. page adds the paging parameters
// (limit, cursor, total); columns is always read. It does not check the cursor (QueryLogs does).
func ParseFilter(q url.Values, page bool) (Filter, error) {
	f := Filter{KeyID: ident(q.Get("key")), TeamID: ident(q.Get("team")), CustomerID: ident(q.Get("customer")),
		Model: q.Get("model"), Alias: q.Get("alias"), Provider: q.Get("provider"), Route: q.Get("route"),
		TraceID: q.Get("trace_id")}
	if f.KeyID == "" {
		f.KeyID = ident(q.Get("key_id"))
	}
	bad := func(p, msg string) (Filter, error) { return Filter{}, &FilterError{p, msg} }
	var err error
	if f.From, err = parseTime(q.Get("from")); err != nil {
		return bad("from", err.Error())
	}
	if f.To, err = parseTime(q.Get("to")); err != nil {
		return bad("to", err.Error())
	}
	if s := q.Get("status"); s != "" {
		if f.Status, err = parseStatuses(s); err != nil {
			return bad("status", err.Error())
		}
	}
	if s := q.Get("stream"); s != "" {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return bad("stream", "want true or false")
		}
		f.Stream = &v
	}
	for _, c := range []struct {
		param string
		dst   **int64
	}{{"min_cost_usd", &f.MinCostNano}, {"max_cost_usd", &f.MaxCostNano}} {
		if s := q.Get(c.param); s != "" {
			m, err := pricing.ParseUSD(s)
			if err != nil || m < 0 {
				return bad(c.param, "want a non-negative amount of dollars such as 0.0015")
			}
			v := int64(m)
			*c.dst = &v
		}
	}
	for _, c := range []struct {
		param string
		dst   *time.Duration
	}{{"min_latency_ms", &f.MinLatency}, {"max_latency_ms", &f.MaxLatency}} {
		if s := q.Get(c.param); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || !(v >= 0 && v < 1e12) {
				return bad(c.param, "want a non-negative number")
			}
			*c.dst = time.Duration(v * float64(time.Millisecond))
		}
	}
	for _, c := range []struct {
		param string
		dst   **int64
	}{{"min_tokens", &f.MinTokens}, {"max_tokens", &f.MaxTokens}} {
		if s := q.Get(c.param); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < 0 {
				return bad(c.param, "want a non-negative integer")
			}
			*c.dst = &v
		}
	}
	if s := q.Get("error"); s != "" {
		if len(s) > maxErrorText {
			return bad("error", "at most "+strconv.Itoa(maxErrorText)+" characters")
		}
		f.ErrorText = s
	}
	if s := q.Get("columns"); s != "" {
		if f.Fields, err = parseFields(s); err != nil {
			return bad("columns", err.Error())
		}
	}
	if !page {
		return f, nil
	}
	f.Cursor, f.NoTotal = q.Get("cursor"), q.Get("total") == "false"
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 {
			return bad("limit", "want a positive integer")
		}
		f.Limit = min(f.Limit, MaxPageSize)
	}
	return f, nil
}

// ident maps "(none)" to None.
func ident(s string) string {
	if s == "(none)" {
		return None
	}
	return s
}

// parseStatuses reads a comma-separated list of codes (429), classes (5xx), "error" and "ok".
func parseStatuses(s string) ([]StatusMatch, error) {
	parts := strings.Split(s, ",")
	if len(parts) > 16 {
		return nil, errors.New("at most 16 statuses")
	}
	out := make([]StatusMatch, 0, len(parts))
	for _, p := range parts {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "error" || p == "errors":
			out = append(out, StatusMatch{Kind: StatusError})
			continue
		case p == "ok":
			out = append(out, StatusMatch{Kind: StatusOK})
			continue
		}
		lo, hi, err := parseStatus(p)
		if err != nil {
			return nil, err
		}
		out = append(out, StatusMatch{Min: lo, Max: hi})
	}
	return out, nil
}

func parseStatus(s string) (int, int, error) {
	s = strings.ToLower(s)
	switch {
	case s == "error" || s == "errors":
		return 400, 999, nil
	case len(s) == 3 && strings.HasSuffix(s, "xx") && s[0] >= '1' && s[0] <= '5':
		c := int(s[0]-'0') * 100
		return c, c + 99, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > 999 {
		return 0, 0, errors.New("want codes (429), classes (5xx), error or ok, comma-separated")
	}
	return v, v, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && v < 1e11 {
		return time.UnixMicro(int64(v * 1e6)), nil
	}
	return time.Time{}, errors.New("want RFC 3339 or Unix seconds")
}

// Match reports whether r passes f's conditions (not the paging ones), as QueryLogs's SQL would: the live tail
// filters with it.
func (f *Filter) Match(r *Record) bool {
	if !f.From.IsZero() && r.Time.Before(f.From) || !f.To.IsZero() && !r.Time.Before(f.To) {
		return false
	}
	for _, eq := range [...]struct{ want, got string }{{f.KeyID, r.KeyID}, {f.TeamID, r.TeamID},
		{f.CustomerID, r.CustomerID}, {f.Model, r.Model}, {f.Alias, r.Alias}, {f.Provider, r.Provider},
		{f.Route, r.Route}, {f.TraceID, r.TraceID}} {
		switch eq.want {
		case "":
		case None:
			if eq.got != "" {
				return false
			}
		default:
			if eq.got != eq.want {
				return false
			}
		}
	}
	if len(f.Status) > 0 {
		ok := false
		for _, m := range f.Status {
			if m.match(r) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if f.StatusMin != 0 && r.Status < f.StatusMin || f.StatusMax != 0 && r.Status > f.StatusMax {
		return false
	}
	if f.Stream != nil && r.Stream != *f.Stream {
		return false
	}
	if f.MinCostNano != nil && r.CostNanoUSD < *f.MinCostNano || f.MaxCostNano != nil && r.CostNanoUSD > *f.MaxCostNano {
		return false
	}
	// Durations are stored in microseconds: compare as the database does.
	dur := r.Duration.Microseconds()
	if f.MinLatency > 0 && dur < f.MinLatency.Microseconds() || f.MaxLatency > 0 && dur > f.MaxLatency.Microseconds() {
		return false
	}
	tok := r.InputTokens + r.OutputTokens
	if f.MinTokens != nil && tok < *f.MinTokens || f.MaxTokens != nil && tok > *f.MaxTokens {
		return false
	}
	if f.ErrorText != "" && !containsFold(r.Error, f.ErrorText) {
		return false
	}
	return true
}

func (m StatusMatch) match(r *Record) bool {
	switch m.Kind {
	case StatusError:
		return isError(r.Status, r.Error)
	case StatusOK:
		return !isError(r.Status, r.Error)
	}
	return r.Status >= m.Min && r.Status <= m.Max
}

// containsFold is strings.Contains ignoring ASCII case, as SQL's LOWER(…) LIKE does on both databases.
func containsFold(s, sub string) bool {
	return strings.Contains(asciiLower(s), asciiLower(sub))
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

package requestlog

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// API serves the request log over HTTP:
//
//	GET /api/logs?from=&to=&key=&team=&customer=&model=&alias=&provider=&status=&min_latency_ms=&limit=&cursor=&total=false
//	GET /api/logs/{id}
//	GET /api/stats?from=&to=&interval=
//
// Times are RFC 3339 or Unix seconds; status is a code (200), a class (2xx, 4xx, 5xx) or "error" (≥ 400);
// interval is a Go duration ("1m", "1h"); defaults: the last 24 h, interval chosen for ≤ 100 buckets.
type API struct {
	reader    Reader
	authorize func(http.ResponseWriter, *http.Request) bool
}

// NewAPI returns the handlers over reader. authorize runs first on every request: it returns false after
// writing its own refusal (e.g. the admin-token check of the rest of /api); nil allows everything.
func NewAPI(reader Reader, authorize func(http.ResponseWriter, *http.Request) bool) *API {
	return &API{reader: reader, authorize: authorize}
}

// Register adds the three routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/logs", a.Logs)
	mux.HandleFunc("GET /api/logs/{id}", a.Log)
	mux.HandleFunc("GET /api/stats", a.Stats)
}

func (a *API) allowed(w http.ResponseWriter, r *http.Request) bool {
	return a.authorize == nil || a.authorize(w, r)
}

// logView is a Record as JSON, with durations in milliseconds.
type logView struct {
	Record
	TTFBms     float64       `json:"ttfb_ms"`
	DurationMS float64       `json:"duration_ms"`
	CostUSD    float64       `json:"cost_usd"`
	Attempts   []attemptView `json:"attempts,omitempty"`
	// shadow the nanosecond fields
	TTFB     *struct{} `json:"ttfb_ns,omitempty"`
	Duration *struct{} `json:"duration_ns,omitempty"`
}

type attemptView struct {
	Provider  string  `json:"provider"`
	Model     string  `json:"model"`
	Status    int     `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
	// RequestBytes and ResponseBytes: an MCP tool call's arguments and result.
	RequestBytes  int64 `json:"request_bytes,omitempty"`
	ResponseBytes int64 `json:"response_bytes,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func view(r Record) logView {
	v := logView{Record: r, TTFBms: ms(r.TTFB), DurationMS: ms(r.Duration), CostUSD: float64(r.CostNanoUSD) / 1e9}
	for _, at := range r.Attempts {
		v.Attempts = append(v.Attempts, attemptView{Provider: at.Provider, Model: at.Model, Status: at.Status,
			LatencyMS: ms(at.Latency), Error: at.Error, RequestBytes: at.RequestBytes, ResponseBytes: at.ResponseBytes})
	}
	return v
}

// Logs serves GET /api/logs.
func (a *API) Logs(w http.ResponseWriter, r *http.Request) {
	if !a.allowed(w, r) {
		return
	}
	q := r.URL.Query()
	f := Filter{KeyID: q.Get("key"), TeamID: q.Get("team"), CustomerID: q.Get("customer"), Model: q.Get("model"),
		Alias: q.Get("alias"), Provider: q.Get("provider"), Cursor: q.Get("cursor"), NoTotal: q.Get("total") == "false"}
	if f.KeyID == "" {
		f.KeyID = q.Get("key_id")
	}
	var err error
	if f.From, err = parseTime(q.Get("from")); err != nil {
		badRequest(w, "from", err.Error())
		return
	}
	if f.To, err = parseTime(q.Get("to")); err != nil {
		badRequest(w, "to", err.Error())
		return
	}
	if s := q.Get("status"); s != "" {
		if f.StatusMin, f.StatusMax, err = parseStatus(s); err != nil {
			badRequest(w, "status", err.Error())
			return
		}
	}
	if s := q.Get("min_latency_ms"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 {
			badRequest(w, "min_latency_ms", "want a non-negative number")
			return
		}
		f.MinLatency = time.Duration(v * float64(time.Millisecond))
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 {
			badRequest(w, "limit", "want a positive integer")
			return
		}
	}
	rows, next, total, err := a.reader.QueryLogs(r.Context(), f)
	if errors.Is(err, ErrBadCursor) {
		badRequest(w, "cursor", "invalid")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "query failed: "+err.Error())
		return
	}
	data := make([]logView, len(rows))
	for i := range rows {
		data[i] = view(rows[i])
	}
	resp := map[string]any{"object": "list", "data": data, "next_cursor": next, "has_more": next != ""}
	if total >= 0 {
		resp["total"] = total
	}
	writeJSON(w, http.StatusOK, resp)
}

// Log serves GET /api/logs/{id}.
func (a *API) Log(w http.ResponseWriter, r *http.Request) {
	if !a.allowed(w, r) {
		return
	}
	id := r.PathValue("id")
	if id == "" {
		id = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	rec, err := a.reader.GetLog(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusNotFound, "no request log "+strconv.Quote(id))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "query failed: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, view(rec))
}

// Stats serves GET /api/stats.
func (a *API) Stats(w http.ResponseWriter, r *http.Request) {
	if !a.allowed(w, r) {
		return
	}
	q := r.URL.Query()
	from, err := parseTime(q.Get("from"))
	if err != nil {
		badRequest(w, "from", err.Error())
		return
	}
	to, err := parseTime(q.Get("to"))
	if err != nil {
		badRequest(w, "to", err.Error())
		return
	}
	if to.IsZero() {
		to = time.Now()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	if !to.After(from) {
		badRequest(w, "from", "must be before to")
		return
	}
	var interval time.Duration
	if s := q.Get("interval"); s != "" {
		if interval, err = time.ParseDuration(s); err != nil || interval <= 0 {
			badRequest(w, "interval", "want a positive duration such as 1m or 1h")
			return
		}
	} else {
		interval = niceInterval(to.Sub(from) / 100)
	}
	if n := (to.Sub(from) + interval - 1) / interval; n > MaxStatsBuckets {
		badRequest(w, "interval", "too small for the range: at most "+strconv.Itoa(MaxStatsBuckets)+" intervals")
		return
	}
	buckets, err := a.reader.Stats(r.Context(), from, to, interval)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "stats failed: "+err.Error())
		return
	}
	var sum Bucket
	for _, b := range buckets {
		sum.Requests += b.Requests
		sum.Errors += b.Errors
		sum.InputTokens += b.InputTokens
		sum.OutputTokens += b.OutputTokens
		sum.CostNanoUSD += b.CostNanoUSD
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"from": from.UTC(), "to": to.UTC(), "interval": interval.String(), "interval_seconds": interval.Seconds(),
		"data": buckets,
		"totals": map[string]any{"requests": sum.Requests, "errors": sum.Errors, "input_tokens": sum.InputTokens,
			"output_tokens": sum.OutputTokens, "cost_nano_usd": sum.CostNanoUSD, "cost_usd": float64(sum.CostNanoUSD) / 1e9},
	})
}

var niceIntervals = []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
	5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour,
	12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

func niceInterval(d time.Duration) time.Duration {
	for _, n := range niceIntervals {
		if n >= d {
			return n
		}
	}
	return niceIntervals[len(niceIntervals)-1]
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return time.UnixMicro(int64(v * 1e6)), nil
	}
	return time.Time{}, errors.New("want RFC 3339 or Unix seconds")
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
	if err != nil || v < 0 || v > 999 {
		return 0, 0, errors.New("want a code, a class like 5xx, or error")
	}
	if v == 0 {
		return 0, 0, errors.New("want a code, a class like 5xx, or error")
	}
	return v, v, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers in the admin API's error format (OpenAI's): {"error":{"message","type","param","code"}}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeErrorParam(w, status, "", msg)
}

func writeErrorParam(w http.ResponseWriter, status int, param, msg string) {
	typ, code := "api_error", "internal_error"
	switch status {
	case http.StatusBadRequest:
		typ, code = "invalid_request_error", "invalid_value"
	case http.StatusNotFound:
		typ, code = "not_found_error", "not_found"
	}
	var p *string
	if param != "" {
		p, msg = &param, param+": "+msg
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": p, "code": code}})
}

// badRequest refuses the query parameter param.
func badRequest(w http.ResponseWriter, param, msg string) {
	writeErrorParam(w, http.StatusBadRequest, param, msg)
}

package requestlog

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// API serves the request log over HTTP (docs/admin-api.md, "Request log, statistics and live tail"):
//
//	GET /api/logs?<filters>&limit=&cursor=&total=false&columns=
//	GET /api/logs/{id}
//	GET /api/logs/tail?<filters>&columns=      (Server-Sent Events; needs WithTail)
//	GET /api/stats?from=&to=&interval=
//
// Times are RFC 3339 or Unix seconds; status is a code (200), a class (2xx, 4xx, 5xx), "error" or "ok",
// comma-separated; interval is a Go duration ("1m", "1h"); defaults: the last 24 h, interval chosen for ≤ 100
// buckets.
type API struct {
	reader    Reader
	tail      *Hub
	authorize func(http.ResponseWriter, *http.Request) bool
	// keepalive is the time between two SSE comments keeping an idle tail open.
	keepalive time.Duration
}

// NewAPI returns the handlers over reader. authorize runs first on every request: it returns false after
// writing its own refusal (e.g. the admin-token check of the rest of /api); nil allows everything.
func NewAPI(reader Reader, authorize func(http.ResponseWriter, *http.Request) bool) *API {
	return &API{reader: reader, authorize: authorize, keepalive: 15 * time.Second}
}

// WithTail serves the live tail from hub (the Writer's Options.Tail).
func (a *API) WithTail(hub *Hub) *API {
	a.tail = hub
	return a
}

// Register adds the routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/logs", a.Logs)
	mux.HandleFunc("GET /api/logs/{id}", a.Log)
	mux.HandleFunc("GET /api/logs/tail", a.Tail)
	mux.HandleFunc("GET /api/stats", a.Stats)
}

func (a *API) allowed(w http.ResponseWriter, r *http.Request) bool {
	return a.authorize == nil || a.authorize(w, r)
}

// refuseFilter answers a FilterError (or any error) as a 400 naming the parameter.
func refuseFilter(w http.ResponseWriter, err error) {
	var fe *FilterError
	if errors.As(err, &fe) {
		badRequest(w, fe.Param, fe.Msg)
		return
	}
	badRequest(w, "", err.Error())
}

// Logs serves GET /api/logs.
func (a *API) Logs(w http.ResponseWriter, r *http.Request) {
	if !a.allowed(w, r) {
		return
	}
	f, err := ParseFilter(r.URL.Query(), true)
	if err != nil {
		refuseFilter(w, err)
		return
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
	data := make([]map[string]any, len(rows))
	for i := range rows {
		data[i] = RowJSON(&rows[i], f.Fields)
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
	writeJSON(w, http.StatusOK, DetailJSON(&rec))
}

// Tail serves GET /api/logs/tail: the rows stored from now on that match the filters, as Server-Sent Events,
// until the client leaves.
func (a *API) Tail(w http.ResponseWriter, r *http.Request) {
	if !a.allowed(w, r) {
		return
	}
	if a.tail == nil {
		writeError(w, http.StatusNotFound, "the live tail needs the request log")
		return
	}
	f, err := ParseFilter(r.URL.Query(), false)
	if err != nil {
		refuseFilter(w, err)
		return
	}
	f.From, f.To = time.Time{}, time.Time{}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a tail lasts as long as the client stays
	sub := a.tail.Subscribe(f)
	defer sub.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("event: ready\ndata: {\"buffer\":" + strconv.Itoa(TailBuffer) + "}\n\n")); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	keep := time.NewTicker(a.keepalive)
	defer keep.Stop()
	var buf []byte
	for {
		buf = buf[:0]
		select {
		case <-r.Context().Done():
			return
		case <-a.tail.Done():
			return
		case rec := <-sub.C:
			data, _ := json.Marshal(RowJSON(rec, f.Fields))
			buf = append(buf, "id: "...)
			buf = append(buf, rec.ID...)
			buf = append(buf, "\nevent: log\ndata: "...)
			buf = append(buf, data...)
			buf = append(buf, "\n\n"...)
		case <-keep.C:
			buf = append(buf, ": keepalive\n\n"...)
		}
		if n := sub.TakeDropped(); n > 0 {
			buf = append(buf, "event: dropped\ndata: {\"dropped\":"...)
			buf = strconv.AppendInt(buf, n, 10)
			buf = append(buf, "}\n\n"...)
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
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

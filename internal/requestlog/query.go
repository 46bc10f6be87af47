package requestlog

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// where builds a WHERE clause with dialect placeholders.
type where struct {
	s     *SQLSink
	conds []string
	args  []any
}

// add appends a condition written with "?" for each argument.
func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	for _, c := range cond {
		if c == '?' {
			w.args = append(w.args, args[0])
			args = args[1:]
			b.WriteString(w.s.ph(len(w.args)))
			continue
		}
		b.WriteRune(c)
	}
	w.conds = append(w.conds, b.String())
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// errorsTerm is the condition of the failed-requests index. On SQLite a filter that only selects failed requests
// repeats it word for word, which is how SQLite recognises that the partial index serves the query.
const errorsTerm = "(status >= 400 OR error <> '')"

// onlyErrors reports whether every row f selects is a failed request.
func onlyErrors(f *Filter) bool {
	if f.StatusMin >= 400 {
		return true
	}
	if len(f.Status) == 0 {
		return false
	}
	for _, m := range f.Status {
		if m.Kind == StatusOK || m.Kind == StatusRange && m.Min < 400 {
			return false
		}
	}
	return true
}

// likeEscaper escapes LIKE's wildcards (with \ as the escape character).
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (s *SQLSink) filter(f *Filter) *where {
	w := &where{s: s}
	if !f.From.IsZero() {
		w.add("ts >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		w.add("ts < ?", f.To.UnixMicro())
	}
	for _, eq := range [...]struct{ col, v string }{{"key_id", f.KeyID}, {"team_id", f.TeamID},
		{"customer_id", f.CustomerID}, {"model", f.Model}, {"alias", f.Alias}, {"provider", f.Provider},
		{"route", f.Route}, {"trace_id", f.TraceID}} {
		switch eq.v {
		case "":
		case None:
			w.add(eq.col + " = ''")
		default:
			w.add(eq.col+" = ?", s.text(eq.v))
		}
	}
	if len(f.Status) > 0 {
		var ors []string
		var args []any
		for _, m := range f.Status {
			switch {
			case m.Kind == StatusError:
				ors = append(ors, errorsTerm)
			case m.Kind == StatusOK:
				ors = append(ors, "(status < 400 AND error = '')")
			case m.Min == m.Max:
				ors, args = append(ors, "status = ?"), append(args, m.Min)
			default:
				ors, args = append(ors, "(status >= ? AND status <= ?)"), append(args, m.Min, m.Max)
			}
		}
		w.add("("+strings.Join(ors, " OR ")+")", args...)
	}
	switch {
	case f.StatusMin != 0 && f.StatusMin == f.StatusMax:
		w.add("status = ?", f.StatusMin)
	case f.StatusMin != 0 || f.StatusMax != 0:
		if f.StatusMin != 0 {
			w.add("status >= ?", f.StatusMin)
		}
		if f.StatusMax != 0 {
			w.add("status <= ?", f.StatusMax)
		}
	}
	// SQLite uses a partial index only when the query repeats its condition; PostgreSQL proves it from the status
	// bounds, and the repeated condition would skew its row estimate into a worse plan.
	if s.d == sqldb.SQLite && onlyErrors(f) {
		w.add(errorsTerm)
	}
	if f.Stream != nil {
		v := 0
		if *f.Stream {
			v = 1
		}
		w.add("stream = ?", v)
	}
	if f.MinCostNano != nil {
		w.add("cost_nano >= ?", *f.MinCostNano)
	}
	if f.MaxCostNano != nil {
		w.add("cost_nano <= ?", *f.MaxCostNano)
	}
	if f.MinLatency > 0 {
		w.add("duration_us >= ?", f.MinLatency.Microseconds())
	}
	if f.MaxLatency > 0 {
		w.add("duration_us <= ?", f.MaxLatency.Microseconds())
	}
	if f.MinTokens != nil {
		w.add("input_tokens + output_tokens >= ?", *f.MinTokens)
	}
	if f.MaxTokens != nil {
		w.add("input_tokens + output_tokens <= ?", *f.MaxTokens)
	}
	if f.ErrorText != "" {
		// SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE ignores case.
		op := "LIKE"
		if s.d == sqldb.Postgres {
			op = "ILIKE"
		}
		w.add("error "+op+" ? ESCAPE '\\'", "%"+likeEscaper.Replace(s.text(f.ErrorText))+"%")
	}
	return w
}

// ErrBadCursor is returned for a cursor QueryLogs did not produce.
var ErrBadCursor = errors.New("requestlog: invalid cursor")

// encodeCursor makes the opaque cursor of the page after the row (ts, id).
func encodeCursor(ts int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ts, 10) + ":" + id))
}

// decodeCursor reads a cursor made by encodeCursor.
func decodeCursor(c string) (int64, string, error) {
	if len(c) > 512 {
		return 0, "", ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	tsStr, id, ok := strings.Cut(string(b), ":")
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if !ok || err != nil || id == "" || ts < 0 {
		return 0, "", ErrBadCursor
	}
	return ts, id, nil
}

// QueryLogs returns a page of matching rows, newest first, the cursor of the next page ("" if this was the
// last) and the number of matching rows in all pages (-1 with Filter.NoTotal). Pages are keyset pages on
// (ts, id): any page costs what the first does.
func (s *SQLSink) QueryLogs(ctx context.Context, f Filter) ([]Record, string, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, MaxPageSize)
	var cts int64
	var cid string
	if f.Cursor != "" {
		var err error
		if cts, cid, err = decodeCursor(f.Cursor); err != nil {
			return nil, "", 0, err
		}
	}
	w := s.filter(&f)
	total := int64(-1)
	if !f.NoTotal {
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+s.table+w.sql(), w.args...).Scan(&total); err != nil {
			return nil, "", 0, err
		}
	}
	if f.Cursor != "" {
		w.add("ts <= ? AND (ts < ? OR id < ?)", cts, cts, cid) // the bound on ts lets the (ts, id) index start there
	}
	cols := selectColumns(f.Fields)
	q := `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + s.table + w.sql() + ` ORDER BY ts DESC, id DESC LIMIT ` +
		strconv.Itoa(limit+1)
	rows, err := s.db.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, "", 0, err
	}
	defer rows.Close()
	out := make([]Record, 0, min(limit+1, 64))
	for rows.Next() {
		r, err := scanRecord(rows, cols)
		if err != nil {
			return nil, "", 0, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", 0, err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeCursor(last.Time.UnixMicro(), last.ID)
	}
	return out, next, total, nil
}

// GetLog returns one row by id, or ErrNotFound.
func (s *SQLSink) GetLog(ctx context.Context, id string) (Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+s.cols+` FROM `+s.table+` WHERE id = `+s.ph(1), s.text(id))
	if err != nil {
		return Record{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Record{}, err
		}
		return Record{}, ErrNotFound
	}
	return scanRecord(rows, columns)
}

// scanRecord reads one row of the named stored columns.
func scanRecord(rows *sql.Rows, cols []string) (Record, error) {
	var r Record
	var ts, ttfb, dur, ovh, stream int64
	var attempts, headers string
	dest := make([]any, len(cols))
	for i, c := range cols {
		switch c {
		case "id":
			dest[i] = &r.ID
		case "ts":
			dest[i] = &ts
		case "key_id":
			dest[i] = &r.KeyID
		case "team_id":
			dest[i] = &r.TeamID
		case "customer_id":
			dest[i] = &r.CustomerID
		case "route":
			dest[i] = &r.Route
		case "alias":
			dest[i] = &r.Alias
		case "provider":
			dest[i] = &r.Provider
		case "model":
			dest[i] = &r.Model
		case "status":
			dest[i] = &r.Status
		case "error":
			dest[i] = &r.Error
		case "input_tokens":
			dest[i] = &r.InputTokens
		case "output_tokens":
			dest[i] = &r.OutputTokens
		case "cost_nano":
			dest[i] = &r.CostNanoUSD
		case "ttfb_us":
			dest[i] = &ttfb
		case "duration_us":
			dest[i] = &dur
		case "overhead_us":
			dest[i] = &ovh
		case "stream":
			dest[i] = &stream
		case "caller_ip":
			dest[i] = &r.CallerIP
		case "attempts":
			dest[i] = &attempts
		case "headers":
			dest[i] = &headers
		case "request":
			dest[i] = &r.Request
		case "response":
			dest[i] = &r.Response
		case "trace_id":
			dest[i] = &r.TraceID
		case "provider_key":
			dest[i] = &r.ProviderKey
		default:
			return r, errors.New("requestlog: unknown column " + c)
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return r, err
	}
	r.Time = time.UnixMicro(ts).UTC()
	r.TTFB = time.Duration(ttfb) * time.Microsecond
	r.Duration = time.Duration(dur) * time.Microsecond
	r.Overhead = time.Duration(ovh) * time.Microsecond
	r.Stream = stream != 0
	if attempts != "" {
		_ = json.Unmarshal([]byte(attempts), &r.Attempts)
	}
	if headers != "" {
		_ = json.Unmarshal([]byte(headers), &r.Headers)
	}
	return r, nil
}

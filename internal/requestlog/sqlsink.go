package requestlog

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// SQLOptions tunes a SQLSink.
type SQLOptions struct {
	// Table is the table name; default "request_logs".
	Table string
}

// SQLSink stores records in one table of a SQLite or PostgreSQL database. It implements Sink, Retainer and
// Reader.
type SQLSink struct {
	db    *sqldb.DB
	d     sqldb.Dialect
	table string
	cols  string
}

// columns in insert/select order.
var columns = []string{"id", "ts", "key_id", "team_id", "customer_id", "route", "alias", "provider", "model",
	"status", "error", "input_tokens", "output_tokens", "cost_nano", "ttfb_us", "duration_us", "stream",
	"caller_ip", "attempts", "headers", "request", "response"}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// maxRowsPerStatement keeps a multi-row INSERT under both backends' bound-parameter limits
// (SQLite 32,766; PostgreSQL 65,535).
const maxRowsPerStatement = 500

// NewSQLSink creates the table and its indexes if missing (idempotent; safe for several gateways starting
// together on PostgreSQL) and returns the sink. The caller owns db.
func NewSQLSink(ctx context.Context, db *sqldb.DB, opts SQLOptions) (*SQLSink, error) {
	t := opts.Table
	if t == "" {
		t = "request_logs"
	}
	if !identRE.MatchString(t) {
		return nil, fmt.Errorf("requestlog: invalid table name %q", t)
	}
	s := &SQLSink{db: db, d: db.Dialect, table: t, cols: strings.Join(columns, ", ")}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("requestlog: create table %s: %w", t, err)
	}
	return s, nil
}

func (s *SQLSink) migrate(ctx context.Context) error {
	t := s.table
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + t + ` (
			id TEXT PRIMARY KEY,
			ts BIGINT NOT NULL,
			key_id TEXT NOT NULL DEFAULT '',
			team_id TEXT NOT NULL DEFAULT '',
			customer_id TEXT NOT NULL DEFAULT '',
			route TEXT NOT NULL DEFAULT '',
			alias TEXT NOT NULL DEFAULT '',
			provider TEXT NOT NULL DEFAULT '',
			model TEXT NOT NULL DEFAULT '',
			status INTEGER NOT NULL DEFAULT 0,
			error TEXT NOT NULL DEFAULT '',
			input_tokens BIGINT NOT NULL DEFAULT 0,
			output_tokens BIGINT NOT NULL DEFAULT 0,
			cost_nano BIGINT NOT NULL DEFAULT 0,
			ttfb_us BIGINT NOT NULL DEFAULT 0,
			duration_us BIGINT NOT NULL DEFAULT 0,
			stream INTEGER NOT NULL DEFAULT 0,
			caller_ip TEXT NOT NULL DEFAULT '',
			attempts TEXT NOT NULL DEFAULT '',
			headers TEXT NOT NULL DEFAULT '',
			request TEXT NOT NULL DEFAULT '',
			response TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_ts ON ` + t + ` (ts)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_key_ts ON ` + t + ` (key_id, ts)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_team_ts ON ` + t + ` (team_id, ts)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_model_ts ON ` + t + ` (model, ts)`,
		`CREATE INDEX IF NOT EXISTS ` + t + `_status_ts ON ` + t + ` (status, ts)`,
	}
	return s.db.CreateTables(ctx, sqldb.LockRequestLog, stmts...)
}

// ph returns the n-th (1-based) placeholder.
func (s *SQLSink) ph(n int) string { return s.d.Placeholder(n) }

// text makes a string storable (see sqldb.Dialect.Text).
func (s *SQLSink) text(v string) string { return s.d.Text(v) }

// InsertLogs writes the records in one transaction, as multi-row INSERTs. Rows whose id already exists are
// skipped, so a retried batch is not duplicated.
func (s *SQLSink) InsertLogs(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var sb strings.Builder
	args := make([]any, 0, min(len(recs), maxRowsPerStatement)*len(columns))
	for start := 0; start < len(recs); start += maxRowsPerStatement {
		chunk := recs[start:min(start+maxRowsPerStatement, len(recs))]
		sb.Reset()
		args = args[:0]
		sb.WriteString("INSERT INTO ")
		sb.WriteString(s.table)
		sb.WriteString(" (")
		sb.WriteString(s.cols)
		sb.WriteString(") VALUES ")
		n := 0
		for i := range chunk {
			r := &chunk[i]
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for c := range columns {
				if c > 0 {
					sb.WriteByte(',')
				}
				n++
				sb.WriteString(s.ph(n))
			}
			sb.WriteByte(')')
			attempts, headers := "", ""
			if len(r.Attempts) > 0 {
				b, _ := json.Marshal(r.Attempts)
				attempts = string(b)
			}
			if len(r.Headers) > 0 {
				b, _ := json.Marshal(r.Headers)
				headers = string(b)
			}
			stream := 0
			if r.Stream {
				stream = 1
			}
			id := r.ID
			if id == "" {
				id = NewID()
			}
			args = append(args, s.text(id), r.Time.UnixMicro(), s.text(r.KeyID), s.text(r.TeamID), s.text(r.CustomerID),
				s.text(r.Route), s.text(r.Alias), s.text(r.Provider), s.text(r.Model), r.Status, s.text(r.Error),
				r.InputTokens, r.OutputTokens, r.CostNanoUSD, r.TTFB.Microseconds(), r.Duration.Microseconds(), stream,
				s.text(r.CallerIP), s.text(attempts), s.text(headers), s.text(r.Request), s.text(r.Response))
		}
		sb.WriteString(" ON CONFLICT (id) DO NOTHING")
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// DeleteLogsBefore deletes at most limit rows older than t, oldest first.
func (s *SQLSink) DeleteLogsBefore(ctx context.Context, t time.Time, limit int) (int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	q := `DELETE FROM ` + s.table + ` WHERE id IN (SELECT id FROM ` + s.table + ` WHERE ts < ` + s.ph(1) +
		` ORDER BY ts LIMIT ` + s.ph(2) + `)`
	res, err := s.db.ExecContext(ctx, q, t.UnixMicro(), limit)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// where builds a WHERE clause with dialect placeholders.
type where struct {
	s     *SQLSink
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	// cond uses "?" for each argument; rewrite to the dialect's placeholders.
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

func (s *SQLSink) filter(f *Filter) *where {
	w := &where{s: s}
	if !f.From.IsZero() {
		w.add("ts >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		w.add("ts < ?", f.To.UnixMicro())
	}
	for _, eq := range []struct{ col, v string }{{"key_id", f.KeyID}, {"team_id", f.TeamID},
		{"customer_id", f.CustomerID}, {"model", f.Model}, {"alias", f.Alias}, {"provider", f.Provider}} {
		if eq.v != "" {
			w.add(eq.col+" = ?", eq.v)
		}
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
	if f.MinLatency > 0 {
		w.add("duration_us >= ?", f.MinLatency.Microseconds())
	}
	return w
}

// ErrBadCursor is returned for a cursor QueryLogs did not produce.
var ErrBadCursor = errors.New("requestlog: invalid cursor")

func encodeCursor(ts int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ts, 10) + ":" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	tsStr, id, ok := strings.Cut(string(b), ":")
	ts, err := strconv.ParseInt(tsStr, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", ErrBadCursor
	}
	return ts, id, nil
}

// QueryLogs returns a page of matching rows, newest first, the cursor of the next page ("" if this was the
// last) and the number of matching rows in all pages (-1 with Filter.NoTotal).
func (s *SQLSink) QueryLogs(ctx context.Context, f Filter) ([]Record, string, int64, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	w := s.filter(&f)
	total := int64(-1)
	if !f.NoTotal {
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+s.table+w.sql(), w.args...).Scan(&total); err != nil {
			return nil, "", 0, err
		}
	}
	if f.Cursor != "" {
		ts, id, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", 0, err
		}
		w.add("(ts < ? OR (ts = ? AND id < ?))", ts, ts, id)
	}
	q := `SELECT ` + s.cols + ` FROM ` + s.table + w.sql() + ` ORDER BY ts DESC, id DESC LIMIT ` + strconv.Itoa(limit+1)
	rows, err := s.db.QueryContext(ctx, q, w.args...)
	if err != nil {
		return nil, "", 0, err
	}
	defer rows.Close()
	out := make([]Record, 0, min(limit+1, 64))
	for rows.Next() {
		r, err := scanRecord(rows)
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
	rows, err := s.db.QueryContext(ctx, `SELECT `+s.cols+` FROM `+s.table+` WHERE id = `+s.ph(1), id)
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
	return scanRecord(rows)
}

func scanRecord(rows *sql.Rows) (Record, error) {
	var r Record
	var ts, ttfb, dur, stream int64
	var attempts, headers string
	if err := rows.Scan(&r.ID, &ts, &r.KeyID, &r.TeamID, &r.CustomerID, &r.Route, &r.Alias, &r.Provider, &r.Model,
		&r.Status, &r.Error, &r.InputTokens, &r.OutputTokens, &r.CostNanoUSD, &ttfb, &dur, &stream,
		&r.CallerIP, &attempts, &headers, &r.Request, &r.Response); err != nil {
		return r, err
	}
	r.Time = time.UnixMicro(ts).UTC()
	r.TTFB = time.Duration(ttfb) * time.Microsecond
	r.Duration = time.Duration(dur) * time.Microsecond
	r.Stream = stream != 0
	if attempts != "" {
		_ = json.Unmarshal([]byte(attempts), &r.Attempts)
	}
	if headers != "" {
		_ = json.Unmarshal([]byte(headers), &r.Headers)
	}
	return r, nil
}

// MaxStatsBuckets bounds the intervals one Stats call may return.
const MaxStatsBuckets = 10_000

// Stats aggregates [from, to) into buckets of interval (every bucket is returned, empty ones too). Percentiles
// are computed here from the rows' durations (nearest rank), the same way on SQLite and PostgreSQL.
func (s *SQLSink) Stats(ctx context.Context, from, to time.Time, interval time.Duration) ([]Bucket, error) {
	if interval <= 0 || !to.After(from) {
		return nil, errors.New("requestlog: stats needs from < to and a positive interval")
	}
	n := int((to.Sub(from) + interval - 1) / interval)
	if n > MaxStatsBuckets {
		return nil, fmt.Errorf("requestlog: %d intervals requested, at most %d", n, MaxStatsBuckets)
	}
	out := make([]Bucket, n)
	lat := make([][]int64, n)
	for i := range out {
		out[i].Start = from.Add(time.Duration(i) * interval).UTC()
	}
	q := `SELECT ts, status, CASE WHEN error <> '' THEN 1 ELSE 0 END, input_tokens, output_tokens, cost_nano, duration_us FROM ` +
		s.table + ` WHERE ts >= ` + s.ph(1) + ` AND ts < ` + s.ph(2)
	rows, err := s.db.QueryContext(ctx, q, from.UnixMicro(), to.UnixMicro())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fromUS, ivUS := from.UnixMicro(), interval.Microseconds()
	if ivUS <= 0 {
		ivUS = 1
	}
	for rows.Next() {
		var ts, status, hasErr, in, outTok, cost, dur int64
		if err := rows.Scan(&ts, &status, &hasErr, &in, &outTok, &cost, &dur); err != nil {
			return nil, err
		}
		i := int((ts - fromUS) / ivUS)
		if i < 0 || i >= n {
			continue
		}
		b := &out[i]
		b.Requests++
		if status >= 400 || hasErr != 0 {
			b.Errors++
		}
		b.InputTokens += in
		b.OutputTokens += outTok
		b.CostNanoUSD += cost
		lat[i] = append(lat[i], dur)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if len(lat[i]) == 0 {
			continue
		}
		slices.Sort(lat[i])
		out[i].P50ms = percentile(lat[i], 50)
		out[i].P95ms = percentile(lat[i], 95)
		out[i].P99ms = percentile(lat[i], 99)
	}
	return out, nil
}

// percentile is the nearest-rank percentile of sorted microsecond values, in milliseconds.
func percentile(sorted []int64, p int) float64 {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 · n)
	if rank < 1 {
		rank = 1
	}
	return float64(sorted[rank-1]) / 1000
}

package requestlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// SQLOptions tunes a SQLSink.
type SQLOptions struct {
	// Table is the table name; default "request_logs". Its rollups are in <table>_rollups.
	Table string
}

// SQLSink stores records in one table of a SQLite or PostgreSQL database, and their rollups in another, written
// in the same transaction. It implements Sink, Retainer, Reader and OverviewReader.
type SQLSink struct {
	db      *sqldb.DB
	d       sqldb.Dialect
	table   string
	rollups string
	cols    string
}

// columns in insert/select order.
var columns = []string{"id", "ts", "key_id", "team_id", "customer_id", "route", "alias", "provider", "model",
	"status", "error", "input_tokens", "output_tokens", "cost_nano", "ttfb_us", "duration_us", "stream",
	"caller_ip", "attempts", "headers", "request", "response", "overhead_us", "trace_id", "provider_key"}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,50}$`)

// maxRowsPerStatement keeps a multi-row INSERT under both backends' bound-parameter limits
// (SQLite 32,766; PostgreSQL 65,535).
const maxRowsPerStatement = 500

// NewSQLSink creates or migrates the tables and their indexes (safe for several gateways starting together)
// and returns the sink. The caller owns db.
func NewSQLSink(ctx context.Context, db *sqldb.DB, opts SQLOptions) (*SQLSink, error) {
	t := opts.Table
	if t == "" {
		t = "request_logs"
	}
	if !identRE.MatchString(t) {
		return nil, fmt.Errorf("requestlog: invalid table name %q", t)
	}
	s := &SQLSink{db: db, d: db.Dialect, table: t, rollups: t + "_rollups", cols: strings.Join(columns, ", ")}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("requestlog: create table %s: %w", t, err)
	}
	return s, nil
}

// ph returns the n-th (1-based) placeholder.
func (s *SQLSink) ph(n int) string { return s.d.Placeholder(n) }

// text makes a string storable (see sqldb.Dialect.Text).
func (s *SQLSink) text(v string) string { return s.d.Text(v) }

// InsertLogs writes the records and adds them to the rollups, in one transaction, as multi-row statements.
// Rows whose id already exists are skipped (and not counted again), so a retried batch is not duplicated.
func (s *SQLSink) InsertLogs(ctx context.Context, recs []Record) error {
	return s.insertLogs(ctx, recs, nil, time.Now())
}

// errSomeExisted aborts a batch's fast path: some of its ids were already stored (a retried batch), so the
// batch is inserted again reading back which rows were new.
var errSomeExisted = errors.New("requestlog: some rows already stored")

// insertLogs inserts recs and folds the rows it inserted into into, or (into nil) into the rollup table in the
// same transaction; now decides which grains are still kept (rollupBatch.add).
func (s *SQLSink) insertLogs(ctx context.Context, recs []Record, into rollupBatch, now time.Time) error {
	err := s.insertLogsTx(ctx, recs, into, now, false)
	if errors.Is(err, errSomeExisted) {
		err = s.insertLogsTx(ctx, recs, into, now, true)
	}
	return err
}

// insertLogsTx is one try of insertLogs. Without returning it counts the inserted rows and gives up
// (errSomeExisted) if any already existed; with it, it reads back the ids it inserted, so only those are rolled up.
func (s *SQLSink) insertLogsTx(ctx context.Context, recs []Record, into rollupBatch, now time.Time, returning bool) error {
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
	var inserted map[string]struct{}
	if returning {
		inserted = make(map[string]struct{}, len(recs))
	}
	ids := make([]string, len(recs))
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
			id = s.text(id)
			ids[start+i] = id
			args = append(args, id, r.Time.UnixMicro(), s.text(r.KeyID), s.text(r.TeamID), s.text(r.CustomerID),
				s.text(r.Route), s.text(r.Alias), s.text(r.Provider), s.text(r.Model), r.Status, s.text(r.Error),
				r.InputTokens, r.OutputTokens, r.CostNanoUSD, r.TTFB.Microseconds(), r.Duration.Microseconds(), stream,
				s.text(r.CallerIP), s.text(attempts), s.text(headers), s.text(r.Request), s.text(r.Response),
				r.Overhead.Microseconds(), s.text(r.TraceID), s.text(r.ProviderKey))
		}
		sb.WriteString(" ON CONFLICT (id) DO NOTHING")
		if !returning {
			res, err := tx.ExecContext(ctx, sb.String(), args...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
				return errSomeExisted
			}
			continue
		}
		sb.WriteString(" RETURNING id")
		rows, err := tx.QueryContext(ctx, sb.String(), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			inserted[id] = struct{}{}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	b := into
	if b == nil {
		b = make(rollupBatch, 64)
	}
	for i := range recs {
		if _, ok := inserted[ids[i]]; ok || !returning {
			b.add(&recs[i], now)
		}
	}
	if into == nil {
		if err := s.upsertRollups(ctx, tx, b); err != nil {
			return fmt.Errorf("rollups: %w", err)
		}
	}
	return tx.Commit()
}

// DeleteLogsBefore deletes at most limit rows older than t, oldest first. (Rollups: PruneRollups.)
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

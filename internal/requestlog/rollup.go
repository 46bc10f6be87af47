package requestlog

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"
)

// Rollup grains, in seconds: minute, hour and day buckets (UTC).
const (
	GrainMinute = 60
	GrainHour   = 3600
	GrainDay    = 86400
)

var grains = [...]int64{GrainMinute, GrainHour, GrainDay}

// rollupDims are the rollup table's dimension columns, in key order after grain and bucket.
var rollupDims = []string{"provider", "model", "key_id", "team_id", "route"}

// rollupCounters are the additive scalar measures; rollupMeasures adds the two histograms' buckets.
var rollupCounters = []string{"requests", "errors", "input_tokens", "output_tokens", "cost_nano", "latency_us", "overhead_us"}

var (
	latencyCols    = histColumns("l")
	overheadCols   = histColumns("o")
	rollupMeasures = slices.Concat(rollupCounters, latencyCols, overheadCols)
	rollupColumns  = slices.Concat([]string{"grain", "bucket"}, rollupDims, rollupMeasures)
)

// rollupKey is one rollup row's identity.
type rollupKey struct {
	grain, bucket                         int64
	provider, model, keyID, teamID, route string
}

// rollupRow is one rollup row's measures.
type rollupRow struct {
	requests, errors, inputTokens, outputTokens, costNano, latencyUS, overheadUS int64
	latency, overhead                                                            Histogram
}

// isError is what the log counts as an error: an error status or an error recorded (a stream cut after 200).
func isError(status int, errText string) bool { return status >= 400 || errText != "" }

// rollupBatch accumulates records into rollup rows, one per grain, bucket and dimensions.
type rollupBatch map[rollupKey]*rollupRow

// add folds one record into its minute, hour and day rows.
func (b rollupBatch) add(r *Record) {
	sec := r.Time.Unix()
	lat, ovh := r.Duration.Microseconds(), r.Overhead.Microseconds()
	for _, g := range grains {
		k := rollupKey{grain: g, bucket: sec - mod(sec, g), provider: r.Provider, model: r.Model, keyID: r.KeyID,
			teamID: r.TeamID, route: r.Route}
		row := b[k]
		if row == nil {
			row = &rollupRow{}
			b[k] = row
		}
		row.requests++
		if isError(r.Status, r.Error) {
			row.errors++
		}
		row.inputTokens += r.InputTokens
		row.outputTokens += r.OutputTokens
		row.costNano += r.CostNanoUSD
		row.latencyUS += lat
		row.overheadUS += ovh
		row.latency.Add(lat)
		row.overhead.Add(ovh)
	}
}

// mod is the non-negative remainder (times before 1970 still bucket down).
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// rollupRowsPerStatement keeps one upsert under SQLite's 32,766 bound parameters (rollupColumns has 102).
const rollupRowsPerStatement = 300

// upsertRollups adds the batch to the rollup table in tx. Rows are written in key order, so two replicas adding
// to the same rows at once take their row locks in the same order and cannot deadlock.
func (s *SQLSink) upsertRollups(ctx context.Context, tx *sql.Tx, b rollupBatch) error {
	if len(b) == 0 {
		return nil
	}
	keys := make([]rollupKey, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y rollupKey) int {
		return cmp.Or(cmp.Compare(x.grain, y.grain), cmp.Compare(x.bucket, y.bucket), cmp.Compare(x.provider, y.provider),
			cmp.Compare(x.model, y.model), cmp.Compare(x.keyID, y.keyID), cmp.Compare(x.teamID, y.teamID),
			cmp.Compare(x.route, y.route))
	})
	suffix := s.rollupUpsertSuffix()
	var sb strings.Builder
	args := make([]any, 0, min(len(keys), rollupRowsPerStatement)*len(rollupColumns))
	for start := 0; start < len(keys); start += rollupRowsPerStatement {
		chunk := keys[start:min(start+rollupRowsPerStatement, len(keys))]
		sb.Reset()
		args = args[:0]
		sb.WriteString("INSERT INTO ")
		sb.WriteString(s.rollups)
		sb.WriteString(" (")
		sb.WriteString(strings.Join(rollupColumns, ", "))
		sb.WriteString(") VALUES ")
		n := 0
		for i, k := range chunk {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			for c := range rollupColumns {
				if c > 0 {
					sb.WriteByte(',')
				}
				n++
				sb.WriteString(s.ph(n))
			}
			sb.WriteByte(')')
			r := b[k]
			args = append(args, k.grain, k.bucket, s.text(k.provider), s.text(k.model), s.text(k.keyID),
				s.text(k.teamID), s.text(k.route), r.requests, r.errors, r.inputTokens, r.outputTokens, r.costNano,
				r.latencyUS, r.overheadUS)
			for _, c := range r.latency {
				args = append(args, c)
			}
			for _, c := range r.overhead {
				args = append(args, c)
			}
		}
		sb.WriteString(suffix)
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// rollupUpsertSuffix is the ON CONFLICT clause adding every measure to the existing row.
func (s *SQLSink) rollupUpsertSuffix() string {
	var b strings.Builder
	b.WriteString(" ON CONFLICT (grain, bucket, ")
	b.WriteString(strings.Join(rollupDims, ", "))
	b.WriteString(") DO UPDATE SET ")
	for i, c := range rollupMeasures {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c + " = " + s.rollups + "." + c + " + excluded." + c)
	}
	return b.String()
}

// deleteRollupsBefore deletes the rollup buckets that end at or before t.
func (s *SQLSink) deleteRollupsBefore(ctx context.Context, t time.Time) error {
	for _, g := range grains {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM `+s.rollups+` WHERE grain = `+s.ph(1)+` AND bucket <= `+s.ph(2),
			g, t.Unix()-g); err != nil {
			return err
		}
	}
	return nil
}

package requestlog

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
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

// grainKeep is how long a grain's buckets are useful: the overview reads minute buckets for its 1-hour range and
// hour buckets for 24 hours and 7 days, so older ones are neither written (by the generator) nor kept. Day
// buckets live as long as the log (Options.Retention).
var grainKeep = map[int64]time.Duration{GrainMinute: 48 * time.Hour, GrainHour: 8 * 24 * time.Hour}

// A rollup cut is the set of dimensions a rollup row keeps; the others are ”. Each request is added to every
// cut, so the overview reads, for each figure, the smallest cut that has its dimensions: a dashboard of every
// key reads one row per bucket for its series, not one per key, model and route.
type rollupCut int64

const (
	cutAll   rollupCut = iota // no dimension: the series and totals
	cutModel                  // provider, model
	cutKey                    // key_id, team_id
	cutRoute                  // route
	cutFull                   // provider, model, key_id, team_id: the breakdowns under a filter of another dimension
)

var cuts = [...]rollupCut{cutAll, cutModel, cutKey, cutRoute, cutFull}

// rollupDims are the rollup table's dimension columns, in key order after grain, cut and bucket.
var rollupDims = []string{"provider", "model", "key_id", "team_id", "route"}

// rollupCounters are the additive scalar measures; rollupMeasures adds the two histograms' buckets.
var rollupCounters = []string{"requests", "errors", "input_tokens", "output_tokens", "cost_nano", "latency_us", "overhead_us"}

var (
	latencyCols    = histColumns("l")
	overheadCols   = histColumns("o")
	rollupMeasures = slices.Concat(rollupCounters, latencyCols, overheadCols)
	rollupColumns  = slices.Concat([]string{"grain", "cut", "bucket"}, rollupDims, rollupMeasures)
)

// rollupKey is one rollup row's identity.
type rollupKey struct {
	grain                                 int64
	cut                                   rollupCut
	bucket                                int64
	provider, model, keyID, teamID, route string
}

// rollupRow is one rollup row's measures.
type rollupRow struct {
	requests, errors, inputTokens, outputTokens, costNano, latencyUS, overheadUS int64
	latency, overhead                                                            Histogram
}

// isError is what the log counts as an error: an error status or an error recorded (a stream cut after 200).
func isError(status int, errText string) bool { return status >= 400 || errText != "" }

// rollupBatch accumulates records into rollup rows, one per grain, cut, bucket and dimensions.
type rollupBatch map[rollupKey]*rollupRow

// add folds one record into its minute, hour and day rows of every cut, skipping grains whose buckets are
// already past keeping at now.
func (b rollupBatch) add(r *Record, now time.Time) {
	sec := r.Time.Unix()
	lat, ovh := r.Duration.Microseconds(), r.Overhead.Microseconds()
	isErr := isError(r.Status, r.Error)
	for _, g := range grains {
		bucket := sec - mod(sec, g)
		if keep, ok := grainKeep[g]; ok && now.Sub(time.Unix(bucket+g, 0)) > keep {
			continue
		}
		for _, c := range cuts {
			k := rollupKey{grain: g, cut: c, bucket: bucket}
			switch c {
			case cutModel:
				k.provider, k.model = r.Provider, r.Model
			case cutKey:
				k.keyID, k.teamID = r.KeyID, r.TeamID
			case cutRoute:
				k.route = r.Route
			case cutFull:
				k.provider, k.model, k.keyID, k.teamID = r.Provider, r.Model, r.KeyID, r.TeamID
			}
			row := b[k]
			if row == nil {
				row = &rollupRow{}
				b[k] = row
			}
			row.requests++
			if isErr {
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
}

// mod is the non-negative remainder (times before 1970 still bucket down).
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// rollupRowsPerStatement bounds one upsert (5 bound parameters a row, well under SQLite's 32,766).
const rollupRowsPerStatement = 500

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
		return cmp.Or(cmp.Compare(x.grain, y.grain), cmp.Compare(x.cut, y.cut), cmp.Compare(x.bucket, y.bucket), cmp.Compare(x.provider, y.provider),
			cmp.Compare(x.model, y.model), cmp.Compare(x.keyID, y.keyID), cmp.Compare(x.teamID, y.teamID),
			cmp.Compare(x.route, y.route))
	})
	suffix := s.rollupUpsertSuffix()
	var sb []byte
	args := make([]any, 0, min(len(keys), rollupRowsPerStatement)*len(rollupDims))
	for start := 0; start < len(keys); start += rollupRowsPerStatement {
		chunk := keys[start:min(start+rollupRowsPerStatement, len(keys))]
		sb = sb[:0]
		args = args[:0]
		sb = append(sb, "INSERT INTO "...)
		sb = append(sb, s.rollups...)
		sb = append(sb, " ("...)
		sb = append(sb, strings.Join(rollupColumns, ", ")...)
		sb = append(sb, ") VALUES "...)
		for i, k := range chunk {
			if i > 0 {
				sb = append(sb, ',')
			}
			// The numbers are written inline (they are ours, not the caller's): binding ~100 parameters per row
			// costs more than parsing them. The dimension values are bound.
			sb = append(sb, '(')
			sb = strconv.AppendInt(sb, k.grain, 10)
			sb = append(sb, ',')
			sb = strconv.AppendInt(sb, int64(k.cut), 10)
			sb = append(sb, ',')
			sb = strconv.AppendInt(sb, k.bucket, 10)
			for _, v := range [...]string{k.provider, k.model, k.keyID, k.teamID, k.route} {
				args = append(args, s.text(v))
				sb = append(sb, ',')
				sb = append(sb, s.ph(len(args))...)
			}
			r := b[k]
			for _, v := range [...]int64{r.requests, r.errors, r.inputTokens, r.outputTokens, r.costNano, r.latencyUS, r.overheadUS} {
				sb = append(sb, ',')
				sb = strconv.AppendInt(sb, v, 10)
			}
			for _, h := range [...]*Histogram{&r.latency, &r.overhead} {
				for _, v := range h {
					sb = append(sb, ',')
					sb = strconv.AppendInt(sb, v, 10)
				}
			}
			sb = append(sb, ')')
		}
		sb = append(sb, suffix...)
		if _, err := tx.ExecContext(ctx, string(sb), args...); err != nil {
			return err
		}
	}
	return nil
}

// addRollups adds b to the rollup table in its own transaction.
func (s *SQLSink) addRollups(ctx context.Context, b rollupBatch) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.upsertRollups(ctx, tx, b); err != nil {
		return err
	}
	return tx.Commit()
}

// rollupUpsertSuffix is the ON CONFLICT clause adding every measure to the existing row.
func (s *SQLSink) rollupUpsertSuffix() string {
	var b strings.Builder
	b.WriteString(" ON CONFLICT (grain, cut, bucket, ")
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

// PruneRollups deletes the rollup buckets that ended by logCutoff (the log's retention; zero: none) or that are
// past their grain's keeping (grainKeep) at now.
func (s *SQLSink) PruneRollups(ctx context.Context, logCutoff, now time.Time) error {
	for _, g := range grains {
		cutoff := logCutoff
		if keep, ok := grainKeep[g]; ok && (cutoff.IsZero() || now.Add(-keep).After(cutoff)) {
			cutoff = now.Add(-keep)
		}
		if cutoff.IsZero() {
			continue
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM `+s.rollups+` WHERE grain = `+s.ph(1)+` AND bucket <= `+s.ph(2),
			g, cutoff.Unix()-g); err != nil {
			return err
		}
	}
	return nil
}

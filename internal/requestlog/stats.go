package requestlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

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

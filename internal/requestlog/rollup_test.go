package requestlog

import (
	"context"
	"database/sql"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for i := 1; i < HistBuckets; i++ {
		if !(histBounds[i] > histBounds[i-1]) {
			t.Fatalf("bounds not increasing at %d", i)
		}
	}
	for _, tc := range []struct {
		us   int64
		want int
	}{{-5, 0}, {0, 0}, {9, 0}, {10, 1}, {14, 1}, {15, 2}, {22, 2}, {23, 3}, {math.MaxInt64, HistBuckets - 1}} {
		if got := histBucket(tc.us); got != tc.want {
			t.Errorf("histBucket(%d) = %d, want %d", tc.us, got, tc.want)
		}
	}
	// Every value falls in the bucket whose bounds hold it.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		us := int64(math.Exp(rng.Float64() * 22))
		i := histBucket(us)
		if float64(us) < histBounds[i] || i < HistBuckets-1 && float64(us) >= histBounds[i+1] {
			t.Fatalf("%d µs in bucket %d [%g, %g)", us, i, histBounds[i], histBounds[i+1])
		}
	}
}

// A quantile read from the histogram is within the bucket's half-width (a factor √1.5) of the exact one.
func TestHistogramQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, 7, 100, 5000} {
		var h Histogram
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = int64(500_000 * math.Exp(rng.NormFloat64())) // around 500 ms
			h.Add(vals[i])
		}
		slices.Sort(vals)
		for _, q := range []float64{0.5, 0.99} {
			exact := float64(vals[max(int(math.Ceil(q*float64(n))), 1)-1]) / 1000
			got, ok := h.Quantile(q)
			if !ok || got < exact/math.Sqrt(1.5)-1e-9 || got > exact*math.Sqrt(1.5)+1e-9 {
				t.Errorf("n=%d q=%g: %g ms, exact %g ms", n, q, got, exact)
			}
		}
	}
	var empty Histogram
	if _, ok := empty.Quantile(0.5); ok {
		t.Error("quantile of nothing")
	}
}

// The overview, read from the rollups only, equals the same figures computed from the raw rows, for every range
// and under filters, on both databases; a retried batch is not counted twice.
func TestRollupsMatchRawRows(t *testing.T) {
	backends(t, func(t *testing.T, s *SQLSink, db *sql.DB) {
		ctx := context.Background()
		end := time.Now()
		generated := raceRows(3000)
		if err := Generate(ctx, s, GenerateOptions{Rows: generated, Span: 9 * 24 * time.Hour, End: end, Keys: 12, Teams: 4,
			BatchSize: 700}); err != nil {
			t.Fatal(err)
		}
		// Through the writer's path too: recent rows, one batch retried.
		var recent []Record
		rng := rand.New(rand.NewPCG(9, 9))
		opts := GenerateOptions{Keys: 12, Teams: 4}
		for i := range 300 {
			recent = append(recent, genRecord(rng, end.Add(-time.Duration(i)*7*time.Second), &opts))
		}
		if err := s.InsertLogs(ctx, recent); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertLogs(ctx, recent[:100]); err != nil {
			t.Fatal(err)
		}
		raw := readRaw(t, db)
		if len(raw) != generated+300 {
			t.Fatalf("%d raw rows", len(raw))
		}
		for _, rng := range OverviewRanges {
			for _, q := range []OverviewQuery{
				{Range: rng, Now: end},
				{Range: rng, Now: end, Provider: "openai"},
				{Range: rng, Now: end, KeyID: "key-1"},
				{Range: rng, Now: end, KeyID: None},
				{Range: rng, Now: end, Model: "gpt-4o-mini", TeamID: "team-1"},
			} {
				q.Top = 100
				o, err := s.Overview(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				want := expectOverview(raw, q)
				if o.Totals.Requests == 0 {
					t.Errorf("%s %+v: no requests; the case tests nothing", rng.Name, q)
				}
				if o.Totals != want.Totals {
					t.Errorf("%s %+v: totals\n got %+v\nwant %+v", rng.Name, q, o.Totals, want.Totals)
				}
				for i := range want.Series {
					if o.Series[i] != want.Series[i] {
						t.Errorf("%s %+v: step %d (%s) differs", rng.Name, q, i, want.Series[i].Start)
						break
					}
				}
				for _, b := range []struct {
					name      string
					got, want []Group
				}{{"provider", o.ByProvider, want.ByProvider}, {"model", o.ByModel, want.ByModel},
					{"key", o.ByKey, want.ByKey}, {"team", o.ByTeam, want.ByTeam}} {
					if !sameGroups(b.got, b.want, b.name == "provider" || b.name == "model") {
						t.Errorf("%s %+v: by %s\n got %v\nwant %v", rng.Name, q, b.name, names(b.got), names(b.want))
					}
				}
			}
		}
	})
}

func readRaw(t *testing.T, db *sql.DB) []Record {
	t.Helper()
	rows, err := db.Query(`SELECT ts, provider, model, key_id, team_id, route, status, error, input_tokens, output_tokens,
		cost_nano, duration_us, overhead_us FROM request_logs`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var ts, dur, ovh int64
		if err := rows.Scan(&ts, &r.Provider, &r.Model, &r.KeyID, &r.TeamID, &r.Route, &r.Status, &r.Error,
			&r.InputTokens, &r.OutputTokens, &r.CostNanoUSD, &dur, &ovh); err != nil {
			t.Fatal(err)
		}
		r.Time, r.Duration, r.Overhead = time.UnixMicro(ts), time.Duration(dur)*time.Microsecond, time.Duration(ovh)*time.Microsecond
		out = append(out, r)
	}
	return out
}

// expectOverview computes an overview from raw rows the obvious way.
func expectOverview(raw []Record, q OverviewQuery) *Overview {
	g := q.Range.Grain
	now := q.Now.Unix()
	last := now - mod(now, g)
	first := last - int64(q.Range.Steps-1)*g
	o := &Overview{Series: make([]Point, q.Range.Steps)}
	for i := range o.Series {
		o.Series[i].Start = time.Unix(first+int64(i)*g, 0).UTC()
	}
	match := func(want, got string) bool { return want == "" || want == got || want == None && got == "" }
	byProvider, byModel, byKey, byTeam := map[string]*Group{}, map[[2]string]*Group{}, map[string]*Group{}, map[string]*Group{}
	for i := range raw {
		r := &raw[i]
		sec := r.Time.Unix()
		b := sec - mod(sec, g)
		if b < first || b > last || !match(q.Provider, r.Provider) || !match(q.Model, r.Model) ||
			!match(q.KeyID, r.KeyID) || !match(q.TeamID, r.TeamID) {
			continue
		}
		var m Measures
		m.Requests = 1
		if isError(r.Status, r.Error) {
			m.Errors = 1
		}
		m.InputTokens, m.OutputTokens, m.CostNano = r.InputTokens, r.OutputTokens, r.CostNanoUSD
		m.LatencyUS, m.OverheadUS = r.Duration.Microseconds(), r.Overhead.Microseconds()
		m.Latency.Add(m.LatencyUS)
		m.Overhead.Add(m.OverheadUS)
		o.Series[(b-first)/g].add(&m)
		o.Totals.add(&m)
		groupAdd(byProvider, r.Provider, &Group{Name: r.Provider}, &m)
		groupAdd(byModel, [2]string{r.Provider, r.Model}, &Group{Name: r.Model, Provider: r.Provider}, &m)
		groupAdd(byKey, r.KeyID, &Group{Name: r.KeyID}, &m)
		groupAdd(byTeam, r.TeamID, &Group{Name: r.TeamID}, &m)
	}
	flat := func(m map[string]*Group) []Group {
		var out []Group
		for _, g := range m {
			out = append(out, *g)
		}
		return out
	}
	o.ByProvider, o.ByKey, o.ByTeam = flat(byProvider), flat(byKey), flat(byTeam)
	for _, g := range byModel {
		o.ByModel = append(o.ByModel, *g)
	}
	return o
}

func groupAdd[K comparable](m map[K]*Group, k K, fresh *Group, add *Measures) {
	g := m[k]
	if g == nil {
		g = fresh
		m[k] = g
	}
	g.add(add)
}

// sameGroups compares breakdowns as sets; the key and team ones carry no histograms.
func sameGroups(got, want []Group, hist bool) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !hist {
			w.Latency, w.Overhead = Histogram{}, Histogram{}
		}
		if !slices.ContainsFunc(got, func(g Group) bool { return g.Name == w.Name && g.Provider == w.Provider && g.Measures == w.Measures }) {
			return false
		}
	}
	return true
}

func names(gs []Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Provider+"/"+g.Name)
	}
	return out
}

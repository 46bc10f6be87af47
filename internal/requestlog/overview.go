package requestlog

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// OverviewRange is one of the overview's ranges: how many steps of which rollup grain.
type OverviewRange struct {
	Name  string
	Grain int64 // seconds
	Steps int
}

// OverviewRanges are the ranges GET /api/stats/overview offers.
var OverviewRanges = []OverviewRange{{"1h", GrainMinute, 60}, {"24h", GrainHour, 24}, {"7d", GrainHour, 168},
	{"30d", GrainDay, 30}}

// LookupRange finds a range by name.
func LookupRange(name string) (OverviewRange, bool) {
	for _, r := range OverviewRanges {
		if r.Name == name {
			return r, true
		}
	}
	return OverviewRange{}, false
}

// OverviewQuery selects an overview.
type OverviewQuery struct {
	Range OverviewRange
	// Now ends the range: its last step is the one holding Now.
	Now time.Time
	// Dimension filters (exact; None: requests without one); "" does not filter.
	Provider, Model, KeyID, TeamID string
	// Top cuts each breakdown (default 10).
	Top int
}

// OverviewReader answers overviews from the rollups.
type OverviewReader interface {
	Overview(ctx context.Context, q OverviewQuery) (*Overview, error)
}

// Measures are one group's sums.
type Measures struct {
	Requests, Errors, InputTokens, OutputTokens, CostNano, LatencyUS, OverheadUS int64
	Latency, Overhead                                                            Histogram
}

func (m *Measures) add(o *Measures) {
	m.Requests += o.Requests
	m.Errors += o.Errors
	m.InputTokens += o.InputTokens
	m.OutputTokens += o.OutputTokens
	m.CostNano += o.CostNano
	m.LatencyUS += o.LatencyUS
	m.OverheadUS += o.OverheadUS
	m.Latency.Merge(&o.Latency)
	m.Overhead.Merge(&o.Overhead)
}

// Point is one step of the series.
type Point struct {
	Start time.Time
	Measures
}

// Group is one entry of a breakdown: Name is the provider, model, key or team ("" for none); Provider is the
// model's provider in the model breakdown.
type Group struct {
	Name, Provider string
	Measures
}

// Overview is the dashboard's data.
type Overview struct {
	From, To time.Time
	Step     time.Duration
	Totals   Measures
	Series   []Point
	// Breakdowns, most requests first, cut to Top; ByKey and ByTeam are cut after TopKeys and TopTeams take
	// the highest spenders.
	ByProvider, ByModel, ByKey, ByTeam []Group
	// ByRoute is only there without filters (the route rollups keep no other dimension).
	ByRoute []Group
	// TopKeys and TopTeams are the keys and teams that spent the most, cut to Top.
	TopKeys, TopTeams []Group
}

// Overview reads an overview from the rollups only: one grouped query for the series and one per breakdown,
// each over the range's rows of the smallest rollup cut that has the dimensions it filters and groups by.
func (s *SQLSink) Overview(ctx context.Context, q OverviewQuery) (*Overview, error) {
	g := q.Range.Grain
	if g <= 0 || q.Range.Steps <= 0 || q.Range.Steps > 10_000 {
		return nil, errors.New("requestlog: invalid overview range")
	}
	top := q.Top
	if top <= 0 {
		top = 10
	}
	now := q.Now.Unix()
	last := now - mod(now, g)
	first := last - int64(q.Range.Steps-1)*g
	o := &Overview{From: time.Unix(first, 0).UTC(), To: time.Unix(last+g, 0).UTC(), Step: time.Duration(g) * time.Second,
		Series: make([]Point, q.Range.Steps)}
	for i := range o.Series {
		o.Series[i].Start = time.Unix(first+int64(i)*g, 0).UTC()
	}

	// The smallest cut holding every filtered dimension and the grouped one.
	hasModel, hasKey := q.Provider != "" || q.Model != "", q.KeyID != "" || q.TeamID != ""
	seriesCut, modelCut, keyCut := cutAll, cutModel, cutKey
	switch {
	case hasModel && hasKey:
		seriesCut, modelCut, keyCut = cutFull, cutFull, cutFull
	case hasModel:
		seriesCut, keyCut = cutModel, cutFull
	case hasKey:
		seriesCut, modelCut = cutKey, cutFull
	}
	// base selects a cut's buckets of grain gr in [from, to].
	base := func(c rollupCut, gr, from, to int64) *where {
		w := &where{s: s}
		w.add("grain = ?", gr)
		w.add("cut = ?", int64(c))
		w.add("bucket >= ?", from)
		w.add("bucket <= ?", to)
		for _, eq := range [...]struct{ col, v string }{{"provider", q.Provider}, {"model", q.Model},
			{"key_id", q.KeyID}, {"team_id", q.TeamID}} {
			switch eq.v {
			case "":
			case None:
				w.add(eq.col + " = ''")
			default:
				w.add(eq.col+" = ?", s.text(eq.v))
			}
		}
		return w
	}

	err := s.groupBy(ctx, base(seriesCut, g, first, last), []string{"bucket"}, true, func(dims []string, bucket int64, m *Measures) {
		if i := (bucket - first) / g; i >= 0 && i < int64(len(o.Series)) {
			o.Series[i].Measures.add(m)
			o.Totals.add(m)
		}
	})
	if err != nil {
		return nil, err
	}
	// A breakdown needs no resolution: over several days of hour buckets it reads the whole days' day buckets
	// and hour buckets only for the partial days at either end — a fraction of the rows.
	type span struct{ grain, from, to int64 }
	spans := []span{{g, first, last}}
	if d1, dN := first+mod(-first, GrainDay), last-mod(last, GrainDay); g == GrainHour && dN-d1 >= 2*GrainDay {
		spans = []span{{GrainHour, first, d1 - GrainHour}, {GrainDay, d1, dN - GrainDay}, {GrainHour, dN, last}}
	}
	collect := func(c rollupCut, dims []string, hist bool) ([]Group, error) {
		var out []Group
		for _, sp := range spans {
			if sp.to < sp.from {
				continue
			}
			err := s.groupBy(ctx, base(c, sp.grain, sp.from, sp.to), dims, hist, func(vals []string, _ int64, m *Measures) {
				gr := Group{Name: vals[len(vals)-1], Measures: *m}
				if len(vals) > 1 {
					gr.Provider = vals[0]
				}
				out = append(out, gr)
			})
			if err != nil {
				return nil, err
			}
		}
		if len(spans) == 1 {
			return out, nil
		}
		return mergeGroups(out), nil
	}
	// One query per cut: providers are summed from their models, teams from their keys.
	if o.ByModel, err = collect(modelCut, []string{"provider", "model"}, true); err != nil {
		return nil, err
	}
	o.ByProvider = sumGroups(o.ByModel, func(g *Group) string { return g.Provider })
	var keyTeams []Group
	if keyTeams, err = collect(keyCut, []string{"team_id", "key_id"}, false); err != nil {
		return nil, err
	}
	o.ByKey = sumGroups(keyTeams, func(g *Group) string { return g.Name })
	o.ByTeam = sumGroups(keyTeams, func(g *Group) string { return g.Provider })
	if !hasModel && !hasKey {
		if o.ByRoute, err = collect(cutRoute, []string{"route"}, false); err != nil {
			return nil, err
		}
	}
	o.TopKeys, o.TopTeams = topSpenders(o.ByKey, top), topSpenders(o.ByTeam, top)
	for _, b := range []*[]Group{&o.ByProvider, &o.ByModel, &o.ByKey, &o.ByTeam, &o.ByRoute} {
		slices.SortStableFunc(*b, func(x, y Group) int {
			return cmp.Or(cmp.Compare(y.Requests, x.Requests), cmp.Compare(x.Name, y.Name))
		})
		if len(*b) > top {
			*b = (*b)[:top]
		}
	}
	return o, nil
}

// sumGroups sums groups by the name name gives them (the result's Name; Provider cleared).
func sumGroups(gs []Group, name func(*Group) string) []Group {
	idx := map[string]int{}
	var out []Group
	for i := range gs {
		n := name(&gs[i])
		j, ok := idx[n]
		if !ok {
			j = len(out)
			idx[n] = j
			out = append(out, Group{Name: n})
		}
		out[j].add(&gs[i].Measures)
	}
	return out
}

// mergeGroups sums the groups of the same provider and name.
func mergeGroups(gs []Group) []Group {
	idx := map[[2]string]int{}
	var out []Group
	for i := range gs {
		k := [2]string{gs[i].Provider, gs[i].Name}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, Group{Name: gs[i].Name, Provider: gs[i].Provider})
		}
		out[j].add(&gs[i].Measures)
	}
	return out
}

// topSpenders is the named groups (not "none") that spent something, most first, cut to top.
func topSpenders(gs []Group, top int) []Group {
	var out []Group
	for _, g := range gs {
		if g.Name != "" && g.CostNano > 0 {
			out = append(out, g)
		}
	}
	slices.SortStableFunc(out, func(x, y Group) int { return cmp.Or(cmp.Compare(y.CostNano, x.CostNano), cmp.Compare(x.Name, y.Name)) })
	if len(out) > top {
		out = out[:top]
	}
	return out
}

// groupBy sums the rollup rows matching w grouped by dims (text columns, or "bucket"), with the histograms when
// hist, calling fn per group with its dimension values (bucket: as the int64 instead).
func (s *SQLSink) groupBy(ctx context.Context, w *where, dims []string, hist bool, fn func(vals []string, bucket int64, m *Measures)) error {
	measures := rollupCounters
	if hist {
		measures = rollupMeasures
	}
	var sb strings.Builder
	sb.WriteString("SELECT ")
	sb.WriteString(strings.Join(dims, ", "))
	for _, c := range measures {
		sb.WriteString(", CAST(SUM(" + c + ") AS BIGINT)")
	}
	sb.WriteString(" FROM " + s.rollups + w.sql() + " GROUP BY " + strings.Join(dims, ", "))
	rows, err := s.db.QueryContext(ctx, sb.String(), w.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]string, len(dims))
	var bucket int64
	dest := make([]any, 0, len(dims)+len(measures))
	var m Measures
	for i, d := range dims {
		if d == "bucket" {
			dest = append(dest, &bucket)
		} else {
			dest = append(dest, &vals[i])
		}
	}
	dest = append(dest, &m.Requests, &m.Errors, &m.InputTokens, &m.OutputTokens, &m.CostNano, &m.LatencyUS, &m.OverheadUS)
	if hist {
		for i := range m.Latency {
			dest = append(dest, &m.Latency[i])
		}
		for i := range m.Overhead {
			dest = append(dest, &m.Overhead[i])
		}
	}
	for rows.Next() {
		m = Measures{}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fn(slices.Clone(vals), bucket, &m)
	}
	return rows.Err()
}

var _ OverviewReader = (*SQLSink)(nil)

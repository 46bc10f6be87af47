package requestlog

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestParseFilter(t *testing.T) {
	base := time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query string
		want  Filter
	}{
		{"", Filter{}},
		{"key=ci-bot&team=platform&customer=acme&provider=openai&model=gpt-4o&alias=smart&route=POST+%2Fv1%2Fchat%2Fcompletions&trace_id=abc",
			Filter{KeyID: "ci-bot", TeamID: "platform", CustomerID: "acme", Provider: "openai", Model: "gpt-4o", Alias: "smart",
				Route: "POST /v1/chat/completions", TraceID: "abc"}},
		{"key_id=k", Filter{KeyID: "k"}},
		{"key=(none)&team=(none)", Filter{KeyID: None, TeamID: None}},
		{"from=2026-06-01T10:00:00Z&to=1780308000", Filter{From: base, To: time.Unix(1780308000, 0)}},
		{"status=429", Filter{Status: []StatusMatch{{Min: 429, Max: 429}}}},
		{"status=4xx,5XX", Filter{Status: []StatusMatch{{Min: 400, Max: 499}, {Min: 500, Max: 599}}}},
		{"status=error", Filter{Status: []StatusMatch{{Kind: StatusError}}}},
		{"status=ok", Filter{Status: []StatusMatch{{Kind: StatusOK}}}},
		{"stream=true", Filter{Stream: ptr(true)}},
		{"stream=0", Filter{Stream: ptr(false)}},
		{"min_cost_usd=0.0015&max_cost_usd=2", Filter{MinCostNano: ptr[int64](1_500_000), MaxCostNano: ptr[int64](2_000_000_000)}},
		{"min_latency_ms=1.5&max_latency_ms=1000", Filter{MinLatency: 1500 * time.Microsecond, MaxLatency: time.Second}},
		{"min_tokens=10&max_tokens=0", Filter{MinTokens: ptr[int64](10), MaxTokens: ptr[int64](0)}},
		{"error=Overloaded", Filter{ErrorText: "Overloaded"}},
		{"columns=time,status,cost_usd", Filter{Fields: []string{"time", "status", "cost_usd"}}},
		{"limit=20&cursor=abc&total=false", Filter{Limit: 20, Cursor: "abc", NoTotal: true}},
		{"limit=5000", Filter{Limit: MaxPageSize}},
	} {
		got, err := ParseFilter(mustQuery(t, tc.query), true)
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if !filtersEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.query, got, tc.want)
		}
	}
	for _, tc := range []struct{ query, param string }{
		{"from=yesterday", "from"},
		{"to=-5", "to"},
		{"status=6xx", "status"},
		{"status=0", "status"},
		{"status=200,", "status"},
		{"status=1000", "status"},
		{"stream=maybe", "stream"},
		{"min_cost_usd=-1", "min_cost_usd"},
		{"max_cost_usd=lots", "max_cost_usd"},
		{"min_latency_ms=-5", "min_latency_ms"},
		{"max_latency_ms=NaN", "max_latency_ms"},
		{"min_tokens=1.5", "min_tokens"},
		{"max_tokens=-1", "max_tokens"},
		{"error=" + strings.Repeat("x", 201), "error"},
		{"columns=time,password", "columns"},
		{"limit=0", "limit"},
		{"limit=ten", "limit"},
	} {
		_, err := ParseFilter(mustQuery(t, tc.query), true)
		var fe *FilterError
		if !errors.As(err, &fe) || fe.Param != tc.param {
			t.Errorf("%q: err %v, want one naming %s", tc.query, err, tc.param)
		}
	}
	// Paging parameters are the page's, not the tail's.
	if f, err := ParseFilter(mustQuery(t, "limit=zero&cursor=x"), false); err != nil || f.Cursor != "" || f.Limit != 0 {
		t.Errorf("tail filter read paging parameters: %+v %v", f, err)
	}
}

func mustQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func filtersEqual(a, b Filter) bool {
	eqp := func(x, y *int64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.From.Equal(b.From) && a.To.Equal(b.To) && a.KeyID == b.KeyID && a.TeamID == b.TeamID &&
		a.CustomerID == b.CustomerID && a.Model == b.Model && a.Alias == b.Alias && a.Provider == b.Provider &&
		a.Route == b.Route && a.TraceID == b.TraceID && slices.Equal(a.Status, b.Status) &&
		(a.Stream == nil) == (b.Stream == nil) && (a.Stream == nil || *a.Stream == *b.Stream) &&
		eqp(a.MinCostNano, b.MinCostNano) && eqp(a.MaxCostNano, b.MaxCostNano) && a.MinLatency == b.MinLatency &&
		a.MaxLatency == b.MaxLatency && eqp(a.MinTokens, b.MinTokens) && eqp(a.MaxTokens, b.MaxTokens) &&
		a.ErrorText == b.ErrorText && slices.Equal(a.Fields, b.Fields) && a.Limit == b.Limit && a.Cursor == b.Cursor &&
		a.NoTotal == b.NoTotal
}

// Every filter selects in SQL exactly the rows Filter.Match (the live tail's filter) accepts, on both databases,
// through keyset pages.
func TestFilterSQLMatchesMatch(t *testing.T) {
	backends(t, func(t *testing.T, s *SQLSink, db *sql.DB) {
		ctx := context.Background()
		end := time.Now().Truncate(time.Second)
		n := raceRows(1500)
		if err := Generate(ctx, s, GenerateOptions{Rows: n, Span: 6 * time.Hour, End: end, Keys: 8, Teams: 3}); err != nil {
			t.Fatal(err)
		}
		all, _, total, err := s.QueryLogs(ctx, Filter{Limit: MaxPageSize})
		if err != nil || total != int64(n) {
			t.Fatalf("total %d, %v", total, err)
		}
		// Read every row once, for Match.
		var rows []Record
		for cursor := ""; ; {
			page, next, _, err := s.QueryLogs(ctx, Filter{Limit: MaxPageSize, Cursor: cursor, NoTotal: true})
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(rows) != n || rows[0].ID != all[0].ID {
			t.Fatalf("paged through %d rows", len(rows))
		}
		for _, q := range []string{
			"key=key-1", "key=(none)", "team=team-2", "customer=customer-0", "provider=anthropic", "model=gpt-4o",
			"route=POST /v1/embeddings", "status=200", "status=4xx", "status=429,503", "status=error", "status=ok",
			"stream=true", "stream=false", "min_cost_usd=0.001", "max_cost_usd=0.0001", "min_cost_usd=0.0001&max_cost_usd=0.001",
			"min_latency_ms=1000", "max_latency_ms=300", "min_tokens=3000", "max_tokens=100", "error=UPSTREAM",
			"error=Rate Limit", "error=100%25", "error=rpm 6_", "from=" + end.Add(-2*time.Hour).Format(time.RFC3339) + "&to=" + end.Add(-time.Hour).Format(time.RFC3339),
			"provider=openai&status=5xx&stream=false", "key=key-0&min_tokens=1000&max_latency_ms=2000",
		} {
			f, err := ParseFilter(mustQuery(t, q), true)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			var want []string
			for i := range rows {
				if f.Match(&rows[i]) {
					want = append(want, rows[i].ID)
				}
			}
			var got []string
			f.Limit, f.Fields = 97, []string{"status"}
			for pages := 0; ; pages++ {
				page, next, n, err := s.QueryLogs(ctx, f)
				if err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				if n != int64(len(want)) {
					t.Fatalf("%s: total %d, want %d", q, n, len(want))
				}
				for _, r := range page {
					got = append(got, r.ID)
				}
				if next == "" {
					break
				}
				f.Cursor = next
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: SQL selected %d rows, Match %d", q, len(got), len(want))
			}
			if len(want) == 0 && q != "error=100%25" && q != "error=rpm 6_" { // those two: LIKE's wildcards are literal
				t.Errorf("%s: the generated rows have none; the case tests nothing", q)
			}
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ts int64
		id string
	}{{0, "a"}, {1780308000123456, "0190f6c2-8b1e-7cc3-9a42-5d3c2f1e0a11"}, {5, "with:colon"}} {
		ts, id, err := decodeCursor(encodeCursor(tc.ts, tc.id))
		if err != nil || ts != tc.ts || id != tc.id {
			t.Errorf("round trip of %d %q: %d %q %v", tc.ts, tc.id, ts, id, err)
		}
	}
	for _, bad := range []string{"", "!!", "MTIz", "OmE", "LTE6YQ", string(make([]byte, 600))} { // "123", ":a", "-1:a"
		if _, _, err := decodeCursor(bad); !errors.Is(err, ErrBadCursor) {
			t.Errorf("decodeCursor(%q) = %v", bad, err)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "status=4xx,ok&stream=true", "min_cost_usd=0.5&max_tokens=3", "key=(none)&error=%25_",
		"columns=time,attempts&limit=3", "from=1&to=2026-01-01T00:00:00Z", "max_latency_ms=1e300"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		fl, err := ParseFilter(v, true)
		if err != nil {
			var fe *FilterError
			if !errors.As(err, &fe) || fe.Param == "" {
				t.Fatalf("error without a parameter: %v", err)
			}
			return
		}
		if fl.Limit < 0 || fl.Limit > MaxPageSize || fl.MinLatency < 0 || fl.MaxLatency < 0 {
			t.Fatalf("out of bounds: %+v", fl)
		}
		s := &SQLSink{}
		w := s.filter(&fl)
		if got, want := countPlaceholders(w.sql()), len(w.args); got != want {
			t.Fatalf("%d placeholders, %d arguments: %s", got, want, w.sql())
		}
		fl.Match(&Record{Status: 200})
		selectColumns(fl.Fields)
	})
}

func countPlaceholders(s string) int {
	n := 0
	for _, c := range s {
		if c == '?' {
			n++
		}
	}
	return n
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(1780308000123456, "0190f6c2-8b1e-7cc3-9a42-5d3c2f1e0a11"))
	f.Add("!!")
	f.Add("")
	f.Fuzz(func(t *testing.T, c string) {
		ts, id, err := decodeCursor(c)
		if err != nil {
			return
		}
		if ts < 0 || id == "" {
			t.Fatalf("accepted %q as %d %q", c, ts, id)
		}
		if ts2, id2, err := decodeCursor(encodeCursor(ts, id)); err != nil || ts2 != ts || id2 != id {
			t.Fatalf("re-encoding %d %q: %d %q %v", ts, id, ts2, id2, err)
		}
	})
}

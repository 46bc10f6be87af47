package requestlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// backends yields a fresh sink per available backend: SQLite always, PostgreSQL when WEIR_TEST_POSTGRES_DSN is
// set (each test gets its own schema, dropped afterwards, so parallel test runs do not collide).
func backends(t *testing.T, fn func(t *testing.T, s *SQLSink, db *sql.DB)) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			db := sqldbtest.Open(t, d)
			s, err := NewSQLSink(context.Background(), db, SQLOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Idempotent.
			if _, err := NewSQLSink(context.Background(), db, SQLOptions{}); err != nil {
				t.Fatal(err)
			}
			fn(t, s, db.DB)
		})
	}
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTenThousandThenClose(t *testing.T) {
	backends(t, func(t *testing.T, s *SQLSink, db *sql.DB) {
		w := NewWriter(s, Options{QueueSize: 20_000, BatchSize: 500, FlushInterval: 50 * time.Millisecond, Logger: quiet})
		const N, G = 10_000, 8
		var wg sync.WaitGroup
		var refused atomic.Int64
		for g := 0; g < G; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < N/G; i++ {
					if !w.Enqueue(Record{Route: "/v1/chat/completions", Provider: "openai", Model: "gpt-4o", Status: 200,
						Duration: time.Duration(i) * time.Microsecond, Attempts: []Attempt{{Provider: "openai", Model: "gpt-4o", Status: 200}}}) {
						refused.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if refused.Load() != 0 {
			t.Fatalf("%d refused", refused.Load())
		}
		if got := count(t, db, s.table); got != N {
			t.Fatalf("rows = %d, want %d (stats %+v)", got, N, w.Stats())
		}
		st := w.Stats()
		if st.Enqueued != N || st.Written != N || st.Dropped != 0 || st.Failed != 0 || st.Queued != 0 {
			t.Fatalf("stats %+v", st)
		}
		if w.Enqueue(Record{}) {
			t.Fatal("Enqueue after Close accepted")
		}
		if w.Dropped() != 1 {
			t.Fatalf("dropped after close = %d", w.Dropped())
		}
	})
}

// slowSink sleeps per batch and remembers what it got.
type slowSink struct {
	delay time.Duration
	mu    sync.Mutex
	ids   map[string]bool
	calls int
}

func (s *slowSink) InsertLogs(ctx context.Context, recs []Record) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	for _, r := range recs {
		s.ids[r.ID] = true
	}
	return nil
}

// enqueueLatencies enqueues n records from g goroutines and returns the sorted per-call latencies.
func enqueueLatencies(w *Writer, n, g int) ([]time.Duration, int) {
	lat := make([]time.Duration, n)
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for k := 0; k < g; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for i := k; i < n; i += g {
				r := Record{Route: "/v1/chat/completions", Model: "m", Status: 200}
				start := time.Now()
				ok := w.Enqueue(r)
				lat[i] = time.Since(start)
				if ok {
					accepted.Add(1)
				}
				if i%100 == 0 {
					time.Sleep(time.Millisecond) // a request stream, not a single burst
				}
			}
		}(k)
	}
	wg.Wait()
	slices.Sort(lat)
	return lat, int(accepted.Load())
}

func TestSlowSinkDoesNotBlockEnqueue(t *testing.T) {
	const N = 20_000
	p99 := func(delay time.Duration) (time.Duration, *Writer, *slowSink, int) {
		sink := &slowSink{delay: delay, ids: map[string]bool{}}
		var hook atomic.Int64
		w := NewWriter(sink, Options{QueueSize: 1000, BatchSize: 100, FlushInterval: 10 * time.Millisecond,
			Logger: quiet, OnDrop: func(n int) { hook.Add(int64(n)) }})
		lat, accepted := enqueueLatencies(w, N, 4)
		if err := w.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if int64(w.Dropped()) != hook.Load() {
			t.Errorf("OnDrop saw %d, Dropped() = %d", hook.Load(), w.Dropped())
		}
		return lat[len(lat)*99/100], w, sink, accepted
	}
	fast, _, _, _ := p99(0)
	slow, w, sink, accepted := p99(50 * time.Millisecond)
	t.Logf("Enqueue p99: %v with an instant sink, %v with a 50 ms sink; %d accepted, %d dropped",
		fast, slow, accepted, w.Dropped())
	if slow > time.Millisecond { // generous for -race on a shared machine; measured ~5–10 µs
		t.Errorf("Enqueue p99 with a slow sink = %v, want microseconds", slow)
	}
	if w.Dropped() == 0 {
		t.Error("a 50 ms sink with a 1,000-record queue dropped nothing")
	}
	if int(w.Dropped())+accepted != N {
		t.Errorf("accepted %d + dropped %d != %d", accepted, w.Dropped(), N)
	}
	if len(sink.ids) != accepted {
		t.Errorf("sink got %d records, %d were accepted", len(sink.ids), accepted)
	}
}

type failingSink struct{ calls atomic.Int64 }

func (f *failingSink) InsertLogs(context.Context, []Record) error {
	f.calls.Add(1)
	return errors.New("database is down")
}

func TestFailingSinkCountsDrops(t *testing.T) {
	f := &failingSink{}
	w := NewWriter(f, Options{BatchSize: 10, FlushInterval: time.Millisecond, Retries: -1, Logger: quiet})
	for i := 0; i < 25; i++ {
		w.Enqueue(Record{})
	}
	err := w.Close(context.Background())
	if err == nil {
		t.Fatal("Close reported no loss")
	}
	if w.Dropped() != 25 || w.Stats().Failed != 25 {
		t.Fatalf("dropped %d, stats %+v", w.Dropped(), w.Stats())
	}
}

func TestCloseDeadline(t *testing.T) {
	sink := &slowSink{delay: time.Second, ids: map[string]bool{}}
	w := NewWriter(sink, Options{BatchSize: 1, Logger: quiet})
	for i := 0; i < 5; i++ {
		w.Enqueue(Record{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("Close took %v past its deadline", d)
	}
}

func TestBatchesBySizeAndInterval(t *testing.T) {
	sink := &slowSink{ids: map[string]bool{}}
	w := NewWriter(sink, Options{BatchSize: 10, FlushInterval: 30 * time.Millisecond, Logger: quiet})
	defer w.Close(context.Background())
	for i := 0; i < 3; i++ {
		w.Enqueue(Record{})
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.ids)
		sink.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a partial batch was not flushed by the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fixtures inserts a known set of rows directly and returns them.
func fixtures(t *testing.T, s *SQLSink, base time.Time) []Record {
	t.Helper()
	var recs []Record
	keys := []string{"key-a", "key-b"}
	models := []string{"gpt-4o", "claude"}
	for i := 0; i < 40; i++ {
		status := 200
		errMsg := ""
		if i%10 == 9 {
			status, errMsg = 503, "upstream unavailable"
		}
		recs = append(recs, Record{
			ID: NewID(), Time: base.Add(time.Duration(i) * time.Minute),
			KeyID: keys[i%2], TeamID: "team-" + keys[i%2], CustomerID: "cust",
			Route: "/v1/chat/completions", Alias: "smart", Provider: map[bool]string{true: "openai", false: "anthropic"}[i%4 < 2],
			Model: models[(i/2)%2], Status: status, Error: errMsg,
			InputTokens: int64(i), OutputTokens: int64(2 * i), CostNanoUSD: int64(1000 * i),
			TTFB: time.Duration(i) * time.Millisecond, Duration: time.Duration(i+1) * 10 * time.Millisecond,
			Stream: i%3 == 0, CallerIP: "10.0.0.1", Headers: map[string]string{"X-Trace": fmt.Sprint(i)},
			Attempts: []Attempt{{Provider: "openai", Model: "gpt-4o", Status: status, Latency: time.Duration(i) * time.Millisecond}},
			Request:  "hello\x00 wörld",
		})
	}
	if err := s.InsertLogs(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	// A retried batch does not duplicate.
	if err := s.InsertLogs(context.Background(), recs[:5]); err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestQueryFiltersAndPagination(t *testing.T) {
	backends(t, func(t *testing.T, s *SQLSink, db *sql.DB) {
		ctx := context.Background()
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		recs := fixtures(t, s, base)

		all, _, total, err := s.QueryLogs(ctx, Filter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if total != 40 || len(all) != 40 {
			t.Fatalf("total %d, rows %d", total, len(all))
		}
		if !all[0].Time.Equal(recs[39].Time) || all[0].ID != recs[39].ID {
			t.Fatalf("not newest first: %v", all[0].Time)
		}
		got := all[39]
		want := recs[0]
		if got.KeyID != want.KeyID || got.Model != want.Model || got.Duration != want.Duration || got.TTFB != want.TTFB ||
			!got.Stream || got.Headers["X-Trace"] != "0" || len(got.Attempts) != 1 || got.Attempts[0].Provider != "openai" ||
			got.CostNanoUSD != 0 || got.CallerIP != "10.0.0.1" || got.Route != want.Route || got.Alias != "smart" {
			t.Fatalf("round trip: %+v", got)
		}

		cases := []struct {
			name string
			f    Filter
			want func(r Record) bool
		}{
			{"key", Filter{KeyID: "key-a"}, func(r Record) bool { return r.KeyID == "key-a" }},
			{"team", Filter{TeamID: "team-key-b"}, func(r Record) bool { return r.TeamID == "team-key-b" }},
			{"model", Filter{Model: "claude"}, func(r Record) bool { return r.Model == "claude" }},
			{"provider", Filter{Provider: "anthropic"}, func(r Record) bool { return r.Provider == "anthropic" }},
			{"status", Filter{StatusMin: 503, StatusMax: 503}, func(r Record) bool { return r.Status == 503 }},
			{"errors", Filter{StatusMin: 400, StatusMax: 999}, func(r Record) bool { return r.Status >= 400 }},
			{"latency", Filter{MinLatency: 300 * time.Millisecond}, func(r Record) bool { return r.Duration >= 300*time.Millisecond }},
			{"range", Filter{From: base.Add(10 * time.Minute), To: base.Add(20 * time.Minute)}, func(r Record) bool {
				return !r.Time.Before(base.Add(10*time.Minute)) && r.Time.Before(base.Add(20*time.Minute))
			}},
			{"combined", Filter{KeyID: "key-a", Model: "gpt-4o", MinLatency: 100 * time.Millisecond}, func(r Record) bool {
				return r.KeyID == "key-a" && r.Model == "gpt-4o" && r.Duration >= 100*time.Millisecond
			}},
		}
		for _, c := range cases {
			var want []string
			for i := len(recs) - 1; i >= 0; i-- {
				if c.want(recs[i]) {
					want = append(want, recs[i].ID)
				}
			}
			// Page through 3 at a time.
			var gotIDs []string
			cursor := ""
			pages := 0
			for {
				f := c.f
				f.Limit, f.Cursor = 3, cursor
				rows, next, total, err := s.QueryLogs(ctx, f)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if total != int64(len(want)) {
					t.Fatalf("%s: total %d, want %d", c.name, total, len(want))
				}
				for _, r := range rows {
					gotIDs = append(gotIDs, r.ID)
				}
				pages++
				if next == "" {
					break
				}
				if len(rows) != 3 {
					t.Fatalf("%s: short page %d with a next cursor", c.name, len(rows))
				}
				cursor = next
			}
			if !slices.Equal(gotIDs, want) {
				t.Fatalf("%s: got %d ids, want %d (%d pages)", c.name, len(gotIDs), len(want), pages)
			}
			if len(want) == 0 {
				t.Fatalf("%s: fixture selects nothing", c.name)
			}
		}

		if _, _, _, err := s.QueryLogs(ctx, Filter{Cursor: "!!"}); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("bad cursor: %v", err)
		}
		if _, _, total, _ := s.QueryLogs(ctx, Filter{NoTotal: true}); total != -1 {
			t.Fatalf("NoTotal total = %d", total)
		}

		one, err := s.GetLog(ctx, recs[7].ID)
		if err != nil || one.ID != recs[7].ID || one.InputTokens != 7 {
			t.Fatalf("GetLog: %+v %v", one, err)
		}
		if _, err := s.GetLog(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetLog unknown: %v", err)
		}
	})
}

func TestStats(t *testing.T) {
	backends(t, func(t *testing.T, s *SQLSink, db *sql.DB) {
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		fixtures(t, s, base)
		buckets, err := s.Stats(context.Background(), base, base.Add(40*time.Minute), 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(buckets) != 4 {
			t.Fatalf("buckets %d", len(buckets))
		}
		b := buckets[1] // rows 10..19
		if !b.Start.Equal(base.Add(10*time.Minute)) || b.Requests != 10 || b.Errors != 1 ||
			b.InputTokens != 145 || b.OutputTokens != 290 || b.CostNanoUSD != 145_000 {
			t.Fatalf("bucket 1: %+v", b)
		}
		// Durations 110ms..200ms: p50 = 5th = 150, p95 = 10th = 200, p99 = 200.
		if b.P50ms != 150 || b.P95ms != 200 || b.P99ms != 200 {
			t.Fatalf("percentiles %+v", b)
		}
		empty, err := s.Stats(context.Background(), base.Add(-time.Hour), base, 30*time.Minute)
		if err != nil || len(empty) != 2 || empty[0].Requests != 0 {
			t.Fatalf("empty: %+v %v", empty, err)
		}
	})
}

func TestRetention(t *testing.T) {
	backends(t, func(t *testing.T, s *SQLSink, db *sql.DB) {
		ctx := context.Background()
		now := time.Now()
		var recs []Record
		for i := 0; i < 25; i++ {
			recs = append(recs, Record{ID: NewID(), Time: now.Add(-48 * time.Hour).Add(time.Duration(i) * time.Second)})
		}
		for i := 0; i < 5; i++ {
			recs = append(recs, Record{ID: NewID(), Time: now.Add(-time.Duration(i) * time.Minute)})
		}
		if err := s.InsertLogs(ctx, recs); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteLogsBefore(ctx, now.Add(-24*time.Hour), 10)
		if err != nil || n != 10 {
			t.Fatalf("first batch deleted %d, %v", n, err)
		}
		if got := count(t, db, s.table); got != 20 {
			t.Fatalf("rows %d", got)
		}
		// The writer's retention loop removes the rest in batches.
		w := NewWriter(s, Options{Retention: 24 * time.Hour, RetentionBatch: 4, RetentionInterval: time.Hour, Logger: quiet})
		deadline := time.Now().Add(10 * time.Second)
		for count(t, db, s.table) != 5 {
			if time.Now().After(deadline) {
				t.Fatalf("retention left %d rows", count(t, db, s.table))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHTTPAPI(t *testing.T) {
	db := sqldbtest.Open(t, sqldb.SQLite)
	s, err := NewSQLSink(context.Background(), db, SQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := fixtures(t, s, base)
	mux := http.NewServeMux()
	NewAPI(s, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer admin" {
			http.Error(w, "no", http.StatusUnauthorized)
			return false
		}
		return true
	}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string, auth bool) (int, map[string]any) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer admin")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, _ := get("/api/logs", false); code != 401 {
		t.Fatalf("unauthenticated: %d", code)
	}
	code, m := get("/api/logs?key=key-b&status=5xx&limit=3", true)
	if code != 200 || m["total"].(float64) != 4 || len(m["data"].([]any)) != 3 || m["next_cursor"] == "" {
		t.Fatalf("logs: %d %v", code, m)
	}
	row := m["data"].([]any)[0].(map[string]any)
	if row["status"].(float64) != 503 || row["duration_ms"] == nil || row["ttfb_ns"] != nil {
		t.Fatalf("row: %v", row)
	}
	code, m = get("/api/logs?key=key-b&status=5xx&limit=3&cursor="+m["next_cursor"].(string), true)
	if code != 200 || len(m["data"].([]any)) != 1 || m["has_more"] != false {
		t.Fatalf("page 2: %d %v", code, m)
	}
	if code, _ := get("/api/logs?status=abc", true); code != 400 {
		t.Fatalf("bad status: %d", code)
	}
	if code, _ := get("/api/logs?cursor=zz", true); code != 400 {
		t.Fatalf("bad cursor: %d", code)
	}
	code, m = get("/api/logs/"+recs[3].ID, true)
	if code != 200 || m["id"] != recs[3].ID || m["attempts"].([]any)[0].(map[string]any)["latency_ms"].(float64) != 3 {
		t.Fatalf("one: %d %v", code, m)
	}
	if code, _ := get("/api/logs/missing", true); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	code, m = get("/api/stats?from="+base.Format(time.RFC3339)+"&to="+base.Add(time.Hour).Format(time.RFC3339)+"&interval=30m", true)
	if code != 200 || len(m["data"].([]any)) != 2 || m["totals"].(map[string]any)["requests"].(float64) != 40 {
		t.Fatalf("stats: %d %v", code, m)
	}
	if code, _ := get("/api/stats?from="+base.Format(time.RFC3339)+"&to="+base.Add(time.Hour).Format(time.RFC3339)+"&interval=1ms", true); code != 400 {
		t.Fatalf("too many buckets: %d", code)
	}
}

func TestHelpers(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Bearer sk-secret")
	h.Set("X-Api-Key", "sk")
	h.Add("X-Request-Id", "a")
	h.Add("X-Request-Id", "b")
	got := SelectHeaders(h, []string{"authorization", "x-api-key", "x-request-id", "user-agent"})
	if len(got) != 1 || got["X-Request-Id"] != "a, b" {
		t.Fatalf("SelectHeaders = %v", got)
	}
	if s := TruncateContent([]byte("héllo world"), 2); s != "h…[truncated 11 bytes]" {
		t.Fatalf("TruncateContent = %q", s)
	}
	for _, tc := range []struct {
		kept  string
		total int64
		want  string
	}{{"hello", 5, "hello"}, {"hel", 11, "hel…[truncated 8 bytes]"}, {"h\xc3", 3, "h…[truncated 2 bytes]"},
		{"h\xc3\xa9", 9, "hé…[truncated 6 bytes]"}, {"", 4, "…[truncated 4 bytes]"}} {
		if got := TruncatedContent([]byte(tc.kept), tc.total); got != tc.want {
			t.Fatalf("TruncatedContent(%q, %d) = %q, want %q", tc.kept, tc.total, got, tc.want)
		}
	}
	if s := TruncateContent([]byte("short"), 10); s != "short" {
		t.Fatalf("TruncateContent = %q", s)
	}
	a, b := NewID(), NewID()
	if a >= b {
		t.Fatalf("ids not sortable: %s %s", a, b)
	}
}

func BenchmarkEnqueue(b *testing.B) {
	w := NewWriter(&slowSink{ids: map[string]bool{}}, Options{QueueSize: 1 << 16, Logger: quiet})
	defer w.Close(context.Background())
	r := Record{ID: "fixed", Time: time.Now(), Route: "/v1/chat/completions", Model: "m", Status: 200}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Enqueue(r)
		}
	})
}

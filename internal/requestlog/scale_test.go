package requestlog

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
)

// The scale test fills a database with generated rows and times the UI's queries: the overview of every range
// and the log explorer's first page, a filtered page and a page deep in the keyset order. In the normal test
// suite it runs at a small size (scaleDefaultRows) and only reports; `make bench-ui` runs it with
// WEIR_SCALE_ROWS=1000000 and WEIR_SCALE_ASSERT=1, which fails a query whose p95 is 300 ms or more
// (docs/benchmarks.md).
const (
	envScaleRows   = "WEIR_SCALE_ROWS"
	envScaleAssert = "WEIR_SCALE_ASSERT"
	envScaleSQLite = "WEIR_SCALE_SQLITE_PATH" // reuse (or keep) a generated SQLite file between runs
	scaleBudget    = 300 * time.Millisecond
	scaleRuns      = 20
)

func TestScale(t *testing.T) {
	rows := scaleDefaultRows
	if s := os.Getenv(envScaleRows); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q", envScaleRows, s)
		}
		rows = n
	} else if testing.Short() {
		t.Skip("short")
	}
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			var db *sqldb.DB
			reuse := false
			if p := os.Getenv(envScaleSQLite); p != "" && d == sqldb.SQLite {
				_, err := os.Stat(p)
				reuse = err == nil
				if db, err = sqldb.OpenSQLite(ctx, p); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
			} else {
				db = sqldbtest.Open(t, d)
			}
			s, err := NewSQLSink(ctx, db, SQLOptions{})
			if err != nil {
				t.Fatal(err)
			}
			end := time.Now()
			if reuse { // measure as of the generated data's end
				var maxTS int64
				if err := db.QueryRowContext(ctx, `SELECT MAX(ts) FROM request_logs`).Scan(&maxTS); err != nil {
					t.Fatal(err)
				}
				end = time.UnixMicro(maxTS)
			}
			if !reuse {
				began := time.Now()
				if err := Generate(ctx, s, GenerateOptions{Rows: rows, Span: 30 * 24 * time.Hour, End: end}); err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: generated %d rows in %s", d, rows, time.Since(began).Round(time.Millisecond))
				if d == sqldb.Postgres {
					if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
						t.Fatal(err)
					}
				}
			}
			if d == sqldb.SQLite {
				if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
					t.Fatal(err)
				}
			}
			var total int64
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM request_logs`).Scan(&total); err != nil {
				t.Fatal(err)
			}
			// A cursor nine tenths of the way back: the page after the row there.
			var deepTS int64
			var deepID string
			if err := db.QueryRowContext(ctx, db.Dialect.Rebind(`SELECT ts, id FROM request_logs ORDER BY ts DESC, id DESC LIMIT 1 OFFSET ?`),
				total*9/10).Scan(&deepTS, &deepID); err != nil {
				t.Fatal(err)
			}
			deep := encodeCursor(deepTS, deepID)
			page := []string{"time", "status", "provider", "model", "key_id", "duration_ms", "cost_usd", "input_tokens", "output_tokens"}
			five := true
			cases := []struct {
				name string
				run  func() error
			}{
				{"logs first page", func() error {
					_, _, _, err := s.QueryLogs(ctx, Filter{Limit: 50, NoTotal: true, Fields: page})
					return err
				}},
				{"logs filtered page", func() error {
					_, _, _, err := s.QueryLogs(ctx, Filter{Limit: 50, NoTotal: true, Fields: page, Provider: "openai",
						Status: []StatusMatch{{Min: 500, Max: 599}}, Stream: &five})
					return err
				}},
				{"logs filtered by key and cost", func() error {
					minCost := int64(1_000_000)
					_, _, _, err := s.QueryLogs(ctx, Filter{Limit: 50, NoTotal: true, Fields: page, KeyID: "key-3", MinCostNano: &minCost})
					return err
				}},
				{"logs deep keyset page", func() error {
					_, _, _, err := s.QueryLogs(ctx, Filter{Limit: 50, NoTotal: true, Fields: page, Cursor: deep})
					return err
				}},
			}
			for _, r := range OverviewRanges {
				cases = append(cases, struct {
					name string
					run  func() error
				}{"overview " + r.Name, func() error {
					_, err := s.Overview(ctx, OverviewQuery{Range: r, Now: end})
					return err
				}})
			}
			cases = append(cases, struct {
				name string
				run  func() error
			}{"overview 7d, one key", func() error {
				_, err := s.Overview(ctx, OverviewQuery{Range: OverviewRanges[2], Now: end, KeyID: "key-1"})
				return err
			}})
			for _, c := range cases {
				times := make([]time.Duration, 0, scaleRuns)
				cpus := make([]time.Duration, 0, scaleRuns)
				for range scaleRuns {
					cpu0 := processCPU()
					began := time.Now()
					if err := c.run(); err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					times = append(times, time.Since(began))
					cpus = append(cpus, processCPU()-cpu0)
				}
				slices.Sort(times)
				slices.Sort(cpus)
				p50, p95 := times[len(times)/2], times[(len(times)*95+99)/100-1]
				// CPU: this process's (on SQLite, the database's work too; on PostgreSQL, the client's only).
				t.Logf("%-8s %8d rows  %-32s p50 %8s  p95 %8s  cpu p50 %8s", d, total, c.name, round(p50), round(p95), round(cpus[len(cpus)/2]))
				if os.Getenv(envScaleAssert) != "" && p95 >= scaleBudget {
					t.Errorf("%s: p95 %s, want < %s", c.name, p95, scaleBudget)
				}
			}
		})
	}
}

// processCPU is the user and system CPU time this process has used: on a shared machine, the steadier measure
// of a query's cost than its wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func round(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

package requestlog

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
)

// A database made before the schema was versioned (the version-1 table, rows in it, no version table) is
// brought forward: its rows stay readable, new rows and their rollups are written.
func TestMigrateFromUnversioned(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			db := sqldbtest.Open(t, d)
			for _, stmt := range migrations[1] {
				if _, err := db.ExecContext(ctx, strings.ReplaceAll(stmt, "{{T}}", "request_logs")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.ExecContext(ctx, db.Dialect.Rebind(`INSERT INTO request_logs (id, ts, status, duration_us) VALUES (?, ?, ?, ?)`),
				"old", time.Now().UnixMicro(), 200, 1500); err != nil {
				t.Fatal(err)
			}
			s, err := NewSQLSink(ctx, db, SQLOptions{})
			if err != nil {
				t.Fatal(err)
			}
			old, err := s.GetLog(ctx, "old")
			if err != nil || old.Duration != 1500*time.Microsecond || old.Overhead != 0 || old.TraceID != "" {
				t.Fatalf("old row: %+v %v", old, err)
			}
			if err := s.InsertLogs(ctx, []Record{{ID: "new", Time: time.Now(), Status: 200, TraceID: "t1", Overhead: time.Millisecond}}); err != nil {
				t.Fatal(err)
			}
			rows, _, _, err := s.QueryLogs(ctx, Filter{TraceID: "t1"})
			if err != nil || len(rows) != 1 || rows[0].Overhead != time.Millisecond {
				t.Fatalf("new row: %+v %v", rows, err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM request_logs_rollups`).Scan(&n); err != nil || n == 0 {
				t.Fatalf("rollups: %d %v", n, err)
			}
		})
	}
}

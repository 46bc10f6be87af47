// Package sqldbtest opens throwaway databases for tests of the packages that keep tables in a sqldb.DB.
package sqldbtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// EnvPostgres names the variable holding a PostgreSQL DSN for tests (`eval "$(bash .ci/postgres.sh)"` starts one
// locally and prints the export line). Without it PostgreSQL tests are skipped.
const EnvPostgres = "WEIR_TEST_POSTGRES_DSN"

var schemas atomic.Int64

// Open returns an empty database of dialect d, closed (and on PostgreSQL dropped) when t ends: a SQLite file in
// t's temporary directory, or a fresh PostgreSQL schema. It skips t for PostgreSQL without EnvPostgres.
func Open(t testing.TB, d sqldb.Dialect) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	if d == sqldb.SQLite {
		db, err := sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "weir.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dsn := Schema(t)
	db, err := sqldb.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Schema creates a fresh PostgreSQL schema, dropped when t ends, and returns a DSN whose search_path is it, so
// several handles (replicas) can open the same empty database. It skips t without EnvPostgres.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		t.Skipf("%s is not set; run `eval \"$(bash .ci/postgres.sh)\"` to test against PostgreSQL", EnvPostgres)
	}
	ctx := context.Background()
	schema := fmt.Sprintf("weir_test_%d_%d", os.Getpid(), schemas.Add(1))
	admin, err := sqldb.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := sqldb.OpenPostgres(ctx, dsn); err == nil {
			c.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
			c.Close()
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

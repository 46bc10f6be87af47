package postgres

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/storetest"
)

// TestStore runs the shared suite against a real PostgreSQL. Set WEIR_TEST_POSTGRES_DSN (bash .ci/postgres.sh
// starts one locally and prints the export line). Each subtest gets its own fresh schema.
func TestStore(t *testing.T) {
	dsn := os.Getenv("WEIR_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("WEIR_TEST_POSTGRES_DSN is not set; run `eval \"$(bash .ci/postgres.sh)\"` to test against PostgreSQL")
	}
	ctx := context.Background()
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		schema := fmt.Sprintf("weir_test_%d_%d", os.Getpid(), n)
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			c, err := pgx.Connect(ctx, dsn)
			if err == nil {
				c.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
				c.Close(ctx)
			}
		})
		s, err := Open(ctx, withSearchPath(dsn, schema))
		if err != nil {
			t.Fatal(err)
		}
		// Migrating again must be a no-op.
		s2, err := Open(ctx, withSearchPath(dsn, schema))
		if err != nil {
			t.Fatal(err)
		}
		s2.Close()
		return s
	})
}

func withSearchPath(dsn, schema string) string {
	sep := "?"
	for _, c := range dsn {
		if c == '?' {
			sep = "&"
		}
	}
	return dsn + sep + "search_path=" + schema
}

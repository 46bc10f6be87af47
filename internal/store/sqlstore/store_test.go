package sqlstore_test

import (
	"context"
	"testing"

	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
	"github.com/weir-gateway/weir/internal/store/storetest"
)

// TestStore runs the shared suite on both databases: SQLite in memory and, with WEIR_TEST_POSTGRES_DSN set, a
// fresh PostgreSQL schema per subtest. Each store is migrated twice; the second must be a no-op.
func TestStore(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				db := sqldbtest.Open(t, d)
				ctx := context.Background()
				if _, err := sqlstore.New(ctx, db); err != nil {
					t.Fatal(err)
				}
				s, err := sqlstore.New(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

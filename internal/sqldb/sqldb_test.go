package sqldb_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/requestlog"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
)

// An empty SQLite dsn is weir.db in the data dir, opened in WAL mode with the busy timeout.
func TestSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqldb.Open(ctx, "", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Dialect != sqldb.SQLite || db.Name != filepath.Join(dir, "weir.db") {
		t.Fatalf("opened %s %q", db.Dialect, db.Name)
	}
	var mode string
	var busy int
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil || busy != sqldb.BusyTimeoutMS {
		t.Errorf("busy_timeout = %d, %v; want %d", busy, err, sqldb.BusyTimeoutMS)
	}
	if _, err := sqldb.Open(ctx, "postgres", "", dir); err == nil {
		t.Error("postgres without a dsn: no error")
	}
	if _, err := sqldb.Open(ctx, "oracle", "", dir); err == nil {
		t.Error("unknown driver: no error")
	}
}

// createAll creates every package's tables in db, as a gateway starting does.
func createAll(ctx context.Context, db *sqldb.DB) error {
	if _, err := sqlstore.New(ctx, db); err != nil {
		return err
	}
	if _, err := requestlog.NewSQLSink(ctx, db, requestlog.SQLOptions{}); err != nil {
		return err
	}
	if _, err := conversation.NewSQLStore(ctx, db); err != nil {
		return err
	}
	if _, err := affinity.NewSQLStore(ctx, db); err != nil {
		return err
	}
	return nil
}

// Replicas starting together race to create the same tables and apply the same migrations: several handles on
// one database (one per replica) each run every package's table creation from several goroutines at once. None
// may fail, and each migration is applied once.
func TestConcurrentTableCreation(t *testing.T) {
	const replicas, goroutines = 3, 4
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			var dbs []*sqldb.DB
			switch d {
			case sqldb.SQLite:
				path := filepath.Join(t.TempDir(), "weir.db")
				for range replicas {
					db, err := sqldb.OpenSQLite(ctx, path)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { db.Close() })
					dbs = append(dbs, db)
				}
			case sqldb.Postgres:
				dsn := sqldbtest.Schema(t)
				for range replicas {
					db, err := sqldb.OpenPostgres(ctx, dsn)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { db.Close() })
					dbs = append(dbs, db)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, replicas*goroutines)
			for _, db := range dbs {
				for range goroutines {
					wg.Go(func() {
						if err := createAll(ctx, db); err != nil {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			var applied int
			if err := dbs[0].QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&applied); err != nil {
				t.Fatal(err)
			}
			if applied != sqlstore.LatestVersion() {
				t.Errorf("%d migrations recorded, want %d", applied, sqlstore.LatestVersion())
			}
			if err := dbs[0].QueryRowContext(ctx, `SELECT COUNT(*) FROM request_logs_schema`).Scan(&applied); err != nil {
				t.Fatal(err)
			}
			if applied != requestlog.LatestSchemaVersion() {
				t.Errorf("%d request-log migrations recorded, want %d", applied, requestlog.LatestSchemaVersion())
			}
		})
	}
}

// A transaction that reads and then writes, while another process (handle) writes in between, waits for the
// other writer rather than failing with SQLITE_BUSY: transactions take the write lock at BEGIN, and the other
// writer waits out the busy timeout.
func TestSQLiteTransactionsAcrossHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")
	a, err := sqldb.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqldb.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := a.ExecContext(ctx, `CREATE TABLE n (v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	tx, err := a.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM n`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	other := make(chan error, 1)
	go func() {
		_, err := b.ExecContext(ctx, `INSERT INTO n VALUES (2)`)
		other <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the other writer try while tx is open
	if _, err := tx.ExecContext(ctx, `INSERT INTO n VALUES (1)`); err != nil {
		t.Fatalf("write after read in a transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-other; err != nil {
		t.Fatalf("the other handle's write: %v", err)
	}
	if err := a.QueryRowContext(ctx, `SELECT COUNT(*) FROM n`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows, %v; want 2", n, err)
	}
}

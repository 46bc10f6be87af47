// Package sqldb opens the one SQL database Weir keeps its state in — the governance store, the request log,
// stored responses and upstream-object records — and owns what differs between SQLite and PostgreSQL:
// connection settings, placeholders, column types, unique-violation errors and advisory-locked table creation.
// The packages that keep tables take a *DB; none opens its own connection.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver
)

// DB is an open database and its dialect. Close it once, after every store using it is done.
type DB struct {
	*sql.DB
	Dialect Dialect
	// Name is what was opened (a file path, ":memory:" or "postgres"), for error messages; never a DSN, which may
	// hold a password.
	Name string
}

// BusyTimeoutMS is how long a SQLite writer waits for another process's lock before failing with SQLITE_BUSY.
const BusyTimeoutMS = 10000

// postgresMaxConns bounds the shared pool; the three pools it replaced had four connections each.
const postgresMaxConns = 12

// Open opens driver ("sqlite", the default, or "postgres") at dsn. An empty SQLite dsn means weir.db in dataDir.
func Open(ctx context.Context, driver, dsn, dataDir string) (*DB, error) {
	d, err := ParseDriver(driver)
	if err != nil {
		return nil, err
	}
	if d == Postgres {
		if dsn == "" {
			return nil, errors.New("sqldb: postgres needs a dsn")
		}
		return OpenPostgres(ctx, dsn)
	}
	if dsn == "" {
		dsn = filepath.Join(dataDir, "weir.db")
	}
	return OpenSQLite(ctx, dsn)
}

// OpenSQLite opens (creating if needed) the SQLite database at path, or a private in-memory one for ":memory:".
//
// WAL lets readers proceed while a writer commits; the busy timeout makes a writer from another process wait for
// the lock instead of failing. Transactions begin IMMEDIATE, taking the write lock up front, so a transaction that
// reads and then writes waits its turn rather than failing when another process wrote in between. One open
// connection: SQLite has a single writer anyway (serialising in the pool avoids busy retries), and each
// connection to ":memory:" would be its own empty database.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	dsn := "file:" + path
	if path == ":memory:" {
		dsn = "file::memory:"
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Set("_txlock", "immediate")
	if strings.Contains(dsn, "?") {
		dsn += "&" + q.Encode()
	} else {
		dsn += "?" + q.Encode()
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return &DB{DB: db, Dialect: SQLite, Name: path}, nil
}

// OpenPostgres connects through pgx's database/sql driver with a DSN (postgres://… or key=value).
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(postgresMaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &DB{DB: db, Dialect: Postgres, Name: "postgres"}, nil
}

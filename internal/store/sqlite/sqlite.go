// Package sqlite is the embedded store backend: a single file (or ":memory:"), pure Go via modernc.org/sqlite,
// so the gateway stays one static binary with no cgo.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
)

// Open opens (creating if needed) and migrates the database at path, or an in-memory one for ":memory:".
//
// WAL lets the background counter flush write while admin reads proceed; busy_timeout makes a writer wait for
// a lock instead of failing with SQLITE_BUSY. One open connection for ":memory:" (each connection would be its
// own empty database) and for writes generally: SQLite has a single writer anyway, and serialising in the pool
// avoids busy retries.
func Open(ctx context.Context, path string) (store.Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	dsn := "file:" + path
	if path == ":memory:" {
		dsn = "file::memory:"
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	if strings.Contains(dsn, "?") {
		dsn += "&" + q.Encode()
	} else {
		dsn += "?" + q.Encode()
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	a := &adapter{db: db}
	d := sqlstore.Dialect{
		Name: "sqlite",
		Blob: "BLOB",
		IsUnique: func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
		},
		Ping:  db.PingContext,
		Close: db.Close,
	}
	if err := sqlstore.Migrate(ctx, a, d); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return sqlstore.New(a, d), nil
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type adapter struct {
	db *sql.DB
	tx *sql.Tx
}

func (a *adapter) conn() execer {
	if a.tx != nil {
		return a.tx
	}
	return a.db
}

func (a *adapter) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := a.conn().ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (a *adapter) Query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := a.conn().QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (a *adapter) Tx(ctx context.Context, fn func(sqlstore.DB) error) error {
	if a.tx != nil {
		return fn(a) // already in one: SQLite has no nested transactions, join the outer
	}
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(&adapter{db: a.db, tx: tx}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

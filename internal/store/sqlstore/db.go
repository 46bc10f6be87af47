// Package sqlstore implements store.Store once, in SQL both SQLite and PostgreSQL accept ($n placeholders,
// INSERT … ON CONFLICT … DO UPDATE, BIGINT Unix-millisecond timestamps), over the shared *sqldb.DB. Only the DDL
// differs by dialect (BLOB vs BYTEA) and is templated.
package sqlstore

import (
	"context"
	"database/sql"
)

// conn is statements, row iteration and transactions over the database or one of its transactions.
type conn struct {
	db *sql.DB
	tx *sql.Tx
}

// execer is what *sql.DB and *sql.Tx share.
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (c conn) x() execer {
	if c.tx != nil {
		return c.tx
	}
	return c.db
}

// Exec runs a statement and returns the rows affected.
func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.x().ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Query calls row for each result row; scan reads its columns.
func (c conn) Query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := c.x().QueryContext(ctx, q, args...)
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

// Tx runs fn in a transaction, committing if it returns nil. Inside one it joins the outer (SQLite has no
// nested transactions).
func (c conn) Tx(ctx context.Context, fn func(conn) error) error {
	if c.tx != nil {
		return fn(c)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(conn{db: c.db, tx: tx}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

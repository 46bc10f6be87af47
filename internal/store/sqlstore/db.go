// Package sqlstore implements store.Store once, in SQL both SQLite and PostgreSQL accept ($n placeholders,
// INSERT … ON CONFLICT … DO UPDATE, BIGINT Unix-millisecond timestamps), over a tiny DB adapter each backend
// provides. Only the DDL differs by dialect (BLOB vs BYTEA) and is templated.
package sqlstore

import (
	"context"
)

// DB is what a backend provides: statements, row iteration and transactions.
type DB interface {
	// Exec runs a statement and returns the rows affected.
	Exec(ctx context.Context, q string, args ...any) (int64, error)
	// Query calls row for each result row; scan reads its columns.
	Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error
	// Tx runs fn in a transaction, committing if it returns nil.
	Tx(ctx context.Context, fn func(DB) error) error
}

// Dialect is what differs between backends.
type Dialect struct {
	Name string
	// Blob is the binary column type.
	Blob string
	// MigrationLock, if set, is run inside the migration transaction first (Postgres: an advisory lock, so
	// several gateways starting at once do not race to migrate).
	MigrationLock string
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(err error) bool
	// Ping checks the connection.
	Ping func(ctx context.Context) error
	// Close releases the connection pool.
	Close func() error
}

package sqldb

import (
	"context"
	"database/sql"
)

// Lock is a PostgreSQL advisory-lock key serialising one package's schema changes across gateways starting
// together. The keys are listed here so none collide; never change one (a rolling upgrade runs old and new
// replicas side by side, and both must take the same lock).
type Lock int64

const (
	LockStore        Lock = 7283429911 // store/sqlstore's versioned migrations
	LockRequestLog   Lock = 7283429912 // requestlog's table
	LockConversation Lock = 7283429913 // conversation's stored_responses
	LockAffinity     Lock = 7283429914 // affinity's upstream_objects
)

// Migrate runs fn in one transaction that, on PostgreSQL, first takes the advisory lock: concurrent
// CREATE … IF NOT EXISTS from several gateways can still collide in the catalog, and two gateways must not both
// apply the same versioned migration. On SQLite the transaction's write lock (taken at BEGIN) serialises them.
func (db *DB) Migrate(ctx context.Context, lock Lock, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if db.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lock)); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// CreateTables runs idempotent CREATE … IF NOT EXISTS statements under lock (see Migrate).
func (db *DB) CreateTables(ctx context.Context, lock Lock, ddl ...string) error {
	return db.Migrate(ctx, lock, func(tx *sql.Tx) error {
		for _, q := range ddl {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

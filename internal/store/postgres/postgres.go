// Package postgres is the shared store backend for several gateway instances, over pgx/v5's pool.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
)

// Open connects with a DSN (postgres://… or key=value) and migrates the schema.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	a := &adapter{q: pool, pool: pool}
	d := sqlstore.Dialect{
		Name: "postgres",
		Blob: "BYTEA",
		// Several gateways may start together; the transaction-scoped advisory lock serialises migration.
		MigrationLock: `SELECT pg_advisory_xact_lock(7283429911)`,
		IsUnique: func(err error) bool {
			var pe *pgconn.PgError
			return errors.As(err, &pe) && pe.Code == "23505"
		},
		Ping:  pool.Ping,
		Close: func() error { pool.Close(); return nil },
	}
	if err := sqlstore.Migrate(ctx, a, d); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return sqlstore.New(a, d), nil
}

// querier is what the pool and a transaction share.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type adapter struct {
	q    querier
	pool *pgxpool.Pool
	tx   pgx.Tx
}

func (a *adapter) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := a.q.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (a *adapter) Query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := a.q.Query(ctx, q, args...)
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
		return fn(a)
	}
	return pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		return fn(&adapter{q: tx, pool: a.pool, tx: tx})
	})
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// migrations are append-only: never edit a released one, add the next version. Each is a list of single
// statements (not every driver runs several per Exec). {{BLOB}} is replaced by the dialect's binary type.
var migrations = [][]string{
	1: {
		`CREATE TABLE customers (
			id TEXT PRIMARY KEY,
			spec TEXT NOT NULL,
			source TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		`CREATE TABLE teams (
			id TEXT PRIMARY KEY,
			customer_id TEXT NOT NULL DEFAULT '',
			spec TEXT NOT NULL,
			source TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		`CREATE TABLE virtual_keys (
			id TEXT PRIMARY KEY,
			key_hash {{BLOB}} NOT NULL UNIQUE,
			team_id TEXT NOT NULL DEFAULT '',
			customer_id TEXT NOT NULL DEFAULT '',
			spec TEXT NOT NULL,
			source TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		`CREATE TABLE providers (
			name TEXT PRIMARY KEY,
			type TEXT NOT NULL,
			config {{BLOB}},
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL)`,
		`CREATE TABLE provider_keys (
			provider TEXT NOT NULL,
			id TEXT NOT NULL,
			ciphertext {{BLOB}} NOT NULL,
			weight BIGINT NOT NULL DEFAULT 0,
			models TEXT NOT NULL DEFAULT '[]',
			PRIMARY KEY (provider, id))`,
		`CREATE TABLE counters (
			subject TEXT NOT NULL,
			metric TEXT NOT NULL,
			window_start BIGINT NOT NULL,
			value BIGINT NOT NULL,
			updated_at BIGINT NOT NULL,
			PRIMARY KEY (subject, metric, window_start))`,
		`CREATE TABLE meta (
			key TEXT PRIMARY KEY,
			value {{BLOB}} NOT NULL)`,
	},
}

// migrate brings the schema to the latest version, recording each in schema_migrations, under the store's
// migration lock so gateways starting together apply each version once.
func migrate(ctx context.Context, db *sqldb.DB) error {
	return db.Migrate(ctx, sqldb.LockStore, func(tx *sql.Tx) error {
		c := conn{tx: tx}
		// Under the lock too: concurrent CREATE … IF NOT EXISTS collide in PostgreSQL's catalog.
		if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY,
			applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("schema_migrations: %w", err)
		}
		applied := map[int64]bool{}
		if err := c.Query(ctx, `SELECT version FROM schema_migrations`, nil, func(scan func(...any) error) error {
			var v int64
			if err := scan(&v); err != nil {
				return err
			}
			applied[v] = true
			return nil
		}); err != nil {
			return err
		}
		for v := 1; v < len(migrations); v++ {
			if applied[int64(v)] {
				continue
			}
			for _, stmt := range migrations[v] {
				if _, err := c.Exec(ctx, strings.ReplaceAll(stmt, "{{BLOB}}", db.Dialect.Blob())); err != nil {
					return fmt.Errorf("migration %d: %w", v, err)
				}
			}
			if _, err := c.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
				int64(v), time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// LatestVersion is the schema version the store migrates a database to.
func LatestVersion() int { return len(migrations) - 1 }

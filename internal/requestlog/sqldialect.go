package requestlog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// CreateTables runs CREATE … IF NOT EXISTS statements in one transaction. On PostgreSQL it first takes the
// advisory lock lock: concurrent CREATE … IF NOT EXISTS from several gateways starting together can still
// collide in the catalog, so they are serialised.
func CreateTables(ctx context.Context, db *sql.DB, d Dialect, lock int64, stmts []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
			return err
		}
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Rebind rewrites ? placeholders as $n for PostgreSQL; SQLite takes the query as it is.
func (d Dialect) Rebind(query string) string {
	if d != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

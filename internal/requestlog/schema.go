package requestlog

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// migrations are append-only: never edit a released one, add the next version. Each is a list of single
// statements with {{T}} for the log table's name, {{R}} for its rollup table and {{WITHOUT_ROWID}} for SQLite's
// clustered-table clause. Version 1 is the table as it was before versions were recorded (idempotent, so a
// database made then is brought forward like a new one).
var migrations = [][]string{
	1: {
		`CREATE TABLE IF NOT EXISTS {{T}} (
			id TEXT PRIMARY KEY,
			ts BIGINT NOT NULL,
			key_id TEXT NOT NULL DEFAULT '',
			team_id TEXT NOT NULL DEFAULT '',
			customer_id TEXT NOT NULL DEFAULT '',
			route TEXT NOT NULL DEFAULT '',
			alias TEXT NOT NULL DEFAULT '',
			provider TEXT NOT NULL DEFAULT '',
			model TEXT NOT NULL DEFAULT '',
			status INTEGER NOT NULL DEFAULT 0,
			error TEXT NOT NULL DEFAULT '',
			input_tokens BIGINT NOT NULL DEFAULT 0,
			output_tokens BIGINT NOT NULL DEFAULT 0,
			cost_nano BIGINT NOT NULL DEFAULT 0,
			ttfb_us BIGINT NOT NULL DEFAULT 0,
			duration_us BIGINT NOT NULL DEFAULT 0,
			stream INTEGER NOT NULL DEFAULT 0,
			caller_ip TEXT NOT NULL DEFAULT '',
			attempts TEXT NOT NULL DEFAULT '',
			headers TEXT NOT NULL DEFAULT '',
			request TEXT NOT NULL DEFAULT '',
			response TEXT NOT NULL DEFAULT '')`,
		`CREATE INDEX IF NOT EXISTS {{T}}_ts ON {{T}} (ts)`,
		`CREATE INDEX IF NOT EXISTS {{T}}_key_ts ON {{T}} (key_id, ts)`,
		`CREATE INDEX IF NOT EXISTS {{T}}_team_ts ON {{T}} (team_id, ts)`,
		`CREATE INDEX IF NOT EXISTS {{T}}_model_ts ON {{T}} (model, ts)`,
		`CREATE INDEX IF NOT EXISTS {{T}}_status_ts ON {{T}} (status, ts)`,
	},
	// The explorer's and the overview's needs: gateway overhead, trace id and the serving key's hint per row;
	// keyset pages on (ts, id); a provider filter; the rollups.
	2: {
		`ALTER TABLE {{T}} ADD COLUMN overhead_us BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE {{T}} ADD COLUMN trace_id TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE {{T}} ADD COLUMN provider_key TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX IF NOT EXISTS {{T}}_ts_id ON {{T}} (ts, id)`,
		`DROP INDEX IF EXISTS {{T}}_ts`,
		`CREATE INDEX IF NOT EXISTS {{T}}_provider_ts ON {{T}} (provider, ts)`,
		`CREATE INDEX IF NOT EXISTS {{T}}_trace ON {{T}} (trace_id) WHERE trace_id <> ''`,
		// The failed requests in time order: the explorer's most common filter (status=error, 5xx, 429, …)
		// reads them newest first without visiting the successes. The condition is errorsTerm, word for word.
		`CREATE INDEX IF NOT EXISTS {{T}}_errors_ts ON {{T}} (ts, id) WHERE ` + errorsTerm,
		rollupDDL(),
		`CREATE INDEX IF NOT EXISTS {{R}}_key ON {{R}} (grain, cut, key_id, bucket)`,
		`CREATE INDEX IF NOT EXISTS {{R}}_team ON {{R}} (grain, cut, team_id, bucket)`,
	},
}

// rollupDDL is the rollup table: one row per grain (seconds), cut (which dimensions it keeps, see rollupCut),
// bucket start (Unix seconds) and dimension values, with additive measures only, so a batch is folded in by one
// INSERT … ON CONFLICT DO UPDATE.
func rollupDDL() string {
	var b strings.Builder
	b.WriteString(`CREATE TABLE IF NOT EXISTS {{R}} (
			grain INTEGER NOT NULL,
			cut INTEGER NOT NULL,
			bucket BIGINT NOT NULL,
			provider TEXT NOT NULL,
			model TEXT NOT NULL,
			key_id TEXT NOT NULL,
			team_id TEXT NOT NULL,
			route TEXT NOT NULL`)
	for _, c := range rollupMeasures {
		b.WriteString(",\n\t\t\t" + c + " BIGINT NOT NULL DEFAULT 0")
	}
	b.WriteString(",\n\t\t\tPRIMARY KEY (grain, cut, bucket, provider, model, key_id, team_id, route)) {{WITHOUT_ROWID}}")
	return b.String()
}

// LatestSchemaVersion is the request log's schema version.
func LatestSchemaVersion() int { return len(migrations) - 1 }

// migrate brings the log's tables to the latest version under the request log's migration lock, recording each
// version in <table>_schema, so replicas starting together apply each once.
func (s *SQLSink) migrate(ctx context.Context) error {
	return s.db.Migrate(ctx, sqldb.LockRequestLog, func(tx *sql.Tx) error {
		vt := s.table + "_schema"
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+vt+` (
			version BIGINT PRIMARY KEY,
			applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		applied := map[int64]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM `+vt)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		withoutRowID := ""
		if s.d == sqldb.SQLite {
			withoutRowID = "WITHOUT ROWID"
		}
		r := strings.NewReplacer("{{T}}", s.table, "{{R}}", s.rollups, "{{WITHOUT_ROWID}}", withoutRowID)
		for v := 1; v < len(migrations); v++ {
			if applied[int64(v)] {
				continue
			}
			for _, stmt := range migrations[v] {
				if _, err := tx.ExecContext(ctx, r.Replace(stmt)); err != nil {
					return fmt.Errorf("migration %d: %w", v, err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.d.Rebind(`INSERT INTO `+vt+` (version, applied_at) VALUES (?, ?)`),
				int64(v), time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
}

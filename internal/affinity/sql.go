package affinity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// SQLStore keeps records in the table upstream_objects of a SQLite or PostgreSQL database.
type SQLStore struct {
	db *sqldb.DB
}

var (
	_ Store   = (*SQLStore)(nil)
	_ Locator = (*SQLStore)(nil)
)

// NewSQLStore creates the table and its indexes if missing (idempotent; safe for several gateways starting
// together on PostgreSQL) and returns the store. The caller owns db.
func NewSQLStore(ctx context.Context, db *sqldb.DB) (*SQLStore, error) {
	s := &SQLStore{db: db}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS upstream_objects (
			kind TEXT NOT NULL,
			id TEXT NOT NULL,
			owner TEXT NOT NULL DEFAULT '',
			provider TEXT NOT NULL DEFAULT '',
			key_id TEXT NOT NULL DEFAULT '',
			model TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			object TEXT,
			settled INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (kind, id))`,
		`CREATE INDEX IF NOT EXISTS upstream_objects_owner ON upstream_objects (kind, owner, created_at)`,
		`CREATE INDEX IF NOT EXISTS upstream_objects_unsettled ON upstream_objects (kind, settled, created_at)`,
		`CREATE INDEX IF NOT EXISTS upstream_objects_created ON upstream_objects (created_at)`,
	}
	if err := db.CreateTables(ctx, sqldb.LockAffinity, stmts...); err != nil {
		return nil, fmt.Errorf("affinity: create table: %w", err)
	}
	return s, nil
}

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *SQLStore) q(query string) string { return s.db.Dialect.Rebind(query) }

const columns = `kind, id, owner, provider, key_id, model, created_at, object, settled`

// Put inserts r or replaces the record of the same kind and id. A replacement with a zero CreatedAt keeps the
// record's creation time, and a replacement never clears Settled (so updating a settled batch's object cannot
// make it be charged again).
func (s *SQLStore) Put(ctx context.Context, r Record) error {
	if r.ID == "" || r.Kind == "" {
		return errors.New("affinity: a record needs a kind and an id")
	}
	created := r.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	var obj sql.NullString
	if r.Object != nil {
		obj = sql.NullString{String: string(r.Object), Valid: true}
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO upstream_objects (`+columns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, id) DO UPDATE SET owner = excluded.owner, provider = excluded.provider,
			key_id = excluded.key_id, model = excluded.model,
			created_at = CASE WHEN ? = 1 THEN upstream_objects.created_at ELSE excluded.created_at END,
			object = excluded.object,
			settled = CASE WHEN upstream_objects.settled = 1 THEN 1 ELSE excluded.settled END`),
		string(r.Kind), r.ID, r.Owner, r.Provider, r.KeyID, r.Model, created.UnixMicro(), obj, boolInt(r.Settled),
		boolInt(r.CreatedAt.IsZero()))
	if err != nil {
		return fmt.Errorf("affinity: put %s %s: %w", r.Kind, r.ID, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type scanner interface{ Scan(dest ...any) error }

func scanRecord(sc scanner) (Record, error) {
	var (
		r       Record
		kind    string
		created int64
		obj     sql.NullString
		settled int64
	)
	if err := sc.Scan(&kind, &r.ID, &r.Owner, &r.Provider, &r.KeyID, &r.Model, &created, &obj, &settled); err != nil {
		return Record{}, err
	}
	r.Kind, r.CreatedAt, r.Settled = Kind(kind), time.UnixMicro(created), settled != 0
	if obj.Valid {
		r.Object = []byte(obj.String)
	}
	return r, nil
}

// Get returns the record of kind and id owned by owner, or ErrNotFound.
func (s *SQLStore) Get(ctx context.Context, kind Kind, id, owner string) (Record, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, s.q(`SELECT `+columns+` FROM upstream_objects
		WHERE kind = ? AND id = ? AND owner = ?`), string(kind), id, owner))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("affinity: get %s %s: %w", kind, id, err)
	}
	return r, nil
}

// Locate returns the record of kind and id whatever its owner, or ErrNotFound.
func (s *SQLStore) Locate(ctx context.Context, kind Kind, id string) (Record, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, s.q(`SELECT `+columns+` FROM upstream_objects
		WHERE kind = ? AND id = ?`), string(kind), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("affinity: locate %s %s: %w", kind, id, err)
	}
	return r, nil
}

// List returns a page of owner's records of kind, newest first (ties broken by id, descending).
func (s *SQLStore) List(ctx context.Context, kind Kind, owner, after string, limit int) ([]Record, bool, error) {
	if limit <= 0 {
		limit = 20
	}
	query := `SELECT ` + columns + ` FROM upstream_objects WHERE kind = ? AND owner = ?`
	args := []any{string(kind), owner}
	if after != "" {
		var created int64
		err := s.db.QueryRowContext(ctx, s.q(`SELECT created_at FROM upstream_objects WHERE kind = ? AND id = ? AND owner = ?`),
			string(kind), after, owner).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, ErrNotFound
		}
		if err != nil {
			return nil, false, fmt.Errorf("affinity: list %s: %w", kind, err)
		}
		query += ` AND (created_at < ? OR (created_at = ? AND id < ?))`
		args = append(args, created, created, after)
	}
	query += ` ORDER BY created_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, false, fmt.Errorf("affinity: list %s: %w", kind, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, false, fmt.Errorf("affinity: list %s: %w", kind, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("affinity: list %s: %w", kind, err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// Delete removes the record of kind and id owned by owner, or returns ErrNotFound.
func (s *SQLStore) Delete(ctx context.Context, kind Kind, id, owner string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM upstream_objects WHERE kind = ? AND id = ? AND owner = ?`),
		string(kind), id, owner)
	if err != nil {
		return fmt.Errorf("affinity: delete %s %s: %w", kind, id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// MarkSettled flips settled from 0 to 1 in one conditional UPDATE: only the call that changed the row sees one
// affected row.
func (s *SQLStore) MarkSettled(ctx context.Context, kind Kind, id string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE upstream_objects SET settled = 1 WHERE kind = ? AND id = ? AND settled = 0`),
		string(kind), id)
	if err != nil {
		return false, fmt.Errorf("affinity: settle %s %s: %w", kind, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("affinity: settle %s %s: %w", kind, id, err)
	}
	return n == 1, nil
}

// Unsettled returns up to limit unsettled records of kind, oldest first.
func (s *SQLStore) Unsettled(ctx context.Context, kind Kind, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+columns+` FROM upstream_objects
		WHERE kind = ? AND settled = 0 ORDER BY created_at, id LIMIT ?`), string(kind), limit)
	if err != nil {
		return nil, fmt.Errorf("affinity: unsettled %s: %w", kind, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("affinity: unsettled %s: %w", kind, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("affinity: unsettled %s: %w", kind, err)
	}
	return out, nil
}

// DeleteBefore removes every record created before t.
func (s *SQLStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM upstream_objects WHERE created_at < ?`), t.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("affinity: expire: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

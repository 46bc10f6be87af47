package conversation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// SQLStore keeps stored responses in the table stored_responses of a SQLite or PostgreSQL database.
type SQLStore struct {
	db *sqldb.DB
}

var _ Store = (*SQLStore)(nil)

// NewSQLStore creates the table and its index if missing (idempotent; safe for several gateways starting
// together on PostgreSQL) and returns the store. The caller owns db.
func NewSQLStore(ctx context.Context, db *sqldb.DB) (*SQLStore, error) {
	s := &SQLStore{db: db}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS stored_responses (
			id TEXT PRIMARY KEY,
			key_id TEXT NOT NULL DEFAULT '',
			previous_id TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			provider TEXT NOT NULL DEFAULT '',
			model TEXT NOT NULL DEFAULT '',
			input TEXT NOT NULL DEFAULT '[]',
			output TEXT NOT NULL DEFAULT '[]',
			response TEXT NOT NULL DEFAULT '{}')`,
		`CREATE INDEX IF NOT EXISTS stored_responses_created ON stored_responses (created_at)`,
	}
	if err := db.CreateTables(ctx, sqldb.LockConversation, stmts...); err != nil {
		return nil, fmt.Errorf("conversation: create table: %w", err)
	}
	return s, nil
}

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *SQLStore) q(query string) string { return s.db.Dialect.Rebind(query) }

func marshalItems(items []json.RawMessage) (string, error) {
	if items == nil {
		return "[]", nil
	}
	b, err := json.Marshal(items)
	return string(b), err
}

// Save stores (or replaces) a response.
func (s *SQLStore) Save(ctx context.Context, st Stored) error {
	if st.ID == "" {
		return errors.New("conversation: a stored response needs an id")
	}
	in, err := marshalItems(st.Input)
	if err != nil {
		return fmt.Errorf("conversation: input items: %w", err)
	}
	out, err := marshalItems(st.Output)
	if err != nil {
		return fmt.Errorf("conversation: output items: %w", err)
	}
	resp := string(st.Response)
	if resp == "" {
		resp = "{}"
	}
	created := st.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO stored_responses
		(id, key_id, previous_id, created_at, provider, model, input, output, response)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, previous_id = excluded.previous_id,
			created_at = excluded.created_at, provider = excluded.provider, model = excluded.model,
			input = excluded.input, output = excluded.output, response = excluded.response`),
		st.ID, st.KeyID, st.PreviousID, created.UnixMicro(), st.Provider, st.Model, in, out, resp)
	if err != nil {
		return fmt.Errorf("conversation: save %s: %w", st.ID, err)
	}
	return nil
}

// Get returns the response id owned by keyID, or ErrNotFound.
func (s *SQLStore) Get(ctx context.Context, id, keyID string) (Stored, error) {
	var (
		st                Stored
		created           int64
		in, out, response string
	)
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, key_id, previous_id, created_at, provider, model, input, output, response
		FROM stored_responses WHERE id = ? AND key_id = ?`), id, keyID).
		Scan(&st.ID, &st.KeyID, &st.PreviousID, &created, &st.Provider, &st.Model, &in, &out, &response)
	if errors.Is(err, sql.ErrNoRows) {
		return Stored{}, ErrNotFound
	}
	if err != nil {
		return Stored{}, fmt.Errorf("conversation: get %s: %w", id, err)
	}
	st.CreatedAt = time.UnixMicro(created)
	if err := json.Unmarshal([]byte(in), &st.Input); err != nil {
		return Stored{}, fmt.Errorf("conversation: get %s: input items: %w", id, err)
	}
	if err := json.Unmarshal([]byte(out), &st.Output); err != nil {
		return Stored{}, fmt.Errorf("conversation: get %s: output items: %w", id, err)
	}
	st.Response = json.RawMessage(response)
	return st, nil
}

// Delete removes the response id owned by keyID, or returns ErrNotFound.
func (s *SQLStore) Delete(ctx context.Context, id, keyID string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM stored_responses WHERE id = ? AND key_id = ?`), id, keyID)
	if err != nil {
		return fmt.Errorf("conversation: delete %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// Chain returns the input then output items of every response from the first to id, following previous ids.
func (s *SQLStore) Chain(ctx context.Context, id, keyID string) ([]json.RawMessage, error) {
	var turns []Stored
	seen := map[string]bool{}
	for cur := id; cur != "" && !seen[cur] && len(turns) < maxChain; {
		seen[cur] = true
		st, err := s.Get(ctx, cur, keyID)
		if errors.Is(err, ErrNotFound) && len(turns) > 0 {
			break // an earlier turn was deleted or expired: the conversation starts after it
		}
		if err != nil {
			return nil, err
		}
		turns = append(turns, st)
		cur = st.PreviousID
	}
	var items []json.RawMessage
	for i := len(turns) - 1; i >= 0; i-- {
		items = append(items, turns[i].Input...)
		items = append(items, turns[i].Output...)
	}
	return items, nil
}

// InputItems pages through the input items of response id.
func (s *SQLStore) InputItems(ctx context.Context, id, keyID, after string, limit int, order Order) ([]json.RawMessage, bool, error) {
	st, err := s.Get(ctx, id, keyID)
	if err != nil {
		return nil, false, err
	}
	return pageItems(st.Input, after, limit, order)
}

// DeleteBefore removes every response created before t.
func (s *SQLStore) DeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM stored_responses WHERE created_at < ?`), t.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("conversation: expire: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

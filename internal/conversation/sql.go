package conversation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// SQLStore keeps stored responses in the table stored_responses of a SQLite or PostgreSQL database, and in
// stored_response_items which response holds each item id, for item_reference inputs.
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
		// The items themselves stay in stored_responses: this table only says which responses hold an item id.
		`CREATE TABLE IF NOT EXISTS stored_response_items (
			response_id TEXT NOT NULL,
			key_id TEXT NOT NULL DEFAULT '',
			item_id TEXT NOT NULL,
			created_at BIGINT NOT NULL,
			PRIMARY KEY (response_id, item_id))`,
		`CREATE INDEX IF NOT EXISTS stored_response_items_item ON stored_response_items (key_id, item_id)`,
		`CREATE INDEX IF NOT EXISTS stored_response_items_created ON stored_response_items (created_at)`,
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("conversation: save %s: %w", st.ID, err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO stored_responses
		(id, key_id, previous_id, created_at, provider, model, input, output, response)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, previous_id = excluded.previous_id,
			created_at = excluded.created_at, provider = excluded.provider, model = excluded.model,
			input = excluded.input, output = excluded.output, response = excluded.response`),
		st.ID, st.KeyID, st.PreviousID, created.UnixMicro(), st.Provider, st.Model, in, out, resp)
	if err == nil {
		err = s.indexItems(ctx, tx, &st, created.UnixMicro())
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("conversation: save %s: %w", st.ID, err)
	}
	return nil
}

// itemRowsPerInsert bounds the rows of one INSERT into stored_response_items (4 parameters each), well under
// SQLite's and PostgreSQL's parameter limits.
const itemRowsPerInsert = 200

// indexItems records in stored_response_items the item ids of a response being saved, replacing earlier rows.
func (s *SQLStore) indexItems(ctx context.Context, tx *sql.Tx, st *Stored, created int64) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM stored_response_items WHERE response_id = ?`), st.ID); err != nil {
		return err
	}
	var ids []string
	seen := map[string]bool{}
	for _, list := range [][]json.RawMessage{st.Output, st.Input} {
		for _, it := range list {
			if id := itemID(it); id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), itemRowsPerInsert)
		var q strings.Builder
		q.WriteString(`INSERT INTO stored_response_items (response_id, key_id, item_id, created_at) VALUES `)
		args := make([]any, 0, 4*n)
		for i, id := range ids[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(`(?, ?, ?, ?)`)
			args = append(args, st.ID, st.KeyID, id, created)
		}
		if _, err := tx.ExecContext(ctx, s.q(q.String()), args...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// Items returns the items with the given ids held by the responses of keyID, newest response first.
func (s *SQLStore) Items(ctx context.Context, keyID string, ids []string) (map[string]json.RawMessage, error) {
	// Which responses hold each id, newest first.
	holders := map[string][]string{}
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), itemRowsPerInsert)
		var q strings.Builder
		q.WriteString(`SELECT item_id, response_id FROM stored_response_items WHERE key_id = ? AND item_id IN (`)
		args := make([]any, 0, n+1)
		args = append(args, keyID)
		for i, id := range rest[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('?')
			args = append(args, id)
		}
		q.WriteString(`) ORDER BY created_at DESC, response_id DESC`)
		rows, err := s.db.QueryContext(ctx, s.q(q.String()), args...)
		if err != nil {
			return nil, fmt.Errorf("conversation: items: %w", err)
		}
		for rows.Next() {
			var item, resp string
			if err := rows.Scan(&item, &resp); err != nil {
				rows.Close()
				return nil, fmt.Errorf("conversation: items: %w", err)
			}
			holders[item] = append(holders[item], resp)
		}
		err = rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("conversation: items: %w", err)
		}
		rest = rest[n:]
	}
	found := make(map[string]json.RawMessage, len(holders))
	loaded := map[string]*Stored{} // nil: gone since the index was read
	for id, resps := range holders {
		for _, rid := range resps {
			st, ok := loaded[rid]
			if !ok {
				got, err := s.Get(ctx, rid, keyID)
				switch {
				case err == nil:
					st = &got
				case !errors.Is(err, ErrNotFound):
					return nil, err
				}
				loaded[rid] = st
			}
			if st == nil {
				continue
			}
			if it, ok := findItem(st, id); ok {
				found[id] = it
				break
			}
		}
	}
	return found, nil
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("conversation: delete %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM stored_responses WHERE id = ? AND key_id = ?`), id, keyID)
	if err != nil {
		return fmt.Errorf("conversation: delete %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM stored_response_items WHERE response_id = ?`), id); err != nil {
		return fmt.Errorf("conversation: delete %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("conversation: delete %s: %w", id, err)
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
	// An item row has its response's created_at: the same cut removes both.
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM stored_response_items WHERE created_at < ?`), t.UnixMicro()); err != nil {
		return 0, fmt.Errorf("conversation: expire items: %w", err)
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM stored_responses WHERE created_at < ?`), t.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("conversation: expire: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

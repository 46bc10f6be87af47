package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/store"
)

// Store implements store.Store over the shared database.
type Store struct {
	db conn
	d  sqldb.Dialect
	h  *sqldb.DB
}

// New migrates db's store tables to the latest version and returns the store. The caller owns db: Close leaves
// it open for the other packages sharing it.
func New(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("store: %s: %w", db.Name, err)
	}
	return &Store{db: conn{db: db.DB}, d: db.Dialect, h: db}, nil
}

var _ store.Store = (*Store)(nil)

func (s *Store) Customers() store.CustomerStore     { return customers{s} }
func (s *Store) Teams() store.TeamStore             { return teams{s} }
func (s *Store) VirtualKeys() store.VirtualKeyStore { return keys{s} }
func (s *Store) Providers() store.ProviderStore     { return providers{s} }
func (s *Store) Counters() store.CounterStore       { return counters{s} }
func (s *Store) Meta() store.MetaStore              { return meta{s} }
func (s *Store) Ping(ctx context.Context) error     { return s.h.PingContext(ctx) }
func (s *Store) Close() error                       { return nil }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// stamp sets CreatedAt (if unset) and UpdatedAt. The row keeps its original created_at on update.
func stamp(created, updated *time.Time) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	if created.IsZero() {
		*created = now
	}
	*updated = now
}

func notFound(found bool, err error) error {
	if err != nil {
		return err
	}
	if !found {
		return store.ErrNotFound
	}
	return nil
}

func deleteRow(ctx context.Context, db conn, q, id string) error {
	n, err := db.Exec(ctx, q, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// --- customers ---

type customers struct{ s *Store }

type customerSpec struct {
	Name     string        `json:"name,omitempty"`
	Budget   *store.Budget `json:"budget,omitempty"`
	Limits   store.Limits  `json:"limits"`
	Disabled bool          `json:"disabled,omitempty"`
}

func (c customers) Put(ctx context.Context, v *store.Customer) error {
	stamp(&v.CreatedAt, &v.UpdatedAt)
	spec, err := json.Marshal(customerSpec{Name: v.Name, Budget: v.Budget, Limits: v.Limits, Disabled: v.Disabled})
	if err != nil {
		return err
	}
	_, err = c.s.db.Exec(ctx, `INSERT INTO customers (id, spec, source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, source = excluded.source, updated_at = excluded.updated_at`,
		v.ID, string(spec), v.Source, ms(v.CreatedAt), ms(v.UpdatedAt))
	return err
}

const customerCols = `id, spec, source, created_at, updated_at`

func scanCustomer(scan func(...any) error) (*store.Customer, error) {
	var v store.Customer
	var spec string
	var created, updated int64
	if err := scan(&v.ID, &spec, &v.Source, &created, &updated); err != nil {
		return nil, err
	}
	var sp customerSpec
	if err := json.Unmarshal([]byte(spec), &sp); err != nil {
		return nil, fmt.Errorf("customer %s: %w", v.ID, err)
	}
	v.Name, v.Budget, v.Limits, v.Disabled = sp.Name, sp.Budget, sp.Limits, sp.Disabled
	v.CreatedAt, v.UpdatedAt = fromMS(created), fromMS(updated)
	return &v, nil
}

func (c customers) Get(ctx context.Context, id string) (*store.Customer, error) {
	var out *store.Customer
	err := c.s.db.Query(ctx, `SELECT `+customerCols+` FROM customers WHERE id = $1`, []any{id}, func(scan func(...any) error) (err error) {
		out, err = scanCustomer(scan)
		return err
	})
	return out, notFound(out != nil, err)
}

func (c customers) List(ctx context.Context) ([]*store.Customer, error) {
	var out []*store.Customer
	err := c.s.db.Query(ctx, `SELECT `+customerCols+` FROM customers ORDER BY id`, nil, func(scan func(...any) error) error {
		v, err := scanCustomer(scan)
		out = append(out, v)
		return err
	})
	return out, err
}

func (c customers) Delete(ctx context.Context, id string) error {
	return deleteRow(ctx, c.s.db, `DELETE FROM customers WHERE id = $1`, id)
}

// --- teams ---

type teams struct{ s *Store }

func (t teams) Put(ctx context.Context, v *store.Team) error {
	stamp(&v.CreatedAt, &v.UpdatedAt)
	spec, err := json.Marshal(teamSpec{customerSpec: customerSpec{Name: v.Name, Budget: v.Budget, Limits: v.Limits, Disabled: v.Disabled}, MCP: v.MCP})
	if err != nil {
		return err
	}
	_, err = t.s.db.Exec(ctx, `INSERT INTO teams (id, customer_id, spec, source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, spec = excluded.spec, source = excluded.source,
		updated_at = excluded.updated_at`,
		v.ID, v.CustomerID, string(spec), v.Source, ms(v.CreatedAt), ms(v.UpdatedAt))
	return err
}

// teamSpec is a customer's spec plus the team's MCP allow-list.
type teamSpec struct {
	customerSpec
	MCP *store.MCPAccess `json:"mcp,omitempty"`
}

const teamCols = `id, customer_id, spec, source, created_at, updated_at`

func scanTeam(scan func(...any) error) (*store.Team, error) {
	var v store.Team
	var spec string
	var created, updated int64
	if err := scan(&v.ID, &v.CustomerID, &spec, &v.Source, &created, &updated); err != nil {
		return nil, err
	}
	var sp teamSpec
	if err := json.Unmarshal([]byte(spec), &sp); err != nil {
		return nil, fmt.Errorf("team %s: %w", v.ID, err)
	}
	v.Name, v.Budget, v.Limits, v.Disabled, v.MCP = sp.Name, sp.Budget, sp.Limits, sp.Disabled, sp.MCP
	v.CreatedAt, v.UpdatedAt = fromMS(created), fromMS(updated)
	return &v, nil
}

func (t teams) Get(ctx context.Context, id string) (*store.Team, error) {
	var out *store.Team
	err := t.s.db.Query(ctx, `SELECT `+teamCols+` FROM teams WHERE id = $1`, []any{id}, func(scan func(...any) error) (err error) {
		out, err = scanTeam(scan)
		return err
	})
	return out, notFound(out != nil, err)
}

func (t teams) List(ctx context.Context) ([]*store.Team, error) {
	var out []*store.Team
	err := t.s.db.Query(ctx, `SELECT `+teamCols+` FROM teams ORDER BY id`, nil, func(scan func(...any) error) error {
		v, err := scanTeam(scan)
		out = append(out, v)
		return err
	})
	return out, err
}

func (t teams) Delete(ctx context.Context, id string) error {
	return deleteRow(ctx, t.s.db, `DELETE FROM teams WHERE id = $1`, id)
}

// --- virtual keys ---

type keys struct{ s *Store }

type keySpec struct {
	Name           string                  `json:"name,omitempty"`
	Hint           string                  `json:"hint,omitempty"`
	Models         []string                `json:"models,omitempty"`
	Providers      []string                `json:"providers,omitempty"`
	ProviderLimits map[string]store.Limits `json:"provider_limits,omitempty"`
	MaxConcurrent  int                     `json:"max_concurrent,omitempty"`
	Budget         *store.Budget           `json:"budget,omitempty"`
	Limits         store.Limits            `json:"limits"`
	MCP            *store.MCPAccess        `json:"mcp,omitempty"`
	Disabled       bool                    `json:"disabled,omitempty"`
	ExpiresAt      int64                   `json:"expires_at,omitempty"`
}

func (k keys) Put(ctx context.Context, v *store.VirtualKey) error {
	if len(v.Hash) == 0 {
		return fmt.Errorf("virtual key %s: empty hash", v.ID)
	}
	stamp(&v.CreatedAt, &v.UpdatedAt)
	spec, err := json.Marshal(keySpec{Name: v.Name, Hint: v.Hint, Models: v.Models, Providers: v.Providers,
		ProviderLimits: v.ProviderLimits, MaxConcurrent: v.MaxConcurrent, Budget: v.Budget, Limits: v.Limits,
		MCP: v.MCP, Disabled: v.Disabled, ExpiresAt: ms(v.ExpiresAt)})
	if err != nil {
		return err
	}
	return k.s.db.Tx(ctx, func(tx conn) error {
		// Portable conflict check; the UNIQUE index still guards a concurrent writer.
		var other string
		if err := tx.Query(ctx, `SELECT id FROM virtual_keys WHERE key_hash = $1 AND id <> $2`, []any{v.Hash, v.ID},
			func(scan func(...any) error) error { return scan(&other) }); err != nil {
			return err
		}
		if other != "" {
			return fmt.Errorf("%w: key hash already used by virtual key %s", store.ErrConflict, other)
		}
		_, err := tx.Exec(ctx, `INSERT INTO virtual_keys (id, key_hash, team_id, customer_id, spec, source, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET key_hash = excluded.key_hash, team_id = excluded.team_id,
			customer_id = excluded.customer_id, spec = excluded.spec, source = excluded.source, updated_at = excluded.updated_at`,
			v.ID, v.Hash, v.TeamID, v.CustomerID, string(spec), v.Source, ms(v.CreatedAt), ms(v.UpdatedAt))
		if err != nil && k.s.d.IsUnique(err) {
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
		return err
	})
}

const keyCols = `id, key_hash, team_id, customer_id, spec, source, created_at, updated_at`

func scanKey(scan func(...any) error) (*store.VirtualKey, error) {
	var v store.VirtualKey
	var spec string
	var created, updated int64
	if err := scan(&v.ID, &v.Hash, &v.TeamID, &v.CustomerID, &spec, &v.Source, &created, &updated); err != nil {
		return nil, err
	}
	var sp keySpec
	if err := json.Unmarshal([]byte(spec), &sp); err != nil {
		return nil, fmt.Errorf("virtual key %s: %w", v.ID, err)
	}
	v.Name, v.Hint, v.Models, v.Providers, v.ProviderLimits = sp.Name, sp.Hint, sp.Models, sp.Providers, sp.ProviderLimits
	v.MaxConcurrent, v.Budget, v.Limits, v.Disabled = sp.MaxConcurrent, sp.Budget, sp.Limits, sp.Disabled
	v.ExpiresAt, v.MCP = fromMS(sp.ExpiresAt), sp.MCP
	v.CreatedAt, v.UpdatedAt = fromMS(created), fromMS(updated)
	return &v, nil
}

func (k keys) get(ctx context.Context, where string, arg any) (*store.VirtualKey, error) {
	var out *store.VirtualKey
	err := k.s.db.Query(ctx, `SELECT `+keyCols+` FROM virtual_keys WHERE `+where, []any{arg}, func(scan func(...any) error) (err error) {
		out, err = scanKey(scan)
		return err
	})
	return out, notFound(out != nil, err)
}

func (k keys) Get(ctx context.Context, id string) (*store.VirtualKey, error) {
	return k.get(ctx, `id = $1`, id)
}

func (k keys) GetByHash(ctx context.Context, hash []byte) (*store.VirtualKey, error) {
	return k.get(ctx, `key_hash = $1`, hash)
}

func (k keys) List(ctx context.Context) ([]*store.VirtualKey, error) {
	var out []*store.VirtualKey
	err := k.s.db.Query(ctx, `SELECT `+keyCols+` FROM virtual_keys ORDER BY id`, nil, func(scan func(...any) error) error {
		v, err := scanKey(scan)
		out = append(out, v)
		return err
	})
	return out, err
}

func (k keys) Delete(ctx context.Context, id string) error {
	return deleteRow(ctx, k.s.db, `DELETE FROM virtual_keys WHERE id = $1`, id)
}

// --- providers ---

type providers struct{ s *Store }

func (p providers) Put(ctx context.Context, v *store.Provider) error {
	stamp(&v.CreatedAt, &v.UpdatedAt)
	return p.s.db.Tx(ctx, func(tx conn) error {
		if _, err := tx.Exec(ctx, `INSERT INTO providers (name, type, config, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name) DO UPDATE SET type = excluded.type, config = excluded.config, updated_at = excluded.updated_at`,
			v.Name, v.Type, nonNil(v.Config), ms(v.CreatedAt), ms(v.UpdatedAt)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM provider_keys WHERE provider = $1`, v.Name); err != nil {
			return err
		}
		for _, k := range v.Keys {
			models, err := json.Marshal(nonNilStrings(k.Models))
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO provider_keys (provider, id, ciphertext, weight, models) VALUES ($1, $2, $3, $4, $5)`,
				v.Name, k.ID, nonNil(k.Ciphertext), int64(k.Weight), string(models)); err != nil {
				return fmt.Errorf("provider %s key %s: %w", v.Name, k.ID, err)
			}
		}
		return nil
	})
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (p providers) list(ctx context.Context, db conn, name string) ([]*store.Provider, error) {
	q := `SELECT name, type, config, created_at, updated_at FROM providers`
	kq := `SELECT provider, id, ciphertext, weight, models FROM provider_keys`
	var args []any
	if name != "" {
		q += ` WHERE name = $1`
		kq += ` WHERE provider = $1`
		args = []any{name}
	}
	q += ` ORDER BY name`
	kq += ` ORDER BY provider, id`
	var out []*store.Provider
	byName := map[string]*store.Provider{}
	if err := db.Query(ctx, q, args, func(scan func(...any) error) error {
		var v store.Provider
		var created, updated int64
		if err := scan(&v.Name, &v.Type, &v.Config, &created, &updated); err != nil {
			return err
		}
		v.CreatedAt, v.UpdatedAt = fromMS(created), fromMS(updated)
		out = append(out, &v)
		byName[v.Name] = &v
		return nil
	}); err != nil {
		return nil, err
	}
	err := db.Query(ctx, kq, args, func(scan func(...any) error) error {
		var prov, models string
		var k store.ProviderKey
		var weight int64
		if err := scan(&prov, &k.ID, &k.Ciphertext, &weight, &models); err != nil {
			return err
		}
		k.Weight = int(weight)
		if err := json.Unmarshal([]byte(models), &k.Models); err != nil {
			return fmt.Errorf("provider %s key %s: %w", prov, k.ID, err)
		}
		if len(k.Models) == 0 {
			k.Models = nil
		}
		if v := byName[prov]; v != nil {
			v.Keys = append(v.Keys, k)
		}
		return nil
	})
	return out, err
}

func (p providers) Get(ctx context.Context, name string) (*store.Provider, error) {
	out, err := p.list(ctx, p.s.db, name)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, store.ErrNotFound
	}
	return out[0], nil
}

func (p providers) List(ctx context.Context) ([]*store.Provider, error) {
	return p.list(ctx, p.s.db, "")
}

func (p providers) Delete(ctx context.Context, name string) error {
	return p.s.db.Tx(ctx, func(tx conn) error {
		if _, err := tx.Exec(ctx, `DELETE FROM provider_keys WHERE provider = $1`, name); err != nil {
			return err
		}
		return deleteRow(ctx, tx, `DELETE FROM providers WHERE name = $1`, name)
	})
}

func (p providers) ReplaceCiphertexts(ctx context.Context, fn func(old []byte) ([]byte, error)) (int, error) {
	n := 0
	err := p.s.db.Tx(ctx, func(tx conn) error {
		type row struct {
			provider, id string
			ct           []byte
		}
		var rows []row
		if err := tx.Query(ctx, `SELECT provider, id, ciphertext FROM provider_keys ORDER BY provider, id`, nil,
			func(scan func(...any) error) error {
				var r row
				if err := scan(&r.provider, &r.id, &r.ct); err != nil {
					return err
				}
				rows = append(rows, r)
				return nil
			}); err != nil {
			return err
		}
		for _, r := range rows {
			ct, err := fn(r.ct)
			if err != nil {
				return fmt.Errorf("provider %s key %s: %w", r.provider, r.id, err)
			}
			if bytes.Equal(ct, r.ct) {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE provider_keys SET ciphertext = $1 WHERE provider = $2 AND id = $3`,
				ct, r.provider, r.id); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// --- counters ---

type counters struct{ s *Store }

func (c counters) Upsert(ctx context.Context, cs []store.Counter) error {
	if len(cs) == 0 {
		return nil
	}
	now := time.Now().UnixMilli()
	return c.s.db.Tx(ctx, func(tx conn) error {
		for _, v := range cs {
			if _, err := tx.Exec(ctx, `INSERT INTO counters (subject, metric, window_start, value, updated_at) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (subject, metric, window_start) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
				v.Subject, v.Metric, v.WindowStart.UnixMilli(), v.Value, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (c counters) List(ctx context.Context, since time.Time) ([]store.Counter, error) {
	var out []store.Counter
	err := c.s.db.Query(ctx, `SELECT subject, metric, window_start, value FROM counters WHERE window_start >= $1 ORDER BY subject, metric, window_start`,
		[]any{since.UnixMilli()}, func(scan func(...any) error) error {
			var v store.Counter
			var ws int64
			if err := scan(&v.Subject, &v.Metric, &ws, &v.Value); err != nil {
				return err
			}
			v.WindowStart = time.UnixMilli(ws).UTC()
			out = append(out, v)
			return nil
		})
	return out, err
}

// Prune deletes counters of windows started before the given time, except never-resetting ones (stored at the
// Unix epoch).
func (c counters) Prune(ctx context.Context, before time.Time) (int64, error) {
	return c.s.db.Exec(ctx, `DELETE FROM counters WHERE window_start < $1 AND window_start <> 0`, before.UnixMilli())
}

// --- meta ---

type meta struct{ s *Store }

func (m meta) Get(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	found := false
	err := m.s.db.Query(ctx, `SELECT value FROM meta WHERE key = $1`, []any{key}, func(scan func(...any) error) error {
		found = true
		return scan(&out)
	})
	return out, notFound(found, err)
}

func (m meta) Put(ctx context.Context, key string, value []byte) error {
	_, err := m.s.db.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		key, nonNil(value))
	return err
}

func (m meta) PutIfAbsent(ctx context.Context, key string, value []byte) (bool, error) {
	n, err := m.s.db.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, nonNil(value))
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// Package store is the persistence boundary of Weir's governance data: customers, teams, virtual keys,
// providers with encrypted keys, spend/usage counters and small metadata. store/sqlstore implements Store on
// SQLite and PostgreSQL over the shared sqldb.DB (store/sqlite opens one on a file of its own, for tests and
// tools); store/storetest holds the suite it must pass on both.
//
// The hot path never touches a Store: governance keeps everything in memory and reads the store at start,
// writes admin changes through, and flushes counters in the background.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
)

// ErrNotFound is returned by Get and Delete for a missing row.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a unique value (a key hash) is already used by another row.
var ErrConflict = errors.New("store: conflict")

// Store is the whole persistence boundary, split by entity so callers depend only on what they use.
type Store interface {
	Customers() CustomerStore
	Teams() TeamStore
	VirtualKeys() VirtualKeyStore
	Providers() ProviderStore
	Counters() CounterStore
	Meta() MetaStore
	// Ping checks the connection (readiness).
	Ping(ctx context.Context) error
	// Close releases what the store opened: nothing when it was given a database others share.
	Close() error
}

// Budget caps spend per reset period. Reset is "" (never), "1m", "1h", "1d", "1w" or "1M".
type Budget struct {
	MaxUSD pricing.Money `json:"max_usd"` // nano-dollars
	Reset  string        `json:"reset,omitempty"`
}

// Limits are request/token rate limits; zero means unlimited.
type Limits struct {
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
	RPH int64 `json:"rph,omitempty"`
	TPH int64 `json:"tph,omitempty"`
	RPD int64 `json:"rpd,omitempty"`
	TPD int64 `json:"tpd,omitempty"`
}

// IsZero reports whether no limit is set.
func (l Limits) IsZero() bool { return l == Limits{} }

// Source says who owns a row: config-seeded rows are rewritten by Seed on every start; admin rows are not.
const (
	SourceConfig = "config"
	SourceAdmin  = "admin"
)

// Customer is the top of the hierarchy (customer ▸ team ▸ virtual key).
type Customer struct {
	ID        string
	Name      string
	Budget    *Budget
	Limits    Limits
	Disabled  bool
	Source    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Team belongs to a customer or stands alone (CustomerID "").
type Team struct {
	ID         string
	Name       string
	CustomerID string
	Budget     *Budget
	Limits     Limits
	// MCP is the team's MCP tool allow-list (nil: none; see MCPAccess).
	MCP       *MCPAccess
	Disabled  bool
	Source    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MCPAccess allow-lists MCP tools: a tool is allowed when its server is named in Servers (or Servers is empty)
// and its namespaced name ("server__tool") matches a glob in Tools (or Tools is empty). Both empty allows
// nothing: MCP access is deny by default.
type MCPAccess struct {
	Servers []string `json:"servers,omitempty"`
	Tools   []string `json:"tools,omitempty"`
}

// VirtualKey is a gateway credential. Only the SHA-256 of its secret is stored.
type VirtualKey struct {
	ID   string
	Name string
	// Hash is SHA-256 of the secret; unique.
	Hash []byte
	// Hint is a display-safe fragment of the secret (e.g. "wk-AbC…xYz") so admins can tell keys apart.
	Hint string
	// TeamID, when set, places the key under that team (and the team's customer). Otherwise CustomerID may
	// place it directly under a customer; with neither, the key stands alone.
	TeamID     string
	CustomerID string
	// Models and Providers are allow-lists; empty allows all.
	Models    []string
	Providers []string
	// ProviderLimits are extra rate limits per provider name.
	ProviderLimits map[string]Limits
	MaxConcurrent  int
	Budget         *Budget
	Limits         Limits
	// MCP is the key's MCP tool allow-list (nil: its team's, else none).
	MCP       *MCPAccess
	Disabled  bool
	ExpiresAt time.Time // zero: never
	Source    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Provider is an upstream configured through the admin API; its settings are opaque JSON to the store.
type Provider struct {
	Name      string
	Type      string
	Config    []byte // JSON, interpreted by the provider layer
	Keys      []ProviderKey
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProviderKey is one upstream API key, encrypted at rest (see internal/secret).
type ProviderKey struct {
	ID         string
	Ciphertext []byte
	Weight     int
	Models     []string
}

// CustomerStore is CRUD for customers. Put upserts.
type CustomerStore interface {
	Put(ctx context.Context, c *Customer) error
	Get(ctx context.Context, id string) (*Customer, error)
	List(ctx context.Context) ([]*Customer, error)
	Delete(ctx context.Context, id string) error
}

// TeamStore is CRUD for teams. Put upserts.
type TeamStore interface {
	Put(ctx context.Context, t *Team) error
	Get(ctx context.Context, id string) (*Team, error)
	List(ctx context.Context) ([]*Team, error)
	Delete(ctx context.Context, id string) error
}

// VirtualKeyStore is CRUD for virtual keys. Put upserts by ID; a Hash used by another ID is ErrConflict.
type VirtualKeyStore interface {
	Put(ctx context.Context, k *VirtualKey) error
	Get(ctx context.Context, id string) (*VirtualKey, error)
	GetByHash(ctx context.Context, hash []byte) (*VirtualKey, error)
	List(ctx context.Context) ([]*VirtualKey, error)
	Delete(ctx context.Context, id string) error
}

// ProviderStore is CRUD for admin-managed providers, keys included. Put replaces the provider and its keys.
type ProviderStore interface {
	Put(ctx context.Context, p *Provider) error
	Get(ctx context.Context, name string) (*Provider, error)
	List(ctx context.Context) ([]*Provider, error)
	Delete(ctx context.Context, name string) error
	// ReplaceCiphertexts rewrites every key's ciphertext in one transaction (encryption-key rotation):
	// fn gets each old ciphertext and returns the new one; any error aborts the whole rotation.
	ReplaceCiphertexts(ctx context.Context, fn func(old []byte) ([]byte, error)) (int, error)
}

// Counter is one persisted usage figure: the value of Metric for Subject in the window or period that starts
// at WindowStart. Subjects look like "key:ci-bot", "team:platform", "customer:acme"; metrics like "spend",
// "rpm", "tpd", "rpm@openai".
type Counter struct {
	Subject     string
	Metric      string
	WindowStart time.Time
	Value       int64
}

// CounterStore persists counters. Values are absolute (this node's total for that window), so a re-flush is
// idempotent. A cluster layer adding a node column later keeps that property per node.
type CounterStore interface {
	// Upsert writes counters in one transaction.
	Upsert(ctx context.Context, cs []Counter) error
	// List returns every counter whose window starts at or after since.
	List(ctx context.Context, since time.Time) ([]Counter, error)
	// Prune deletes counters whose window started before the given time.
	Prune(ctx context.Context, before time.Time) (int64, error)
}

// MetaStore is a small key/value table for singletons such as the encryption key check value.
type MetaStore interface {
	Get(ctx context.Context, key string) ([]byte, error) // ErrNotFound when missing
	Put(ctx context.Context, key string, value []byte) error
	// PutIfAbsent stores value unless the key exists; it reports whether it stored.
	PutIfAbsent(ctx context.Context, key string, value []byte) (bool, error)
}

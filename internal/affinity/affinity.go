// Package affinity remembers which provider and which upstream key made an upstream object (a Responses API
// response passed through, a file, a batch) and which virtual key owns it, so that a later request about that
// object (previous_response_id, GET, DELETE, a batch's results) goes back to the same account, and so that one
// virtual key never reaches another's objects.
package affinity

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Kind is the type of an upstream object; ids are unique within a kind.
type Kind string

// The kinds of object Weir remembers.
const (
	KindResponse     Kind = "response"
	KindFile         Kind = "file"
	KindBatch        Kind = "batch"
	KindMessageBatch Kind = "message_batch"
	// KindMCPApproval is an agent-mode tool call held for the owner's approval (internal/gateway/agent): not an
	// upstream object, but owned, looked up and expired the same way. Object holds the call.
	KindMCPApproval Kind = "mcp_approval"
)

// ErrNotFound is returned for an object that is not remembered, or that belongs to another owner.
var ErrNotFound = errors.New("affinity: object not found")

// Record is one remembered upstream object.
type Record struct {
	ID        string // the upstream's id (resp_…, file-…, batch_…, msgbatch_…)
	Kind      Kind
	Owner     string          // virtual key id that made it; "" when ungoverned
	Provider  string          // configured provider name
	KeyID     string          // provider.Key.ID of the upstream key used ("" when the provider has no key)
	Model     string          // "" when not known
	CreatedAt time.Time       // set to now by Put when zero
	Object    json.RawMessage // the upstream object as last seen (may be nil)
	Settled   bool            // usage charged (batches)
}

// Store keeps records. Implementations are safe for concurrent use, also by several gateways sharing one
// database.
type Store interface {
	// Put inserts r, or replaces the record of the same kind and id (a zero CreatedAt then keeps the record's
	// creation time, and Settled once true stays true).
	Put(ctx context.Context, r Record) error
	// Get returns the record of kind and id owned by owner; ErrNotFound when missing or owned by another owner.
	Get(ctx context.Context, kind Kind, id, owner string) (Record, error)
	// List returns up to limit records of kind owned by owner, newest first, starting after the record whose id
	// is after ("" = from the newest; ErrNotFound when after names no record of this owner). limit <= 0 means 20.
	// hasMore says whether more follow.
	List(ctx context.Context, kind Kind, owner, after string, limit int) (recs []Record, hasMore bool, err error)
	// Delete removes the record of kind and id owned by owner; ErrNotFound as Get.
	Delete(ctx context.Context, kind Kind, id, owner string) error
	// MarkSettled flips Settled from false to true atomically: it returns true only for the one call that
	// flipped it, so several replicas charge a batch once. A missing record returns false.
	MarkSettled(ctx context.Context, kind Kind, id string) (bool, error)
	// Unsettled returns up to limit records of kind not yet settled, oldest first (limit <= 0 means 100).
	Unsettled(ctx context.Context, kind Kind, limit int) ([]Record, error)
	// DeleteBefore removes every record created before t and returns how many.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
}

// Locator is implemented by stores that can find a record whatever its owner (SQLStore does). The gateway uses
// it to tell another key's object, which must be a 404 and never reach the upstream, from an id it has never
// seen, which is passed through as before.
type Locator interface {
	Locate(ctx context.Context, kind Kind, id string) (Record, error)
}

// ErrForeign is returned by Lookup for an object that belongs to another owner.
var ErrForeign = errors.New("affinity: object owned by another key")

// Lookup finds the object kind/id of owner in s. It returns ErrNotFound for an id the store has never seen and
// ErrForeign for one another owner holds (when the store can tell, see Locator): the first may be passed
// through to an upstream, the second must never be.
func Lookup(ctx context.Context, s Store, kind Kind, id, owner string) (Record, error) {
	if loc, ok := s.(Locator); ok {
		rec, err := loc.Locate(ctx, kind, id)
		if err != nil {
			return Record{}, err
		}
		if rec.Owner != owner {
			return Record{}, ErrForeign
		}
		return rec, nil
	}
	return s.Get(ctx, kind, id, owner)
}

// Package conversation stores Responses API responses that Weir produced by translation, so that
// previous_response_id, GET/DELETE /v1/responses/{id} and input_items work for every provider. Every response is
// owned by the virtual key that made it ("" when ungoverned); another key never sees it.
package conversation

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned for a response that does not exist or belongs to another key.
var ErrNotFound = errors.New("conversation: response not found")

// Stored is one stored response.
type Stored struct {
	ID         string
	KeyID      string // the virtual key that made it; "" when ungoverned
	PreviousID string // previous_response_id of the request, "" for a first turn
	CreatedAt  time.Time
	Provider   string
	Model      string
	Input      []json.RawMessage // the request's input items
	Output     []json.RawMessage // the response's output items
	Response   json.RawMessage   // the response object as the caller received it
}

// Order is the order of a listing.
type Order int

// Listing orders.
const (
	Desc Order = iota // newest (last) first, OpenAI's default
	Asc
)

// ParseOrder maps "asc"/"desc" ("" = desc) to an Order.
func ParseOrder(s string) (Order, bool) {
	switch s {
	case "", "desc":
		return Desc, true
	case "asc":
		return Asc, true
	}
	return Desc, false
}

// Store keeps stored responses.
type Store interface {
	// Save stores (or replaces) a response.
	Save(ctx context.Context, s Stored) error
	// Get returns the response id owned by keyID, or ErrNotFound.
	Get(ctx context.Context, id, keyID string) (Stored, error)
	// Delete removes the response id owned by keyID, or returns ErrNotFound.
	Delete(ctx context.Context, id, keyID string) error
	// Chain returns the conversation that ends with response id: the input items then the output items of
	// every response from the first one to id, following previous ids. ErrNotFound when id itself is missing or
	// foreign; the chain stops early at an earlier response that was deleted or expired.
	Chain(ctx context.Context, id, keyID string) ([]json.RawMessage, error)
	// InputItems pages through the input items of response id: up to limit items after the item whose id is
	// after ("" = from the start) in order; hasMore says whether more follow.
	InputItems(ctx context.Context, id, keyID, after string, limit int, order Order) (items []json.RawMessage, hasMore bool, err error)
	// Items returns the items with the given ids among the input and output items of the responses owned by
	// keyID, by id, for item_reference inputs. An id held by several responses is taken from the newest one (its
	// output before its input); an unknown id, or another key's, is absent from the map.
	Items(ctx context.Context, keyID string, ids []string) (map[string]json.RawMessage, error)
	// DeleteBefore removes every response created before t and returns how many.
	DeleteBefore(ctx context.Context, t time.Time) (int64, error)
}

// maxChain bounds how many responses a chain may follow (and breaks any cycle).
const maxChain = 10000

// pageItems applies after/limit/order to a response's input items.
func pageItems(all []json.RawMessage, after string, limit int, order Order) ([]json.RawMessage, bool, error) {
	if limit <= 0 {
		limit = 20
	}
	items := make([]json.RawMessage, len(all))
	copy(items, all)
	if order == Desc {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	if after != "" {
		found := false
		for i, it := range items {
			if itemID(it) == after {
				items, found = items[i+1:], true
				break
			}
		}
		if !found {
			return nil, false, ErrItemNotFound
		}
	}
	if len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// findItem returns the output, else the input, item of st whose id is id.
func findItem(st *Stored, id string) (json.RawMessage, bool) {
	for _, list := range [][]json.RawMessage{st.Output, st.Input} {
		for _, it := range list {
			if itemID(it) == id {
				return it, true
			}
		}
	}
	return nil, false
}

// ErrItemNotFound is returned by InputItems when after names no item of the response.
var ErrItemNotFound = errors.New("conversation: item not found")

// itemID returns an item's "id" field, or "".
func itemID(raw json.RawMessage) string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.ID
}

// ItemID returns an item's "id" field, or "".
func ItemID(raw json.RawMessage) string { return itemID(raw) }

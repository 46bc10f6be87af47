package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/provider"
)

// SetObjects gives the engine the store of upstream objects it passed through (Responses API responses, files,
// batches), so that requests about them go back to the provider and key that made them. nil removes it.
func (e *Engine) SetObjects(s affinity.Store) { e.objects = s }

// Objects is the upstream-object store, nil when none is set.
func (e *Engine) Objects() affinity.Store { return e.objects }

// errForeignObject is returned by lookupObject for an object that belongs to another virtual key.
var errForeignObject = errors.New("affinity: object owned by another key")

// lookupObject finds the object kind/id of owner. It returns affinity.ErrNotFound for an id the store has never
// seen and errForeignObject for one another owner holds (when the store can tell, see affinity.Locator): the
// first may be passed through to an upstream, the second must never be.
func lookupObject(ctx context.Context, s affinity.Store, kind affinity.Kind, id, owner string) (affinity.Record, error) {
	if loc, ok := s.(affinity.Locator); ok {
		rec, err := loc.Locate(ctx, kind, id)
		if err != nil {
			return affinity.Record{}, err
		}
		if rec.Owner != owner {
			return affinity.Record{}, errForeignObject
		}
		return rec, nil
	}
	return s.Get(ctx, kind, id, owner)
}

// OwnerOf is the owner id of objects a principal makes: its virtual key id, "" when ungoverned.
func OwnerOf(p *governance.Principal) string {
	if p == nil {
		return ""
	}
	return p.ID()
}

// ObjectAccount is the provider (as a RawSender) and key a remembered object lives in, for layers that call
// about objects outside a request (batch settlement); what names the object in errors.
func (e *Engine) ObjectAccount(rec affinity.Record, what string) (provider.RawSender, *provider.Key, error) {
	up, key, gerr := e.ObjectUpstream(rec, what)
	if gerr != nil {
		return nil, nil, gerr
	}
	rs, ok := up.Provider.(provider.RawSender)
	if !ok {
		return nil, nil, fmt.Errorf("%s: provider %s cannot be asked about it", what, rec.Provider)
	}
	return rs, key, nil
}

package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/provider"
)

// SetObjects gives the engine the store of upstream objects it passed through (Responses API responses, files,
// batches), so that requests about them go back to the provider and key that made them. nil removes it.
func (e *Engine) SetObjects(s affinity.Store) { e.objects = s }

// Objects is the upstream-object store, nil when none is set.
func (e *Engine) Objects() affinity.Store { return e.objects }

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

// ObjectUpstream is the provider and key a remembered object lives in, or a 409 saying which is gone; what names
// the object in it. A layer sends a request about the object there.
func (e *Engine) ObjectUpstream(rec affinity.Record, what string) (*Upstream, *provider.Key, *Error) {
	up := e.Upstream(rec.Provider)
	if up == nil {
		return nil, nil, errorf(http.StatusConflict, TypeInvalidRequest, "provider_gone",
			"%s was made by provider %q, which is no longer configured: it cannot be reached", what, rec.Provider)
	}
	if rec.KeyID == "" {
		return up, nil, nil
	}
	key := up.Keys.ByID(rec.KeyID)
	if key == nil {
		return nil, nil, errorf(http.StatusConflict, TypeInvalidRequest, "key_gone",
			"%s was made with an API key of provider %s that is no longer configured: it cannot be reached", what, up.Config.Name)
	}
	return up, key, nil
}

// AdmitRead applies a principal's governance to a request that reads or deletes stored responses: a disabled
// key or one over a limit or budget is refused as on inference; nothing is charged. model is the stored
// response's model ("" when it is not known: a model allow-list then does not refuse).
func (e *Engine) AdmitRead(ctx context.Context, p *governance.Principal, model string, h http.Header) *Error {
	if p == nil || e.gov == nil {
		return nil
	}
	return admitRead(ctx, e.gov, p, model, h)
}

// admitRead is AdmitRead on a governed request: nothing is held once it returns.
func admitRead(ctx context.Context, gov *governance.Service, p *governance.Principal, model string, h http.Header) *Error {
	res, d := gov.Admit(ctx, p, model, governance.Estimate{})
	if d != nil {
		if model == "" && d.Status == http.StatusForbidden {
			return nil
		}
		d.SetHeaders(h)
		return denialError(d, 0)
	}
	res.Release()
	return nil
}

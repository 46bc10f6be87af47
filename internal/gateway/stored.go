package gateway

import (
	"context"
	"net/http"

	"github.com/weir-gateway/weir/internal/governance"
)

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

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
	res, d := e.gov.Admit(ctx, p, model, governance.Estimate{})
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

// admitCount admits a request that is counted but not charged (POST /v1/responses/input_tokens): the model
// allow-list applies and one request is reserved against every limit, with no tokens and no cost. Settle the
// reservation with zero usage when the request succeeds (it stays counted), else Release it. nil: ungoverned.
func (e *Engine) admitCount(ctx context.Context, p *governance.Principal, model string, h http.Header) (*governance.Reservation, *Error) {
	if p == nil || e.gov == nil {
		return nil, nil
	}
	if !p.AllowsModel(model) {
		return nil, errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
			"virtual key %s may not use model %q", p.ID(), model)
	}
	res, d := e.gov.Admit(ctx, p, model, governance.Estimate{})
	if d != nil {
		d.SetHeaders(h)
		return nil, denialError(d, 0)
	}
	res.SetHeaders(h)
	return res, nil
}

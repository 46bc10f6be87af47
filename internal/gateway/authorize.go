package gateway

import "net/http"

// authorize applies the principal's model allow-list to the model as the caller named it (or, for a call that
// names none, its provider allow-list to the provider it is pinned to). The provider allow-list of a planned
// request is applied per target by authorizeTarget, since the targets are known only then. It changes nothing:
// it only refuses. It runs after plan, so an unknown model is a 404 before a forbidden one is a 403.
func authorize(e *Engine, f *Flow) *Error {
	p := f.req.Principal
	if p == nil || e.gov == nil {
		return nil
	}
	if f.admitModel == "" {
		if up := f.pinned.up; up != nil {
			return authorizeTarget(f, up)
		}
		return nil
	}
	if !p.AllowsModel(f.admitModel) {
		return errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
			"virtual key %s may not use model %q", p.ID(), f.admitModel)
	}
	return nil
}

// authorizeTarget applies the principal's provider allow-list to one target of the plan: a target the key may
// not use is skipped.
func authorizeTarget(f *Flow, up *Upstream) *Error {
	if p := f.req.Principal; p != nil && !p.AllowsProvider(up.Config.Name) {
		return errorf(http.StatusForbidden, TypePermission, "provider_not_allowed",
			"virtual key %s may not use provider %s", p.ID(), up.Config.Name)
	}
	return nil
}

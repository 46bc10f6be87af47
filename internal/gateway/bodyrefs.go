package gateway

import (
	"errors"
	"net/http"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/bodyrefs"
	"github.com/weir-gateway/weir/internal/provider"
)

// An inference body may name uploaded files (a chat "file" part, a Responses input_file or input_image, a code
// interpreter container's file_ids). The upstream reads them with Weir's provider key, so without a check any
// virtual key could make a model read another key's file. checkBodyRefs lets a governed key name only files
// it made through Weir, and only on the provider and key that hold them; internal/bodyrefs finds the ids.

// checkBodyRefs refuses a governed request whose body names a file that is not its key's (404, like the files
// routes: a foreign id is not revealed), and pins its targets to the account holding the files it names
// (f.files). It changes nothing else.
func checkBodyRefs(e *Engine, f *Flow) *Error {
	p := f.req.Principal
	if p == nil || e.objects == nil || !bodyrefs.MayNameFiles(f.body) {
		return nil
	}
	ids, ok := bodyrefs.FileIDs(f.body, nil)
	if !ok {
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "too_many_file_ids",
			"the request names more than %d files", bodyrefs.Max)
	}
	owner := OwnerOf(p)
	for _, id := range ids {
		rec, err := e.objects.Get(f.ctx, affinity.KindFile, id, owner)
		if errors.Is(err, affinity.ErrNotFound) {
			return errorf(http.StatusNotFound, TypeNotFound, "not_found", "no file with id %s was created with this key", id)
		}
		if err != nil {
			e.log.Error("looking up a file named in a request", "file_id", id, "err", err)
			return errorf(http.StatusInternalServerError, TypeAPI, "object_store_error", "the provider of file %q could not be looked up", id)
		}
		up, key, gerr := e.ObjectUpstream(rec, "file "+id)
		if gerr != nil {
			return gerr
		}
		if f.files.up == nil {
			f.files = fileAccount{up: up, key: key, first: id}
			continue
		}
		if f.files.up != up || f.files.key != key {
			return errorf(http.StatusBadRequest, TypeInvalidRequest, "files_in_different_accounts",
				"files %s and %s were uploaded to different provider accounts: one request can name files of one only", f.files.first, id)
		}
	}
	// A Responses request continuing a response is already pinned to that response's account (Flow.SetPin).
	if pin := f.pin; pin.Up != nil && f.files.up != nil && (pin.Up != f.files.up || pin.Key != f.files.key) {
		return errorf(http.StatusBadRequest, TypeInvalidRequest, "files_in_different_accounts",
			"file %s was uploaded to another provider account than previous_response_id's", f.files.first)
	}
	return nil
}

// fileAccount is the provider and key holding the files a request names: only that upstream account has them.
type fileAccount struct {
	up    *Upstream
	key   *provider.Key // nil: the provider has no keys
	first string        // the first file id, for errors
}

// onTarget refuses a target of the plan that is not the files' provider (the upstream would not find them), or
// whose model the files' key may not use.
func (a *fileAccount) onTarget(up *Upstream, model string) *Error {
	if a.up == nil {
		return nil
	}
	if a.up == up {
		if a.key != nil && !a.key.Allows(model) {
			return errorf(http.StatusForbidden, TypePermission, "model_not_allowed",
				"the key of provider %s that holds file %s is not allowed to use model %q", up.Config.Name, a.first, model)
		}
		return nil
	}
	return errorf(http.StatusBadRequest, TypeInvalidRequest, "file_on_another_provider",
		"file %s was uploaded to provider %s, but model %q is served by provider %s: name a model of %s",
		a.first, a.up.Config.Name, model, up.Config.Name, a.up.Config.Name)
}

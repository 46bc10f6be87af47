package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/batches"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/passthrough"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/reqbody"
)

// Files and batches live in the upstream account that created them. Weir remembers, per object, the provider,
// the upstream key and the virtual key that made it (internal/affinity): later calls go back to that account,
// and a virtual key sees only its own objects.

// objectAPI describes one family of objects: OpenAI's files or batches, or Anthropic's message batches.
type objectAPI struct {
	kind     affinity.Kind
	op       provider.Op
	dialect  dialects.Dialect
	basePath string // upstream path of the collection, below the provider's API root
}

var (
	filesAPI          = objectAPI{affinity.KindFile, provider.OpFiles, dialects.OpenAI, "/files"}
	batchesAPI        = objectAPI{affinity.KindBatch, provider.OpBatches, dialects.OpenAI, "/batches"}
	messageBatchesAPI = objectAPI{affinity.KindMessageBatch, provider.OpMessageBatches, dialects.Anthropic, "/v1/messages/batches"}
)

func (o objectAPI) writeError() func(http.ResponseWriter, *gateway.Error) {
	if o.dialect == dialects.Anthropic {
		return writeAnthropicError
	}
	return httpx.WriteOpenAIError
}

// mountObjects registers the files and batches routes under prefix (OpenAI's) and the message batches under
// anthropicPrefix.
func (s *Server) mountObjects(prefix string) {
	s.handle(RouteInference, "POST "+prefix+"/files", s.objectCreate(filesAPI))
	s.handle(RouteInference, "GET "+prefix+"/files", s.objectList(filesAPI))
	s.handle(RouteInference, "GET "+prefix+"/files/{id}", s.objectCall(filesAPI, http.MethodGet, ""))
	s.handle(RouteInference, "GET "+prefix+"/files/{id}/content", s.objectCall(filesAPI, http.MethodGet, "/content"))
	s.handle(RouteInference, "DELETE "+prefix+"/files/{id}", s.objectCall(filesAPI, http.MethodDelete, ""))
	s.handle(RouteInference, "POST "+prefix+"/batches", s.objectCreate(batchesAPI))
	s.handle(RouteInference, "GET "+prefix+"/batches", s.objectList(batchesAPI))
	s.handle(RouteInference, "GET "+prefix+"/batches/{id}", s.objectCall(batchesAPI, http.MethodGet, ""))
	s.handle(RouteInference, "POST "+prefix+"/batches/{id}/cancel", s.objectCall(batchesAPI, http.MethodPost, "/cancel"))
}

func (s *Server) mountMessageBatches(prefix string) {
	o := messageBatchesAPI
	s.handle(RouteInference, "POST "+prefix+"/messages/batches", s.objectCreate(o))
	s.handle(RouteInference, "GET "+prefix+"/messages/batches", s.objectList(o))
	s.handle(RouteInference, "GET "+prefix+"/messages/batches/{id}", s.objectCall(o, http.MethodGet, ""))
	s.handle(RouteInference, "GET "+prefix+"/messages/batches/{id}/results", s.objectCall(o, http.MethodGet, "/results"))
	s.handle(RouteInference, "POST "+prefix+"/messages/batches/{id}/cancel", s.objectCall(o, http.MethodPost, "/cancel"))
	s.handle(RouteInference, "DELETE "+prefix+"/messages/batches/{id}", s.objectCall(o, http.MethodDelete, ""))
}

func noStore() *gateway.Error {
	return &gateway.Error{Status: http.StatusServiceUnavailable, Type: gateway.TypeAPI, Code: "no_store",
		Message: "files and batches need the gateway's store, which is not open"}
}

func objectNotFound(kind affinity.Kind, id string) *gateway.Error {
	return &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "not_found",
		Message: "no " + strings.ReplaceAll(string(kind), "_", " ") + " with id " + id + " was created with this key"}
}

// objectCreate uploads a file or creates a batch, and remembers who made it. A batch goes to the account that
// holds its input file; a file goes to the provider named by X-Weir-Provider, or the first that offers files;
// a message batch to the provider of its requests' model.
func (s *Server) objectCreate(o objectAPI) http.Handler {
	return s.governed(o.writeError(), func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal,
		f *finished, w *sink) (gateway.Outcome, error) {
		objs := s.eng.Objects()
		if objs == nil {
			return gateway.Outcome{}, noStore()
		}
		// Refuse a disabled or exhausted key before looking at the input file (the request is counted when sent).
		if gerr := s.eng.AdmitRead(ctx, p, "", w.Header()); gerr != nil {
			return gateway.Outcome{}, gerr
		}
		raw, gerr := s.readRaw(r, x, o.kind == affinity.KindFile)
		if gerr != nil {
			return gateway.Outcome{}, gerr
		}
		if raw.Form != nil {
			defer raw.Form.Close()
		}
		raw.Method, raw.Path, raw.Model = http.MethodPost, o.basePath, ""
		if name := r.Header.Get("X-Weir-Provider"); name != "" {
			raw.Pin = &passthrough.Pin{Provider: name}
		}
		switch o.kind {
		case affinity.KindBatch:
			fileID := gjson.GetBytes(raw.Body, "input_file_id").Str
			if fileID == "" {
				return gateway.Outcome{}, badRequest("missing_input_file_id", `"input_file_id" is required: upload the requests with POST /v1/files (purpose "batch") first`)
			}
			rec, err := objs.Get(ctx, affinity.KindFile, fileID, gateway.OwnerOf(p))
			if err != nil {
				return gateway.Outcome{}, objectNotFound(affinity.KindFile, fileID)
			}
			raw.Pin = &passthrough.Pin{Provider: rec.Provider, KeyID: rec.KeyID}
		case affinity.KindMessageBatch:
			body, pin, gerr := s.messageBatchTarget(raw.Body)
			if gerr != nil {
				return gateway.Outcome{}, gerr
			}
			raw.Body, raw.Pin = body, pin
		}
		owner := gateway.OwnerOf(p)
		raw.OnAnswer = func(up *gateway.Upstream, key *provider.Key, answer []byte) {
			id := gjson.GetBytes(answer, "id").Str
			if id == "" {
				return
			}
			rec := affinity.Record{ID: id, Kind: o.kind, Owner: owner, Provider: up.Config.Name, Object: append([]byte(nil), answer...)}
			if key != nil {
				rec.KeyID = key.ID
			}
			if err := objs.Put(context.WithoutCancel(ctx), rec); err != nil {
				s.log.Error("remembering an upstream object", "kind", o.kind, "id", id, "err", err)
			}
		}
		req := gateway.Request{Op: o.op, Dialect: o.dialect, Header: r.Header, Principal: p}
		return passthrough.Serve(ctx, s.eng, x, &req, raw, w)
	})
}

// messageBatchTarget finds the provider of a message batch from its requests' models ("provider/model" or a
// bare model one provider lists) and strips the provider prefix from each. Every request must name the same
// provider.
func (s *Server) messageBatchTarget(body []byte) ([]byte, *passthrough.Pin, *gateway.Error) {
	reqs := gjson.GetBytes(body, "requests")
	if !reqs.IsArray() || len(reqs.Array()) == 0 {
		return nil, nil, badRequest("missing_requests", `"requests" must be a non-empty array`)
	}
	var prov string
	for i, rq := range reqs.Array() {
		m := rq.Get("params.model").Str
		if !reqbody.ValidModel(m) {
			return nil, nil, passthrough.BadModel()
		}
		up, bare, gerr := s.eng.Resolve(m)
		if gerr != nil {
			return nil, nil, gerr
		}
		if prov != "" && up.Config.Name != prov {
			return nil, nil, badRequest("mixed_providers", "every request of a message batch must go to one provider: "+prov+" and "+up.Config.Name+" are named")
		}
		prov = up.Config.Name
		if bare != m {
			body, _ = sjson.SetBytes(body, "requests."+strconv.Itoa(i)+".params.model", bare)
		}
	}
	return body, &passthrough.Pin{Provider: prov}, nil
}

// objectList lists the caller's own objects from the store, in the provider's list shape.
func (s *Server) objectList(o objectAPI) http.Handler {
	return s.governed(o.writeError(), func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal,
		f *finished, w *sink) (gateway.Outcome, error) {
		objs := s.eng.Objects()
		if objs == nil {
			return gateway.Outcome{}, noStore()
		}
		if gerr := s.eng.AdmitRead(ctx, p, "", w.Header()); gerr != nil {
			return gateway.Outcome{}, gerr
		}
		q := r.URL.Query()
		after := q.Get("after")
		if o.dialect == dialects.Anthropic {
			after = q.Get("after_id")
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		if limit <= 0 || limit > 1000 {
			limit = 20
		}
		recs, more, err := objs.List(ctx, o.kind, gateway.OwnerOf(p), after, limit)
		if errors.Is(err, affinity.ErrNotFound) {
			return gateway.Outcome{}, objectNotFound(o.kind, after)
		}
		if err != nil {
			return gateway.Outcome{}, &gateway.Error{Status: http.StatusInternalServerError, Type: gateway.TypeAPI, Code: "store_error", Message: err.Error()}
		}
		data := make([]any, 0, len(recs))
		for _, rec := range recs {
			if len(rec.Object) > 0 {
				data = append(data, rec.Object)
			}
		}
		var first, last any
		if len(recs) > 0 {
			first, last = recs[0].ID, recs[len(recs)-1].ID
		}
		if o.dialect == dialects.Anthropic {
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "has_more": more, "first_id": first, "last_id": last})
		} else {
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "has_more": more, "first_id": first, "last_id": last})
		}
		return gateway.Outcome{Committed: true, Status: http.StatusOK}, nil
	})
}

// SetBatches has the server settle a batch as soon as a caller polling it sees it finished, rather than at the
// settler's next round. Call it before serving.
func (s *Server) SetBatches(b *batches.Settler) { s.batches = b }

// objectCall forwards a call about one object to the account that holds it, after checking the caller owns it.
func (s *Server) objectCall(o objectAPI, method, suffix string) http.Handler {
	return s.governed(o.writeError(), func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal,
		f *finished, w *sink) (gateway.Outcome, error) {
		objs := s.eng.Objects()
		if objs == nil {
			return gateway.Outcome{}, noStore()
		}
		if gerr := s.eng.AdmitRead(ctx, p, "", w.Header()); gerr != nil {
			return gateway.Outcome{}, gerr
		}
		id := r.PathValue("id")
		owner := gateway.OwnerOf(p)
		rec, err := objs.Get(ctx, o.kind, id, owner)
		if err != nil {
			return gateway.Outcome{}, objectNotFound(o.kind, id)
		}
		raw := &passthrough.Request{Method: method, Path: o.basePath + "/" + id + suffix, RawQuery: r.URL.RawQuery,
			Pin: &passthrough.Pin{Provider: rec.Provider, KeyID: rec.KeyID}}
		if v := r.Header["Anthropic-Version"]; len(v) > 0 {
			raw.Header = http.Header{"Anthropic-Version": v}
		}
		raw.OnAnswer = func(up *gateway.Upstream, key *provider.Key, answer []byte) {
			bg := context.WithoutCancel(ctx)
			switch {
			case method == http.MethodDelete:
				_ = objs.Delete(bg, o.kind, id, owner)
			case suffix == "" || suffix == "/cancel":
				rec.Object = append([]byte(nil), answer...)
				_ = objs.Put(bg, rec)
				batches.RememberFiles(bg, objs, rec, s.log)
				if s.batches != nil && o.kind != affinity.KindFile && batches.Finished(o.kind, rec.Object) {
					go func() {
						if err := s.batches.Settle(bg, rec, rec.Object); err != nil {
							s.log.Warn("settling a batch", "batch", rec.ID, "err", err)
						}
					}()
				}
			}
		}
		req := gateway.Request{Op: o.op, Dialect: o.dialect, Header: r.Header, Principal: p}
		return passthrough.Serve(ctx, s.eng, x, &req, raw, w)
	})
}

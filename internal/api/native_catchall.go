package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/passthrough"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
)

// The /openai/… and /anthropic/… catch-alls reach the upstream with Weir's own key, so what they pass through
// is an allow-list: the stateless endpoints (a chat, an embedding, the model list), which name no object of the
// account. A path naming an object Weir owns by virtual key (files, batches, responses, message batches) is
// served by the same handler as /v1/…, so the ownership check, the filtered listing and the recording (and
// charging) of new batches apply whatever the spelling: /openai/files and /openai/v1/files are one route. Every
// other path names objects Weir does not track (uploads, vector stores, fine-tuning jobs, assistants, threads,
// stored chat completions, Anthropic's files, the admin APIs, realtime sessions that mint upstream credentials)
// and is refused: one key could otherwise read, change or list another's, or use the account past governance.

// nativeClass is what a catch-all does with a path.
type nativeClass int

const (
	nativeRefused nativeClass = iota // names objects Weir cannot tell the owner of
	nativePass                       // stateless: passed through
	nativeOwned                      // an object family Weir owns: served by the /v1 handler
)

// catchAll is one provider's catch-all route.
type catchAll struct {
	dialect    dialects.Dialect
	prefix     string // "/openai"
	unified    string // where the unified routes of this dialect are mounted below prefix: "/openai/v1"
	writeError func(http.ResponseWriter, *gateway.Error)
	pattern    string // the catch-all's own pattern, to tell a unified route from itself
}

// nativeCatchAll serves a catch-all: the path is checked segment by segment (see nativeSegments), classified
// below its API version, and passed through, handed to the unified route, or refused in the route's dialect.
func (s *Server) nativeCatchAll(c catchAll) http.Handler {
	pass := s.native(c.dialect, c.writeError, c.target)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs, ok := nativeSegments(strings.TrimPrefix(r.URL.EscapedPath(), c.prefix), false)
		if !ok {
			s.refuse(c.writeError, badPath()).ServeHTTP(w, r)
			return
		}
		// A unified route under the prefix asked with another method (GET /openai/v1/chat/completions) is a 405,
		// never a pass-through.
		if e := httpx.MethodNotAllowed(s.mux, r); e != nil {
			c.writeError(w, e)
			return
		}
		rest := stripVersion(segs)
		switch classifyNative(c.dialect, r.Method, rest) {
		case nativePass:
			pass.ServeHTTP(w, r)
		case nativeOwned:
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = c.unified+"/"+strings.Join(rest, "/"), ""
			if _, pat := s.mux.Handler(r2); pat == "" || pat == c.pattern {
				if e := httpx.MethodNotAllowed(s.mux, r2); e != nil {
					c.writeError(w, e)
					return
				}
				s.refuse(c.writeError, &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "unknown_route",
					Message: "no route " + r.Method + " " + r2.URL.Path}).ServeHTTP(w, r)
				return
			}
			s.mux.ServeHTTP(w, r2)
		default:
			s.refuse(c.writeError, &gateway.Error{Status: http.StatusForbidden, Type: gateway.TypePermission, Code: "native_route_refused",
				Message: r.Method + " " + c.prefix + "/…/" + strings.Join(rest, "/") + " is not passed through: it names objects of the provider account " +
					"that Weir does not track by virtual key, so one key could reach another's (see docs/api-surface.md)"}).ServeHTTP(w, r)
		}
	})
}

// target is the upstream path of a passed-through call: the checked segments, escaped again, below the part of
// the prefix the provider's base URL already holds (/openai/v1: OpenAI's base URL ends in /v1).
func (c catchAll) target(r *http.Request, raw *passthrough.Request) *gateway.Error {
	segs, ok := nativeSegments(strings.TrimPrefix(r.URL.EscapedPath(), c.prefix), false)
	if !ok {
		return badPath()
	}
	if c.dialect == dialects.OpenAI && strings.EqualFold(segs[0], "v1") {
		segs = segs[1:]
		if len(segs) == 0 {
			return badPath()
		}
	}
	raw.Path = joinSegments(segs)
	return nil
}

// refuse answers gerr after authenticating the caller and applying its governance, so a caller without a key
// learns nothing about paths and a key over its budget learns that first.
func (s *Server) refuse(writeError func(http.ResponseWriter, *gateway.Error), gerr *gateway.Error) http.Handler {
	return s.governed(writeError, func(ctx context.Context, _ *http.Request, _ *gateway.Exchange, p *governance.Principal,
		_ *finished, w *sink) (gateway.Outcome, error) {
		if e := s.eng.AdmitRead(ctx, p, "", w.Header()); e != nil {
			return gateway.Outcome{}, e
		}
		return gateway.Outcome{}, gerr
	})
}

// stripVersion drops the leading API version segments ("v1"), so /openai/files and /openai/v1/files (and
// /openai/v1/v1/files) are classified alike.
func stripVersion(segs []string) []string {
	for len(segs) > 0 && strings.EqualFold(segs[0], "v1") {
		segs = segs[1:]
	}
	return segs
}

// statelessOpenAI and statelessAnthropic are the POST endpoints, below the API version, that create nothing an
// account keeps for later (a chat's "store" aside, whose stored completions are refused below).
var (
	statelessOpenAI = map[string]bool{
		"chat/completions": true, "completions": true, "embeddings": true, "moderations": true, "rerank": true,
		"images/generations": true, "images/edits": true, "images/variations": true,
		"audio/speech": true, "audio/transcriptions": true, "audio/translations": true,
	}
	statelessAnthropic = map[string]bool{"messages": true, "messages/count_tokens": true, "complete": true}
)

// classifyNative classifies a path below the API version.
func classifyNative(d dialects.Dialect, method string, segs []string) nativeClass {
	if len(segs) == 0 {
		return nativeRefused
	}
	if segs[0] == "models" && method == http.MethodGet {
		return nativePass // the account's model list and one model's card; DELETE (a fine-tuned model) is refused
	}
	path := strings.Join(segs, "/")
	switch d {
	case dialects.OpenAI:
		switch segs[0] {
		case "files", "batches", "responses":
			return nativeOwned
		}
		if method == http.MethodPost && statelessOpenAI[path] {
			return nativePass
		}
	case dialects.Anthropic:
		if len(segs) > 1 && segs[0] == "messages" && segs[1] == "batches" {
			return nativeOwned
		}
		if method == http.MethodPost && statelessAnthropic[path] {
			return nativePass
		}
	}
	return nativeRefused
}

package httpx

import (
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/gateway"
)

// ServeMux answers 405 with Allow itself only when no pattern matches the method; Weir's catch-alls ("/",
// "/api/", the native "/openai/{path...}" and "/anthropic/{path...}") match every method, so they ask here
// whether the path is a known route under other methods.

// ProbeMethods are the methods a path is tried with to find the ones it allows.
var ProbeMethods = [...]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Mux finds the route of a request; *http.ServeMux is one.
type Mux interface {
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// MethodNotAllowed is the 405 for r when a route of mux other than a catch-all serves its path with other
// methods, else nil.
func MethodNotAllowed(mux Mux, r *http.Request) *gateway.Error {
	var allow []string
	probe := *r
	for _, m := range ProbeMethods {
		if m == r.Method {
			continue
		}
		probe.Method = m
		if _, pattern := mux.Handler(&probe); strings.HasPrefix(pattern, m+" ") {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	if len(allow) == 0 {
		return nil
	}
	list := strings.Join(allow, ", ")
	return &gateway.Error{Status: http.StatusMethodNotAllowed, Type: gateway.TypeInvalidRequest, Code: "method_not_allowed",
		Header:  http.Header{"Allow": {list}},
		Message: r.Method + " is not allowed on " + r.URL.Path + ": use " + list}
}

// UnknownRoute is the answer of a catch-all: 405 when mux serves r's path with other methods, else 404.
func UnknownRoute(mux Mux, r *http.Request) *gateway.Error {
	if e := MethodNotAllowed(mux, r); e != nil {
		return e
	}
	return &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "unknown_route",
		Message: "no route " + r.Method + " " + r.URL.Path + " (see GET /v1/models, POST /v1/chat/completions)"}
}

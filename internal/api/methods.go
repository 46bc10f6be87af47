package api

import (
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/gateway"
)

// ServeMux answers 405 with Allow itself only when no pattern matches the method; Weir's catch-alls ("/",
// "/api/", the native "/openai/{path...}" and "/anthropic/{path...}") match every method, so they ask here
// whether the path is a known route under other methods.

var probeMethods = [...]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed is the 405 for r when a route other than a catch-all serves its path with other methods,
// else nil.
func (s *Server) methodNotAllowed(r *http.Request) *gateway.Error {
	var allow []string
	probe := *r
	for _, m := range probeMethods {
		if m == r.Method {
			continue
		}
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); strings.HasPrefix(pattern, m+" ") {
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

// pathErrorWriter is the error format of the routes under path, for answers no route wrote (404, 405).
func pathErrorWriter(path string) func(http.ResponseWriter, *gateway.Error) {
	switch {
	case strings.HasPrefix(path, "/anthropic/"), path == "/v1/messages", strings.HasPrefix(path, "/v1/messages/"):
		return writeAnthropicError
	case strings.HasPrefix(path, "/gemini/"):
		return writeGeminiError
	case strings.HasPrefix(path, "/bedrock/"):
		return writeBedrockError
	}
	return writeOpenAIError // the OpenAI routes and the admin API
}

package api

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/passthrough"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/meter"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/reqbody"
)

// Provider-native routes serve callers that use a provider's own SDK pointed at Weir: /openai/..., /anthropic/...,
// /gemini/... and /bedrock/.... The unified endpoints are mounted under /openai/v1 and /anthropic/v1 as they are;
// the stateless rest of /openai and /anthropic passes through to a provider of that dialect (see
// native_catchall.go for what is refused). Each is governed like the unified routes: the caller presents a
// virtual key, and the usage in the native answer is charged.

// mountNative registers the provider-native routes.
func (s *Server) mountNative() {
	s.mountOpenAI("/openai/v1")
	s.handle(RouteInference, "/openai/{path...}", s.nativeCatchAll(catchAll{dialect: dialects.OpenAI,
		prefix: "/openai", unified: "/openai/v1", writeError: httpx.WriteOpenAIError, pattern: "/openai/{path...}"}))
	s.mountMessageBatches("/anthropic/v1")
	s.handle(RouteInference, "/anthropic/{path...}", s.nativeCatchAll(catchAll{dialect: dialects.Anthropic,
		prefix: "/anthropic", unified: "/anthropic/v1", writeError: writeAnthropicError, pattern: "/anthropic/{path...}"}))
	s.handle(RouteInference, "POST /gemini/{version}/models/{call...}", s.native(dialects.Gemini, writeGeminiError, geminiCall))
	s.handle(RouteInference, "POST /bedrock/model/{model}/{action}", s.native(dialects.Bedrock, writeBedrockError, bedrockCall))
}

// nativeTarget fills a native request's upstream path and model from the caller's request.
type nativeTarget func(r *http.Request, raw *passthrough.Request) *gateway.Error

// geminiCall reads /gemini/{version}/models/{model}:{method}; the model may carry a provider prefix.
func geminiCall(r *http.Request, raw *passthrough.Request) *gateway.Error {
	call := r.PathValue("call")
	model, method, ok := strings.Cut(call, ":")
	if !ok || model == "" {
		return &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "unknown_route",
			Message: "expected /gemini/{version}/models/{model}:{method}, for example :generateContent"}
	}
	if _, ok := nativeSegments(strings.TrimPrefix(r.URL.EscapedPath(), "/gemini"), true); !ok ||
		!apiVersion.MatchString(r.PathValue("version")) || !methodName.MatchString(method) || strings.Contains(model, "..") {
		return badPath()
	}
	if longRunning[method] {
		return &gateway.Error{Status: http.StatusForbidden, Type: gateway.TypePermission, Code: "native_route_refused",
			Message: ":" + method + " is not passed through: it starts a long-running job (a batch, a video) in the provider account " +
				"whose usage Weir could not charge and whose result any key could fetch"}
	}
	raw.Model = model
	raw.Path = "/" + r.PathValue("version") + "/models/{model}:" + method
	raw.Meter, raw.TailMeter = meter.Gemini, meter.GeminiTail
	return nil
}

// bedrockCall reads /bedrock/model/{modelId}/{converse|converse-stream|invoke|invoke-with-response-stream}.
func bedrockCall(r *http.Request, raw *passthrough.Request) *gateway.Error {
	switch a := r.PathValue("action"); a {
	case "converse", "converse-stream", "invoke", "invoke-with-response-stream":
		raw.Path = "/model/{model}/" + a
	default:
		return &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "unknown_route",
			Message: "Bedrock action " + a + " is not served: use converse, converse-stream, invoke or invoke-with-response-stream"}
	}
	raw.Model = r.PathValue("model")
	if _, ok := nativeSegments(strings.TrimPrefix(r.URL.EscapedPath(), "/bedrock"), true); !ok || strings.Contains(raw.Model, "..") {
		return badPath()
	}
	raw.Meter, raw.TailMeter = meter.Bedrock, meter.BedrockTail
	return nil
}

// native serves a provider-native route.
func (s *Server) native(dialect dialects.Dialect, writeError func(http.ResponseWriter, *gateway.Error), target nativeTarget) http.Handler {
	return s.governed(writeError, func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal,
		f *finished, w *sink) (gateway.Outcome, error) {
		raw, gerr := s.readRaw(r, x, false)
		if gerr != nil {
			return gateway.Outcome{}, gerr
		}
		if raw.Form != nil {
			defer raw.Form.Close()
		} else if s.obs.LogContent {
			f.body = raw.Body
		}
		raw.Method, raw.Native = r.Method, dialect
		switch dialect {
		case dialects.OpenAI:
			raw.Meter = meter.OpenAI
		case dialects.Anthropic:
			raw.Meter = meter.Anthropic
		}
		if gerr := target(r, raw); gerr != nil {
			return gateway.Outcome{}, gerr
		}
		if !reqbody.ValidModel(raw.Model) { // a model in the path: its segment check lets invalid UTF-8 by
			return gateway.Outcome{}, passthrough.BadModel()
		}
		raw.Header = nativeHeaders(r.Header, raw.Header)
		if raw.Model == "" {
			if name := r.Header.Get("X-Weir-Provider"); name != "" {
				raw.Pin = &passthrough.Pin{Provider: name}
			}
		}
		req := gateway.Request{Op: provider.OpNative, Dialect: dialect, Header: r.Header, Principal: p}
		return passthrough.Serve(ctx, s.eng, x, &req, raw, w)
	})
}

// nativeHeaders keeps the caller headers a provider's own API reads (content type, accept, version and beta
// flags); credentials are never forwarded: Weir signs with its own.
func nativeHeaders(in, base http.Header) http.Header {
	h := http.Header{}
	for k, v := range base {
		h[k] = v
	}
	for _, k := range []string{"Content-Type", "Accept", "Anthropic-Version", "Anthropic-Beta", "Openai-Beta"} {
		if v := in[k]; len(v) > 0 {
			h[k] = v
		}
	}
	for k, v := range in {
		if strings.HasPrefix(k, "X-Amzn-Bedrock-") { // guardrails, trace, performance settings
			h[k] = v
		}
	}
	return h
}

var (
	apiVersion = regexp.MustCompile(`^v[0-9]+(alpha|beta)?[0-9]*$`)
	methodName = regexp.MustCompile(`^[a-zA-Z]+$`)
	// longRunning are the Gemini model methods that answer with an operation rather than a result.
	longRunning = map[string]bool{"batchGenerateContent": true, "asyncBatchEmbedContent": true, "predictLongRunning": true}
)

func badPath() *gateway.Error {
	return &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "invalid_path",
		Message: "each path segment, percent-decoded once, must be non-empty and not '.' or '..', and may not hold '/', '\\', '?', '#', '%' or control characters"}
}

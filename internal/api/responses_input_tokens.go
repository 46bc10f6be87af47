package api

import (
	"context"
	"net/http"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/responses"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
)

// responsesInputTokens serves POST /v1/responses/input_tokens: the body is a Responses create request, the answer
// {"object":"response.input_tokens","input_tokens":N}. It is routed, governed, metered and logged like inference,
// and nothing is charged beyond the request itself.
func (s *Server) responsesInputTokens() http.Handler {
	return s.governed(httpx.WriteOpenAIError, func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal,
		f *finished, w *sink) (gateway.Outcome, error) {
		body, gerr := readBody(r, x.In[:0], s.eng.MaxBody())
		x.In = body
		if gerr != nil {
			return gateway.Outcome{}, gerr
		}
		if s.obs.LogContent {
			f.body = body
		}
		req := gateway.Request{Op: responses.OpInputTokens, Dialect: dialects.OpenAI, Body: body, Header: r.Header, Principal: p}
		return s.eng.Serve(ctx, x, &req, w)
	})
}

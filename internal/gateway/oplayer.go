package gateway

import "github.com/weir-gateway/weir/internal/provider"

// opLayer is what an operation adds around the core pipeline, so the core stages never ask which operation they
// serve. Any of its steps may be nil.
type opLayer struct {
	// prepare runs as the "layer" stage, after parse and before plan. It may pin the request to an account
	// (f.target, f.fallbacks, f.pin) and change how it is served (f.ess, f.out.Stream, f.adm.countOnly).
	prepare func(e *Engine, f *flow) *Error
	// attempt serves one attempt in place of runAttempt, calling it for the core stages: before them it may move
	// the attempt to the pinned account and rewrite what is sent and where the answer goes (t); after them it
	// may keep what came back (store the response, remember its account).
	attempt func(e *Engine, f *flow, t *try) error
	// finish runs once the attempts are over, before the request is settled. It may change f.out.
	finish func(f *flow)
}

// opLayers are the layers by operation; an operation with none runs the core alone.
var opLayers = map[provider.Op]*opLayer{
	provider.OpResponses: &responsesLayer,
	OpInputTokens:        &inputTokensLayer,
}

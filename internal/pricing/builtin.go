package pricing

import (
	_ "embed"
	"sync"
)

// prices.json is the built-in table, in LiteLLM's model_prices_and_context_window.json format so operators can
// drop in LiteLLM's own file (or a subset) as a price_file override.
//
// Prices are USD list prices per token, standard (non-batch, short-context) tier, as published on the providers'
// pricing pages and cross-checked against public pricing summaries in June 2026. Bedrock rows are us-east-1
// on-demand. Provider prices change: override them with price_file rather than trusting this table for invoicing.
//
//go:embed prices.json
var builtinJSON []byte

var builtin = sync.OnceValue(func() *Table {
	t, err := Parse(builtinJSON)
	if err != nil {
		panic("pricing: built-in table does not parse: " + err.Error())
	}
	return t
})

// Builtin is the embedded table (parsed once, shared, immutable).
func Builtin() *Table { return builtin() }

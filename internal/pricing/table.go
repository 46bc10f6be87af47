// Package pricing turns token usage into money: a built-in price table in LiteLLM's
// model_prices_and_context_window.json format, optional override files in the same format, and exact integer
// cost arithmetic (see Money).
package pricing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/weir-gateway/weir/internal/schema"
)

// picoPerNano converts per-token prices (pico-dollars) to Money (nano-dollars).
//
// Prices are kept in pico-dollars (1e-12 USD) per token because list prices go down to $0.0075 per million
// tokens (7.5 nano-dollars per token — fractional in Money's unit). A request's cost is summed in pico-dollars
// and rounded once to nano-dollars, so per-request rounding error is at most half a nano-dollar.
const picoPerNano = 1000

// Price is one model's per-token rates. Rates are pico-dollars (1e-12 USD) per token.
type Price struct {
	Key           string // the table key it was found under, e.g. "gpt-4o" or "groq/llama-3.1-8b-instant"
	Provider      string // litellm_provider
	Mode          string
	InputPico     int64
	OutputPico    int64
	CacheReadPico int64 // rate for cached prompt tokens; equals InputPico when the source gives none
	// Rates of the endpoints not billed by the token (pico-dollars per unit).
	ImagePico       int64 // per image generated (output_cost_per_image)
	SecondPico      int64 // per second of audio transcribed or translated (input_cost_per_second)
	CharacterPico   int64 // per character of text spoken (input_cost_per_character)
	QueryPico       int64 // per rerank query or search unit (input_cost_per_query)
	MaxInputTokens  int64
	MaxOutputTokens int64
}

// Cost prices one request's usage. Cached prompt tokens are billed at the cache-read rate, the rest of the
// prompt at the input rate, and completion tokens (reasoning included, as providers bill them) at the output rate.
func (p *Price) Cost(u schema.Usage) Money {
	cached := min(max(u.CachedTokens, 0), max(u.PromptTokens, 0))
	fresh := max(u.PromptTokens, 0) - cached
	completion := max(u.CompletionTokens, 0)
	if u.PromptTokens == 0 && completion == 0 && u.TotalTokens > 0 {
		// A dialect that only reports a total: bill it all as input (the cheaper side) rather than nothing.
		fresh = u.TotalTokens
	}
	pico := satAdd(satAdd(satMul(fresh, p.InputPico), satMul(cached, p.CacheReadPico)), satMul(completion, p.OutputPico))
	pico = satAdd(pico, satMul(max(u.Images, 0), p.ImagePico))
	pico = satAdd(pico, satMul(max(u.AudioMillis, 0), p.SecondPico)/1000)
	pico = satAdd(pico, satMul(max(u.Characters, 0), p.CharacterPico))
	pico = satAdd(pico, satMul(max(u.Queries, 0), p.QueryPico))
	if pico > int64(MaxMoney)-picoPerNano/2 {
		return MaxMoney // saturated: rounding would wrap it negative, and a negative estimate reserves nothing
	}
	return Money((pico + picoPerNano/2) / picoPerNano)
}

// entry is one row of the LiteLLM JSON. Numbers stay json.Number so prices are parsed as exact decimals.
type entry struct {
	InputCostPerToken       json.Number `json:"input_cost_per_token"`
	OutputCostPerToken      json.Number `json:"output_cost_per_token"`
	CacheReadInputTokenCost json.Number `json:"cache_read_input_token_cost"`
	LiteLLMProvider         string      `json:"litellm_provider"`
	MaxInputTokens          json.Number `json:"max_input_tokens"`
	MaxOutputTokens         json.Number `json:"max_output_tokens"`
	Mode                    string      `json:"mode"`
	OutputCostPerImage      json.Number `json:"output_cost_per_image"`
	InputCostPerSecond      json.Number `json:"input_cost_per_second"`
	InputCostPerCharacter   json.Number `json:"input_cost_per_character"`
	InputCostPerQuery       json.Number `json:"input_cost_per_query"`
}

// Table is a set of prices with three indexes. It is immutable once built; Registry swaps whole tables.
type Table struct {
	byKey           map[string]*Price // exact LiteLLM key, lower-cased
	byProviderModel map[string]*Price // "<provider>/<bare model>", lower-cased
	byModel         map[string]*Price // bare model, lower-cased; unprefixed keys win over prefixed ones
}

// Parse reads a table in LiteLLM's format. Entries without token prices (LiteLLM's "sample_spec", image models
// priced per image) are kept with zero rates so lookups still find their limits.
func Parse(data []byte) (*Table, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("price table: %w", err)
	}
	t := newTable()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic index precedence
	for _, k := range keys {
		if k == "sample_spec" {
			continue
		}
		var e entry
		d := json.NewDecoder(bytes.NewReader(raw[k]))
		d.UseNumber()
		if err := d.Decode(&e); err != nil {
			// LiteLLM rows occasionally carry odd shapes in fields we do not read; only ours must parse.
			return nil, fmt.Errorf("price table: %q: %w", k, err)
		}
		p, err := e.price(k)
		if err != nil {
			return nil, fmt.Errorf("price table: %q: %w", k, err)
		}
		t.add(p)
	}
	return t, nil
}

func (e *entry) price(key string) (*Price, error) {
	p := &Price{Key: key, Provider: strings.ToLower(e.LiteLLMProvider), Mode: e.Mode}
	var err error
	if p.InputPico, err = num(e.InputCostPerToken, 12); err != nil {
		return nil, fmt.Errorf("input_cost_per_token: %w", err)
	}
	if p.OutputPico, err = num(e.OutputCostPerToken, 12); err != nil {
		return nil, fmt.Errorf("output_cost_per_token: %w", err)
	}
	p.CacheReadPico = p.InputPico
	if e.CacheReadInputTokenCost != "" {
		if p.CacheReadPico, err = num(e.CacheReadInputTokenCost, 12); err != nil {
			return nil, fmt.Errorf("cache_read_input_token_cost: %w", err)
		}
	}
	for _, f := range []struct {
		name string
		n    json.Number
		dst  *int64
	}{
		{"output_cost_per_image", e.OutputCostPerImage, &p.ImagePico},
		{"input_cost_per_second", e.InputCostPerSecond, &p.SecondPico},
		{"input_cost_per_character", e.InputCostPerCharacter, &p.CharacterPico},
		{"input_cost_per_query", e.InputCostPerQuery, &p.QueryPico},
	} {
		if *f.dst, err = num(f.n, 12); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	p.MaxInputTokens, _ = num(e.MaxInputTokens, 0)
	p.MaxOutputTokens, _ = num(e.MaxOutputTokens, 0)
	return p, nil
}

func num(n json.Number, scale int) (int64, error) {
	if n == "" {
		return 0, nil
	}
	return parseScaled(n.String(), scale)
}

func newTable() *Table {
	return &Table{byKey: map[string]*Price{}, byProviderModel: map[string]*Price{}, byModel: map[string]*Price{}}
}

func (t *Table) add(p *Price) {
	k := strings.ToLower(p.Key)
	t.byKey[k] = p
	bare := k
	if i := strings.IndexByte(k, '/'); i >= 0 && p.Provider != "" && strings.HasPrefix(k, p.Provider+"/") {
		bare = k[i+1:]
	}
	if p.Provider != "" {
		t.byProviderModel[p.Provider+"/"+bare] = p
	}
	if old, ok := t.byModel[bare]; !ok || (strings.Contains(strings.ToLower(old.Key), "/") && !strings.Contains(k, "/")) {
		t.byModel[bare] = p
	}
}

// Merge returns a new table: t's entries with over's replacing any of the same key.
func (t *Table) Merge(over *Table) *Table {
	n := newTable()
	keys := make([]string, 0, len(t.byKey)+len(over.byKey))
	for k := range t.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, overridden := over.byKey[k]; !overridden {
			n.add(t.byKey[k])
		}
	}
	keys = keys[:0]
	for k := range over.byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n.add(over.byKey[k])
	}
	return n
}

// Len is the number of entries.
func (t *Table) Len() int { return len(t.byKey) }

// providerAliases maps Weir provider type names to LiteLLM's litellm_provider values where they differ.
var providerAliases = map[string]string{
	"google":     "gemini",
	"vertex":     "vertex_ai-language-models",
	"azure":      "azure",
	"aws":        "bedrock",
	"grok":       "xai",
	"togetherai": "together_ai",
}

// Lookup finds a model's price. It accepts a LiteLLM key ("gpt-4o", "groq/llama-3.1-8b-instant"), Weir's
// "provider/model" form ("openai/gpt-4o", "anthropic/claude-sonnet-4-20250514"), or a bare model name.
// Weir provider names that are instance names rather than types still resolve through the bare-model fallback.
func (t *Table) Lookup(model string) (*Price, bool) {
	if t == nil || model == "" {
		return nil, false
	}
	m := strings.ToLower(model)
	if p, ok := t.byKey[m]; ok {
		return p, true
	}
	if i := strings.IndexByte(m, '/'); i >= 0 {
		prov, bare := m[:i], m[i+1:]
		if a, ok := providerAliases[prov]; ok {
			prov = a
		}
		if p, ok := t.byProviderModel[prov+"/"+bare]; ok {
			return p, true
		}
		if p, ok := t.byKey[bare]; ok {
			return p, true
		}
		if p, ok := t.byModel[bare]; ok {
			return p, true
		}
		return nil, false
	}
	p, ok := t.byModel[m]
	return p, ok
}

// Cost prices usage of model; an unknown model costs zero (the caller decides whether to refuse unpriced models).
func (t *Table) Cost(model string, u schema.Usage) Money {
	p, ok := t.Lookup(model)
	if !ok {
		return 0
	}
	return p.Cost(u)
}

// LoadFile reads an override file in LiteLLM's format.
func LoadFile(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("price file: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("price file %s: %w", path, err)
	}
	return t, nil
}

// Registry holds the table in use. Reads are one atomic load; Load swaps in a merged table, so a price file can
// be reloaded while requests are being priced.
type Registry struct {
	cur atomic.Pointer[Table]
}

// NewRegistry starts from the built-in table.
func NewRegistry() *Registry {
	r := &Registry{}
	r.cur.Store(Builtin())
	return r
}

// Load merges the file at path over the built-in prices (not over a previous Load, so reloading is idempotent).
func (r *Registry) Load(path string) error {
	over, err := LoadFile(path)
	if err != nil {
		return err
	}
	r.cur.Store(Builtin().Merge(over))
	return nil
}

// Table is the current table.
func (r *Registry) Table() *Table { return r.cur.Load() }

// Lookup finds a price in the current table.
func (r *Registry) Lookup(model string) (*Price, bool) { return r.cur.Load().Lookup(model) }

// Cost prices usage against the current table.
func (r *Registry) Cost(model string, u schema.Usage) Money { return r.cur.Load().Cost(model, u) }

// MaxCompletionCap bounds the completion a request is assumed to ask for when the price table does not know the
// model's output limit: no model writes a million tokens in one answer, and a max_tokens of 1e20 must not
// reserve past the int64 range.
const MaxCompletionCap = 1 << 20

// Estimate is a pre-request upper estimate: the completion cap clamped to what the model can write (its
// max_output_tokens, or MaxCompletionCap), and its cost, promptTokens at the input rate plus that cap at the
// output rate. Admission reserves this and settles to the real cost afterwards.
func (r *Registry) Estimate(model string, promptTokens, maxCompletion int64) (int64, Money) {
	limit := int64(MaxCompletionCap)
	p, ok := r.Lookup(model)
	if ok && p.MaxOutputTokens > 0 {
		limit = p.MaxOutputTokens
	}
	maxCompletion = min(max(maxCompletion, 0), limit)
	if !ok {
		return maxCompletion, 0
	}
	return maxCompletion, p.Cost(schema.Usage{PromptTokens: max(promptTokens, 0), CompletionTokens: maxCompletion})
}

// EstimateCost is Estimate's cost.
func (r *Registry) EstimateCost(model string, promptTokens, maxCompletion int64) Money {
	_, c := r.Estimate(model, promptTokens, maxCompletion)
	return c
}

func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	c := a * b
	if a != 0 && (c/a != b || c < 0) {
		return int64(MaxMoney)
	}
	return c
}

func satAdd(a, b int64) int64 {
	c := a + b
	if c < a {
		return int64(MaxMoney)
	}
	return c
}

// Package dialects names the wire formats Weir speaks, to callers and to providers. It is a leaf (standard library
// only) so that internal/provider, which says which dialect an upstream speaks, and internal/translate, which
// converts between dialects, share one type without importing each other. The name is plural, as in strings and
// bytes, so that it does not collide with the many variables named dialect.
package dialects

// Dialect names a wire format for requests, responses and streams.
type Dialect string

// The dialects Weir speaks.
const (
	OpenAI    Dialect = "openai"    // OpenAI chat completions, completions, embeddings, responses
	Anthropic Dialect = "anthropic" // Anthropic Messages
	Gemini    Dialect = "gemini"    // Google generateContent
	Bedrock   Dialect = "bedrock"   // AWS Bedrock Converse
	Cohere    Dialect = "cohere"    // Cohere Chat v2
)

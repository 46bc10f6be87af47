// Package schema holds the gateway's canonical types: the few facts every dialect shares (token usage) and,
// for translation between dialects, the OpenAI chat-completions shape that serves as the hub.
package schema

// Usage is the token count of one request, whatever dialect reported it.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
	// CachedTokens is the part of PromptTokens served from the provider's prompt cache, where reported.
	CachedTokens int64 `json:"cached_tokens,omitempty"`
	// ReasoningTokens is the part of CompletionTokens spent thinking, where reported.
	ReasoningTokens int64 `json:"reasoning_tokens,omitempty"`

	// Units of the endpoints not billed by the token.
	Images      int64 `json:"images,omitempty"`       // images generated
	AudioMillis int64 `json:"audio_millis,omitempty"` // audio transcribed or translated
	Characters  int64 `json:"characters,omitempty"`   // text turned into speech
	Queries     int64 `json:"queries,omitempty"`      // rerank queries (search units)
}

// Add accumulates u2 into u, completing TotalTokens when a dialect leaves it out.
func (u *Usage) Add(u2 Usage) {
	u.PromptTokens += u2.PromptTokens
	u.CompletionTokens += u2.CompletionTokens
	u.CachedTokens += u2.CachedTokens
	u.ReasoningTokens += u2.ReasoningTokens
	u.TotalTokens += u2.TotalTokens
	u.Images += u2.Images
	u.AudioMillis += u2.AudioMillis
	u.Characters += u2.Characters
	u.Queries += u2.Queries
	if u.TotalTokens < u.PromptTokens+u.CompletionTokens {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
}

// IsZero reports whether no tokens were recorded.
func (u Usage) IsZero() bool { return u == Usage{} }

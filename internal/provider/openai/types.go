package openai

// flavor is what distinguishes the OpenAI-compatible provider types: where they live and how they authenticate.
type flavor struct {
	baseURL  string // default; empty means base_url is required
	needsKey bool
}

// flavors lists every OpenAI-family type. All speak the OpenAI dialect, so requests pass through unchanged.
var flavors = map[string]flavor{
	"openai":     {baseURL: "https://api.openai.com/v1", needsKey: false},
	"azure":      {needsKey: true},
	"groq":       {baseURL: "https://api.groq.com/openai/v1", needsKey: true},
	"mistral":    {baseURL: "https://api.mistral.ai/v1", needsKey: true},
	"deepseek":   {baseURL: "https://api.deepseek.com/v1", needsKey: true},
	"together":   {baseURL: "https://api.together.xyz/v1", needsKey: true},
	"fireworks":  {baseURL: "https://api.fireworks.ai/inference/v1", needsKey: true},
	"openrouter": {baseURL: "https://openrouter.ai/api/v1", needsKey: true},
	"xai":        {baseURL: "https://api.x.ai/v1", needsKey: true},
	"cerebras":   {baseURL: "https://api.cerebras.ai/v1", needsKey: true},
	"perplexity": {baseURL: "https://api.perplexity.ai", needsKey: true},
	"ollama":     {baseURL: "http://127.0.0.1:11434/v1"},
	"vllm":       {baseURL: "http://127.0.0.1:8000/v1"},
}

// DefaultAzureAPIVersion is used when an azure provider sets no api_version.
const DefaultAzureAPIVersion = "2024-10-21"

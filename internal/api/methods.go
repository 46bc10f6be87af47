package api

import (
	"net/http"
	"strings"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/httpx"
)

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
	return httpx.WriteOpenAIError // the OpenAI routes (the admin API answers its own, in the same format)
}

package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/responses"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestResponsesPassThrough drives /v1/responses with the openai-go SDK to an OpenAI-dialect upstream that has the
// Responses API: the body and the typed event stream pass through, and usage is read from response.completed.
func TestResponsesPassThrough(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, ""))
	c := client(g)
	ctx := context.Background()
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "up/mock-model",
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() == "" || resp.Usage.InputTokens == 0 {
		t.Fatalf("response %+v", resp)
	}
	if !strings.Contains(string(up.LastRequest().Body), `"model":"mock-model"`) {
		t.Fatalf("upstream body %s", up.LastRequest().Body)
	}
	stream := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "up/mock-model",
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("stream")}})
	var types []string
	var text strings.Builder
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if ev.Type == "response.output_text.delta" {
			text.WriteString(ev.Delta)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	seq := strings.Join(types, ",")
	if !strings.HasPrefix(seq, "response.created") || !strings.HasSuffix(seq, "response.completed") || text.Len() == 0 {
		t.Fatalf("events %s, text %q", seq, text.String())
	}
	waitUntil(t, "stream usage metered", func() bool {
		_, _, body := get(t, g.URL+"/metrics")
		return strings.Contains(body, `weir_requests_total{alias="",model="mock-model",provider="up",route="POST /v1/responses",status_class="2xx"} 2`) &&
			!strings.Contains(body, `weir_tokens_total{direction="output",model="mock-model",provider="up"} 0`)
	})
}

func openaiString(s string) param.Opt[string] { return param.NewOpt(s) }

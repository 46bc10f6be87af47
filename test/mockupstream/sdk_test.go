package mockupstream

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"google.golang.org/genai"
)

// The official SDKs are the strictest readers of these wire formats; if
// they accumulate our streams correctly, gateways will too.

func TestOpenAISDK(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 3})
	ctx := context.Background()
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	params := openai.ChatCompletionNewParams{
		Model:         "echo",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello sdk")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "hello sdk" || acc.Usage.CompletionTokens != 6 {
		t.Fatalf("content %q usage %+v", got, acc.Usage)
	}

	rs := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{
		Model: "echo",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("ping pong")},
	})
	var final string
	for rs.Next() {
		if ev := rs.Current(); ev.Type == "response.completed" {
			final = ev.Response.OutputText()
		}
	}
	if err := rs.Err(); err != nil || final != "ping pong" {
		t.Fatalf("responses: %v %q", err, final)
	}

	_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "fail-429", Messages: params.Messages})
	var apiErr *openai.Error
	if !errorsAs(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("error %v", err)
	}
}

func TestAnthropicSDK(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 3})
	client := anthropic.NewClient(aoption.WithBaseURL(ts.URL), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
	params := anthropic.MessageNewParams{
		Model:     "m",
		MaxTokens: 20,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
		Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name: "get_weather", InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}},
		}}},
	}
	stream := client.Messages.NewStreaming(context.Background(), params)
	msg := anthropic.Message{}
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Name != "get_weather" || string(msg.Content[0].Input) != `{"city":"Paris"}` || msg.StopReason != "tool_use" {
		t.Fatalf("message %+v", msg)
	}
}

func TestGenAISDK(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 3})
	ctx := context.Background()
	client, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "k", Backend: genai.BackendGeminiAPI, HTTPOptions: genai.HTTPOptions{BaseURL: ts.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	var usage *genai.GenerateContentResponseUsageMetadata
	for resp, err := range client.Models.GenerateContentStream(ctx, "echo", genai.Text("stream me"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(resp.Text())
		usage = resp.UsageMetadata
	}
	if text.String() != "stream me" || usage == nil || usage.CandidatesTokenCount != 6 {
		t.Fatalf("text %q usage %+v", text.String(), usage)
	}
	emb, err := client.Models.EmbedContent(ctx, "text-embedding-004", genai.Text("x"), nil)
	if err != nil || len(emb.Embeddings) != 1 || len(emb.Embeddings[0].Values) != defaultDims {
		t.Fatalf("embed %v %+v", err, emb)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

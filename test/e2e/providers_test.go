package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/weir-gateway/weir/test/mockupstream"
)

const (
	awsKeyID  = "AKIDEXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// nativeConfig points one provider of each native type at the mock upstream, which speaks every dialect.
func nativeConfig(url string) string {
	return fmt.Sprintf(`
providers:
  - {name: claude, type: anthropic, base_url: %[1]s, keys: [{value: sk-ant-test}]}
  - {name: gem, type: gemini, base_url: %[1]s/v1beta, keys: [{value: gm-test}]}
  - {name: aws, type: bedrock, base_url: %[1]s, region: us-east-1, access_key_id: %[2]s, secret_access_key: %[3]s}
  - {name: co, type: cohere, base_url: %[1]s, keys: [{value: co-test}]}
  - {name: oai, type: openai, base_url: %[1]s/v1, keys: [{value: sk-test}]}
  - {name: chatonly, type: vllm, base_url: %[1]s/v1, endpoints: [chat]}
routing:
  retries: {max: 0}
`, url, awsKeyID, awsSecret)
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})
}

// TestOpenAISDKToNativeProviders drives Claude, Gemini, Bedrock and Cohere targets with the OpenAI SDK: chat,
// stream, and a two-turn tool call whose ids must survive the translation both ways.
func TestOpenAISDKToNativeProviders(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{AWSAccessKeyID: awsKeyID, AWSSecretKey: awsSecret, AWSRegion: "us-east-1"})
	g := startGateway(t, nativeConfig(url))
	c := client(g)
	ctx := context.Background()
	for _, model := range []string{"claude/claude-sonnet-4-5", "gem/gemini-2.5-flash", "aws/anthropic.claude-3-5-sonnet-20240620-v1:0", "co/command-r-plus"} {
		t.Run(model, func(t *testing.T) {
			resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello")}})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Choices[0].Message.Content == "" || resp.Usage.PromptTokens == 0 || resp.Choices[0].FinishReason != "stop" {
				t.Fatalf("chat: %+v usage %+v", resp.Choices[0], resp.Usage)
			}

			stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
			acc := openai.ChatCompletionAccumulator{}
			chunks := 0
			for stream.Next() {
				acc.AddChunk(stream.Current())
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if chunks < 3 || acc.Choices[0].Message.Content == "" || acc.Usage.TotalTokens == 0 {
				t.Fatalf("stream: %d chunks, %q, usage %+v", chunks, acc.Choices[0].Message.Content, acc.Usage)
			}

			params := openai.ChatCompletionNewParams{Model: model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather in Paris?")},
				Tools:    []openai.ChatCompletionToolUnionParam{weatherTool()}}
			first, err := c.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			calls := first.Choices[0].Message.ToolCalls
			if len(calls) != 1 || calls[0].Function.Name != "get_weather" || !strings.Contains(calls[0].Function.Arguments, "Paris") ||
				calls[0].ID == "" || first.Choices[0].FinishReason != "tool_calls" {
				t.Fatalf("tool call: %+v", first.Choices[0])
			}
			params.Messages = append(params.Messages, first.Choices[0].Message.ToParam(), openai.ToolMessage("18C and sunny", calls[0].ID))
			second, err := c.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(second.Choices[0].Message.Content, "18C and sunny") {
				t.Fatalf("second turn did not see the tool result: %q", second.Choices[0].Message.Content)
			}
		})
	}
	if up.Stats().ByPath == nil {
		t.Fatal("mock saw nothing")
	}
}

// TestAnthropicSDK drives the gateway's /v1/messages with the official Anthropic SDK against an OpenAI-dialect
// target (translated) and an Anthropic target (passed through).
func TestAnthropicSDK(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, nativeConfig(url))
	c := anthropic.NewClient(aoption.WithBaseURL(g.URL), aoption.WithAPIKey("unused"), aoption.WithMaxRetries(0))
	ctx := context.Background()
	tool := anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{Name: "get_weather",
		InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}
	for _, model := range []string{"oai/mock-model", "claude/claude-sonnet-4-5"} {
		t.Run(model, func(t *testing.T) {
			msg, err := c.Messages.New(ctx, anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256,
				System:   []anthropic.TextBlockParam{{Text: "be brief"}},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}})
			if err != nil {
				t.Fatal(err)
			}
			if len(msg.Content) == 0 || msg.Content[0].Text == "" || msg.Usage.InputTokens == 0 || msg.StopReason != "end_turn" {
				t.Fatalf("message: %+v", msg)
			}

			stream := c.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("stream"))}})
			acc := anthropic.Message{}
			var types []string
			for stream.Next() {
				ev := stream.Current()
				types = append(types, ev.Type)
				if err := acc.Accumulate(ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			seq := strings.Join(types, ",")
			if !strings.HasPrefix(seq, "message_start,content_block_start") || !strings.HasSuffix(seq, "content_block_stop,message_delta,message_stop") {
				t.Fatalf("event sequence %s", seq)
			}
			if len(acc.Content) == 0 || acc.Content[0].Text == "" || acc.Usage.OutputTokens == 0 {
				t.Fatalf("accumulated %+v", acc)
			}

			params := anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 256, Tools: []anthropic.ToolUnionParam{tool},
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather in Paris?"))}}
			first, err := c.Messages.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			var use anthropic.ToolUseBlock
			for _, b := range first.Content {
				if b.Type == "tool_use" {
					use = b.AsToolUse()
				}
			}
			if use.Name != "get_weather" || !strings.Contains(string(use.Input), "Paris") || first.StopReason != "tool_use" {
				t.Fatalf("tool use: %+v", first)
			}
			params.Messages = append(params.Messages, first.ToParam(),
				anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, "18C and sunny", false)))
			second, err := c.Messages.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(second.Content[0].Text, "18C and sunny") {
				t.Fatalf("second turn: %+v", second.Content)
			}
		})
	}
	// errors come back in Anthropic's format
	_, err := c.Messages.New(ctx, anthropic.MessageNewParams{Model: "nosuch/model", MaxTokens: 10,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}})
	var apiErr *anthropic.Error
	if !errorsAs(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.RawJSON(), `"type":"error"`) {
		t.Fatalf("want an Anthropic-format 404, got %v", err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

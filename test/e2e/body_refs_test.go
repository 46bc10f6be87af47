package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestBodyFileRefsAreOwned uploads a file with one key through the OpenAI SDK: that key may attach it to a chat,
// another key's chat naming it is a 404 that never reaches the upstream.
func TestBodyFileRefsAreOwned(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, surfaceConfig(url, t.TempDir()))
	app, other := client(g, option.WithAPIKey(vk(1))), client(g, option.WithAPIKey(vk(2)))
	ctx := context.Background()
	f, err := app.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("%PDF-1.4 mock"), "doc.pdf", "application/pdf"),
		Purpose: openai.FilePurposeUserData})
	if err != nil {
		t.Fatal(err)
	}
	chat := func(c openai.Client) error {
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "up/mock-model",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
				openai.TextContentPart("summarize"),
				openai.FileContentPart(openai.ChatCompletionContentPartFileFileParam{FileID: openai.String(f.ID)}),
			})}})
		return err
	}
	received := up.Stats().Received
	var apiErr *openai.Error
	if err := chat(other); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound ||
		!strings.Contains(apiErr.Message, "was created with this key") {
		t.Fatalf("another key's chat naming the file: %v", err)
	}
	if up.Stats().Received != received {
		t.Fatal("the refused chat reached the upstream")
	}
	if err := chat(app); err != nil {
		t.Fatalf("the owner's chat naming its file: %v", err)
	}
}

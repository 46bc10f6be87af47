package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestNativeObjectsAreOwned drives the provider-native prefixes with the OpenAI SDK pointed at /openai (so it
// calls /openai/files, /openai/batches: the spelling that used to pass straight through with Weir's key) and
// the Anthropic SDK at /anthropic. Files and batches made there are the creating key's own, and the batch is
// charged when it finishes; another key cannot list, read, delete or cancel them through any native spelling,
// nor reach objects Weir does not track.
func TestNativeObjectsAreOwned(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, surfaceConfig(url, t.TempDir()))
	native := func(key string) openai.Client {
		return openai.NewClient(option.WithBaseURL(g.URL+"/openai/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	}
	app, other := native(vk(1)), native(vk(2))
	ctx := context.Background()

	lines := `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"mock-model","messages":[{"role":"user","content":"hi"}]}}
`
	f, err := app.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(lines), "batch.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	before := spent(t, g, "app")
	b, err := app.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
	}
	// Both are recorded: the unified routes know them as the app key's.
	unified := client(g, option.WithAPIKey(vk(1)))
	if _, err := unified.Batches.Get(ctx, b.ID); err != nil {
		t.Fatalf("the natively created batch is not the key's: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Status != openai.BatchStatusCompleted {
		if time.Now().After(deadline) {
			t.Fatalf("batch did not complete: %s", b.Status)
		}
		if b, err = app.Batches.Get(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the native batch charged", func() bool { return spent(t, g, "app") > before })

	// Another key: nothing through the SDK's own calls...
	if page, err := other.Files.List(ctx, openai.FileListParams{}); err != nil || len(page.Data) != 0 {
		t.Fatalf("another key lists files: %v %v", page, err)
	}
	if page, err := other.Batches.List(ctx, openai.BatchListParams{}); err != nil || len(page.Data) != 0 {
		t.Fatalf("another key lists batches: %v %v", page, err)
	}
	received := up.Stats().Received
	for name, call := range map[string]func() error{
		"file get":      func() error { _, err := other.Files.Get(ctx, f.ID); return err },
		"file content":  func() error { _, err := other.Files.Content(ctx, b.OutputFileID); return err },
		"file delete":   func() error { _, err := other.Files.Delete(ctx, f.ID); return err },
		"batch get":     func() error { _, err := other.Batches.Get(ctx, b.ID); return err },
		"batch cancel":  func() error { _, err := other.Batches.Cancel(ctx, b.ID); return err },
		"vector stores": func() error { _, err := other.VectorStores.List(ctx, openai.VectorStoreListParams{}); return err },
		"fine-tuning":   func() error { _, err := other.FineTuning.Jobs.List(ctx, openai.FineTuningJobListParams{}); return err },
		"uploads": func() error {
			_, err := other.Uploads.New(ctx, openai.UploadNewParams{Bytes: 1, Filename: "x", MimeType: "text/plain", Purpose: openai.FilePurposeBatch})
			return err
		},
	} {
		code, _ := apiStatus(t, err404(t, call()))
		if code != 404 && code != 403 {
			t.Errorf("another key's %s: %d", name, code)
		}
	}
	// ...nor by spelling the path so that a guard reading it decoded, or a proxy decoding it again, is fooled.
	for _, p := range []string{
		"/openai/v1/files%2F" + f.ID, "/openai/files%2F" + f.ID + "%2Fcontent", "/openai/v1/batches%2F" + b.ID,
		"/openai/v1/files%252F" + f.ID, "/openai/%252e%252e/v1/files/" + f.ID, "/openai/x/%2e%2e/files/" + f.ID,
		"/openai/v1/chat%253F/../../files/" + f.ID, "/openai/v1/files/" + f.ID + "%2523", "/openai/v1/files%5C" + f.ID,
		"/anthropic/v1/messages%2Fbatches", "/anthropic/%252e%252e/v1/files", "/anthropic/v1/messages/batches%253Fx",
		"/gemini/v1beta/models/mock-model%252F..%252Ffiles:generateContent", "/bedrock/model/x%252F..%252Fasync-invoke/converse",
	} {
		for _, method := range []string{"GET", "POST", "DELETE"} {
			req, err := http.NewRequest(method, g.URL+p, strings.NewReader(`{"model":"up/mock-model"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+vk(2))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("%s %s: %d %s", method, p, resp.StatusCode, body)
			}
		}
	}
	if got := up.Stats().Received; got != received {
		t.Fatalf("another key's calls reached the upstream %d times", got-received)
	}

	// The owner still reaches them natively, and a stateless native call still passes.
	if got, err := app.Files.Get(ctx, f.ID); err != nil || got.ID != f.ID {
		t.Fatalf("owner's file: %v %v", got, err)
	}
	if last := up.LastRequest(); last.Path != "/v1/files/"+f.ID {
		t.Errorf("owner's file asked of the upstream as %s", last.Path)
	}
	status, _, body := post(t, g.URL+"/openai/chat/completions", `{"model":"up/mock-model","messages":[{"role":"user","content":"hi"}]}`,
		"Authorization", "Bearer "+vk(1))
	if status != 200 || gjson.Get(body, "choices.0.message.content").Str == "" {
		t.Fatalf("native chat: %d %s", status, body)
	}

	// Anthropic's message batches through /anthropic are the creating key's own as well.
	ant := func(key string) anthropic.Client {
		return anthropic.NewClient(aoption.WithBaseURL(g.URL+"/anthropic"), aoption.WithAPIKey(key), aoption.WithMaxRetries(0))
	}
	antApp, antOther := ant(vk(1)), ant(vk(2))
	mb, err := antApp.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{{
		CustomID: "a", Params: anthropic.MessageBatchNewParamsRequestParams{Model: "claude/claude-sonnet-4-5", MaxTokens: 16,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := antOther.Messages.Batches.Get(ctx, mb.ID, anthropic.MessageBatchGetParams{}); err == nil {
		t.Fatal("another key reads the message batch")
	}
	if page, err := antOther.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{}); err != nil || len(page.Data) != 0 {
		t.Fatalf("another key lists message batches: %v %v", page, err)
	}
}

// err404 fails the test when call succeeded: it must have been refused.
func err404(t *testing.T, err error) error {
	t.Helper()
	if err == nil {
		t.Fatal("another key's call succeeded")
	}
	return err
}

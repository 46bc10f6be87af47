package mockupstream

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The official SDKs decode the non-chat surface without complaint.

func TestOpenAISDKSurface(t *testing.T) {
	ts, _ := start(t, Options{})
	ctx := context.Background()
	client := openai.NewClient(option.WithBaseURL(ts.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))

	in := chatLine("a", "gpt-4o-mini", "hi") + "\n" + chatLine("b", "echo", "yo") + "\n"
	f, err := client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(in), "in.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch})
	if err != nil || f.Bytes != int64(len(in)) || f.Filename != "in.jsonl" {
		t.Fatalf("file %v %+v", err, f)
	}
	b, err := client.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions, CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil || b.Status != openai.BatchStatusValidating {
		t.Fatalf("batch %v %+v", err, b)
	}
	for b.Status != openai.BatchStatusCompleted {
		if b, err = client.Batches.Get(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
	}
	if b.RequestCounts.Completed != 2 || b.Usage.TotalTokens != 2*(batchIn+batchOut) || b.OutputFileID == "" {
		t.Fatalf("completed %+v", b)
	}
	res, err := client.Files.Content(ctx, b.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if lines := jsonl(t, out); len(lines) != 2 {
		t.Fatalf("output %s", out)
	}
	page, err := client.Batches.List(ctx, openai.BatchListParams{})
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("list %v %+v", err, page)
	}

	img, err := client.Images.Generate(ctx, openai.ImageGenerateParams{Prompt: "a cat", Model: "gpt-image-1"})
	if err != nil || len(img.Data) != 1 || img.Data[0].B64JSON == "" || img.Usage.OutputTokens == 0 {
		t.Fatalf("image %v %+v", err, img)
	}
	speech, err := client.Audio.Speech.New(ctx, openai.AudioSpeechNewParams{Model: "tts-1", Input: "hello", Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")}, ResponseFormat: openai.AudioSpeechNewParamsResponseFormatWAV})
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(speech.Body)
	speech.Body.Close()
	tr, err := client.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{File: openai.File(bytes.NewReader(wav), "s.wav", "audio/wav"), Model: "whisper-1"})
	if err != nil || !strings.Contains(tr.Text, "s.wav") || tr.Usage.Type != "duration" {
		t.Fatalf("transcription %v %+v", err, tr)
	}
	mod, err := client.Moderations.New(ctx, openai.ModerationNewParams{Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("kill")}})
	if err != nil || !mod.Results[0].Flagged || !mod.Results[0].Categories.Violence {
		t.Fatalf("moderation %v %+v", err, mod)
	}
	m, err := client.Models.Get(ctx, "ft:gpt-4o-mini:acme::x1")
	if err != nil || m.ID != "ft:gpt-4o-mini:acme::x1" {
		t.Fatalf("model %v %+v", err, m)
	}
	if _, err := client.Files.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	_, err = client.Files.Get(ctx, f.ID)
	var apiErr *openai.Error
	if !errorsAs(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("deleted file: %v", err)
	}
}

func TestAnthropicSDKMessageBatches(t *testing.T) {
	ts, _ := start(t, Options{})
	ctx := context.Background()
	client := anthropic.NewClient(aoption.WithBaseURL(ts.URL), aoption.WithAPIKey("k"), aoption.WithMaxRetries(0))
	req := func(id, model string) anthropic.MessageBatchNewParamsRequest {
		return anthropic.MessageBatchNewParamsRequest{CustomID: id, Params: anthropic.MessageBatchNewParamsRequestParams{
			Model: anthropic.Model(model), MaxTokens: 32,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi " + id))},
		}}
	}
	b, err := client.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{req("a", "echo"), req("b", "fail-500")}})
	if err != nil || b.ProcessingStatus != anthropic.MessageBatchProcessingStatusInProgress {
		t.Fatalf("new %v %+v", err, b)
	}
	for b.ProcessingStatus != anthropic.MessageBatchProcessingStatusEnded {
		if b, err = client.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); err != nil {
			t.Fatal(err)
		}
	}
	if b.RequestCounts.Succeeded != 1 || b.RequestCounts.Errored != 1 || b.ResultsURL == "" || b.EndedAt.IsZero() {
		t.Fatalf("ended %+v", b)
	}
	stream := client.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
	got := map[string]string{}
	for stream.Next() {
		r := stream.Current()
		got[r.CustomID] = r.Result.Type
		if r.Result.Type == "succeeded" && (r.Result.Message.Content[0].Text != "hi a" || r.Result.Message.Usage.OutputTokens != batchOut) {
			t.Fatalf("message %+v", r.Result.Message)
		}
	}
	if err := stream.Err(); err != nil || got["a"] != "succeeded" || got["b"] != "errored" {
		t.Fatalf("results %v %v", err, got)
	}
	if d, err := client.Messages.Batches.Delete(ctx, b.ID, anthropic.MessageBatchDeleteParams{}); err != nil || d.ID != b.ID {
		t.Fatalf("delete %v %+v", err, d)
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// surfaceConfig fronts the mock upstream as an OpenAI, an Anthropic and a Cohere provider, with two keys that
// each have a budget (so their spend is visible in /api/usage).
func surfaceConfig(url, dataDir string) string {
	return `
server:
  data_dir: ` + dataDir + `
client:
  enforce_governance_header: true
providers:
  - { name: up, type: openai, base_url: ` + url + `/v1, keys: [{value: sk-one}], timeout: 10s }
  - { name: claude, type: anthropic, base_url: ` + url + `, keys: [{value: sk-ant}] }
  - { name: co, type: cohere, base_url: ` + url + `, keys: [{value: co-key}] }
  - { name: local, type: vllm, base_url: ` + url + `/v1, models: [mock-rerank] }
governance:
  virtual_keys:
    - { id: app, value: ` + vk(1) + `, budget: { max_usd: 100, reset: 1d } }
    - { id: other, value: ` + vk(2) + `, budget: { max_usd: 100, reset: 1d } }
`
}

// spent is a key's spend today, from the admin API.
func spent(t *testing.T, g *gateway, key string) float64 {
	t.Helper()
	u := usageOf(t, g, key, "")["key:"+key+" spend/1d"]
	if u == nil {
		t.Fatalf("no spend entry for key %s", key)
	}
	return u["spent_usd"].(float64)
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestSurfaceImagesModerationsRerank(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, surfaceConfig(url, t.TempDir()))
	c := client(g, option.WithAPIKey(vk(1)))
	ctx := context.Background()

	img, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "up/mock-image", Prompt: "a weir", N: param.NewOpt[int64](2),
		ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Data) != 2 {
		t.Fatalf("images: %d", len(img.Data))
	}
	if s := spent(t, g, "app"); !near(s, 0.02) { // two images at $0.01
		t.Fatalf("spend after two images: %v", s)
	}

	// Edits and variations are multipart uploads of the image.
	png := img.Data[0].B64JSON
	raw, err := base64.StdEncoding.DecodeString(png)
	if err != nil || len(raw) == 0 {
		t.Fatalf("image bytes: %v", err)
	}
	before := spent(t, g, "app")
	edit, err := c.Images.Edit(ctx, openai.ImageEditParams{Model: "up/mock-image", Prompt: "add a heron",
		Image: openai.ImageEditParamsImageUnion{OfFile: openai.File(bytes.NewReader(raw), "weir.png", "image/png")}})
	if err != nil || len(edit.Data) != 1 {
		t.Fatalf("edit: %v %v", edit, err)
	}
	//lint:ignore SA1019 the SDK marks variations deprecated; the endpoint is still OpenAI's and the gateway serves it
	variation, err := c.Images.NewVariation(ctx, openai.ImageNewVariationParams{Model: "up/mock-image", N: param.NewOpt[int64](2),
		Image: openai.File(bytes.NewReader(raw), "weir.png", "image/png")})
	if err != nil || len(variation.Data) != 2 {
		t.Fatalf("variation: %v %v", variation, err)
	}
	if s := spent(t, g, "app") - before; !near(s, 0.03) { // one edited and two varied images at $0.01
		t.Fatalf("spend of an edit and two variations: %v", s)
	}
	before = spent(t, g, "app")

	mod, err := c.Moderations.New(ctx, openai.ModerationNewParams{Model: "up/omni-moderation-latest",
		Input: openai.ModerationNewParamsInputUnion{OfString: param.NewOpt("I will kill the process")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(mod.Results) != 1 || !mod.Results[0].Flagged {
		t.Fatalf("moderation: %+v", mod.Results)
	}

	code, _, body := post(t, g.URL+"/v1/rerank", `{"model":"co/mock-rerank","query":"weir","documents":["a dam","a river","a weir"],"top_n":2}`,
		"Authorization", "Bearer "+vk(1))
	if code != 200 || !strings.Contains(body, `"relevance_score"`) {
		t.Fatalf("rerank: %d %s", code, body)
	}
	if s := spent(t, g, "app") - before; !near(s, 0.001) { // one query at $0.001
		t.Fatalf("spend after rerank: %v", s)
	}
	if code, _, body := post(t, g.URL+"/v1/audio/speech", `{"model":"co/mock-rerank","input":"x","voice":"alloy"}`,
		"Authorization", "Bearer "+vk(1)); code != 400 || !strings.Contains(body, "audio/speech") {
		t.Fatalf("speech on cohere: %d %s", code, body)
	}

	// An OpenAI-compatible rerank server (vLLM's /v1/rerank), through the Cohere-shaped route.
	code, _, body = post(t, g.URL+"/v2/rerank", `{"model":"local/mock-rerank","query":"weir","documents":["a dam","a weir"]}`,
		"Authorization", "Bearer "+vk(1))
	if code != 200 || !strings.Contains(body, `"relevance_score"`) {
		t.Fatalf("rerank on vllm: %d %s", code, body)
	}
	if m, err := c.Models.Get(ctx, "local/mock-rerank"); err != nil || m.ID != "local/mock-rerank" {
		t.Fatalf("GET /v1/models/{id}: %v %v", m, err)
	}
	if _, err := c.Models.Get(ctx, "nobody/nothing"); err == nil {
		t.Fatal("an unknown model was found")
	} else if code, _ := apiStatus(t, err); code != 404 {
		t.Fatalf("unknown model: %v", err)
	}

	// A target without the endpoint: 400 in OpenAI's format, naming the provider and the endpoint.
	_, err = c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "claude/mock-model", Prompt: "x"})
	if code, e := apiStatus(t, err); code != 400 || !strings.Contains(e.Message, "claude") || !strings.Contains(e.Message, "images/generations") {
		t.Fatalf("images on anthropic: %d %v", code, err)
	}
	// No virtual key: 401 on every new route.
	for _, path := range []string{"/v1/images/generations", "/v1/audio/speech", "/v1/moderations", "/v1/rerank", "/v1/files", "/v1/batches"} {
		if code, _, body := post(t, g.URL+path, `{"model":"up/mock-model","input":"x"}`); code != 401 || !strings.Contains(body, `"error"`) {
			t.Errorf("%s without a key: %d %s", path, code, body)
		}
	}
}

func TestSurfaceSpeechStreamsAndTranscription(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{ChunkDelay: 40 * time.Millisecond})
	g := startGateway(t, surfaceConfig(url, t.TempDir()))
	c := client(g, option.WithAPIKey(vk(1)))
	ctx := context.Background()

	input := strings.Repeat("a weir holds back the overflow. ", 10)
	start := time.Now()
	resp, err := c.Audio.Speech.New(ctx, openai.AudioSpeechNewParams{Model: "up/mock-tts", Input: input,
		Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: param.NewOpt("alloy")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var first, last time.Duration
	total := 0
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if total == 0 {
				first = time.Since(start)
			}
			total += n
			last = time.Since(start)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The mock pauses 40 ms between chunks: relayed as they come, the first bytes arrive long before the last.
	if total == 0 || last-first < 100*time.Millisecond {
		t.Fatalf("speech: %d bytes, first at %v, last at %v: not streamed", total, first, last)
	}
	if s := spent(t, g, "app"); !near(s, float64(len(input))*0.00001) {
		t.Fatalf("spend after speech of %d characters: %v", len(input), s)
	}

	before := spent(t, g, "app")
	tr, err := c.Audio.Transcriptions.New(ctx, openai.AudioTranscriptionNewParams{Model: "up/mock-whisper",
		File: openai.File(bytes.NewReader(wav(2*time.Second)), "hello.wav", "audio/wav")})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text == "" {
		t.Fatal("empty transcription")
	}
	if s := spent(t, g, "app") - before; !near(s, 0.0002) { // two seconds at $0.0001
		t.Fatalf("spend of a two-second transcription: %v", s)
	}
	// Asked as plain text or subtitles, a transcription is still charged for its seconds.
	for _, format := range []string{"text", "srt"} {
		before := spent(t, g, "app")
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("model", "up/mock-whisper")
		_ = mw.WriteField("response_format", format)
		fw, _ := mw.CreateFormFile("file", "hello.wav")
		_, _ = fw.Write(wav(3 * time.Second))
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/v1/audio/transcriptions", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+vk(1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.HasPrefix(string(out), "{") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/") {
			t.Fatalf("%s transcription: %d %s %q", format, resp.StatusCode, resp.Header.Get("Content-Type"), out)
		}
		if s := spent(t, g, "app") - before; !near(s, 0.0003) {
			t.Fatalf("spend of a three-second %s transcription: %v (%q)", format, s, out)
		}
	}
}

// wav is d of 16 kHz mono 16-bit silence as a WAV file.
func wav(d time.Duration) []byte {
	const rate = 16000
	n := int(d.Seconds() * rate)
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))
	w(uint16(1))
	w(uint32(rate))
	w(uint32(rate * 2))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	b.Write(make([]byte, 2*n))
	return b.Bytes()
}

func TestSurfaceFilesAndBatches(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, surfaceConfig(url, t.TempDir()))
	app := client(g, option.WithAPIKey(vk(1)))
	other := client(g, option.WithAPIKey(vk(2)))
	ctx := context.Background()

	lines := `{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"mock-model","messages":[{"role":"user","content":"hi"}]}}
{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"model":"mock-model","messages":[{"role":"user","content":"ho"}]}}
`
	f, err := app.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(lines), "batch.jsonl", "application/jsonl"),
		Purpose: openai.FilePurposeBatch})
	if err != nil {
		t.Fatal(err)
	}
	// Files are the creating key's own.
	if page, err := other.Files.List(ctx, openai.FileListParams{}); err != nil || len(page.Data) != 0 {
		t.Fatalf("another key lists: %v %v", page, err)
	}
	if _, err := other.Files.Get(ctx, f.ID); err == nil {
		t.Fatal("another key reads the file")
	} else if code, _ := apiStatus(t, err); code != 404 {
		t.Fatalf("another key reads the file: %v", err)
	}
	if page, err := app.Files.List(ctx, openai.FileListParams{}); err != nil || len(page.Data) != 1 || page.Data[0].ID != f.ID {
		t.Fatalf("own list: %v %v", page, err)
	}
	if _, err := other.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h}); err == nil {
		t.Fatal("another key made a batch of the file")
	}

	before := spent(t, g, "app")
	b, err := app.Batches.New(ctx, openai.BatchNewParams{InputFileID: f.ID, Endpoint: openai.BatchNewParamsEndpointV1ChatCompletions,
		CompletionWindow: openai.BatchNewParamsCompletionWindow24h})
	if err != nil {
		t.Fatal(err)
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
	if _, err := other.Batches.Get(ctx, b.ID); err == nil {
		t.Fatal("another key reads the batch")
	}
	content, err := app.Files.Content(ctx, b.OutputFileID)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(content.Body)
	content.Body.Close()
	if n := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; n != 2 || !strings.Contains(string(out), `"custom_id":"a"`) {
		t.Fatalf("results: %s", out)
	}
	// The batch's usage is charged to the key that made it, at half price, once.
	var charged float64
	waitUntil(t, "batch charged", func() bool { charged = spent(t, g, "app") - before; return charged > 0 })
	if _, err := app.Batches.Get(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if again := spent(t, g, "app") - before; !near(again, charged) {
		t.Fatalf("charged twice: %v then %v", charged, again)
	}
	if s := spent(t, g, "other"); s != 0 {
		t.Fatalf("the other key was charged: %v", s)
	}
	t.Logf("batch of 2 requests charged $%.8f", charged)

	// Deleting forgets the file.
	if _, err := app.Files.Delete(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Files.Get(ctx, f.ID); err == nil {
		t.Fatal("deleted file still readable")
	}
}

func TestSurfaceAnthropicMessageBatches(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, surfaceConfig(url, t.TempDir()))
	ctx := context.Background()
	for _, base := range []string{g.URL, g.URL + "/anthropic"} {
		c := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey(vk(1)), aoption.WithMaxRetries(0))
		other := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey(vk(2)), aoption.WithMaxRetries(0))
		req := func(id string) anthropic.MessageBatchNewParamsRequest {
			return anthropic.MessageBatchNewParamsRequest{CustomID: id, Params: anthropic.MessageBatchNewParamsRequestParams{
				Model: "claude/mock-model", MaxTokens: 16, Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}}}
		}
		before := spent(t, g, "app")
		b, err := c.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{req("a"), req("b"), req("c")}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); err == nil {
			t.Fatal("another key reads the message batch")
		}
		for b.ProcessingStatus != anthropic.MessageBatchProcessingStatusEnded {
			if b, err = c.Messages.Batches.Get(ctx, b.ID, anthropic.MessageBatchGetParams{}); err != nil {
				t.Fatal(err)
			}
		}
		stream := c.Messages.Batches.ResultsStreaming(ctx, b.ID, anthropic.MessageBatchResultsParams{})
		n := 0
		for stream.Next() {
			if stream.Current().Result.Type != "succeeded" {
				t.Fatalf("result: %+v", stream.Current())
			}
			n++
		}
		if err := stream.Err(); err != nil || n != 3 {
			t.Fatalf("%d results, %v", n, err)
		}
		// Three requests of 10 input and 5 output tokens, at half mock-model's price ($1/M in, $2/M out).
		want := 3 * (10*1e-6 + 5*2e-6) / 2
		waitUntil(t, "message batch charged", func() bool { return near(spent(t, g, "app")-before, want) })
		page, err := other.Messages.Batches.List(ctx, anthropic.MessageBatchListParams{})
		if err != nil || len(page.Data) != 0 {
			t.Fatalf("another key lists %v %v", page, err)
		}
		// A provider without message batches: 400 in Anthropic's format, naming the provider and the endpoint.
		bad := req("x")
		bad.Params.Model = "up/mock-model"
		_, err = c.Messages.Batches.New(ctx, anthropic.MessageBatchNewParams{Requests: []anthropic.MessageBatchNewParamsRequest{bad}})
		var ae *anthropic.Error
		if !errors.As(err, &ae) || ae.StatusCode != 400 || !strings.Contains(ae.RawJSON(), `"type":"error"`) ||
			!strings.Contains(ae.RawJSON(), "provider up") || !strings.Contains(ae.RawJSON(), "messages/batches") {
			t.Fatalf("message batch on an OpenAI provider: %v", err)
		}
	}
}

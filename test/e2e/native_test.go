package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/tidwall/gjson"
	"google.golang.org/genai"

	"github.com/weir-gateway/weir/internal/meter"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/test/mockupstream"
)

// The provider-native routes: /gemini/{version}/models/{model}:{method} for Google's SDKs, /bedrock/model/{id}/
// {action} for Bedrock's runtime API, and /anthropic/v1/messages for Anthropic's SDK. Callers present a virtual
// key; Weir authenticates upstream with its own credentials and charges the usage read from the native answer.

const (
	nativeUpstreamKey = "upstream-secret" // the mock's API key: Weir's key for Gemini and Anthropic
	nativeGemini      = "gemini-2.0-flash"
	nativeBedrock     = "anthropic.claude-3-5-sonnet-20241022-v2:0"
	nativeClaude      = "claude-sonnet-4-5-20250929"
)

// nativeUpstream is a mock upstream that checks Weir's API key (Gemini, Anthropic) and SigV4 signature
// (Bedrock). chunks > 0 sets the stream length, and so the completion tokens every answer reports (2 × chunks).
func nativeUpstream(t *testing.T, chunks int) (*mockupstream.Server, string) {
	return startUpstream(t, mockupstream.Options{APIKey: nativeUpstreamKey, Chunks: chunks,
		AWSAccessKeyID: awsKeyID, AWSSecretKey: awsSecret, AWSRegion: "us-east-1"})
}

// nativeGovConfig runs one provider of each native type against the mock, with governance enforced and the
// given virtual keys (a YAML list body).
func nativeGovConfig(t *testing.T, upURL, keys string) string {
	return fmt.Sprintf(`
server:
  data_dir: %[1]s
providers:
  - {name: gemini, type: gemini, base_url: %[2]s/v1beta, keys: [{value: %[3]s}], models: [%[4]s]}
  - {name: bedrock, type: bedrock, base_url: %[2]s, region: us-east-1, access_key_id: %[5]s, secret_access_key: %[6]s, models: ["%[7]s"]}
  - {name: claude, type: anthropic, base_url: %[2]s, keys: [{value: %[3]s}]}
routing:
  retries: {max: 0}
client:
  enforce_governance_header: true
governance:
  virtual_keys:
%[8]s`, t.TempDir(), upURL, nativeUpstreamKey, nativeGemini, awsKeyID, awsSecret, nativeBedrock, keys)
}

// nativeGenAI is the Google GenAI SDK pointed at Weir's /gemini routes with apiKey (sent as x-goog-api-key).
func nativeGenAI(t *testing.T, g *gateway, apiKey string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{APIKey: apiKey, Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: g.URL + "/gemini"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nativePrice returns a model's per-token rates from the admin pricing API.
func nativePrice(t *testing.T, g *gateway, model string) (in, out float64) {
	t.Helper()
	code, m := adminCall(t, g, "GET", "/api/pricing?model="+url.QueryEscape(model), "", "")
	if code != 200 {
		t.Fatalf("pricing %s: %d %v", model, code, m)
	}
	in, _ = m["input_cost_per_token"].(float64)
	out, _ = m["output_cost_per_token"].(float64)
	if in <= 0 || out <= 0 {
		t.Fatalf("pricing %s: %v", model, m)
	}
	return in, out
}

// nativeSpent is a key's spend in its 1d budget window.
func nativeSpent(t *testing.T, g *gateway, key string) float64 {
	t.Helper()
	u := usageOf(t, g, key, "")["key:"+key+" spend/1d"]
	if u == nil {
		t.Fatalf("key %s has no spend counter", key)
	}
	return u["spent_usd"].(float64)
}

// nativeWaitSpent waits until a key's spend is want, to a few nano-dollars (far under one token's price). The
// charge is settled after the answer's last byte, so it may trail the caller by a moment.
func nativeWaitSpent(t *testing.T, g *gateway, key string, want float64) {
	t.Helper()
	var got float64
	for range 500 {
		if got = nativeSpent(t, g, key); math.Abs(got-want) < 5e-9 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("key %s spent $%.9f, want $%.9f", key, got, want)
}

// nativeNoCallerCredential fails if a caller's virtual key reached the upstream.
func nativeNoCallerCredential(t *testing.T, r mockupstream.Recorded) {
	t.Helper()
	if strings.Contains(r.RawQuery, "wk-") {
		t.Errorf("virtual key in the upstream query %q", r.RawQuery)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, "wk-") {
				t.Errorf("virtual key forwarded upstream in %s", k)
			}
		}
	}
}

// TestNativeGeminiGenAISDK drives /gemini with Google's GenAI SDK: generateContent and streamGenerateContent,
// with a bare model (the one provider listing it) and a provider/model name. The answer is Gemini's own, Weir
// authenticates upstream with its key, and the key is charged exactly the usage in the native answer, the
// stream's included.
func TestNativeGeminiGenAISDK(t *testing.T) {
	up, upURL := nativeUpstream(t, 0)
	g := startGateway(t, nativeGovConfig(t, upURL, `    - {id: native, value: `+vk(41)+`, budget: {max_usd: 100, reset: 1d}}`))
	ctx := context.Background()
	c := nativeGenAI(t, g, vk(41))
	inRate, outRate := nativePrice(t, g, "gemini/"+nativeGemini)
	charged := 0.0

	var whole string
	for _, model := range []string{nativeGemini, "gemini/" + nativeGemini} {
		t.Run("generate "+model, func(t *testing.T) {
			resp, err := c.Models.GenerateContent(ctx, model, genai.Text("hello"), nil)
			if err != nil {
				t.Fatal(err)
			}
			whole = resp.Text()
			u := resp.UsageMetadata
			if !strings.HasPrefix(whole, "Lorem ipsum") || u == nil || u.PromptTokenCount == 0 || u.CandidatesTokenCount == 0 {
				t.Fatalf("answer %q usage %+v", whole, u)
			}
			if resp.SDKHTTPResponse == nil || resp.SDKHTTPResponse.Headers.Get("X-Weir-Provider") != "gemini" {
				t.Errorf("response headers %v", resp.SDKHTTPResponse)
			}
			charged += float64(u.PromptTokenCount)*inRate + float64(u.CandidatesTokenCount)*outRate
			nativeWaitSpent(t, g, "native", charged)
			last := up.LastRequest()
			if last.Path != "/v1beta/models/"+nativeGemini+":generateContent" || last.Header.Get("X-Goog-Api-Key") != nativeUpstreamKey {
				t.Errorf("upstream saw %s with key %q", last.Path, last.Header.Get("X-Goog-Api-Key"))
			}
			nativeNoCallerCredential(t, last)
		})
	}

	t.Run("stream", func(t *testing.T) {
		var text strings.Builder
		var usage *genai.GenerateContentResponseUsageMetadata
		chunks := 0
		for resp, err := range c.Models.GenerateContentStream(ctx, nativeGemini, genai.Text("stream please"), nil) {
			if err != nil {
				t.Fatal(err)
			}
			chunks++
			text.WriteString(resp.Text())
			if resp.UsageMetadata != nil && resp.UsageMetadata.TotalTokenCount > 0 {
				usage = resp.UsageMetadata
			}
		}
		if chunks < 3 || text.String() != whole || usage == nil || usage.CandidatesTokenCount == 0 {
			t.Fatalf("%d chunks, text %q (whole %q), usage %+v", chunks, text.String(), whole, usage)
		}
		charged += float64(usage.PromptTokenCount)*inRate + float64(usage.CandidatesTokenCount)*outRate
		nativeWaitSpent(t, g, "native", charged)
		last := up.LastRequest()
		if last.Path != "/v1beta/models/"+nativeGemini+":streamGenerateContent" || last.RawQuery != "alt=sse" ||
			last.Header.Get("X-Goog-Api-Key") != nativeUpstreamKey {
			t.Errorf("upstream saw %s?%s with key %q", last.Path, last.RawQuery, last.Header.Get("X-Goog-Api-Key"))
		}
		nativeNoCallerCredential(t, last)
	})

	// The request log has them, priced.
	waitUntil(t, "three logged /gemini requests", func() bool {
		_, m := adminCall(t, g, "GET", "/api/logs?key=native", "", "")
		n := 0
		for _, r := range nativeList(m["data"]) {
			if strings.Contains(r["route"].(string), "/gemini/") && r["status"] == 200.0 && r["cost_usd"].(float64) > 0 &&
				r["provider"] == "gemini" && r["model"] == nativeGemini {
				n++
			}
		}
		return n == 3
	})
}

// TestNativeAnthropicSDK drives /anthropic/v1/messages with Anthropic's SDK and a virtual key: a message and a
// stream, each charged.
func TestNativeAnthropicSDK(t *testing.T) {
	up, upURL := nativeUpstream(t, 0)
	g := startGateway(t, nativeGovConfig(t, upURL, `    - {id: native, value: `+vk(42)+`, budget: {max_usd: 100, reset: 1d}}`))
	ctx := context.Background()
	c := anthropic.NewClient(aoption.WithBaseURL(g.URL+"/anthropic"), aoption.WithAPIKey(vk(42)), aoption.WithMaxRetries(0))
	model := anthropic.Model("claude/" + nativeClaude)
	inRate, outRate := nativePrice(t, g, "claude/"+nativeClaude)

	msg, err := c.Messages.New(ctx, anthropic.MessageNewParams{Model: model, MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) == 0 || !strings.HasPrefix(msg.Content[0].Text, "Lorem ipsum") || msg.Usage.OutputTokens == 0 {
		t.Fatalf("message %+v", msg)
	}
	charged := float64(msg.Usage.InputTokens)*inRate + float64(msg.Usage.OutputTokens)*outRate
	nativeWaitSpent(t, g, "native", charged)
	last := up.LastRequest()
	if last.Path != "/v1/messages" || last.Header.Get("X-Api-Key") != nativeUpstreamKey {
		t.Errorf("upstream saw %s with key %q", last.Path, last.Header.Get("X-Api-Key"))
	}
	nativeNoCallerCredential(t, last)

	stream := c.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: model, MaxTokens: 256,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("stream"))}})
	acc := anthropic.Message{}
	for stream.Next() {
		if err := acc.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Content) == 0 || acc.Content[0].Text != msg.Content[0].Text || acc.Usage.OutputTokens == 0 {
		t.Fatalf("stream accumulated %+v", acc)
	}
	charged += float64(acc.Usage.InputTokens)*inRate + float64(acc.Usage.OutputTokens)*outRate
	nativeWaitSpent(t, g, "native", charged)
}

// nativeConverseBody is a Converse request.
const nativeConverseBody = `{"messages":[{"role":"user","content":[{"text":"hello"}]}],"inferenceConfig":{"maxTokens":256}}`

// nativeEventStream decodes a ConverseStream answer: its event types, text and usage.
func nativeEventStream(t *testing.T, b []byte) (types []string, text string, in, out int64) {
	t.Helper()
	dec := eventstream.NewDecoder()
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		m, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		typ := m.Headers.Get(":event-type").String()
		types = append(types, typ)
		switch typ {
		case "contentBlockDelta":
			text += gjson.GetBytes(m.Payload, "delta.text").Str
		case "metadata":
			in, out = gjson.GetBytes(m.Payload, "usage.inputTokens").Int(), gjson.GetBytes(m.Payload, "usage.outputTokens").Int()
		}
	}
	return types, text, in, out
}

// TestNativeBedrockConverse calls /bedrock/model/{id}/converse and /converse-stream as an HTTP client holding a
// virtual key would. The mock upstream checks the SigV4 signature Weir makes with its own AWS credentials; the
// key is charged the usage of the native answer, the event stream's included.
func TestNativeBedrockConverse(t *testing.T) {
	up, upURL := nativeUpstream(t, 0)
	g := startGateway(t, nativeGovConfig(t, upURL, `    - {id: native, value: `+vk(43)+`, budget: {max_usd: 100, reset: 1d}}`))
	inRate, outRate := nativePrice(t, g, "bedrock/"+nativeBedrock)
	charged := 0.0
	auth := "Bearer " + vk(43)

	// The model as an AWS SDK escapes it, as it is, and as provider/model.
	for _, model := range []string{url.PathEscape(nativeBedrock), strings.ReplaceAll(nativeBedrock, ":", "%3A"),
		url.PathEscape("bedrock/" + nativeBedrock)} {
		t.Run("converse "+model, func(t *testing.T) {
			status, h, body := post(t, g.URL+"/bedrock/model/"+model+"/converse", nativeConverseBody, "Authorization", auth)
			if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s", status, body)
			}
			text := gjson.Get(body, "output.message.content.0.text").Str
			in, out := gjson.Get(body, "usage.inputTokens").Int(), gjson.Get(body, "usage.outputTokens").Int()
			if !strings.HasPrefix(text, "Lorem ipsum") || in == 0 || out == 0 || h.Get("X-Weir-Provider") != "bedrock" {
				t.Fatalf("answer %s headers %v", body, h)
			}
			charged += float64(in)*inRate + float64(out)*outRate
			nativeWaitSpent(t, g, "native", charged)
			last := up.LastRequest()
			if last.Path != "/model/"+nativeBedrock+"/converse" || !strings.HasPrefix(last.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential="+awsKeyID+"/") {
				t.Errorf("upstream saw %s with Authorization %q", last.Path, last.Header.Get("Authorization"))
			}
			nativeNoCallerCredential(t, last)
		})
	}

	t.Run("converse-stream", func(t *testing.T) {
		status, h, body := post(t, g.URL+"/bedrock/model/"+url.PathEscape(nativeBedrock)+"/converse-stream", nativeConverseBody,
			"Authorization", auth)
		if status != 200 || h.Get("Content-Type") != "application/vnd.amazon.eventstream" {
			t.Fatalf("%d %s %q", status, h.Get("Content-Type"), body)
		}
		types, text, in, out := nativeEventStream(t, []byte(body))
		seq := strings.Join(types, ",")
		if !strings.HasPrefix(seq, "messageStart,") || !strings.HasSuffix(seq, "messageStop,metadata") ||
			!strings.HasPrefix(text, "Lorem ipsum") || in == 0 || out == 0 {
			t.Fatalf("events %s, text %q, usage %d/%d", seq, text, in, out)
		}
		charged += float64(in)*inRate + float64(out)*outRate
		nativeWaitSpent(t, g, "native", charged)
		last := up.LastRequest()
		if last.Path != "/model/"+nativeBedrock+"/converse-stream" || last.Header.Get("Accept") != "application/vnd.amazon.eventstream" {
			t.Errorf("upstream saw %s with Accept %q", last.Path, last.Header.Get("Accept"))
		}
		nativeNoCallerCredential(t, last)
	})

	// InvokeModel with the model's own (Anthropic) body: usage is the model's input_tokens/output_tokens.
	t.Run("invoke", func(t *testing.T) {
		status, _, body := post(t, g.URL+"/bedrock/model/"+url.PathEscape(nativeBedrock)+"/invoke",
			`{"anthropic_version":"bedrock-2023-05-31","max_tokens":256,"messages":[{"role":"user","content":"hello"}]}`,
			"Authorization", auth)
		in, out := gjson.Get(body, "usage.input_tokens").Int(), gjson.Get(body, "usage.output_tokens").Int()
		if status != 200 || in == 0 || out == 0 {
			t.Fatalf("%d %s", status, body)
		}
		charged += float64(in)*inRate + float64(out)*outRate
		nativeWaitSpent(t, g, "native", charged)
	})
}

// TestNativeGovernanceRefusals: on /gemini and /bedrock, a request without a virtual key (or with an unknown one)
// is refused with 401 while governance is enforced, a key over its rpm gets 429, and a key over its budget gets
// 429 — in each dialect's error format, and without reaching the upstream.
func TestNativeGovernanceRefusals(t *testing.T) {
	// 1000 chunks: every answer reports 2000 completion tokens, so a budget is crossed by a few charges.
	up, upURL := nativeUpstream(t, 1000)
	g := startGateway(t, nativeGovConfig(t, upURL, `    - {id: gem-budget, value: `+vk(44)+`, budget: {max_usd: 0.0015, reset: 1d}}
    - {id: aws-budget, value: `+vk(45)+`, budget: {max_usd: 0.02, reset: 1d}}
    - {id: paced, value: `+vk(46)+`, rate_limits: {rpm: 2}}`))
	ctx := context.Background()
	geminiURL := g.URL + "/gemini/v1beta/models/" + nativeGemini + ":generateContent"
	geminiBody := `{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}`
	bedrockURL := g.URL + "/bedrock/model/" + url.PathEscape(nativeBedrock) + "/converse"
	genaiErr := func(t *testing.T, err error, code int, status string) genai.APIError {
		t.Helper()
		var e genai.APIError
		if !errors.As(err, &e) || e.Code != code || e.Status != status {
			t.Fatalf("want a %d %s, got %v", code, status, err)
		}
		return e
	}
	bedrockErr := func(t *testing.T, status int, h http.Header, body string, want int, typ string) {
		t.Helper()
		if status != want || h.Get("X-Amzn-Errortype") != typ || !gjson.Get(body, "message").Exists() {
			t.Fatalf("want a %d %s, got %d %s %s", want, typ, status, h.Get("X-Amzn-Errortype"), body)
		}
	}

	t.Run("no virtual key", func(t *testing.T) {
		before := up.Stats().Received
		// The SDK must send some key: a Google-style one is not taken for a virtual key.
		_, err := nativeGenAI(t, g, "AIza-not-a-virtual-key").Models.GenerateContent(ctx, nativeGemini, genai.Text("hi"), nil)
		genaiErr(t, err, 401, "UNAUTHENTICATED")
		_, err = nativeGenAI(t, g, vk(99)).Models.GenerateContent(ctx, nativeGemini, genai.Text("hi"), nil)
		genaiErr(t, err, 401, "UNAUTHENTICATED")
		if status, _, body := post(t, geminiURL, geminiBody); status != 401 || gjson.Get(body, "error.status").Str != "UNAUTHENTICATED" {
			t.Fatalf("/gemini without a key: %d %s", status, body)
		}
		for _, hdr := range [][]string{nil, {"Authorization", "Bearer " + vk(99)}, {"Authorization", "AWS4-HMAC-SHA256 Credential=x"}} {
			status, h, body := post(t, bedrockURL, nativeConverseBody, hdr...)
			bedrockErr(t, status, h, body, 401, "UnrecognizedClientException")
		}
		status, h, body := post(t, g.URL+"/bedrock/model/"+url.PathEscape(nativeBedrock)+"/converse-stream", nativeConverseBody)
		bedrockErr(t, status, h, body, 401, "UnrecognizedClientException")
		if got := up.Stats().Received; got != before {
			t.Fatalf("refused requests reached the upstream (%d)", got-before)
		}
	})

	t.Run("rpm", func(t *testing.T) {
		status, h, body := post(t, geminiURL, geminiBody, "X-Goog-Api-Key", vk(46))
		if status != 200 || h.Get("x-ratelimit-limit-requests") != "2" || h.Get("x-ratelimit-remaining-requests") != "1" {
			t.Fatalf("/gemini: %d %v %s", status, h, body)
		}
		status, h, body = post(t, bedrockURL, nativeConverseBody, "Authorization", "Bearer "+vk(46))
		if status != 200 || h.Get("x-ratelimit-remaining-requests") != "0" {
			t.Fatalf("/bedrock: %d %v %s", status, h, body)
		}
		before := up.Stats().Received
		status, h, body = post(t, geminiURL, geminiBody, "X-Goog-Api-Key", vk(46))
		if status != 429 || gjson.Get(body, "error.status").Str != "RESOURCE_EXHAUSTED" || !strings.Contains(body, "rpm 2") || h.Get("Retry-After") == "" {
			t.Fatalf("/gemini over rpm: %d %v %s", status, h, body)
		}
		status, h, body = post(t, bedrockURL, nativeConverseBody, "Authorization", "Bearer "+vk(46))
		bedrockErr(t, status, h, body, 429, "ThrottlingException")
		if !strings.Contains(body, "rpm 2") {
			t.Fatalf("/bedrock over rpm: %s", body)
		}
		if got := up.Stats().Received; got != before {
			t.Fatalf("refused requests reached the upstream (%d)", got-before)
		}
	})

	// Each key is pushed past its budget by charges on one route (the GenAI SDK's stream for /gemini,
	// converse-stream for /bedrock), then refused on both.
	t.Run("budget", func(t *testing.T) {
		gem := nativeGenAI(t, g, vk(44))
		geminiStream := func() error {
			for _, err := range gem.Models.GenerateContentStream(ctx, nativeGemini, genai.Text("hello"), nil) {
				if err != nil {
					return err
				}
			}
			return nil
		}
		bedrockStreamCall := func(key string) (int, http.Header, string) {
			return post(t, g.URL+"/bedrock/model/"+url.PathEscape(nativeBedrock)+"/converse-stream", nativeConverseBody,
				"Authorization", "Bearer "+key)
		}

		ok := 0
		var err error
		for ; ok < 10; ok++ {
			if err = geminiStream(); err != nil {
				break
			}
			waitUntil(t, "the stream's charge", func() bool { return nativeSpent(t, g, "gem-budget") > float64(ok)*0.0008 })
		}
		e := genaiErr(t, err, 429, "RESOURCE_EXHAUSTED")
		if ok == 0 || !strings.Contains(e.Message, "budget $0.0015/1d") || nativeSpent(t, g, "gem-budget") <= 0.0015 {
			t.Fatalf("after %d streams (spend $%v): %v", ok, nativeSpent(t, g, "gem-budget"), e)
		}
		status, _, body := post(t, geminiURL, geminiBody, "X-Goog-Api-Key", vk(44))
		if status != 429 || gjson.Get(body, "error.status").Str != "RESOURCE_EXHAUSTED" || !strings.Contains(body, "budget") {
			t.Fatalf("/gemini over budget: %d %s", status, body)
		}
		status, h, body := bedrockStreamCall(vk(44))
		bedrockErr(t, status, h, body, 429, "ThrottlingException")

		status, _, body = bedrockStreamCall(vk(45))
		if status != 200 {
			t.Fatalf("first converse-stream: %d %s", status, body)
		}
		waitUntil(t, "the event stream's charge", func() bool { return nativeSpent(t, g, "aws-budget") > 0.02 })
		before := up.Stats().Received
		status, h, body = bedrockStreamCall(vk(45))
		bedrockErr(t, status, h, body, 429, "ThrottlingException")
		if !strings.Contains(body, "budget $0.02/1d") {
			t.Fatalf("/bedrock over budget: %s", body)
		}
		status, h, body = post(t, bedrockURL, nativeConverseBody, "Authorization", "Bearer "+vk(45))
		bedrockErr(t, status, h, body, 429, "ThrottlingException")
		_, err = nativeGenAI(t, g, vk(45)).Models.GenerateContent(ctx, nativeGemini, genai.Text("hi"), nil)
		genaiErr(t, err, 429, "RESOURCE_EXHAUSTED")
		if got := up.Stats().Received; got != before {
			t.Fatalf("refused requests reached the upstream (%d)", got-before)
		}
	})
}

func nativeList(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// TestNativeMeters checks the meters of the native routes on answers the mock upstream does not produce: cache
// counts, and the invocation metrics Bedrock adds to the last chunk of InvokeModelWithResponseStream. (A unit
// test of internal/meter kept here with the native e2e tests.)
func TestNativeMeters(t *testing.T) {
	frame := func(t *testing.T, eventType string, payload string) []byte {
		var m eventstream.Message
		m.Headers.Set(":event-type", eventstream.StringValue(eventType))
		m.Headers.Set(":message-type", eventstream.StringValue("event"))
		m.Payload = []byte(payload)
		var b bytes.Buffer
		if err := eventstream.NewEncoder().Encode(&b, m); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	chunk := func(t *testing.T, event string) []byte {
		return frame(t, "chunk", `{"bytes":"`+base64.StdEncoding.EncodeToString([]byte(event))+`"}`)
	}
	stream := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	for _, tc := range []struct {
		name   string
		answer []byte
		want   schema.Usage
	}{
		{"converse", []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"\"usage\": 1"}]}},"stopReason":"end_turn",` +
			`"usage":{"inputTokens":10,"outputTokens":5,"totalTokens":15},"metrics":{"latencyMs":1}}`),
			schema.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}},
		{"converse with cache", []byte(`{"usage":{"inputTokens":10,"outputTokens":5,"cacheReadInputTokens":100,"cacheWriteInputTokens":20,"totalTokens":135}}`),
			schema.Usage{PromptTokens: 130, CompletionTokens: 5, TotalTokens: 135, CachedTokens: 100}},
		{"invoke anthropic with cache", []byte(`{"type":"message","content":[],"usage":{"input_tokens":3,"cache_read_input_tokens":40,"cache_creation_input_tokens":7,"output_tokens":9}}`),
			schema.Usage{PromptTokens: 50, CompletionTokens: 9, TotalTokens: 59, CachedTokens: 40}},
		{"invoke nova with cache", []byte(`{"output":{},"usage":{"inputTokens":4,"outputTokens":6,"totalTokens":10,"cacheReadInputTokenCount":12,"cacheWriteInputTokenCount":0}}`),
			schema.Usage{PromptTokens: 16, CompletionTokens: 6, TotalTokens: 22, CachedTokens: 12}},
		{"converse-stream", stream(frame(t, "messageStart", `{"role":"assistant"}`),
			frame(t, "contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"hi"}}`), frame(t, "messageStop", `{"stopReason":"end_turn"}`),
			frame(t, "metadata", `{"usage":{"inputTokens":11,"outputTokens":2,"cacheReadInputTokens":5,"totalTokens":18},"metrics":{"latencyMs":3}}`)),
			schema.Usage{PromptTokens: 16, CompletionTokens: 2, TotalTokens: 18, CachedTokens: 5}},
		{"invoke-with-response-stream", stream(
			chunk(t, `{"type":"message_start","message":{"usage":{"input_tokens":11,"output_tokens":1}}}`),
			chunk(t, `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}`),
			chunk(t, `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}`),
			chunk(t, `{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":11,"outputTokenCount":2,"invocationLatency":5,"firstByteLatency":3,"cacheReadInputTokenCount":30,"cacheWriteInputTokenCount":4}}`)),
			schema.Usage{PromptTokens: 45, CompletionTokens: 2, TotalTokens: 47, CachedTokens: 30}},
	} {
		if got := meter.Bedrock(nil, tc.answer); got != tc.want {
			t.Errorf("bedrock %s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name, answer string
		want         schema.Usage
	}{
		{"generateContent", `{"candidates":[{"content":{"parts":[{"text":"x"}]}}],"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":4,"totalTokenCount":12}}`,
			schema.Usage{PromptTokens: 8, CompletionTokens: 4, TotalTokens: 12}},
		{"thinking and cache", `{"usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":4,"thoughtsTokenCount":6,"cachedContentTokenCount":60}}`,
			schema.Usage{PromptTokens: 100, CompletionTokens: 10, TotalTokens: 110, CachedTokens: 60, ReasoningTokens: 6}},
		{"sse tail", "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":1}}\r\n\r\n" +
			"data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":5,\"totalTokenCount\":13}}\r\n\r\n",
			schema.Usage{PromptTokens: 8, CompletionTokens: 5, TotalTokens: 13}},
		{"json array stream", `[{"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":1}},{"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":7}}]`,
			schema.Usage{PromptTokens: 8, CompletionTokens: 7, TotalTokens: 15}},
	} {
		if got := meter.Gemini(nil, []byte(tc.answer)); got != tc.want {
			t.Errorf("gemini %s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestNativeGeminiPathStaysOnModel: segments a caller escapes into the /gemini route ("%2F..", "%3F") cannot
// point Weir's API key at another resource of the upstream API (files, cached contents, tuned models): the route
// refuses them with 400 in Google's format, without sending them (and the providers refuse them too).
func TestNativeGeminiPathStaysOnModel(t *testing.T) {
	up, upURL := nativeUpstream(t, 0)
	g := startGateway(t, nativeGovConfig(t, upURL, `    - {id: native, value: `+vk(47)+`}`))
	for _, p := range []string{
		"/gemini/v1beta/models/" + nativeGemini + ":generateContent%2F..%2F..%2F..%2Fv1beta%2Ffiles",
		"/gemini/v1beta%2F..%2Fv1beta%2Ffiles%2Fx/models/" + nativeGemini + ":generateContent",
		"/gemini/v1beta/models/" + nativeGemini + ":generateContent%3Fkey=x",
	} {
		before := up.Stats().Received
		status, _, body := post(t, g.URL+p, `{"contents":[{"parts":[{"text":"hi"}]}]}`, "X-Goog-Api-Key", vk(47))
		if status != 400 || gjson.Get(body, "error.status").Str != "INVALID_ARGUMENT" {
			t.Errorf("%s: %d %s", p, status, body)
		}
		if got := up.Stats().Received; got != before {
			t.Errorf("%s reached the upstream at %s", p, up.LastRequest().Path)
		}
	}
}

// TestNativeGeminiOnVertex: the /gemini route served by a Vertex AI provider. The GenAI SDK's AI Studio path is
// mapped to the project's publishers/google model, with a bearer token minted from a service account (by a fake
// token endpoint here), and the usage charged as on AI Studio. Claude models on Vertex are not served there.
func TestNativeGeminiOnVertex(t *testing.T) {
	up, upURL := nativeUpstream(t, 0)
	minted := 0
	var mu sync.Mutex
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ParseForm() != nil || r.Form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			http.Error(w, `{"error":"invalid_grant"}`, 400)
			return
		}
		mu.Lock()
		minted++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, nativeUpstreamKey)
	}))
	t.Cleanup(tokens.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "proj", "private_key_id": "k1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "weir@proj.iam.gserviceaccount.com", "client_id": "1", "token_uri": tokens.URL})
	saFile := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(saFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, fmt.Sprintf(`
server:
  data_dir: %s
providers:
  - {name: gcp, type: vertex, base_url: %s, region: us-east5, credentials_file: %s}
routing:
  retries: {max: 0}
client:
  enforce_governance_header: true
governance:
  virtual_keys:
    - {id: native, value: %s, budget: {max_usd: 100, reset: 1d}}
`, t.TempDir(), upURL, saFile, vk(48)))
	ctx := context.Background()
	c := nativeGenAI(t, g, vk(48))
	inRate, outRate := nativePrice(t, g, "gcp/"+nativeGemini)
	const pre = "/v1/projects/proj/locations/us-east5/publishers/google/models/" + nativeGemini

	resp, err := c.Models.GenerateContent(ctx, "gcp/"+nativeGemini, genai.Text("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	u := resp.UsageMetadata
	if !strings.HasPrefix(resp.Text(), "Lorem ipsum") || u == nil || u.CandidatesTokenCount == 0 {
		t.Fatalf("answer %q usage %+v", resp.Text(), u)
	}
	charged := float64(u.PromptTokenCount)*inRate + float64(u.CandidatesTokenCount)*outRate
	nativeWaitSpent(t, g, "native", charged)
	last := up.LastRequest()
	if last.Path != pre+":generateContent" || last.Header.Get("Authorization") != "Bearer "+nativeUpstreamKey {
		t.Errorf("upstream saw %s with Authorization %q", last.Path, last.Header.Get("Authorization"))
	}
	nativeNoCallerCredential(t, last)

	var usage *genai.GenerateContentResponseUsageMetadata
	for r, err := range c.Models.GenerateContentStream(ctx, "gcp/"+nativeGemini, genai.Text("stream"), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if r.UsageMetadata != nil && r.UsageMetadata.TotalTokenCount > 0 {
			usage = r.UsageMetadata
		}
	}
	if usage == nil {
		t.Fatal("stream without usage")
	}
	charged += float64(usage.PromptTokenCount)*inRate + float64(usage.CandidatesTokenCount)*outRate
	nativeWaitSpent(t, g, "native", charged)
	if last := up.LastRequest(); last.Path != pre+":streamGenerateContent" || last.RawQuery != "alt=sse" {
		t.Errorf("upstream saw %s?%s", last.Path, last.RawQuery)
	}
	mu.Lock()
	if minted != 1 {
		t.Errorf("minted %d tokens, want 1", minted)
	}
	mu.Unlock()

	// A Claude model on Vertex speaks Anthropic's dialect, not Gemini's: the /gemini route refuses it with a 400 in
	// Google's format, naming the provider, without sending it.
	before := up.Stats().Received
	status, _, body := post(t, g.URL+"/gemini/v1beta/models/gcp%2Fclaude-sonnet-4-5@20250929:generateContent",
		`{"contents":[{"parts":[{"text":"hi"}]}]}`, "X-Goog-Api-Key", vk(48))
	if status != 400 || gjson.Get(body, "error.status").Str != "INVALID_ARGUMENT" || !strings.Contains(gjson.Get(body, "error.message").Str, "gcp") {
		t.Fatalf("a Claude model on /gemini: %d %s", status, body)
	}
	if up.Stats().Received != before {
		t.Fatal("a Claude model on /gemini reached the upstream")
	}
}

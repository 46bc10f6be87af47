package mockupstream

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/tidwall/gjson"
)

const (
	converseUser  = `"messages":[{"role":"user","content":[{"text":"abcd"}]}]`
	converseTools = `"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}]}`
)

type streamEvent struct {
	typ     string
	payload gjson.Result
}

// decodeEventStream reads an AWS event stream with the SDK's decoder.
func decodeEventStream(t *testing.T, body io.Reader) []streamEvent {
	t.Helper()
	dec := eventstream.NewDecoder()
	var out []streamEvent
	for {
		m, err := dec.Decode(body, nil)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if m.Headers.Get(":message-type").String() != "event" || m.Headers.Get(":content-type").String() != "application/json" {
			t.Fatalf("headers %v", m.Headers)
		}
		out = append(out, streamEvent{m.Headers.Get(":event-type").String(), gjson.ParseBytes(m.Payload)})
	}
}

func bedrockStream(t *testing.T, url, body string) []streamEvent {
	t.Helper()
	res := do(t, http.MethodPost, url, body)
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("status %d %s", res.StatusCode, b)
	}
	return decodeEventStream(t, res.Body)
}

func TestBedrockConverse(t *testing.T) {
	ts, _ := start(t, Options{})
	r := okJSON(t, ts.URL+"/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", `{`+converseUser+`}`)
	if len(r.Get("output.message.content.0.text").String()) != 64 || r.Get("stopReason").String() != "end_turn" ||
		r.Get("usage.inputTokens").Int() != 2 || r.Get("usage.totalTokens").Int() != 18 {
		t.Fatalf("%s", r.Raw)
	}
	r = okJSON(t, ts.URL+"/model/m/converse", `{`+converseUser+`,`+converseTools+`}`)
	if tu := r.Get("output.message.content.0.toolUse"); tu.Get("name").String() != "get_weather" || tu.Get("input.city").String() != "Paris" || r.Get("stopReason").String() != "tool_use" {
		t.Fatalf("%s", r.Raw)
	}
	r = okJSON(t, ts.URL+"/model/m/converse", `{`+converseTools+`,"messages":[{"role":"user","content":[{"text":"w?"}]},{"role":"assistant","content":[{"toolUse":{"toolUseId":"tooluse_mock_1","name":"get_weather","input":{}}}]},{"role":"user","content":[{"toolResult":{"toolUseId":"tooluse_mock_1","content":[{"json":{"sky":"snow"}}]}}]}]}`)
	if !strings.Contains(r.Get("output.message.content.0.text").String(), "snow") {
		t.Fatalf("%s", r.Raw)
	}
}

func TestBedrockConverseStream(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 2})
	cases := []struct {
		name, model, body string
		want              []string
		payload           string
	}{
		{"text", "echo", `{` + converseUser + `}`, []string{"messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, "abcd"},
		{"tool", "m", `{` + converseUser + `,` + converseTools + `}`, []string{"messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"}, `{"city":"Paris"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := bedrockStream(t, ts.URL+"/model/"+tc.model+"/converse-stream", tc.body)
			if len(evs) != len(tc.want) {
				t.Fatalf("got %d events %v", len(evs), evs)
			}
			var got strings.Builder
			for i, e := range evs {
				if e.typ != tc.want[i] {
					t.Fatalf("event %d = %s", i, e.typ)
				}
				got.WriteString(e.payload.Get("delta.text").String() + e.payload.Get("delta.toolUse.input").String())
			}
			if got.String() != tc.payload {
				t.Fatalf("payload %q", got.String())
			}
			if u := evs[len(evs)-1].payload.Get("usage"); u.Get("outputTokens").Int() != 4 || u.Get("totalTokens").Int() != 6 {
				t.Fatalf("usage %s", u.Raw)
			}
		})
	}
}

func TestBedrockInvoke(t *testing.T) {
	ts, _ := start(t, Options{})
	r := okJSON(t, ts.URL+"/model/amazon.titan-embed-text-v2%3A0/invoke", `{"inputText":"hello","dimensions":8}`)
	if len(r.Get("embedding").Array()) != 8 || r.Get("inputTextTokenCount").Int() != 2 {
		t.Fatalf("titan %s", r.Raw)
	}
	r = okJSON(t, ts.URL+"/model/cohere.embed-english-v3/invoke", `{"texts":["a","b"],"input_type":"search_document"}`)
	if len(r.Get("embeddings").Array()) != 2 || r.Get("response_type").String() != "embeddings_floats" {
		t.Fatalf("cohere %s", r.Raw)
	}
	r = okJSON(t, ts.URL+"/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,`+userMsgs+`}`)
	if r.Get("type").String() != "message" || r.Get("content.0.type").String() != "text" {
		t.Fatalf("anthropic %s", r.Raw)
	}
	evs := bedrockStream(t, ts.URL+"/model/echo/invoke-with-response-stream", `{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"hey"}]}`)
	var types, text []string
	for _, e := range evs {
		raw, err := base64.StdEncoding.DecodeString(e.payload.Get("bytes").String())
		if e.typ != "chunk" || err != nil {
			t.Fatalf("chunk %s %v", e.typ, err)
		}
		inner := gjson.ParseBytes(raw)
		types = append(types, inner.Get("type").String())
		text = append(text, inner.Get("delta.text").String())
	}
	if types[0] != "message_start" || types[len(types)-1] != "message_stop" || strings.Join(text, "") != "hey" {
		t.Fatalf("invoke stream %v %q", types, text)
	}
}

// signed builds a Bedrock request signed with the SDK's SigV4 signer.
func signed(t *testing.T, url, body, secret string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Target", "ignored-but-signed")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: "AKIDMOCK", SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "bedrock", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestBedrockSigV4(t *testing.T) {
	ts, _ := start(t, Options{AWSAccessKeyID: "AKIDMOCK", AWSSecretKey: "s3cret", AWSRegion: "us-east-1"})
	url := ts.URL + "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
	body := `{` + converseUser + `}`
	tampered := func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(strings.Replace(body, "abcd", "abce", 1)))
	}
	cases := []struct {
		name    string
		req     *http.Request
		mutate  func(*http.Request)
		status  int
		errType string
	}{
		{"valid", signed(t, url, body, "s3cret", time.Now()), nil, 200, ""},
		{"wrong secret", signed(t, url, body, "nope", time.Now()), nil, 403, "InvalidSignatureException"},
		{"tampered body", signed(t, url, body, "s3cret", time.Now()), tampered, 403, "InvalidSignatureException"},
		{"tampered header", signed(t, url, body, "s3cret", time.Now()), func(r *http.Request) { r.Header.Set("X-Amz-Target", "x") }, 403, "InvalidSignatureException"},
		{"expired", signed(t, url, body, "s3cret", time.Now().Add(-time.Hour)), nil, 403, "InvalidSignatureException"},
		{"unsigned", func() *http.Request { r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body)); return r }(), nil, 403, "MissingAuthenticationTokenException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.mutate != nil {
				tc.mutate(tc.req)
			}
			res, err := http.DefaultClient.Do(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || res.Header.Get("X-Amzn-ErrorType") != tc.errType {
				t.Fatalf("status %d type %q body %s", res.StatusCode, res.Header.Get("X-Amzn-ErrorType"), b)
			}
			if tc.status == 403 && !gjson.GetBytes(b, "message").Exists() {
				t.Fatalf("error body %s", b)
			}
		})
	}
	// The streaming verb is signed the same way and still streams.
	res, err := http.DefaultClient.Do(signed(t, ts.URL+"/model/echo/converse-stream", body, "s3cret", time.Now()))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("signed stream: %v %v", err, res)
	}
	defer res.Body.Close()
	if evs := decodeEventStream(t, res.Body); len(evs) == 0 || evs[len(evs)-1].typ != "metadata" {
		t.Fatalf("signed stream events %v", evs)
	}
}

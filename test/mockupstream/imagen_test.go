package mockupstream

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestImagenPredict(t *testing.T) {
	ts, _ := start(t, Options{})
	for _, tc := range []struct {
		name, path, body string
		n                int
	}{
		{"ai studio", "/v1beta/models/imagen-4.0-generate-001:predict", `{"instances":[{"prompt":"a weir"}],"parameters":{"sampleCount":2,"aspectRatio":"16:9"}}`, 2},
		{"vertex", "/v1/projects/p/locations/us-central1/publishers/google/models/imagen-3.0-generate-002:predict", `{"instances":[{"prompt":"a weir"}],"parameters":{"sampleCount":1}}`, 1},
		{"default sampleCount", "/v1beta/models/imagen-4.0-fast-generate-001:predict", `{"instances":[{"prompt":"a weir"}]}`, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			preds := okJSON(t, ts.URL+tc.path, tc.body).Get("predictions").Array()
			if len(preds) != tc.n {
				t.Fatalf("%d predictions", len(preds))
			}
			for _, p := range preds {
				raw, err := base64.StdEncoding.DecodeString(p.Get("bytesBase64Encoded").String())
				if err != nil || p.Get("mimeType").String() != "image/png" {
					t.Fatalf("%s: %v", p.Raw, err)
				}
				decodePNG(t, raw)
			}
		})
	}
	for _, body := range []string{`{"instances":[{"prompt":""}]}`, `{"instances":[{"prompt":"x"}],"parameters":{"sampleCount":5}}`,
		`{"instances":[{"prompt":"x"}],"parameters":{"aspectRatio":"3:2"}}`} {
		st, b, _ := post(t, ts.URL+"/v1beta/models/imagen-4.0-generate-001:predict", body)
		if st != 400 || gjson.GetBytes(b, "error.status").String() != "INVALID_ARGUMENT" {
			t.Errorf("%s: %d %s", body, st, b)
		}
	}
}

func TestGeminiImage(t *testing.T) {
	ts, _ := start(t, Options{})
	const url = "/v1beta/models/gemini-2.5-flash-image:generateContent"
	r := okJSON(t, ts.URL+url, `{"contents":[{"role":"user","parts":[{"text":"abcdefgh"}]}],"generationConfig":{"responseModalities":["IMAGE"]}}`)
	parts := r.Get("candidates.0.content.parts").Array()
	if len(parts) != 1 || parts[0].Get("inlineData.mimeType").String() != "image/png" {
		t.Fatalf("%s", r.Raw)
	}
	raw, err := base64.StdEncoding.DecodeString(parts[0].Get("inlineData.data").String())
	if err != nil {
		t.Fatal(err)
	}
	decodePNG(t, raw)
	if u := r.Get("usageMetadata"); u.Get("promptTokenCount").Int() != 3 || u.Get("candidatesTokenCount").Int() != geminiImageTokens ||
		u.Get("totalTokenCount").Int() != 3+geminiImageTokens {
		t.Fatalf("usage %s", u.Raw)
	}

	// TEXT and IMAGE: a text part, then the image.
	r = okJSON(t, ts.URL+"/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash-image:generateContent",
		`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"responseModalities":["TEXT","IMAGE"]}}`)
	if parts := r.Get("candidates.0.content.parts").Array(); len(parts) != 2 || parts[0].Get("text").String() == "" || !parts[1].Get("inlineData").Exists() {
		t.Fatalf("%s", r.Raw)
	}

	// Without IMAGE, or on a model that makes no images, the answer is text.
	for _, tc := range []struct{ model, cfg string }{{"gemini-2.5-flash-image", `{}`}, {"gemini-2.5-flash", `{"responseModalities":["IMAGE"]}`}} {
		r = okJSON(t, ts.URL+"/v1beta/models/"+tc.model+":generateContent", `{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":`+tc.cfg+`}`)
		if r.Get("candidates.0.content.parts.0.text").String() == "" || strings.Contains(r.Raw, "inlineData") {
			t.Fatalf("%s: %s", tc.model, r.Raw)
		}
	}

	st, b, _ := post(t, ts.URL+url, `{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"responseModalities":["IMAGE"],"candidateCount":2}}`)
	if st != 400 || !strings.Contains(gjson.GetBytes(b, "error.message").String(), "Multiple candidates") {
		t.Fatalf("candidateCount 2: %d %s", st, b)
	}
}

// TestBedrockInvokeStreamMetrics: the last chunk of InvokeModelWithResponseStream carries Bedrock's invocation
// metrics, the token counts of the message's own usage.
func TestBedrockInvokeStreamMetrics(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 2})
	evs := bedrockStream(t, ts.URL+"/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream",
		`{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[{"role":"user","content":"hello there"}]}`)
	var inner []gjson.Result
	for _, e := range evs {
		raw, err := base64.StdEncoding.DecodeString(e.payload.Get("bytes").String())
		if err != nil {
			t.Fatal(err)
		}
		inner = append(inner, gjson.ParseBytes(raw))
	}
	last := inner[len(inner)-1]
	m := last.Get("amazon-bedrock-invocationMetrics")
	in := inner[0].Get("message.usage.input_tokens").Int()
	out := inner[len(inner)-2].Get("usage.output_tokens").Int()
	if last.Get("type").String() != "message_stop" || in == 0 || out != 4 ||
		m.Get("inputTokenCount").Int() != in || m.Get("outputTokenCount").Int() != out || !m.Get("invocationLatency").Exists() {
		t.Fatalf("last chunk %s (input %d, output %d)", last.Raw, in, out)
	}
	for _, ev := range inner[:len(inner)-1] {
		if ev.Get("amazon-bedrock-invocationMetrics").Exists() {
			t.Fatalf("metrics before the last chunk: %s", ev.Raw)
		}
	}
}

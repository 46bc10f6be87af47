package gemini

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/test/mockupstream"
)

func TestImagesRequest(t *testing.T) {
	const imagen, flash = "imagen-4.0-generate-001", "gemini-2.5-flash-image"
	for _, tc := range []struct {
		name, model, in string
		action          string
		calls           int
		want            string // the body
		err             string // part of the error
	}{
		{"imagen defaults", imagen, `{"model":"imagen-4.0-generate-001","prompt":"a weir"}`, ActionPredict, 1,
			`{"instances":[{"prompt":"a weir"}],"parameters":{"sampleCount":1}}`, ""},
		{"imagen n and square", imagen, `{"prompt":"a weir","n":2,"size":"1024x1024","response_format":"b64_json"}`, ActionPredict, 1,
			`{"instances":[{"prompt":"a weir"}],"parameters":{"aspectRatio":"1:1","sampleCount":2}}`, ""},
		{"imagen landscape", imagen, `{"prompt":"p","size":"1792x1024"}`, ActionPredict, 1,
			`{"instances":[{"prompt":"p"}],"parameters":{"aspectRatio":"16:9","sampleCount":1}}`, ""},
		{"imagen portrait", imagen, `{"prompt":"p","size":"1024x1792"}`, ActionPredict, 1,
			`{"instances":[{"prompt":"p"}],"parameters":{"aspectRatio":"9:16","sampleCount":1}}`, ""},
		{"imagen 3:2 is nearest 4:3", imagen, `{"prompt":"p","size":"1536x1024"}`, ActionPredict, 1,
			`{"instances":[{"prompt":"p"}],"parameters":{"aspectRatio":"4:3","sampleCount":1}}`, ""},
		{"imagen 2:3 is nearest 3:4", imagen, `{"prompt":"p","size":"1024x1536"}`, ActionPredict, 1,
			`{"instances":[{"prompt":"p"}],"parameters":{"aspectRatio":"3:4","sampleCount":1}}`, ""},
		{"imagen small square", imagen, `{"prompt":"p","size":"256x256","n":null}`, ActionPredict, 1,
			`{"instances":[{"prompt":"p"}],"parameters":{"aspectRatio":"1:1","sampleCount":1}}`, ""},
		{"auto size", imagen, `{"prompt":"p","size":"auto"}`, ActionPredict, 1,
			`{"instances":[{"prompt":"p"}],"parameters":{"sampleCount":1}}`, ""},
		{"gemini image model", flash, `{"prompt":"a weir","n":3}`, ActionGenerate, 3,
			`{"contents":[{"parts":[{"text":"a weir"}],"role":"user"}],"generationConfig":{"responseModalities":["IMAGE"]}}`, ""},
		{"gemini 3:2", "models/" + flash, `{"prompt":"p","size":"1536x1024"}`, ActionGenerate, 1,
			`{"contents":[{"parts":[{"text":"p"}],"role":"user"}],"generationConfig":{"imageConfig":{"aspectRatio":"3:2"},"responseModalities":["IMAGE"]}}`, ""},
		{"url refused", imagen, `{"prompt":"p","response_format":"url"}`, "", 0, "", `response_format "url" is not supported`},
		{"url refused on gemini", flash, `{"prompt":"p","response_format":"url"}`, "", 0, "", "b64_json"},
		{"unknown format", imagen, `{"prompt":"p","response_format":"png"}`, "", 0, "", "response_format"},
		{"no prompt", imagen, `{"model":"m"}`, "", 0, "", "prompt is required"},
		{"empty prompt", imagen, `{"prompt":""}`, "", 0, "", "prompt is required"},
		{"n zero", imagen, `{"prompt":"p","n":0}`, "", 0, "", "n must be"},
		{"n fraction", imagen, `{"prompt":"p","n":1.5}`, "", 0, "", "n must be"},
		{"n string", imagen, `{"prompt":"p","n":"2"}`, "", 0, "", "n must be"},
		{"too many gemini calls", flash, `{"prompt":"p","n":11}`, "", 0, "", "at most 10"},
		{"bad size", imagen, `{"prompt":"p","size":"large"}`, "", 0, "", "WIDTHxHEIGHT"},
		{"zero size", imagen, `{"prompt":"p","size":"0x10"}`, "", 0, "", "WIDTHxHEIGHT"},
		{"not JSON", imagen, `{"prompt":`, "", 0, "", "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, action, calls, err := ImagesRequest(tc.model, []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.want || action != tc.action || calls != tc.calls {
				t.Fatalf("got %s %s ×%d\nwant %s %s ×%d", action, body, calls, tc.action, tc.want, tc.calls)
			}
		})
	}
}

func TestImagesResponse(t *testing.T) {
	img := func(b string) string {
		return `{"inlineData":{"mimeType":"image/png","data":"` + b + `"}}`
	}
	for _, tc := range []struct {
		name    string
		action  string
		answers []string
		want    string
		err     string
	}{
		{"imagen", ActionPredict, []string{`{"predictions":[{"bytesBase64Encoded":"AAA=","mimeType":"image/png"},{"bytesBase64Encoded":"BBB=","mimeType":"image/png","prompt":"a fine weir"}]}`},
			`{"created":7,"data":[{"b64_json":"AAA="},{"b64_json":"BBB=","revised_prompt":"a fine weir"}],"output_format":"png"}`, ""},
		{"imagen mixed types", ActionPredict, []string{`{"predictions":[{"bytesBase64Encoded":"AAA=","mimeType":"image/png"},{"bytesBase64Encoded":"BBB=","mimeType":"image/jpeg"}]}`},
			`{"created":7,"data":[{"b64_json":"AAA="},{"b64_json":"BBB="}]}`, ""},
		{"imagen some filtered", ActionPredict, []string{`{"predictions":[{"raiFilteredReason":"blocked"},{"bytesBase64Encoded":"AAA=","mimeType":"image/jpeg"}]}`},
			`{"created":7,"data":[{"b64_json":"AAA="}],"output_format":"jpeg"}`, ""},
		{"imagen all filtered", ActionPredict, []string{`{"predictions":[{"raiFilteredReason":"It may contain people."}]}`}, "",
			"the model returned no image: It may contain people."},
		{"imagen nothing", ActionPredict, []string{`{}`}, "", "the model returned no image"},
		{"gemini two calls", ActionGenerate, []string{
			`{"candidates":[{"content":{"parts":[` + img("AAA=") + `]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1290,"totalTokenCount":1295}}`,
			`{"candidates":[{"content":{"parts":[{"text":"Here it is"},{"thought":true,"inlineData":{"data":"DRAFT"}},` + img("BBB=") + `]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1300,"thoughtsTokenCount":20,"cachedContentTokenCount":2,"totalTokenCount":1325}}`},
			`{"created":7,"data":[{"b64_json":"AAA="},{"b64_json":"BBB="}],"output_format":"png","usage":{"input_tokens":10,"output_tokens":2610,"total_tokens":2620,"input_tokens_details":{"cached_tokens":2},"output_tokens_details":{"reasoning_tokens":20}}}`, ""},
		{"gemini text only", ActionGenerate, []string{`{"candidates":[{"content":{"parts":[{"text":"I can't draw that."}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":6}}`},
			"", "the model returned no image: I can't draw that."},
		{"gemini blocked", ActionGenerate, []string{`{"candidates":[{"finishReason":"IMAGE_SAFETY","finishMessage":"unsafe"}]}`}, "",
			"finishReason IMAGE_SAFETY: unsafe"},
		{"gemini prompt blocked", ActionGenerate, []string{`{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"}}`}, "", "blockReason PROHIBITED_CONTENT"},
		{"not JSON", ActionPredict, []string{`<html>`}, "", "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answers := make([][]byte, len(tc.answers))
			for i, a := range tc.answers {
				answers[i] = []byte(a)
			}
			got, err := ImagesResponse(tc.action, answers, 7)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				if want := tc.name != "not JSON"; errors.Is(err, ErrNoImage) != want {
					t.Fatalf("errors.Is(%v, ErrNoImage) = %v", err, !want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestIsGeminiModel(t *testing.T) {
	for m, want := range map[string]bool{"gemini-2.5-flash-image": true, "models/gemini-3-pro-image-preview": true, "Gemini-2.0-flash": true,
		"imagen-4.0-generate-001": false, "models/imagen-3.0-generate-002": false, "": false} {
		if IsGeminiModel(m) != want {
			t.Errorf("IsGeminiModel(%q) = %v", m, !want)
		}
	}
}

func imagesCall(model, body string, key string) *provider.RawCall {
	return &provider.RawCall{Op: provider.OpImages, Method: http.MethodPost, Model: model,
		Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer wk-caller"}, "Traceparent": {"00-a-b-01"}},
		Body:   strings.NewReader(body), ContentLength: int64(len(body)), Key: &provider.Key{Value: key}}
}

// TestSendRawImages generates images through the in-repo upstream, which checks the API key: Imagen's predict
// (n images from one call) and a Gemini image model's generateContent (one call per image, usage summed).
func TestSendRawImages(t *testing.T) {
	m := mockupstream.New(mockupstream.Options{APIKey: "AIza-mock"})
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)
	p := build(t, provider.Common{BaseURL: ts.URL + "/v1beta", Keys: []provider.KeyConfig{{Value: "AIza-mock"}}})
	if !p.Supports(provider.OpImages) {
		t.Fatal("OpImages not supported")
	}
	for _, tc := range []struct {
		name, model, body, path string
		images, calls           int
		usage                   bool
	}{
		{"imagen", "imagen-4.0-generate-001", `{"model":"imagen-4.0-generate-001","prompt":"a weir","n":2,"size":"1792x1024"}`,
			"/v1beta/models/imagen-4.0-generate-001:predict", 2, 1, false},
		{"gemini image", "gemini-2.5-flash-image", `{"model":"gemini-2.5-flash-image","prompt":"a weir","n":3}`,
			"/v1beta/models/gemini-2.5-flash-image:generateContent", 3, 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := m.Stats().ByPath[tc.path]
			resp, err := p.SendRaw(context.Background(), imagesCall(tc.model, tc.body, "AIza-mock"))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.ContentLength != int64(len(b)) {
				t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
			}
			r := gjson.ParseBytes(b)
			data := r.Get("data").Array()
			if len(data) != tc.images || r.Get("created").Int() == 0 || r.Get("output_format").String() != "png" {
				t.Fatalf("%s", b)
			}
			for _, d := range data {
				if raw, err := base64.StdEncoding.DecodeString(d.Get("b64_json").String()); err != nil || !strings.HasPrefix(string(raw), "\x89PNG") {
					t.Fatalf("not a PNG: %v", err)
				}
			}
			if u := r.Get("usage"); u.Exists() != tc.usage || (tc.usage && (u.Get("output_tokens").Int() != int64(1290*tc.images) ||
				u.Get("total_tokens").Int() != u.Get("input_tokens").Int()+u.Get("output_tokens").Int())) {
				t.Fatalf("usage %s", b)
			}
			if got := m.Stats().ByPath[tc.path] - before; got != int64(tc.calls) {
				t.Fatalf("%d calls to %s, want %d", got, tc.path, tc.calls)
			}
			last := m.LastRequest()
			if last.Header.Get("X-Goog-Api-Key") != "AIza-mock" || last.Header.Get("Authorization") != "" ||
				last.Header.Get("Traceparent") != "00-a-b-01" || last.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("headers %v", last.Header)
			}
		})
	}

	// Upstream errors come back as the upstream wrote them: a wrong key, Imagen's limit of 4 images.
	for _, tc := range []struct {
		model, body, key string
		status           int
	}{
		{"imagen-4.0-generate-001", `{"prompt":"p"}`, "wrong", 401},
		{"gemini-2.5-flash-image", `{"prompt":"p","n":2}`, "wrong", 401},
		{"imagen-4.0-generate-001", `{"prompt":"p","n":5}`, "AIza-mock", 400},
	} {
		resp, err := p.SendRaw(context.Background(), imagesCall(tc.model, tc.body, tc.key))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !gjson.GetBytes(b, "error.status").Exists() {
			t.Errorf("%s %s: %d %s", tc.model, tc.body, resp.StatusCode, b)
		}
	}
}

// TestSendRawImagesRefusals: a caller's mistake is answered 400 in Google's format without a call.
func TestSendRawImagesRefusals(t *testing.T) {
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	t.Cleanup(ts.Close)
	p := build(t, provider.Common{BaseURL: ts.URL + "/v1beta", Keys: []provider.KeyConfig{{Value: "k"}}})
	for _, tc := range []struct{ model, body, want string }{
		{"imagen-4.0-generate-001", `{"prompt":"p","response_format":"url"}`, `response_format \"url\" is not supported by imagen-4.0-generate-001`},
		{"gemini-2.5-flash-image", `{"prompt":"p","response_format":"url"}`, "b64_json"},
		{"imagen-4.0-generate-001", `{"n":1}`, "prompt is required"},
		{"", `{"prompt":"p"}`, "model is required"},
	} {
		resp, err := p.SendRaw(context.Background(), imagesCall(tc.model, tc.body, "k"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || gjson.GetBytes(b, "error.status").String() != "INVALID_ARGUMENT" || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s", tc.body, resp.StatusCode, b)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("%d calls sent", calls.Load())
	}
}

// TestSendRawImagesAnswer: the synthesized answer keeps the upstream's headers (its request id) and a
// Gemini image model's failed call fails the whole request, with that call's error.
func TestSendRawImagesAnswer(t *testing.T) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-1")
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		if strings.HasSuffix(r.URL.Path, ":predict") {
			io.WriteString(w, `{"predictions":[{"raiFilteredReason":"unsafe"}]}`)
			return
		}
		if strings.Contains(r.URL.Path, "flaky") && n.Add(1) == 2 {
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}`)
			return
		}
		io.WriteString(w, `{"candidates":[{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AAA="}}]}}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1290}}`)
	}))
	t.Cleanup(ts.Close)
	p := build(t, provider.Common{BaseURL: ts.URL + "/v1beta", Keys: []provider.KeyConfig{{Value: "k"}}})
	send := func(model, body string) (*http.Response, string) {
		t.Helper()
		resp, err := p.SendRaw(context.Background(), imagesCall(model, body, "k"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	resp, b := send("gemini-2.5-flash-image", `{"prompt":"p","n":2}`)
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") != "req-1" || resp.Header.Get("Content-Type") != "application/json" ||
		gjson.Get(b, "usage.output_tokens").Int() != 2580 {
		t.Fatalf("%d %v %s", resp.StatusCode, resp.Header, b)
	}
	resp, b = send("gemini-flaky-image", `{"prompt":"p","n":3}`)
	if resp.StatusCode != 429 || gjson.Get(b, "error.message").String() != "slow down" {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	resp, b = send("imagen-4.0-generate-001", `{"prompt":"p"}`)
	if resp.StatusCode != 400 || !strings.Contains(gjson.Get(b, "error.message").String(), "no image: unsafe") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

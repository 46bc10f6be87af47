package vertex

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestSendRawImages generates images on Vertex through the in-repo upstream: Imagen's predict and a Gemini
// image model's generateContent under publishers/google, with the minted bearer token; Claude models and
// response_format url are refused without a call.
func TestSendRawImages(t *testing.T) {
	tok := newTokenServer(t, "ya29.images")
	sa := serviceAccount(t, tok.URL, "sa-project")
	m := mockupstream.New(mockupstream.Options{APIKey: "ya29.images"})
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)
	p := build(t, entry{Common: provider.Common{BaseURL: ts.URL, Keys: []provider.KeyConfig{{Value: sa}}}, Settings: Settings{Region: "us-east5"}})
	if !p.Supports(provider.OpImages) {
		t.Fatal("OpImages not supported")
	}
	const pre = "/v1/projects/sa-project/locations/us-east5/publishers/google/models/"
	send := func(model, body string) (*http.Response, []byte) {
		t.Helper()
		resp, err := p.SendRaw(context.Background(), &provider.RawCall{Op: provider.OpImages, Method: http.MethodPost, Model: model,
			Header: http.Header{"Content-Type": {"application/json"}, "X-Goog-Api-Key": {"wk-caller"}},
			Body:   strings.NewReader(body), ContentLength: int64(len(body)), Key: &provider.Key{Value: sa}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}
	for _, tc := range []struct {
		name, model, body, path string
		images                  int
		usage                   bool
	}{
		{"imagen", "imagen-4.0-generate-001", `{"model":"imagen-4.0-generate-001","prompt":"a weir","n":2,"size":"1024x1792"}`,
			pre + "imagen-4.0-generate-001:predict", 2, false},
		{"gemini image", "gemini-2.5-flash-image", `{"model":"gemini-2.5-flash-image","prompt":"a weir","n":2}`,
			pre + "gemini-2.5-flash-image:generateContent", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := m.Stats().ByPath[tc.path]
			resp, b := send(tc.model, tc.body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
			data := gjson.GetBytes(b, "data").Array()
			if len(data) != tc.images || gjson.GetBytes(b, "usage").Exists() != tc.usage {
				t.Fatalf("%s", b)
			}
			for _, d := range data {
				if raw, err := base64.StdEncoding.DecodeString(d.Get("b64_json").String()); err != nil || !strings.HasPrefix(string(raw), "\x89PNG") {
					t.Fatalf("not a PNG: %v", err)
				}
			}
			if m.Stats().ByPath[tc.path] == before {
				t.Fatalf("no call to %s", tc.path)
			}
			last := m.LastRequest()
			if last.Header.Get("Authorization") != "Bearer ya29.images" || last.Header.Get("X-Goog-Api-Key") != "" {
				t.Fatalf("headers %v", last.Header)
			}
			if tc.name == "imagen" && gjson.GetBytes(last.Body, "parameters.aspectRatio").String() != "9:16" {
				t.Fatalf("body %s", last.Body)
			}
		})
	}

	received := m.Stats().Received
	for _, tc := range []struct{ model, body, want string }{
		{"claude-sonnet-4-5@20250929", `{"prompt":"p"}`, "Claude model"},
		{"imagen-4.0-generate-001", `{"prompt":"p","response_format":"url"}`, `response_format \"url\"`},
	} {
		resp, b := send(tc.model, tc.body)
		if resp.StatusCode != 400 || gjson.GetBytes(b, "error.status").String() != "INVALID_ARGUMENT" || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %d %s", tc.model, resp.StatusCode, b)
		}
	}
	if m.Stats().Received != received {
		t.Fatal("a refused call was sent")
	}
}

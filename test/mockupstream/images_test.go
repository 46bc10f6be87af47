package mockupstream

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"testing"

	"github.com/tidwall/gjson"
)

func decodePNG(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 8 {
		t.Fatalf("not the mock PNG: %v", err)
	}
}

func TestImageGenerations(t *testing.T) {
	ts, _ := start(t, Options{})
	cases := []struct {
		name, path, body string
		n                int
		b64, usage       bool
		revised          bool
	}{
		{"dall-e-2 url by default", "/v1/images/generations", `{"model":"dall-e-2","prompt":"a cat","n":2}`, 2, false, false, true},
		{"dall-e-3 b64", "/v1/images/generations", `{"model":"dall-e-3","prompt":"a cat","response_format":"b64_json"}`, 1, true, false, true},
		{"gpt-image-1 usage", "/v1/images/generations", `{"model":"gpt-image-1","prompt":"a cat","n":3,"quality":"low"}`, 3, true, true, false},
		{"azure deployment", "/openai/deployments/gpt-image-1/images/generations?api-version=2025-04-01-preview", `{"prompt":"a cat"}`, 1, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := okJSON(t, ts.URL+tc.path, tc.body)
			data := r.Get("data").Array()
			if len(data) != tc.n || r.Get("created").Int() == 0 {
				t.Fatalf("%s", r.Raw)
			}
			for _, d := range data {
				if tc.b64 {
					raw, err := base64.StdEncoding.DecodeString(d.Get("b64_json").String())
					if err != nil {
						t.Fatal(err)
					}
					decodePNG(t, raw)
				} else {
					st, b, h := send(t, "GET", d.Get("url").String(), "")
					if st != 200 || h.Get("Content-Type") != "image/png" {
						t.Fatalf("url %s: %d", d.Get("url"), st)
					}
					decodePNG(t, b)
				}
				if d.Get("revised_prompt").Exists() != tc.revised {
					t.Fatalf("revised_prompt: %s", d.Raw)
				}
			}
			if u := r.Get("usage"); u.Exists() != tc.usage {
				t.Fatalf("usage: %s", r.Raw)
			}
		})
	}
	r := okJSON(t, ts.URL+"/v1/images/generations", `{"model":"gpt-image-1","prompt":"abcdefgh","n":2,"quality":"low"}`)
	if u := r.Get("usage"); u.Get("input_tokens").Int() != 3 || u.Get("output_tokens").Int() != 2*272 || u.Get("total_tokens").Int() != 3+544 ||
		u.Get("input_tokens_details.text_tokens").Int() != 3 || r.Get("quality").String() != "low" || r.Get("size").String() != "1024x1024" {
		t.Fatalf("usage %s", r.Raw)
	}

	for _, tc := range []struct{ body, param string }{
		{`{"model":"dall-e-2"}`, "prompt"},
		{`{"model":"dall-e-3","prompt":"x","n":2}`, "n"},
		{`{"model":"dall-e-2","prompt":"x","n":11}`, "n"},
		{`{"model":"dall-e-2","prompt":"x","response_format":"jpeg"}`, "response_format"},
	} {
		st, b, _ := post(t, ts.URL+"/v1/images/generations", tc.body)
		wantError(t, st, b, 400, tc.param)
	}
}

func TestImageEdits(t *testing.T) {
	ts, _ := start(t, Options{})
	png := string(mockPNG)
	cases := []struct {
		name, path string
		parts      []formPart
		n, imgTok  int
	}{
		{"dall-e-2 image", "/v1/images/edits", []formPart{{"image", "a.png", png}, {"mask", "m.png", png}, {"prompt", "", "add a hat"}, {"model", "", "dall-e-2"}, {"n", "", "2"}, {"response_format", "", "b64_json"}}, 2, -1},
		{"gpt-image-1 image[]", "/v1/images/edits", []formPart{{"image[]", "a.png", png}, {"image[]", "b.png", png}, {"prompt", "", "merge"}, {"model", "", "gpt-image-1"}}, 1, 2 * imageInTokensPerImage},
		{"variations", "/v1/images/variations", []formPart{{"image", "a.png", png}, {"response_format", "", "b64_json"}}, 1, -1},
		{"azure", "/openai/deployments/gpt-image-1/images/edits?api-version=2025-04-01-preview", []formPart{{"image", "a.png", png}, {"prompt", "", "x"}}, 1, imageInTokensPerImage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := form(t, tc.parts...)
			r := okJSON(t, ts.URL+tc.path, body, ct)
			if len(r.Get("data").Array()) != tc.n || r.Get("data.0.b64_json").String() != mockPNGBase64 {
				t.Fatalf("%s", r.Raw)
			}
			if got := r.Get("usage.input_tokens_details.image_tokens"); (tc.imgTok < 0) == got.Exists() || (tc.imgTok >= 0 && got.Int() != int64(tc.imgTok)) {
				t.Fatalf("usage %s", r.Raw)
			}
		})
	}
	body, ct := form(t, formPart{"prompt", "", "x"}, formPart{"model", "", "gpt-image-1"})
	st, b, _ := post(t, ts.URL+"/v1/images/edits", body, ct)
	wantError(t, st, b, 400, "image")
	st, b, _ = post(t, ts.URL+"/v1/images/edits", `{"prompt":"x"}`)
	if st != 400 || !gjson.GetBytes(b, "error.message").Exists() {
		t.Fatalf("json edit: %d %s", st, b)
	}
	// The model form field carries faults like a JSON model does.
	body, ct = form(t, formPart{"image", "a.png", png}, formPart{"prompt", "", "x"}, formPart{"model", "", "fail-429"})
	if st, _, h := post(t, ts.URL+"/v1/images/edits", body, ct); st != 429 || h.Get("Retry-After") != "1" {
		t.Fatalf("fault: %d", st)
	}
}

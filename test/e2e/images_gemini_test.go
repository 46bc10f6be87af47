package e2e

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestImagesGemini: OpenAI's image generations on a gemini provider. Imagen answers through :predict and is
// charged per image (output_cost_per_image); a Gemini image model answers through generateContent, one call
// per image, and is charged by the token from the usage it reports. response_format url is refused in OpenAI's
// format, uncharged.
func TestImagesGemini(t *testing.T) {
	const upKey = "AIza-e2e-images"
	up, url := startUpstream(t, mockupstream.Options{APIKey: upKey})
	g := startGateway(t, `
server:
  data_dir: `+t.TempDir()+`
client:
  enforce_governance_header: true
providers:
  - { name: gem, type: gemini, base_url: `+url+`/v1beta, keys: [{value: `+upKey+`}], timeout: 10s }
routing:
  retries: {max: 0}
governance:
  virtual_keys:
    - { id: app, value: `+vk(1)+`, budget: { max_usd: 100, reset: 1d } }
`)
	c := client(g, option.WithAPIKey(vk(1)))
	ctx := context.Background()
	isPNG := func(t *testing.T, data []openai.Image) {
		t.Helper()
		for _, d := range data {
			raw, err := base64.StdEncoding.DecodeString(d.B64JSON)
			if err != nil || !strings.HasPrefix(string(raw), "\x89PNG") || d.URL != "" {
				t.Fatalf("not a b64 PNG: %v", err)
			}
		}
	}
	waitSpent := func(t *testing.T, want float64) {
		t.Helper()
		var got float64
		waitUntil(t, "the charge", func() bool { got = spent(t, g, "app"); return near(got, want) })
	}

	var charged float64
	t.Run("imagen per image", func(t *testing.T) {
		img, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "gem/imagen-4.0-generate-001", Prompt: "a weir at dusk",
			N: param.NewOpt[int64](2), Size: "1792x1024", ResponseFormat: openai.ImageGenerateParamsResponseFormatB64JSON})
		if err != nil {
			t.Fatal(err)
		}
		if len(img.Data) != 2 || img.Created == 0 || img.OutputFormat != "png" {
			t.Fatalf("images: %d %+v", len(img.Data), img)
		}
		isPNG(t, img.Data)
		last := up.LastRequest()
		if last.Path != "/v1beta/models/imagen-4.0-generate-001:predict" ||
			gjson.GetBytes(last.Body, "parameters.sampleCount").Int() != 2 || gjson.GetBytes(last.Body, "parameters.aspectRatio").Str != "16:9" ||
			gjson.GetBytes(last.Body, "instances.0.prompt").Str != "a weir at dusk" || last.Header.Get("X-Goog-Api-Key") != upKey {
			t.Fatalf("upstream request %s %s %v", last.Path, last.Body, last.Header)
		}
		charged += 0.08 // two images at $0.04
		waitSpent(t, charged)
	})

	t.Run("gemini image model by the token", func(t *testing.T) {
		img, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "gem/gemini-2.5-flash-image", Prompt: "a weir at dawn",
			N: param.NewOpt[int64](2)})
		if err != nil {
			t.Fatal(err)
		}
		if len(img.Data) != 2 {
			t.Fatalf("images: %d", len(img.Data))
		}
		isPNG(t, img.Data)
		u := img.Usage
		if u.InputTokens == 0 || u.OutputTokens != 2*1290 || u.TotalTokens != u.InputTokens+u.OutputTokens {
			t.Fatalf("usage %+v", u)
		}
		if n := up.Stats().ByPath["/v1beta/models/gemini-2.5-flash-image:generateContent"]; n != 2 {
			t.Fatalf("%d generateContent calls, want 2", n)
		}
		charged += float64(u.InputTokens)*0.30e-6 + float64(u.OutputTokens)*30e-6
		waitSpent(t, charged)
	})

	t.Run("url refused", func(t *testing.T) {
		received := up.Stats().Received
		_, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "gem/imagen-4.0-generate-001", Prompt: "x",
			ResponseFormat: openai.ImageGenerateParamsResponseFormatURL})
		code, e := apiStatus(t, err)
		if code != 400 || !strings.Contains(e.Message, "url") || !strings.Contains(e.Message, "b64_json") || e.Type != "invalid_request_error" {
			t.Fatalf("url format: %d %v", code, err)
		}
		if up.Stats().Received != received {
			t.Fatal("the refused request reached the upstream")
		}
		if s := spent(t, g, "app"); !near(s, charged) {
			t.Fatalf("spend after a refusal: %v, want %v", s, charged)
		}
	})

	t.Run("upstream error translated", func(t *testing.T) {
		_, err := c.Images.Generate(ctx, openai.ImageGenerateParams{Model: "gem/imagen-4.0-generate-001", Prompt: "x", N: param.NewOpt[int64](5)})
		if code, e := apiStatus(t, err); code != 400 || !strings.Contains(e.Message, "sampleCount") {
			t.Fatalf("n=5 on Imagen: %d %v", code, err)
		}
	})
}

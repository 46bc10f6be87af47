package gemini

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/provider"
)

// OpenAI's POST /images/generations on Google's image models. Two kinds of model make images:
//
//   - Imagen ("imagen-4.0-generate-001"), through the model's :predict method:
//     {"instances":[{"prompt"}],"parameters":{"sampleCount","aspectRatio"}}, answered with
//     {"predictions":[{"bytesBase64Encoded","mimeType","prompt"}]}. All n images come from one call.
//   - Gemini image models ("gemini-2.5-flash-image"), through :generateContent with
//     generationConfig.responseModalities ["IMAGE"], answered with the images as inlineData parts and the
//     tokens in usageMetadata (image output is billed by the token). These models refuse candidateCount > 1
//     ("Multiple candidates is not enabled"), so n images take n calls, sent concurrently; the answer sums
//     their usage.
//
// A model whose name starts with "gemini" is taken for a Gemini image model, any other for Imagen. Both return
// image bytes only, so response_format "url" is refused; the answer is OpenAI's
// {"created","data":[{"b64_json"}],"usage"?}. OpenAI's size becomes the nearest aspect ratio the model offers;
// quality, style, background and the other OpenAI-only fields are not sent.

// Image methods of Google's API.
const (
	ActionPredict  = "predict"         // Imagen
	ActionGenerate = "generateContent" // Gemini image models
)

// MaxImages is the most images one request may ask of a Gemini image model (OpenAI's own limit on n): each is
// a call of its own.
const MaxImages = 10

// maxImagesAnswer bounds one upstream answer read into memory (images are base64 in JSON).
const maxImagesAnswer = 64 << 20

// Aspect ratios the models take, as width/height.
var (
	imagenRatios = []string{"1:1", "3:4", "4:3", "9:16", "16:9"}
	geminiRatios = []string{"1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9"}
)

// IsGeminiModel reports whether model (bare, or "models/x", "publishers/google/models/x") is a Gemini model,
// which makes images with generateContent, rather than Imagen, which makes them with predict.
func IsGeminiModel(model string) bool {
	if i := strings.LastIndexByte(model, '/'); i >= 0 {
		model = model[i+1:]
	}
	return strings.HasPrefix(strings.ToLower(model), "gemini")
}

// ImagesRequest translates an OpenAI images/generations body for model into the body of the model's method
// named by action ("predict" or "generateContent"). The body is sent calls times, concurrently: once for
// Imagen, n times for a Gemini image model. An error is the caller's: a missing prompt, an invalid n or size, or
// response_format "url".
func ImagesRequest(model string, openai []byte) (body []byte, action string, calls int, err error) {
	if !gjson.ValidBytes(openai) {
		return nil, "", 0, errors.New("the request body is not valid JSON")
	}
	r := gjson.GetManyBytes(openai, "prompt", "n", "size", "response_format")
	if r[0].Type != gjson.String || r[0].Str == "" {
		return nil, "", 0, errors.New("prompt is required")
	}
	prompt := r[0].Str
	n := 1
	if r[1].Exists() && r[1].Type != gjson.Null {
		f := r[1].Float()
		if r[1].Type != gjson.Number || f != math.Trunc(f) || f < 1 || f > 1000 {
			return nil, "", 0, fmt.Errorf("n must be a positive integer, not %s", r[1].Raw)
		}
		n = int(f)
	}
	switch f := r[3].String(); f {
	case "", "b64_json":
	case "url":
		return nil, "", 0, fmt.Errorf("response_format \"url\" is not supported by %s: Google's image models return the image bytes only; use \"b64_json\"", model)
	default:
		return nil, "", 0, fmt.Errorf("response_format %q is not one of \"b64_json\", \"url\"", f)
	}
	gemini := IsGeminiModel(model)
	var ratio string
	if s := r[2].String(); s != "" && s != "auto" {
		set := imagenRatios
		if gemini {
			set = geminiRatios
		}
		if ratio, err = nearestRatio(s, set); err != nil {
			return nil, "", 0, err
		}
	}
	if gemini {
		if n > MaxImages {
			return nil, "", 0, fmt.Errorf("n must be at most %d for %s", MaxImages, model)
		}
		gc := map[string]any{"responseModalities": []string{"IMAGE"}}
		if ratio != "" {
			gc["imageConfig"] = map[string]any{"aspectRatio": ratio}
		}
		body, err = json.Marshal(map[string]any{
			"contents":         []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": prompt}}}},
			"generationConfig": gc,
		})
		return body, ActionGenerate, n, err
	}
	params := map[string]any{"sampleCount": n}
	if ratio != "" {
		params["aspectRatio"] = ratio
	}
	body, err = json.Marshal(map[string]any{"instances": []any{map[string]any{"prompt": prompt}}, "parameters": params})
	return body, ActionPredict, 1, err
}

// nearestRatio maps an OpenAI size ("1792x1024") to the aspect ratio of set nearest to it.
func nearestRatio(size string, set []string) (string, error) {
	w, h, ok := parseRatio(size, "x")
	if !ok {
		return "", fmt.Errorf("size %q is not WIDTHxHEIGHT (e.g. 1024x1024) or auto", size)
	}
	want := math.Log(w / h)
	best, bestD := "", math.Inf(1)
	for _, r := range set {
		rw, rh, _ := parseRatio(r, ":")
		if d := math.Abs(math.Log(rw/rh) - want); d < bestD {
			best, bestD = r, d
		}
	}
	return best, nil
}

func parseRatio(s, sep string) (w, h float64, ok bool) {
	a, b, found := strings.Cut(strings.ToLower(strings.TrimSpace(s)), sep)
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if !found || err1 != nil || err2 != nil || x <= 0 || y <= 0 {
		return 0, 0, false
	}
	return float64(x), float64(y), true
}

// ErrNoImage is wrapped by ImagesResponse's error when the model made no image (its safety filters blocked the
// prompt or every image, or it answered in text): the caller's request, not the upstream, is at fault.
var ErrNoImage = errors.New("the model returned no image")

// ImagesResponse translates the answers of action's calls (one for Imagen, one per image for a Gemini image
// model) into OpenAI's images answer: {"created","data":[{"b64_json","revised_prompt"?}],"output_format"?,
// "usage"?}. usage (input_tokens, output_tokens, total_tokens) is the sum of the answers' usageMetadata; Imagen
// reports none.
func ImagesResponse(action string, answers [][]byte, created int64) ([]byte, error) {
	type image struct {
		B64JSON       string `json:"b64_json"`
		RevisedPrompt string `json:"revised_prompt,omitempty"`
	}
	type details struct {
		CachedTokens    int64 `json:"cached_tokens,omitempty"`
		ReasoningTokens int64 `json:"reasoning_tokens,omitempty"`
	}
	type usage struct {
		InputTokens   int64    `json:"input_tokens"`
		OutputTokens  int64    `json:"output_tokens"`
		TotalTokens   int64    `json:"total_tokens"`
		InputDetails  *details `json:"input_tokens_details,omitempty"`
		OutputDetails *details `json:"output_tokens_details,omitempty"`
	}
	out := struct {
		Created      int64   `json:"created"`
		Data         []image `json:"data"`
		OutputFormat string  `json:"output_format,omitempty"`
		Usage        *usage  `json:"usage,omitempty"`
	}{Created: created, Data: []image{}}
	var reasons []string
	mimes := map[string]bool{}
	var u usage
	var cached, thoughts int64
	for _, a := range answers {
		if !gjson.ValidBytes(a) {
			return nil, errors.New("the upstream's answer is not JSON")
		}
		root := gjson.ParseBytes(a)
		if action == ActionPredict {
			root.Get("predictions").ForEach(func(_, p gjson.Result) bool {
				if b := p.Get("bytesBase64Encoded").Str; b != "" {
					out.Data = append(out.Data, image{B64JSON: b, RevisedPrompt: p.Get("prompt").Str})
					mimes[p.Get("mimeType").Str] = true
				} else if why := p.Get("raiFilteredReason").Str; why != "" {
					reasons = append(reasons, why)
				}
				return true
			})
			continue
		}
		root.Get("candidates").ForEach(func(_, c gjson.Result) bool {
			found := false
			c.Get("content.parts").ForEach(func(_, p gjson.Result) bool {
				if p.Get("thought").Bool() { // an interim image of the model's thinking
					return true
				}
				if d := p.Get("inlineData"); d.Get("data").Str != "" {
					out.Data = append(out.Data, image{B64JSON: d.Get("data").Str})
					mimes[d.Get("mimeType").Str] = true
					found = true
				} else if t := p.Get("text").Str; t != "" {
					reasons = append(reasons, strings.TrimSpace(t))
				}
				return true
			})
			if fr := c.Get("finishReason").Str; !found && fr != "" && fr != "STOP" {
				reasons = append(reasons, "finishReason "+fr+suffix(": ", c.Get("finishMessage").Str))
			}
			return true
		})
		if br := root.Get("promptFeedback.blockReason").Str; br != "" {
			reasons = append(reasons, "blockReason "+br+suffix(": ", root.Get("promptFeedback.blockReasonMessage").Str))
		}
		if m := root.Get("usageMetadata"); m.Exists() {
			in := m.Get("promptTokenCount").Int()
			th := m.Get("thoughtsTokenCount").Int()
			outTok := m.Get("candidatesTokenCount").Int() + th
			u.InputTokens += in
			u.OutputTokens += outTok
			u.TotalTokens += in + outTok
			cached += m.Get("cachedContentTokenCount").Int()
			thoughts += th
		}
	}
	if len(out.Data) == 0 {
		msg := ErrNoImage.Error()
		if len(reasons) > 0 {
			msg += ": " + strings.Join(reasons, "; ")
		}
		return nil, noImage(msg)
	}
	if len(mimes) == 1 {
		for m := range mimes {
			if f, ok := strings.CutPrefix(m, "image/"); ok && (f == "png" || f == "jpeg" || f == "webp") {
				out.OutputFormat = f
			}
		}
	}
	if action != ActionPredict {
		if cached > 0 {
			u.InputDetails = &details{CachedTokens: cached}
		}
		if thoughts > 0 {
			u.OutputDetails = &details{ReasoningTokens: thoughts}
		}
		out.Usage = &u
	}
	return json.Marshal(out)
}

// noImage is an ErrNoImage carrying the model's reasons.
type noImage string

func (e noImage) Error() string        { return string(e) }
func (e noImage) Is(target error) bool { return target == ErrNoImage }

func suffix(sep, s string) string {
	if s == "" {
		return ""
	}
	return sep + s
}

// ImagesSender sends one translated body to model's method action and returns the upstream's response whatever
// its status, like Provider.Send; the provider adds its URL, headers and credentials.
type ImagesSender func(ctx context.Context, model, action string, body []byte) (*http.Response, error)

// SendImages serves an OpenAI images/generations RawCall on a Google image model: it translates the body
// (ImagesRequest), sends it with send (once, or once per image for a Gemini image model, concurrently), and
// returns OpenAI's answer as a synthesized 200 response with the upstream's headers (its request id among
// them). An upstream error (status >= 400; the first of the concurrent calls to fail, the others then being
// cancelled) is returned as the upstream wrote it, for the gateway to translate; a caller's mistake is answered
// 400 in Google's error format without being sent. An answer with no image is answered 400 naming the model's
// reasons; its tokens, and those of the calls that succeeded beside a failed one, are not in any answer and so
// not charged.
func SendImages(ctx context.Context, c *provider.RawCall, send ImagesSender) (*http.Response, error) {
	var in []byte
	if c.Body != nil {
		b, err := io.ReadAll(c.Body)
		if err != nil {
			return nil, err
		}
		in = b
	}
	model := c.Model
	if model == "" {
		model = gjson.GetBytes(in, "model").String()
	}
	if model == "" {
		return googleError(http.StatusBadRequest, "model is required"), nil
	}
	body, action, calls, err := ImagesRequest(model, in)
	if err != nil {
		return googleError(http.StatusBadRequest, err.Error()), nil
	}
	results := make([]imagesResult, calls)
	if calls == 1 {
		results[0] = fetchImages(ctx, send, model, action, body)
	} else {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg sync.WaitGroup
		var once sync.Once
		failed := -1
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = fetchImages(cctx, send, model, action, body)
				if results[i].err != nil || results[i].status >= 400 {
					once.Do(func() { failed = i; cancel() })
				}
			}()
		}
		wg.Wait()
		if failed >= 0 {
			results = results[failed : failed+1]
		}
	}
	answers := make([][]byte, len(results))
	for i, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		if r.status >= 400 {
			return synthesized(r.status, r.header, r.body), nil
		}
		answers[i] = r.body
	}
	oa, err := ImagesResponse(action, answers, time.Now().Unix())
	if errors.Is(err, ErrNoImage) {
		return googleError(http.StatusBadRequest, err.Error()+" (model "+model+")"), nil
	}
	if err != nil {
		return googleError(http.StatusBadGateway, fmt.Sprintf("reading the %s answer of %s: %v", action, model, err)), nil
	}
	h := results[0].header.Clone()
	for _, k := range []string{"Content-Length", "Content-Encoding", "Transfer-Encoding"} {
		delete(h, k)
	}
	h["Content-Type"] = jsonCT
	return synthesized(http.StatusOK, h, oa), nil
}

// imagesResult is one upstream call, its answer read whole.
type imagesResult struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func fetchImages(ctx context.Context, send ImagesSender, model, action string, body []byte) imagesResult {
	resp, err := send(ctx, model, action, body)
	if err != nil {
		return imagesResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxImagesAnswer+1))
	if err != nil {
		return imagesResult{err: err}
	}
	if len(b) > maxImagesAnswer {
		return imagesResult{status: http.StatusBadGateway, header: http.Header{"Content-Type": jsonCT},
			body: googleErrorBody(http.StatusBadGateway, fmt.Sprintf("the %s answer of %s is larger than %d MiB", action, model, maxImagesAnswer>>20))}
	}
	return imagesResult{status: resp.StatusCode, header: resp.Header, body: b}
}

// synthesized is an HTTP/1.1 response with body.
func synthesized(status int, h http.Header, body []byte) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
}

// googleError is an error response written as Google's APIs write theirs, {"error":{"code","message","status"}}.
func googleError(status int, msg string) *http.Response {
	return synthesized(status, http.Header{"Content-Type": {"application/json; charset=UTF-8"}}, googleErrorBody(status, msg))
}

func googleErrorBody(status int, msg string) []byte {
	st := "INVALID_ARGUMENT"
	if status >= 500 {
		st = "INTERNAL"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": st}})
	return b
}

// sendImages is SendImages to AI Studio: {base}/models/{model}:{action} with the API key in x-goog-api-key.
func (p *Provider) sendImages(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	return SendImages(ctx, c, func(ctx context.Context, model, action string, body []byte) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/"+modelPath(model)+":"+action, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		h := ImagesHeaders(c.Header)
		for k, v := range p.headers {
			h[k] = v
		}
		if c.Key != nil {
			h["X-Goog-Api-Key"] = []string{c.Key.Value}
		}
		req.Header = h
		return p.client.Do(req)
	})
}

// ImagesHeaders are the headers of an image call: JSON, and the caller's trace context (no credential of the
// caller's).
func ImagesHeaders(in http.Header) http.Header {
	h := http.Header{"Content-Type": jsonCT}
	for _, k := range []string{"Traceparent", "Tracestate"} {
		if v := in[k]; len(v) > 0 {
			h[k] = v
		}
	}
	return h
}

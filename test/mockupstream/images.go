package mockupstream

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// OpenAI Images: POST /images/generations (JSON) and /images/edits and
// /images/variations (multipart with image or image[] file parts). Every
// image is the same small valid PNG, as b64_json or as a url served by the
// mock itself. gpt-image-* models always answer b64_json and report token
// usage; dall-e models answer url by default and report none.

// mockPNG is an 8x8 opaque PNG, encoded once.
var mockPNG = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = 0xff
		if i%4 == 2 {
			img.Pix[i] = 0x80 // a light yellow
		}
	}
	img.Set(0, 0, color.Black)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

var mockPNGBase64 = base64.StdEncoding.EncodeToString(mockPNG)

// Output tokens of one 1024x1024 gpt-image-1 image by quality; other
// sizes are billed the same here.
var imageOutTokens = map[string]int{"low": 272, "medium": 1056, "high": 4160}

const imageInTokensPerImage = 194 // input image tokens per edited image

// imageRequest is what generations and edits share.
type imageRequest struct {
	model, prompt, size, quality, format string
	n, images                            int
}

func (s *Server) imageGenerations(c *call) {
	r := gjson.GetManyBytes(c.body, "prompt", "n", "size", "quality", "response_format")
	q := imageRequest{model: c.model, prompt: r[0].String(), n: 1, size: r[2].String(), quality: r[3].String(), format: r[4].String()}
	if r[1].Exists() {
		q.n = int(r[1].Int())
	}
	s.images(c, &q)
}

func (s *Server) imageEdits(c *call) {
	q := imageRequest{model: c.model, n: 1}
	variation := strings.HasSuffix(c.r.URL.Path, "/variations")
	fields, ok := c.readForm(func(p *multipart.Part) error {
		if name := p.FormName(); name == "image" || name == "image[]" {
			q.images++
		}
		_, err := io.Copy(io.Discard, p)
		return err
	})
	if !ok {
		return
	}
	if q.images == 0 {
		c.reject(http.StatusBadRequest, "Missing required parameter: 'image'.", "image", "missing_required_parameter")
		return
	}
	q.prompt, q.size, q.quality, q.format = first(fields, "prompt"), first(fields, "size"), first(fields, "quality"), first(fields, "response_format")
	if v := first(fields, "n"); v != "" {
		q.n, _ = strconv.Atoi(v)
	}
	if variation && q.prompt == "" {
		q.prompt = "variation"
	}
	s.images(c, &q)
}

func (s *Server) images(c *call, q *imageRequest) {
	if q.model == "" {
		q.model = "dall-e-2"
	}
	gptImage := strings.HasPrefix(controlName(q.model), "gpt-image")
	switch {
	case q.prompt == "":
		c.reject(http.StatusBadRequest, "Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
		return
	case q.n < 1 || q.n > 10:
		c.reject(http.StatusBadRequest, "Invalid 'n': must be between 1 and 10.", "n", "invalid_value")
		return
	case strings.HasPrefix(q.model, "dall-e-3") && q.n != 1:
		c.reject(http.StatusBadRequest, "You must provide n=1 for this model.", "n", "invalid_value")
		return
	case q.format != "" && q.format != "url" && q.format != "b64_json":
		c.reject(http.StatusBadRequest, "Invalid value for 'response_format': '"+q.format+"'.", "response_format", "invalid_value")
		return
	}
	if q.size == "" || q.size == "auto" {
		q.size = "1024x1024"
	}
	data := make([]any, q.n)
	for i := range data {
		img := obj{}
		if gptImage || q.format == "b64_json" {
			img["b64_json"] = mockPNGBase64
		} else {
			id, _ := c.newID("img-mock")
			img["url"] = baseURL(c.r) + mockImagePath + id + ".png"
		}
		if !gptImage {
			img["revised_prompt"] = q.prompt
		}
		data[i] = img
	}
	res := obj{"created": s.created, "data": data}
	if gptImage {
		quality := q.quality
		if _, ok := imageOutTokens[quality]; !ok {
			quality = "medium" // auto
		}
		text, imgIn, out := tokens(len(q.prompt)), q.images*imageInTokensPerImage, q.n*imageOutTokens[quality]
		res["usage"] = obj{"input_tokens": text + imgIn, "output_tokens": out, "total_tokens": text + imgIn + out,
			"input_tokens_details": obj{"text_tokens": text, "image_tokens": imgIn}}
		res["background"], res["output_format"], res["quality"], res["size"] = "opaque", "png", quality, q.size
	}
	c.sendJSON(res)
}

// mockImage serves the PNG behind url-format answers.
func (s *Server) mockImage(c *call) { c.send(mockPNG, "image/png") }

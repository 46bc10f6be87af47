package api

import (
	"context"
	"errors"
	"net/http"
	"os"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/passthrough"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/meter"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/reqbody"
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/upload"
)

// rawRoute describes a route whose body goes upstream as it is (images, audio, moderations, rerank).
type rawRoute struct {
	op        provider.Op
	meter     func(body, answer []byte) schema.Usage
	multipart bool // the body must be multipart/form-data (an upload)
	needModel bool
}

// passThrough serves a raw route in the OpenAI dialect.
func (s *Server) passThrough(rt rawRoute) http.Handler {
	return s.governed(httpx.WriteOpenAIError, func(ctx context.Context, r *http.Request, x *gateway.Exchange, p *governance.Principal,
		f *finished, w *sink) (gateway.Outcome, error) {
		raw, gerr := s.readRaw(r, x, rt.multipart)
		if gerr != nil {
			return gateway.Outcome{}, gerr
		}
		if raw.Form != nil {
			defer raw.Form.Close()
		} else if s.obs.LogContent {
			f.body = raw.Body
		}
		if rt.needModel && raw.Model == "" {
			return gateway.Outcome{}, badRequest("missing_model", `"model" is required: name a model as "provider/model" or an alias`)
		}
		raw.Method, raw.Meter = http.MethodPost, rt.meter
		if rt.op == provider.OpImages || rt.op == provider.OpImageEdits {
			raw.TailMeter = meter.ImagesTail // gpt-image streams its images as events
		}
		if (rt.op == provider.OpTranscriptions || rt.op == provider.OpTranslations) && raw.Form != nil {
			meterTranscript(raw)
		}
		req := gateway.Request{Op: rt.op, Dialect: dialects.OpenAI, Header: r.Header, Principal: p}
		return passthrough.Serve(ctx, s.eng, x, &req, raw, w)
	})
}

// readRaw reads a raw route's body: a multipart upload is spooled (see internal/upload), a JSON body read
// whole (up to the body limit). Its "model" is found either way.
func (s *Server) readRaw(r *http.Request, x *gateway.Exchange, multipart bool) (*passthrough.Request, *gateway.Error) {
	raw := &passthrough.Request{RawQuery: r.URL.RawQuery}
	if boundary, ok := upload.IsMultipart(r.Header.Get("Content-Type")); ok {
		if r.ContentLength > s.eng.MaxUpload() {
			return nil, uploadTooLarge(s.eng.MaxUpload())
		}
		form, err := upload.Read(r.Body, boundary, s.eng.MaxUpload(), "")
		if errors.Is(err, upload.ErrTooLarge) {
			return nil, uploadTooLarge(s.eng.MaxUpload())
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, httpx.BodyReadError(err, "server.upload_read_timeout")
		}
		if err != nil {
			return nil, badRequest("invalid_multipart", err.Error())
		}
		raw.Form, raw.Model = form, form.Value("model")
		if !reqbody.ValidModel(raw.Model) {
			form.Close()
			return nil, passthrough.BadModel()
		}
		return raw, nil
	}
	if multipart {
		return nil, badRequest("invalid_content_type", "this endpoint takes a multipart/form-data upload")
	}
	body, gerr := readBody(r, x.In[:0], s.eng.MaxBody())
	x.In = body
	if gerr != nil {
		return nil, gerr
	}
	if len(body) > 0 {
		// The same one-pass reading as a chat's: a repeated or unroutable "model" is refused here, before any
		// upstream or budget sees it.
		if raw.Model, gerr = passthrough.BodyModel(body); gerr != nil {
			return nil, gerr
		}
		raw.Header = jsonHeader
	}
	raw.Body = body
	return raw, nil
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

func badRequest(code, msg string) *gateway.Error {
	return &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: code, Message: msg}
}

// model serves GET /v1/models/{id} from the gateway's own listing (providers' models and aliases).
func (s *Server) model(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, m := range s.catalog.List() {
		if m.ID == id {
			httpx.WriteJSON(w, http.StatusOK, m)
			return
		}
	}
	httpx.WriteOpenAIError(w, &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "model_not_found",
		Message: "the model " + id + " does not exist here (see GET /v1/models)"})
}

// meterTranscript makes sure a transcription's duration can be read whatever format the caller asked for: "text"
// is asked of the upstream as JSON (whose usage has the seconds) and given back as text; SRT and WebVTT are read
// from their last cue. Otherwise a caller could have audio transcribed for free by choosing a format.
func meterTranscript(raw *passthrough.Request) {
	switch raw.Form.Value("response_format") {
	case "text":
		raw.Form.Set("response_format", "json")
		raw.Rewrite = meter.TranscriptText
	case "srt", "vtt":
		raw.TailMeter = meter.SubtitleDuration
	}
}

package passthrough

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
)

// The attempt stages of a pass-through request (pipeline.Attempt): route → acquire (the core's) → encode →
// send → relay.

// attempt is one attempt's own state, beside the core's gateway.Try.
type attempt struct {
	dialect dialects.Dialect // the target's dialect for the model
	call    provider.RawCall
	resp    *http.Response // the answer; the Try closes it
}

// route checks that the target offers the request's operation (and speaks a native route's dialect), and picks
// its key. It sets raw.try.dialect and the Try's key.
func route(_ *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	raw, op, up, model := of(f), f.Request().Op, t.Upstream(), t.Model()
	raw.try = attempt{dialect: provider.DialectOf(up.Provider, model)}
	if raw.Native != "" && raw.try.dialect != raw.Native {
		return gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) serves %s in the %s dialect, not on the provider-native %s route", up.Config.Name, up.Config.Type, model, raw.try.dialect, raw.Native)
	}
	if !offers(up, op, raw.Native, model) {
		return gateway.Errorf(http.StatusBadRequest, gateway.TypeInvalidRequest, "unsupported_endpoint",
			"provider %s (type %s) does not offer the %s endpoint", up.Config.Name, up.Config.Type, op)
	}
	if t.Key() == nil {
		t.SetKey(up.Keys.Pick(model))
		if up.Keys.Len() > 0 && t.Key() == nil {
			return gateway.Errorf(http.StatusForbidden, gateway.TypePermission, "model_not_allowed",
				"no key of provider %s is allowed to use model %q", up.Config.Name, model)
		}
	}
	return nil
}

// encode builds the call: the path (with a native route's model), and the body as it came with its model
// rewritten (an upload re-encoded). It sets raw.try.call.
func encode(_ *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	raw, x, model := of(f), f.Exchange(), t.Model()
	path := raw.Path
	if strings.Contains(path, "{model}") {
		path = strings.ReplaceAll(path, "{model}", url.PathEscape(model)) // a native route names the model in its path
	}
	call := &raw.try.call
	*call = provider.RawCall{Op: f.Request().Op, Method: raw.Method, Path: path, RawQuery: raw.RawQuery, Model: model,
		Header: raw.Header, Key: t.Key()}
	switch {
	case raw.Form != nil:
		if model != "" && raw.Form.Value("model") != "" {
			raw.Form.Set("model", model)
		}
		body, ct, n := raw.Form.Body()
		call.Body, call.ContentLength = body, n
		call.Header = http.Header{"Content-Type": {ct}}
		for k, v := range raw.Header {
			if k != "Content-Type" {
				call.Header[k] = v
			}
		}
	case len(raw.Body) > 0:
		body := raw.Body
		if model != "" && gjson.GetBytes(body, "model").Type == gjson.String {
			body, _ = sjson.SetBytes(append(x.Out[:0], raw.Body...), "model", model)
			x.Out = body
		}
		call.Body, call.ContentLength = bytes.NewReader(body), int64(len(body))
	}
	return nil
}

// send sends the call; an upload's timeout starts once its last byte is sent. It sets raw.try.resp.
func send(_ *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	raw := of(f)
	resp, err := t.SendRaw(raw.try.dialect, &raw.try.call, raw.Form != nil)
	raw.try.resp = resp
	return err
}

// relayAnswer writes the answer as it came: a JSON one is read whole (up to a bound) so its usage and ids can
// be read; any other (audio, a file's content, a stream) goes through as it arrives, flushed chunk by chunk, and
// is bounded by the idle timeout rather than the total one. It sets the outcome's usage and Committed.
func relayAnswer(_ *gateway.Engine, f *gateway.Flow, t *gateway.Try) error {
	raw, resp, src, w, x, out := of(f), of(f).try.resp, t.Answer(), t.Sink(), f.Exchange(), f.Outcome()
	h := w.Header()
	relay.CopyUpstreamHeaders(h, resp.Header)
	for _, k := range []string{"Content-Type", "Content-Disposition"} {
		if v := resp.Header[k]; len(v) > 0 {
			h[k] = v
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		buf, complete, err := relay.ReadUpTo(src, x.Resp[:0], maxJSONAnswer)
		x.Resp = buf
		if err != nil {
			return gateway.Errorf(http.StatusBadGateway, gateway.TypeAPI, "upstream_read_error", "reading the answer of provider %s: %s", t.Upstream().Config.Name, err)
		}
		if complete {
			out.Usage = raw.meter(buf, resp.Header)
			if raw.OnAnswer != nil {
				raw.OnAnswer(t.Upstream(), t.Key(), buf)
			}
			if raw.Rewrite != nil {
				var ct string
				buf, ct = raw.Rewrite(buf)
				h["Content-Type"] = []string{ct}
			}
		}
		w.WriteHeader(resp.StatusCode)
		out.Committed = true
		if _, err := w.Write(buf); err != nil || complete {
			return err
		}
	} else {
		out.Usage = raw.meter(nil, resp.Header)
		w.WriteHeader(resp.StatusCode)
		out.Committed = true
	}
	return raw.copyRest(src, w, x, out)
}

// meter reads an answer's usage with the route's meter (answer nil: not buffered), else from Bedrock's headers.
func (raw *Request) meter(answer []byte, h http.Header) schema.Usage {
	var u schema.Usage
	if raw.Meter != nil {
		u = raw.Meter(raw.Body, answer)
	}
	if u.IsZero() {
		u = headerUsage(h)
	}
	return u
}

// copyRest copies what is left of the answer as it arrives, flushing each chunk; with a TailMeter, the usage is
// read from the last bytes.
func (raw *Request) copyRest(src io.Reader, w relay.Sink, x *gateway.Exchange, out *gateway.Outcome) error {
	var tail *relay.TailWriter
	dst := io.Writer(w)
	if raw.TailMeter != nil {
		tail = &relay.TailWriter{W: w, Keep: 64 << 10}
		dst = tail
	}
	buf := x.Resp[:cap(x.Resp)]
	if len(buf) < 32<<10 {
		buf = make([]byte, 32<<10)
		x.Resp = buf[:0]
	}
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			if ferr := w.Flush(); ferr != nil {
				return ferr
			}
		}
		if err != nil && tail != nil {
			// A stream cut short still reports what it counted so far (Gemini's usage is cumulative).
			if u := raw.TailMeter(tail.Tail()); err == io.EOF || !u.IsZero() {
				out.Usage = u
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return relay.Cut(err)
		}
	}
}

// maxJSONAnswer bounds a JSON answer read whole to meter it: generated images come back base64 in the answer
// (1–2 MiB each), and ten of them must still be counted. Larger answers go through unmetered.
const maxJSONAnswer = 64 << 20

// headerUsage reads the token counts Bedrock's InvokeModel puts in headers, the only place they are for models
// whose own answer carries none (Titan, Llama, Mistral).
func headerUsage(h http.Header) schema.Usage {
	in, _ := strconv.ParseInt(h.Get("X-Amzn-Bedrock-Input-Token-Count"), 10, 64)
	out, _ := strconv.ParseInt(h.Get("X-Amzn-Bedrock-Output-Token-Count"), 10, 64)
	return schema.Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out}
}

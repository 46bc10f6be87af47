package passthrough

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	meters "github.com/weir-gateway/weir/internal/meter"
	"github.com/weir-gateway/weir/internal/provider"
	_ "github.com/weir-gateway/weir/internal/provider/openai" // raw calls here go to an openai provider
	"github.com/weir-gateway/weir/internal/schema"
	"github.com/weir-gateway/weir/internal/upload"
)

// TestUploadTimeoutStartsAfterTheUpload: an upload that takes longer to send than the provider's timeout is not
// cut, while an upstream that hangs after receiving it is.
func TestUploadTimeoutStartsAfterTheUpload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 256<<10)
		for { // read slowly: the whole upload takes ~2.6× the timeout (beyond what the kernel buffers)
			_, err := io.ReadFull(r.Body, buf)
			if err != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if strings.Contains(r.URL.Path, "translations") { // hang after the upload
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"text":"ok","usage":{"type":"duration","seconds":1}}`))
	}))
	defer srv.Close()
	cfg, err := config.Parse([]byte("providers:\n  - {name: up, type: openai, base_url: "+srv.URL+"/v1, keys: [{value: k}], timeout: 1s}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	e, err := gateway.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op     provider.Op
		status int
	}{{provider.OpTranscriptions, 200}, {provider.OpTranslations, http.StatusGatewayTimeout}} {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("model", "up/whisper-1")
		fw, _ := mw.CreateFormFile("file", "a.wav")
		_, _ = fw.Write(make([]byte, 32<<20)) // 128 reads of 256 KiB, 20 ms apart: ~2.6 s
		_ = mw.Close()
		form, err := upload.Read(&b, mw.Boundary(), 64<<20, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		raw := &Request{Method: http.MethodPost, Form: form, Model: "up/whisper-1", Meter: meters.Audio}
		x := e.AcquireExchange()
		sink := &bufferSink{h: http.Header{}}
		start := time.Now()
		out, err := Serve(context.Background(), e, x, &gateway.Request{Op: tc.op, Dialect: dialects.OpenAI}, raw, sink)
		took := time.Since(start)
		form.Close()
		status := sink.status
		if ge, ok := err.(*gateway.Error); ok {
			status = ge.Status
		}
		if status != tc.status {
			t.Fatalf("%s: status %d (err %v) after %v", tc.op, status, err, took)
		}
		if tc.status == 200 && (took < 2*time.Second || out.Usage.AudioMillis != 1000) {
			t.Fatalf("%s: took %v, usage %+v", tc.op, took, out.Usage)
		}
		e.ReleaseExchange(x)
	}
}

// bufferSink is a Sink that keeps a whole answer in memory.
type bufferSink struct {
	h      http.Header
	status int
	body   []byte
}

func (b *bufferSink) Header() http.Header         { return b.h }
func (b *bufferSink) WriteHeader(s int)           { b.status = s }
func (b *bufferSink) Write(p []byte) (int, error) { b.body = append(b.body, p...); return len(p), nil }
func (b *bufferSink) Flush() error                { return nil }

func TestHeaderUsage(t *testing.T) {
	h := http.Header{"X-Amzn-Bedrock-Input-Token-Count": {"21"}, "X-Amzn-Bedrock-Output-Token-Count": {"9"}}
	if got := headerUsage(h); got != (schema.Usage{PromptTokens: 21, CompletionTokens: 9, TotalTokens: 30}) {
		t.Fatalf("header usage %+v", got)
	}
	if got := headerUsage(http.Header{}); !got.IsZero() {
		t.Fatalf("no headers: %+v", got)
	}
}

// TestChargeCut: a pass-through answer cut after it began is charged what its meter read, else its reservation.
func TestChargeCut(t *testing.T) {
	reserved := schema.Usage{PromptTokens: 118, CompletionTokens: 100, TotalTokens: 218}
	for _, tc := range []struct {
		name    string
		metered schema.Usage
		want    schema.Usage
	}{
		{"metered usage stands", schema.Usage{Characters: 5}, schema.Usage{Characters: 5}},
		{"not metered: the reservation", schema.Usage{}, reserved},
	} {
		if got := chargeCut(tc.metered, reserved); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

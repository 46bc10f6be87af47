package gateway

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
	meters "github.com/weir-gateway/weir/internal/meter"
	"github.com/weir-gateway/weir/internal/provider"
	_ "github.com/weir-gateway/weir/internal/provider/openai" // raw calls here go to an openai provider
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
	e, err := New(cfg, slog.New(slog.DiscardHandler))
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
		raw := &RawRequest{Method: http.MethodPost, Form: form, Model: "up/whisper-1", Meter: meters.Audio}
		x := e.AcquireExchange()
		sink := &bufferSink{h: http.Header{}}
		start := time.Now()
		out, err := e.ServeRaw(context.Background(), x, &Request{Op: tc.op, Dialect: dialects.OpenAI, Raw: raw}, sink)
		took := time.Since(start)
		form.Close()
		status := sink.status
		if ge, ok := err.(*Error); ok {
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

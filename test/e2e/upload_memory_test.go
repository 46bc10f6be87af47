package e2e

import (
	"encoding/binary"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestTranscriptionUploadMemory sends a transcription upload at the size limit and checks that Weir's peak RSS
// grows by less than a quarter of the upload: the file is spooled to disk and streamed upstream, not held.
func TestTranscriptionUploadMemory(t *testing.T) {
	const limit = 64 << 20
	_, url := startUpstream(t, mockupstream.Options{})
	cfg := strings.Replace(surfaceConfig(url, t.TempDir()), "server:\n", "server:\n  max_upload_bytes: "+strconv.Itoa(limit)+"\n", 1)
	g := startGateway(t, strings.Replace(cfg, "timeout: 10s", "timeout: 120s", 1))

	// Warm up: one small upload, so the baseline includes the code paths' own allocations.
	if code, body := transcribe(t, g, 1<<20); code != 200 {
		t.Fatalf("small upload: %d %s", code, body)
	}
	before := peakRSS(t, g.cmd.Process.Pid)
	size := int64(limit - 4096)
	start := time.Now()
	if code, body := transcribe(t, g, size); code != 200 {
		t.Fatalf("upload at the limit: %d %s", code, body)
	}
	after := peakRSS(t, g.cmd.Process.Pid)
	growth := after - before
	t.Logf("upload of %d MiB in %v: weir peak RSS %d → %d MiB (+%.1f MiB, %.1f%% of the upload)",
		size>>20, time.Since(start).Round(time.Millisecond), before>>20, after>>20, float64(growth)/(1<<20), 100*float64(growth)/float64(size))
	if growth > size/4 {
		t.Fatalf("peak RSS grew by %d bytes for a %d-byte upload: more than a quarter", growth, size)
	}
	// Over the limit: 413, in OpenAI's format.
	if code, body := transcribe(t, g, limit+64<<10); code != 413 || !strings.Contains(body, `"error"`) {
		t.Fatalf("over the limit: %d %s", code, body)
	}
}

// transcribe streams a multipart transcription request whose WAV file makes the body about size bytes, generated
// on the fly so the test does not hold it either.
func transcribe(t *testing.T, g *gateway, size int64) (int, string) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		_ = mw.WriteField("model", "up/mock-whisper")
		fw, err := mw.CreateFormFile("file", "big.wav")
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		data := size - 44 - 400 // headers of the form and the WAV
		hdr := make([]byte, 44)
		copy(hdr, "RIFF")
		binary.LittleEndian.PutUint32(hdr[4:], uint32(36+data))
		copy(hdr[8:], "WAVEfmt ")
		binary.LittleEndian.PutUint32(hdr[16:], 16)
		binary.LittleEndian.PutUint16(hdr[20:], 1)
		binary.LittleEndian.PutUint16(hdr[22:], 1)
		binary.LittleEndian.PutUint32(hdr[24:], 16000)
		binary.LittleEndian.PutUint32(hdr[28:], 32000)
		binary.LittleEndian.PutUint16(hdr[32:], 2)
		binary.LittleEndian.PutUint16(hdr[34:], 16)
		copy(hdr[36:], "data")
		binary.LittleEndian.PutUint32(hdr[40:], uint32(data))
		_, _ = fw.Write(hdr)
		chunk := make([]byte, 64<<10)
		for left := data; left > 0; left -= int64(len(chunk)) {
			if _, err := fw.Write(chunk[:min(int64(len(chunk)), left)]); err != nil {
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	req, err := http.NewRequest(http.MethodPost, g.URL+"/v1/audio/transcriptions", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+vk(1))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	pr.Close()
	return resp.StatusCode, string(body)
}

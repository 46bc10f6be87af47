package mockupstream

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSpeechFormats(t *testing.T) {
	ts, _ := start(t, Options{})
	long := strings.Repeat("x", 205) // 21 tens of characters → 21 KiB
	cases := []struct {
		name, body, ctype string
		size              int
		magic             []byte
	}{
		{"mp3 default", `{"model":"tts-1","input":"hi","voice":"alloy"}`, "audio/mpeg", 8 << 10, []byte{0xFF, 0xFB}},
		{"proportional", `{"model":"tts-1","input":"` + long + `","voice":"alloy"}`, "audio/mpeg", 21 << 10, []byte{0xFF, 0xFB}},
		{"wav", `{"model":"gpt-4o-mini-tts","input":"hi","voice":"nova","response_format":"wav"}`, "audio/wav", 8 << 10, []byte("RIFF")},
		{"pcm", `{"model":"tts-1","input":"hi","voice":"alloy","response_format":"pcm"}`, "audio/pcm", 8 << 10, nil},
		{"opus", `{"model":"tts-1","input":"hi","voice":"alloy","response_format":"opus"}`, "audio/opus", 8 << 10, []byte("OggS")},
		{"flac", `{"model":"tts-1","input":"hi","voice":"alloy","response_format":"flac"}`, "audio/flac", 8 << 10, []byte("fLaC")},
		{"aac", `{"model":"tts-1","input":"hi","voice":"alloy","response_format":"aac"}`, "audio/aac", 8 << 10, []byte{0xFF, 0xF1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, b, h := post(t, ts.URL+"/v1/audio/speech", tc.body)
			if st != 200 || h.Get("Content-Type") != tc.ctype || len(b) != tc.size || !bytes.HasPrefix(b, tc.magic) {
				t.Fatalf("status %d type %q size %d head % x", st, h.Get("Content-Type"), len(b), b[:min(8, len(b))])
			}
			if h.Get("Content-Length") != "" {
				t.Fatalf("speech should be chunked, got Content-Length %s", h.Get("Content-Length"))
			}
		})
	}

	// The WAV is valid: canonical header, sizes that add up, 24 kHz mono 16-bit.
	_, b, _ := post(t, ts.URL+"/v1/audio/speech", `{"model":"tts-1","input":"hello","voice":"alloy","response_format":"wav"}`)
	le := binary.LittleEndian
	if string(b[8:16]) != "WAVEfmt " || int(le.Uint32(b[4:])) != len(b)-8 || string(b[36:40]) != "data" ||
		int(le.Uint32(b[40:])) != len(b)-44 || le.Uint32(b[24:]) != 24000 || le.Uint16(b[22:]) != 1 || le.Uint16(b[34:]) != 16 {
		t.Fatalf("bad WAV header % x", b[:44])
	}
	if sec, err := probeAudio(bytes.NewReader(b)); err != nil || sec != float64(len(b)-44)/48000 {
		t.Fatalf("duration %v %v", sec, err)
	}

	for _, tc := range []struct{ body, param string }{
		{`{"model":"tts-1","voice":"alloy"}`, "input"},
		{`{"input":"x","voice":"alloy"}`, "model"},
		{`{"model":"tts-1","input":"x","response_format":"ogg"}`, "response_format"},
		{`{"model":"tts-1","input":"` + strings.Repeat("x", 4097) + `"}`, "input"},
	} {
		st, b, _ := post(t, ts.URL+"/v1/audio/speech", tc.body)
		wantError(t, st, b, 400, tc.param)
	}
}

// readTimed reads a response body and returns all bytes, how many the first
// read returned, and the time between the first read and EOF.
func readTimed(t *testing.T, res *http.Response) (all []byte, firstRead int, spread time.Duration) {
	t.Helper()
	defer res.Body.Close()
	buf := make([]byte, 64<<10)
	var t0 time.Time
	for {
		n, err := res.Body.Read(buf)
		if n > 0 {
			if t0.IsZero() {
				t0, firstRead = time.Now(), n
			}
			all = append(all, buf[:n]...)
		}
		if err == io.EOF {
			return all, firstRead, time.Since(t0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSpeechStreamsIncrementally(t *testing.T) {
	cases := []struct {
		name  string
		o     Options
		model string
		min   time.Duration // lower bound of first-read-to-EOF
	}{
		{"slow model", Options{Chunks: 4}, "tts-1-slow", 3 * slowSpeechDelay},
		{"ChunkDelay option", Options{Chunks: 4, ChunkDelay: 30 * time.Millisecond}, "tts-1", 3 * 30 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := start(t, tc.o)
			res := do(t, http.MethodPost, ts.URL+"/v1/audio/speech", `{"model":"`+tc.model+`","input":"hello","voice":"alloy"}`)
			all, first, spread := readTimed(t, res)
			if len(all) != 8<<10 || first > 2<<10 || spread < tc.min {
				t.Fatalf("total %d first read %d spread %v (want ≥ %v)", len(all), first, spread, tc.min)
			}
		})
	}
}

func TestSpeechSSE(t *testing.T) {
	ts, _ := start(t, Options{Chunks: 3})
	evs := sse(t, ts.URL+"/v1/audio/speech", `{"model":"gpt-4o-mini-tts","input":"hello there","voice":"alloy","stream_format":"sse"}`)
	if len(evs) != 4 {
		t.Fatalf("events %v", evs)
	}
	var audio []byte
	for _, e := range evs[:3] {
		b, err := base64.StdEncoding.DecodeString(e.data.Get("audio").String())
		if err != nil || e.data.Get("type").String() != "speech.audio.delta" {
			t.Fatalf("delta %s", e.raw)
		}
		audio = append(audio, b...)
	}
	done := evs[3].data
	if len(audio) != 8<<10 || done.Get("type").String() != "speech.audio.done" || done.Get("usage.input_tokens").Int() != 3 ||
		done.Get("usage.output_tokens").Int() != 8 || done.Get("usage.total_tokens").Int() != 11 {
		t.Fatalf("audio %d done %s", len(audio), evs[3].raw)
	}
}

func TestSpeechFaults(t *testing.T) {
	ts, m := start(t, Options{Chunks: 4})
	res := do(t, http.MethodPost, ts.URL+"/v1/audio/speech", `{"model":"drop-midstream","input":"hello","voice":"alloy"}`)
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil || len(b) != 4<<10 {
		t.Fatalf("drop: read %d bytes, err %v", len(b), err)
	}
	if st, b, _ := post(t, ts.URL+"/v1/audio/speech", `{"model":"fail-429","input":"hello","voice":"alloy"}`); st != 429 {
		t.Fatalf("fail-429: %d %s", st, b)
	}
	// A client that leaves mid-stream is counted as a cancellation.
	res = do(t, http.MethodPost, ts.URL+"/v1/audio/speech", `{"model":"tts-slow","input":"hello","voice":"alloy"}`)
	res.Body.Read(make([]byte, 512))
	res.Body.Close()
	eventually(t, "cancel counted", func() bool { s := m.Stats(); return s.Cancelled == 1 && s.InFlight == 0 })
}

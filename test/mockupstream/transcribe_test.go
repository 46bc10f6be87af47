package mockupstream

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// testWAV builds a 16 kHz stereo 16-bit WAV (64,000 bytes a second) with
// an odd-sized LIST chunk before the data; dataSize overrides the declared
// data size (0xFFFFFFFF is how streaming encoders leave it).
func testWAV(seconds float64, dataSize uint32) string {
	n := int(seconds * 64000)
	b := make([]byte, 44+n)
	wavHeader(b, 16000, 2, 16, n)
	if dataSize != 0 {
		binary.LittleEndian.PutUint32(b[40:], dataSize)
	}
	list := []byte("LIST\x03\x00\x00\x00abc\x00") // 3 bytes + pad
	return string(b[:36]) + string(list) + string(b[36:])
}

func TestTranscriptions(t *testing.T) {
	ts, _ := start(t, Options{})
	wav := formPart{"file", "speech.wav", testWAV(3.5, 0)}
	cases := []struct {
		name, path string
		parts      []formPart
		check      func(t *testing.T, st int, b []byte, ctype string)
	}{
		{"json duration usage", "/v1/audio/transcriptions", []formPart{wav, {"model", "", "whisper-1"}}, func(t *testing.T, st int, b []byte, _ string) {
			r := gjson.ParseBytes(b)
			if st != 200 || r.Get("text").String() != "This is a mock transcription of speech.wav." ||
				r.Get("usage.type").String() != "duration" || r.Get("usage.seconds").Float() != 4 {
				t.Fatalf("%d %s", st, b)
			}
		}},
		{"text", "/v1/audio/transcriptions", []formPart{{"model", "", "whisper-1"}, wav, {"response_format", "", "text"}}, func(t *testing.T, st int, b []byte, ctype string) {
			if st != 200 || string(b) != "This is a mock transcription of speech.wav.\n" || !strings.HasPrefix(ctype, "text/plain") {
				t.Fatalf("%d %q %s", st, b, ctype)
			}
		}},
		{"verbose_json", "/v1/audio/transcriptions", []formPart{wav, {"model", "", "whisper-1"}, {"response_format", "", "verbose_json"}, {"language", "", "fr"}, {"timestamp_granularities[]", "", "word"}}, func(t *testing.T, st int, b []byte, _ string) {
			r := gjson.ParseBytes(b)
			if st != 200 || r.Get("duration").Float() != 3.5 || r.Get("language").String() != "french" || r.Get("task").String() != "transcribe" ||
				r.Get("segments.0.end").Float() != 3.5 || r.Get("words.#").Int() != 7 || r.Get("words.6.end").Float() != 3.5 || r.Get("usage.seconds").Int() != 4 {
				t.Fatalf("%d %s", st, b)
			}
		}},
		{"srt", "/v1/audio/transcriptions", []formPart{wav, {"model", "", "whisper-1"}, {"response_format", "", "srt"}}, func(t *testing.T, st int, b []byte, _ string) {
			if st != 200 || !strings.HasPrefix(string(b), "1\n00:00:00,000 --> 00:00:03,500\nThis is a mock") {
				t.Fatalf("%d %q", st, b)
			}
		}},
		{"streamed wav size", "/v1/audio/transcriptions", []formPart{{"file", "s.wav", testWAV(2, 0xFFFFFFFF)}, {"model", "", "whisper-1"}, {"response_format", "", "verbose_json"}}, func(t *testing.T, st int, b []byte, _ string) {
			if r := gjson.ParseBytes(b); st != 200 || r.Get("duration").Float() != 2 {
				t.Fatalf("%d %s", st, b)
			}
		}},
		{"mp3 estimated", "/v1/audio/transcriptions", []formPart{{"file", "a.mp3", strings.Repeat("\xff", 40000)}, {"model", "", "whisper-1"}}, func(t *testing.T, st int, b []byte, _ string) {
			if r := gjson.ParseBytes(b); st != 200 || r.Get("usage.seconds").Int() != 3 { // 2.5 s at 128 kbps
				t.Fatalf("%d %s", st, b)
			}
		}},
		{"gpt-4o-transcribe tokens", "/v1/audio/transcriptions", []formPart{wav, {"model", "", "gpt-4o-transcribe"}}, func(t *testing.T, st int, b []byte, _ string) {
			u := gjson.GetBytes(b, "usage")
			if st != 200 || u.Get("type").String() != "tokens" || u.Get("input_token_details.audio_tokens").Int() != 35 ||
				u.Get("total_tokens").Int() != u.Get("input_tokens").Int()+u.Get("output_tokens").Int() {
				t.Fatalf("%d %s", st, b)
			}
		}},
		{"translation", "/v1/audio/translations", []formPart{wav, {"model", "", "whisper-1"}, {"response_format", "", "verbose_json"}}, func(t *testing.T, st int, b []byte, _ string) {
			r := gjson.ParseBytes(b)
			if st != 200 || r.Get("task").String() != "translate" || r.Get("language").String() != "english" ||
				r.Get("text").String() != "This is a mock translation of speech.wav." {
				t.Fatalf("%d %s", st, b)
			}
		}},
		{"azure", "/openai/deployments/whisper/audio/transcriptions?api-version=2024-06-01", []formPart{wav}, func(t *testing.T, st int, b []byte, _ string) {
			if st != 200 || gjson.GetBytes(b, "usage.seconds").Int() != 4 {
				t.Fatalf("%d %s", st, b)
			}
		}},
		{"missing file", "/v1/audio/transcriptions", []formPart{{"model", "", "whisper-1"}}, func(t *testing.T, st int, b []byte, _ string) {
			wantError(t, st, b, 400, "file")
		}},
		{"corrupt wav", "/v1/audio/transcriptions", []formPart{{"file", "x.wav", "RIFF\x00\x00\x00\x00WAVEjunk"}, {"model", "", "whisper-1"}}, func(t *testing.T, st int, b []byte, _ string) {
			wantError(t, st, b, 400, "file")
		}},
		{"empty file", "/v1/audio/transcriptions", []formPart{{"file", "x.wav", ""}, {"model", "", "whisper-1"}}, func(t *testing.T, st int, b []byte, _ string) {
			wantError(t, st, b, 400, "file")
		}},
		{"verbose_json not for gpt-4o", "/v1/audio/transcriptions", []formPart{wav, {"model", "", "gpt-4o-mini-transcribe"}, {"response_format", "", "verbose_json"}}, func(t *testing.T, st int, b []byte, _ string) {
			wantError(t, st, b, 400, "response_format")
		}},
		{"model fault", "/v1/audio/transcriptions", []formPart{wav, {"model", "", "fail-503"}}, func(t *testing.T, st int, b []byte, _ string) {
			if st != 503 || !gjson.GetBytes(b, "error.message").Exists() {
				t.Fatalf("%d %s", st, b)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := form(t, tc.parts...)
			st, b, h := post(t, ts.URL+tc.path, body, ct)
			tc.check(t, st, b, h.Get("Content-Type"))
		})
	}
}

// The mock's own speech WAV round-trips through transcription.
func TestSpeechTranscriptionRoundTrip(t *testing.T) {
	ts, _ := start(t, Options{})
	st, wav, _ := post(t, ts.URL+"/v1/audio/speech", `{"model":"tts-1","input":"`+strings.Repeat("y", 1000)+`","voice":"alloy","response_format":"wav"}`)
	if st != 200 {
		t.Fatal(st)
	}
	body, ct := form(t, formPart{"file", "speech.wav", string(wav)}, formPart{"model", "", "whisper-1"}, formPart{"response_format", "", "verbose_json"})
	r := okJSON(t, ts.URL+"/v1/audio/transcriptions", body, ct)
	if want := float64(100*1024-44) / 48000; r.Get("duration").Float() < want-0.001 || r.Get("duration").Float() > want+0.001 || r.Get("usage.seconds").Int() != 3 {
		t.Fatalf("%s (want duration %.3f)", r.Raw, want)
	}
}

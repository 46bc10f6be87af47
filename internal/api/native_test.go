package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/internal/dialects"
)

func TestNativeHeaders(t *testing.T) {
	in := http.Header{
		"Content-Type": {"application/json"}, "Anthropic-Beta": {"tools-2024"},
		"X-Amzn-Bedrock-Guardrailidentifier": {"g1"}, "X-Amzn-Bedrock-Trace": {"ENABLED"},
		"Authorization": {"Bearer wk-caller"}, "X-Api-Key": {"wk-caller"}, "Cookie": {"c=1"}, "X-Other": {"x"},
	}
	got := nativeHeaders(in, http.Header{"Accept": {"text/event-stream"}})
	for _, k := range []string{"Content-Type", "Anthropic-Beta", "X-Amzn-Bedrock-Guardrailidentifier", "X-Amzn-Bedrock-Trace", "Accept"} {
		if got.Get(k) == "" {
			t.Errorf("%s dropped", k)
		}
	}
	for _, k := range []string{"Authorization", "X-Api-Key", "Cookie", "X-Other"} {
		if got.Get(k) != "" {
			t.Errorf("%s forwarded", k)
		}
	}
}

func TestNativeSegments(t *testing.T) {
	for _, tc := range []struct {
		path  string
		slash bool
		want  string // the segments joined by " | "; "" when refused
	}{
		{"/v1/files/file-1", false, "v1 | files | file-1"},
		{"/v1/models/ft:gpt-4o:org::x", false, "v1 | models | ft:gpt-4o:org::x"},
		{"/v1/files/a%20b", false, "v1 | files | a b"},
		{"/v1beta/models/gemini%2Fgemini-2.0-flash:generateContent", true, "v1beta | models | gemini/gemini-2.0-flash:generateContent"},
		{"/model/arn:aws:bedrock:us-east-1:1:inference-profile%2Fus.x/converse", true, "model | arn:aws:bedrock:us-east-1:1:inference-profile/us.x | converse"},
		{"", false, ""},
		{"/", false, ""},
		{"v1/files", false, ""},
		{"/v1//files", false, ""},
		{"/v1/files/", false, ""},
		{"/v1/files%2Ffile-1", false, ""},
		{"/v1/files%2ffile-1", false, ""},
		{"/v1/files%252Ffile-1", false, ""},
		{"/v1/..", false, ""},
		{"/v1/.", false, ""},
		{"/v1/%2e%2e/files", false, ""},
		{"/v1/%2E%2E/files", false, ""},
		{"/v1/.%2e/files", false, ""},
		{"/v1/%2e/files", false, ""},
		{"/%252e%252e/files", false, ""},
		{"/%25252e%25252e/files", false, ""},
		{"/v1/chat%3F/x", false, ""},
		{"/v1/chat%253F/x", false, ""},
		{"/v1/chat%23/x", false, ""},
		{"/v1/chat%2523/x", false, ""},
		{"/v1/chat%5C..%5Cfiles", false, ""},
		{"/v1/chat%255C/x", false, ""},
		{"/v1/chat%00", false, ""},
		{"/v1/chat%0a", false, ""},
		{"/v1/chat%7f", false, ""},
		{"/v1/chat%zz", false, ""},
		{"/v1/chat%2", false, ""},
		{"/v1/a\\b", false, ""},
		{"/v1/a?b", false, ""},
		{"/v1beta/models/x%2F..%2Ffiles:generateContent", true, ""},
		{"/v1beta/models/x%2F%2Ffiles:generateContent", true, ""},
		{"/v1beta/models/%2F:generateContent", true, ""},
		{"/v1beta/models/%252e%252e:generateContent", true, ""},
	} {
		segs, ok := nativeSegments(tc.path, tc.slash)
		got := strings.Join(segs, " | ")
		if !ok {
			got = ""
		}
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("nativeSegments(%q, %v) = %q %v, want %q", tc.path, tc.slash, got, ok, tc.want)
		}
	}
}

// FuzzNativeSegments: whatever the path, accepted segments are safe, and the upstream path built from them
// (escaped again) decodes, by any number of further decodings a proxy might do, to the same segments.
func FuzzNativeSegments(f *testing.F) {
	for _, s := range []string{"/v1/files/file-1", "/v1/files%2Ffile-1", "/%252e%252e/x", "/a%253Fb", "/a%2523b", "/a%5Cb",
		"/v1beta/models/p%2Fm:generateContent", "/a/./b", "/a%00", "/x%2e%2e", "/%2e."} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, path string, slash bool) {
		segs, ok := nativeSegments(path, slash)
		if !ok {
			return
		}
		for _, s := range segs {
			if !segmentOK(s, slash) {
				t.Fatalf("%q: accepted segment %q", path, s)
			}
		}
		if slash {
			return // a model id: escaped whole into one segment by the gateway
		}
		up := joinSegments(segs)
		for range 3 { // a proxy that decodes once, or more, still sees the same segments
			d, err := url.PathUnescape(up)
			if err != nil {
				t.Fatalf("%q: upstream path %q does not decode: %v", path, up, err)
			}
			if got := strings.Split(d[1:], "/"); !slices.Equal(got, segs) {
				t.Fatalf("%q: upstream path %q decodes to %q, checked %q", path, up, got, segs)
			}
			up = d
		}
	})
}

func TestClassifyNative(t *testing.T) {
	for _, tc := range []struct {
		d      dialects.Dialect
		method string
		path   string
		want   nativeClass
	}{
		{dialects.OpenAI, "POST", "chat/completions", nativePass},
		{dialects.OpenAI, "POST", "embeddings", nativePass},
		{dialects.OpenAI, "POST", "audio/transcriptions", nativePass},
		{dialects.OpenAI, "GET", "models", nativePass},
		{dialects.OpenAI, "GET", "models/ft:gpt-4o:acme::1", nativePass},
		{dialects.OpenAI, "DELETE", "models/ft:gpt-4o:acme::1", nativeRefused},
		{dialects.OpenAI, "GET", "chat/completions", nativeRefused},
		{dialects.OpenAI, "GET", "chat/completions/chatcmpl-1", nativeRefused},
		{dialects.OpenAI, "POST", "chat/completions/chatcmpl-1", nativeRefused},
		{dialects.OpenAI, "DELETE", "chat/completions/chatcmpl-1", nativeRefused},
		{dialects.OpenAI, "GET", "files", nativeOwned},
		{dialects.OpenAI, "POST", "files", nativeOwned},
		{dialects.OpenAI, "GET", "files/file-1", nativeOwned},
		{dialects.OpenAI, "DELETE", "files/file-1", nativeOwned},
		{dialects.OpenAI, "GET", "files/file-1/content", nativeOwned},
		{dialects.OpenAI, "POST", "batches", nativeOwned},
		{dialects.OpenAI, "POST", "batches/batch_1/cancel", nativeOwned},
		{dialects.OpenAI, "POST", "responses", nativeOwned},
		{dialects.OpenAI, "GET", "responses/resp_1", nativeOwned},
		{dialects.OpenAI, "POST", "uploads", nativeRefused},
		{dialects.OpenAI, "POST", "uploads/upload_1/parts", nativeRefused},
		{dialects.OpenAI, "GET", "vector_stores", nativeRefused},
		{dialects.OpenAI, "GET", "vector_stores/vs_1/files", nativeRefused},
		{dialects.OpenAI, "GET", "fine_tuning/jobs", nativeRefused},
		{dialects.OpenAI, "POST", "fine_tuning/jobs/ftjob-1/cancel", nativeRefused},
		{dialects.OpenAI, "GET", "assistants/asst_1", nativeRefused},
		{dialects.OpenAI, "POST", "threads/thread_1/runs", nativeRefused},
		{dialects.OpenAI, "GET", "containers/cntr_1/files", nativeRefused},
		{dialects.OpenAI, "GET", "conversations/conv_1/items", nativeRefused},
		{dialects.OpenAI, "POST", "realtime/sessions", nativeRefused},
		{dialects.OpenAI, "POST", "realtime/client_secrets", nativeRefused},
		{dialects.OpenAI, "GET", "videos/video_1/content", nativeRefused},
		{dialects.OpenAI, "GET", "evals/eval_1/runs", nativeRefused},
		{dialects.OpenAI, "GET", "organization/usage/completions", nativeRefused},
		{dialects.OpenAI, "POST", "anything", nativeRefused},
		{dialects.OpenAI, "GET", "", nativeRefused},
		{dialects.Anthropic, "POST", "messages", nativePass},
		{dialects.Anthropic, "POST", "messages/count_tokens", nativePass},
		{dialects.Anthropic, "POST", "complete", nativePass},
		{dialects.Anthropic, "GET", "models", nativePass},
		{dialects.Anthropic, "GET", "models/claude-sonnet-4-5", nativePass},
		{dialects.Anthropic, "GET", "messages/batches", nativeOwned},
		{dialects.Anthropic, "GET", "messages/batches/msgbatch_1/results", nativeOwned},
		{dialects.Anthropic, "POST", "messages/batches/msgbatch_1/cancel", nativeOwned},
		{dialects.Anthropic, "GET", "files", nativeRefused},
		{dialects.Anthropic, "GET", "files/file_1/content", nativeRefused},
		{dialects.Anthropic, "DELETE", "files/file_1", nativeRefused},
		{dialects.Anthropic, "GET", "skills", nativeRefused},
		{dialects.Anthropic, "GET", "organizations/api_keys", nativeRefused},
		{dialects.Anthropic, "GET", "messages", nativeRefused},
	} {
		var segs []string
		if tc.path != "" {
			segs = strings.Split(tc.path, "/")
		}
		if got := classifyNative(tc.d, tc.method, segs); got != tc.want {
			t.Errorf("%s %s %s: %v, want %v", tc.d, tc.method, tc.path, got, tc.want)
		}
	}
}

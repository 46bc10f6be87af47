package mockupstream

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// dialectCase builds a chat request for a model in one dialect, so every
// fault control is proven to work wherever the model travels (body or path).
type dialectCase struct {
	name     string
	build    func(base, model string, stream bool) (url, body string, hdr []string)
	errPath  string // must exist in the error body
	finalTag string // only present in a complete stream
}

var dialects = []dialectCase{
	{"openai", func(base, m string, s bool) (string, string, []string) {
		return base + "/v1/chat/completions", fmt.Sprintf(`{"model":%q,"stream":%t,%s}`, m, s, userMsgs), nil
	}, "error.message", "[DONE]"},
	{"azure", func(base, m string, s bool) (string, string, []string) {
		return base + "/openai/deployments/" + m + "/chat/completions?api-version=2024-10-21", fmt.Sprintf(`{"stream":%t,%s}`, s, userMsgs), nil
	}, "error.type", "[DONE]"},
	{"responses", func(base, m string, s bool) (string, string, []string) {
		return base + "/v1/responses", fmt.Sprintf(`{"model":%q,"stream":%t,"input":"hi"}`, m, s), nil
	}, "error.message", "response.completed"},
	{"anthropic", func(base, m string, s bool) (string, string, []string) {
		return base + "/v1/messages", fmt.Sprintf(`{"model":%q,"stream":%t,"max_tokens":5,%s}`, m, s, userMsgs), []string{antVersion}
	}, "error.type", "message_stop"},
	{"vertex-anthropic", func(base, m string, s bool) (string, string, []string) {
		verb := "rawPredict"
		if s {
			verb = "streamRawPredict"
		}
		return base + "/v1/projects/p/locations/l/publishers/anthropic/models/" + m + ":" + verb, `{"anthropic_version":"vertex-2023-10-16","max_tokens":5,` + userMsgs + `}`, nil
	}, "error.type", "message_stop"},
	{"gemini", func(base, m string, s bool) (string, string, []string) {
		verb := ":generateContent"
		if s {
			verb = ":streamGenerateContent?alt=sse"
		}
		return base + "/v1beta/models/" + m + verb, `{` + geminiUser + `}`, nil
	}, "error.status", "finishReason"},
	{"bedrock", func(base, m string, s bool) (string, string, []string) {
		verb := "/converse"
		if s {
			verb = "/converse-stream"
		}
		return base + "/model/" + m + verb, `{` + converseUser + `}`, nil
	}, "message", "metadata"},
	{"cohere", func(base, m string, s bool) (string, string, []string) {
		return base + "/v2/chat", fmt.Sprintf(`{"model":%q,"stream":%t,%s}`, m, s, userMsgs), nil
	}, "message", "message-end"},
}

func TestFaultStatusEveryDialect(t *testing.T) {
	ts, m := start(t, Options{})
	for _, d := range dialects {
		for _, status := range []int{400, 401, 429, 500, 503} {
			t.Run(fmt.Sprintf("%s/%d", d.name, status), func(t *testing.T) {
				url, body, hdr := d.build(ts.URL, fmt.Sprintf("fail-%d", status), false)
				st, b, h := post(t, url, body, hdr...)
				if st != status || !gjson.GetBytes(b, d.errPath).Exists() {
					t.Fatalf("status %d body %s", st, b)
				}
				if (h.Get("Retry-After") == "1") != (status == 429) {
					t.Fatalf("Retry-After %q", h.Get("Retry-After"))
				}
			})
		}
		t.Run(d.name+"/ok", func(t *testing.T) {
			url, body, hdr := d.build(ts.URL, "mock-model", false)
			if st, b, _ := post(t, url, body, hdr...); st != 200 {
				t.Fatalf("status %d body %s", st, b)
			}
		})
	}
	if f := m.Stats().Failed; f != int64(len(dialects)*5) {
		t.Fatalf("Failed = %d", f)
	}
}

func TestFaultHangCountsCancel(t *testing.T) {
	ts, m := start(t, Options{})
	for i, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			url, body, hdr := d.build(ts.URL, "hang", false)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
			for _, h := range hdr {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Set(k, v)
			}
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
				t.Fatalf("hang answered %d", res.StatusCode)
			}
			eventually(t, "cancel counted", func() bool { s := m.Stats(); return s.Cancelled == int64(i+1) && s.InFlight == 0 })
		})
	}
}

func TestFaultSlowAndLatency(t *testing.T) {
	ts, _ := start(t, Options{Latency: 20 * time.Millisecond})
	for _, d := range dialects {
		url, body, hdr := d.build(ts.URL, "slow-80", false)
		t0 := time.Now()
		if st, b, _ := post(t, url, body, hdr...); st != 200 {
			t.Fatalf("%s: %d %s", d.name, st, b)
		}
		if el := time.Since(t0); el < 100*time.Millisecond {
			t.Fatalf("%s: answered after %v", d.name, el)
		}
	}
}

func TestFaultReset(t *testing.T) {
	ts, m := start(t, Options{})
	for _, d := range dialects {
		url, body, hdr := d.build(ts.URL, "reset", true)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		for _, h := range hdr {
			k, v, _ := strings.Cut(h, ": ")
			req.Header.Set(k, v)
		}
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("%s: reset answered %d", d.name, res.StatusCode)
		}
	}
	eventually(t, "resets counted", func() bool { s := m.Stats(); return s.Failed == int64(len(dialects)) && s.Cancelled == 0 })
}

func TestFaultDropMidstream(t *testing.T) {
	ts, m := start(t, Options{})
	for _, d := range dialects {
		for _, stream := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/stream=%t", d.name, stream), func(t *testing.T) {
				url, body, hdr := d.build(ts.URL, "drop-midstream", stream)
				res := do(t, http.MethodPost, url, body, hdr...)
				defer res.Body.Close()
				got, err := io.ReadAll(res.Body)
				if res.StatusCode != 200 || err == nil {
					t.Fatalf("status %d err %v body %q", res.StatusCode, err, got)
				}
				if stream && (len(got) == 0 || bytes.Contains(got, []byte(d.finalTag))) {
					t.Fatalf("want a partial stream without %q, got %q", d.finalTag, got)
				}
			})
		}
	}
	if s := m.Stats(); s.Failed != int64(2*len(dialects)) || s.Cancelled != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFaultFlakyAndRatio(t *testing.T) {
	ts, _ := start(t, Options{})
	for _, d := range dialects {
		fails := 0
		for range 10 {
			url, body, hdr := d.build(ts.URL, "flaky-30", false)
			st, _, _ := post(t, url, body, hdr...)
			if st == 500 {
				fails++
			} else if st != 200 {
				t.Fatalf("%s: status %d", d.name, st)
			}
		}
		if fails < 2 || fails > 4 {
			t.Fatalf("%s: %d of 10 failed for flaky-30", d.name, fails)
		}
	}

	ts, m := start(t, Options{FailRatio: 0.25, FailStatus: 429})
	got429 := 0
	for range 8 {
		st, _, h := post(t, ts.URL+"/v1/chat/completions", `{"model":"mock-model",`+userMsgs+`}`)
		if st == 429 && h.Get("Retry-After") == "1" {
			got429++
		}
	}
	if got429 != 2 || m.Stats().Failed != 2 {
		t.Fatalf("FailRatio 0.25 gave %d of 8", got429)
	}
}

func TestFaultHeader(t *testing.T) {
	ts, _ := start(t, Options{})
	st, _, _ := post(t, ts.URL+"/v1/chat/completions", `{"model":"mock-model",`+userMsgs+`}`, FaultHeader+": fail-503")
	if st != 503 {
		t.Fatalf("status %d", st)
	}
}

// A caller that disconnects mid-stream must show up as Cancelled upstream.
func TestStreamDisconnectCounted(t *testing.T) {
	ts, m := start(t, Options{Chunks: 50, ChunkDelay: 20 * time.Millisecond})
	for i, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			url, body, hdr := d.build(ts.URL, "mock-model", true)
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
			for _, h := range hdr {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("%v %v", err, res)
			}
			if _, err := bufio.NewReader(res.Body).ReadByte(); err != nil {
				t.Fatal(err)
			}
			cancel()
			res.Body.Close()
			eventually(t, "disconnect counted", func() bool { s := m.Stats(); return s.Cancelled == int64(i+1) && s.InFlight == 0 })
		})
	}
	if s := m.Stats(); s.Received != int64(len(dialects)) || s.ByPath["/v1/messages"] != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// Close must free hanging handlers so httptest.Server.Close cannot block.
func TestCloseReleasesHang(t *testing.T) {
	m := New(Options{})
	ts := httptest.NewServer(m)
	errc := make(chan error, 1)
	go func() {
		res, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"hang",`+userMsgs+`}`))
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	eventually(t, "hang in flight", func() bool { return m.Stats().InFlight == 1 })
	m.Close()
	ts.Close() // would block forever if the hang were still running
	if err := <-errc; err == nil {
		t.Fatal("hang produced a response")
	}
	if s := m.Stats(); s.InFlight != 0 || s.Cancelled != 0 {
		t.Fatalf("stats %+v", s)
	}
}

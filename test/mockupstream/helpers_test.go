package mockupstream

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func start(t *testing.T, o Options) (*httptest.Server, *Server) {
	t.Helper()
	m := New(o)
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)
	return ts, m
}

// do sends a request; hdr is "Key: value" pairs.
func do(t *testing.T, method, url, body string, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// call posts and returns status and body.
func post(t *testing.T, url, body string, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	res := do(t, http.MethodPost, url, body, hdr...)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return res.StatusCode, b, res.Header
}

// okJSON posts and fails the test unless the answer is 200 with valid JSON.
func okJSON(t *testing.T, url, body string, hdr ...string) gjson.Result {
	t.Helper()
	st, b, _ := post(t, url, body, hdr...)
	if st != 200 || !gjson.ValidBytes(b) {
		t.Fatalf("status %d body %s", st, b)
	}
	return gjson.ParseBytes(b)
}

type event struct {
	name string
	data gjson.Result
	raw  string
}

// sse posts and parses a complete SSE answer.
func sse(t *testing.T, url, body string, hdr ...string) []event {
	t.Helper()
	st, b, h := post(t, url, body, hdr...)
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d type %q body %s", st, h.Get("Content-Type"), b)
	}
	return parseSSE(t, b)
}

func parseSSE(t *testing.T, b []byte) []event {
	t.Helper()
	var evs []event
	var cur event
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.raw = line[6:]
			if cur.raw != "[DONE]" && !gjson.Valid(cur.raw) {
				t.Fatalf("invalid event JSON: %s", cur.raw)
			}
			cur.data = gjson.Parse(cur.raw)
		case line == "":
			if cur.raw != "" {
				evs = append(evs, cur)
			}
			cur = event{}
		}
	}
	return evs
}

// eventually polls cond: server counters settle when handlers return.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const (
	userMsgs   = `"messages":[{"role":"user","content":"hello there"}]`
	openaiTool = `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`
	antVersion = "anthropic-version: 2023-06-01"
)

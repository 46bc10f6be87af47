package api

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/admin"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

// closeBound is how long a test waits for the server to close a connection: generous against a slow machine,
// far below "held for ever".
const closeBound = 10 * time.Second

// newTCPServer starts the API on a loopback listener, with governance enforced when enforce is set.
func newTCPServer(t *testing.T, enforce bool, body, upload time.Duration) string {
	t.Helper()
	s := newTestAPI(t, enforce)
	s.SetReadTimeouts(body, upload)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}

// newTestAPI is the whole API over the mock provider; with governance (admin token "admin-token") when
// governed is set, enforced then too.
func newTestAPI(t *testing.T, governed bool) *Server {
	t.Helper()
	enforce := governed
	log := slog.New(slog.DiscardHandler)
	cfg, err := config.Parse([]byte("server: {max_body_bytes: 1000, max_upload_bytes: 2000}\nproviders:\n  - {name: mock, type: mock}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	eng, err := gateway.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	var gov Governance
	ac := admin.Config{Log: log}
	if enforce {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		g, err := governance.New(ctx, st, governance.Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close(ctx) })
		eng.SetGovernance(g)
		gov = Governance{Service: g, Enforce: true}
		ac = admin.Config{Gov: g, Token: "admin-token", Store: st, Log: log}
	}
	s := New(eng, gov, Observability{}, log)
	ac.Models = s.Catalog().List
	admin.Mount(s.Mount(RouteAdmin), ac) // as cmd/weir does
	return s
}

// rawExchange sends head (and then whatever dribble writes) on a fresh connection and returns what the server
// answered before it closed the connection, and how long that took. It fails if the server holds the
// connection past closeBound.
func rawExchange(t *testing.T, addr, head string, dribble func(net.Conn)) (string, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	if dribble != nil {
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
					dribble(c)
				}
			}
		}()
	}
	_ = c.SetReadDeadline(time.Now().Add(closeBound))
	got, err := io.ReadAll(bufio.NewReader(c))
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("the server held the connection for %v: %v; got %q", time.Since(start), err, got)
	}
	return string(got), time.Since(start)
}

// TestUnfinishedBodyIsCut: a body that never finishes, with or without a key, is answered 408 and its
// connection closed once server.read_timeout passes (server.upload_read_timeout for a multipart upload),
// whether it is a Content-Length never met or a chunked body dribbled a byte at a time.
func TestUnfinishedBodyIsCut(t *testing.T) {
	const short, long = 300 * time.Millisecond, time.Hour
	byte1 := func(c net.Conn) { _, _ = c.Write([]byte("1\r\n \r\n")) }
	space := func(c net.Conn) { _, _ = c.Write([]byte(" ")) }
	const json = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	const form = "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\n"
	for _, tc := range []struct {
		name         string
		enforce      bool
		body, upload time.Duration
		head         string
		dribble      func(net.Conn)
		want408      bool
	}{
		{"content-length never met", false, short, long, json + "Content-Length: 500\r\n\r\n{\"model\":", nil, true},
		{"chunked dribble", false, short, long, json + "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n", byte1, true},
		{"content-length dribble", false, short, long, json + "Content-Length: 900\r\n\r\n{", space, true},
		{"upload never finished", false, long, short, form + "Content-Length: 1500\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nxx", space, true},
		{"admin body never finished", true, short, long, "POST /api/customers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer admin-token\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{", space, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := newTCPServer(t, tc.enforce, tc.body, tc.upload)
			got, _ := rawExchange(t, addr, tc.head, tc.dribble)
			if tc.want408 && !strings.HasPrefix(got, "HTTP/1.1 408") {
				t.Fatalf("answer %q", got)
			}
		})
	}
}

// TestRefusedBodyIsNotRead: a request refused before its body is read (no key: 401; too large: 413) is
// answered at once with Connection: close, and the server does not wait for the body it will never use.
func TestRefusedBodyIsNotRead(t *testing.T) {
	for _, tc := range []struct {
		name, head, status string
		enforce            bool
		names              string // the answer names the limit's config key
	}{
		{"no virtual key", "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{", "401", true, "authentication_error"},
		{"no admin token", "POST /api/customers HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{", "401", true, "authentication_error"},
		{"body too large", "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{", "413", false, "server.max_body_bytes"},
		{"upload too large", "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: localhost\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000\r\n\r\n--b", "413", false, "server.max_upload_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// No read timeout: only not reading the body can close the connection.
			addr := newTCPServer(t, tc.enforce, 0, 0)
			got, _ := rawExchange(t, addr, tc.head, nil)
			if !strings.HasPrefix(got, "HTTP/1.1 "+tc.status) || !strings.Contains(got, "Connection: close") || !strings.Contains(got, tc.names) {
				t.Fatalf("answer %q", got)
			}
		})
	}
}

// TestReadDeadlineDoesNotOutliveTheBody: the body's read deadline is lifted (by net/http) once the body is read, so an
// answer that takes longer than server.read_timeout is not cut, and the connection stays usable.
func TestReadDeadlineDoesNotOutliveTheBody(t *testing.T) {
	s := &Server{mux: http.NewServeMux(), log: slog.New(slog.DiscardHandler)}
	s.SetReadTimeouts(100*time.Millisecond, 100*time.Millisecond)
	s.mux.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-time.After(400 * time.Millisecond):
			_, _ = io.WriteString(w, "done")
		case <-r.Context().Done():
			t.Error("the request's context ended after its body was read")
		}
	})
	ts := httptest.NewServer(s)
	defer ts.Close()
	for range 2 {
		resp, err := ts.Client().Post(ts.URL+"/slow", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "done" {
			t.Fatalf("answer %q", b)
		}
	}
}

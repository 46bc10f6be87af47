// Package e2e builds the real weir binary and drives it over HTTP with the official SDKs, against the in-repo
// mock upstream. Each test starts its own gateway process with its own config.
package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weir-gateway/weir/test/mockupstream"
)

var weirBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weir-e2e-")
	if err != nil {
		panic(err)
	}
	weirBin = filepath.Join(dir, "weir")
	args := []string{"build", "-o", weirBin}
	if raceEnabled {
		args = append(args, "-race") // the gateway under real traffic is checked for races too
	}
	cmd := exec.Command("go", append(args, "../../cmd/weir")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building weir:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gateway is one running weir process.
type gateway struct {
	URL  string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startGateway runs weir with the given config (empty: the embedded default) and waits until it is healthy.
func startGateway(t *testing.T, config string, env ...string) *gateway {
	t.Helper()
	return startGatewayIn(t, "", config, env...)
}

// startGatewayIn is startGateway with the working directory dir ("": the test's).
func startGatewayIn(t *testing.T, dir, config string, env ...string) *gateway {
	t.Helper()
	addr := freeAddr(t)
	args := []string{"serve", "-addr", addr, "-log-format", "json", "-log-level", "debug"}
	if config != "" {
		path := filepath.Join(t.TempDir(), "weir.yaml")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-config", path)
	}
	g := &gateway{URL: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(weirBin, args...)
	g.cmd.Dir = dir
	// Each gateway gets its own data dir (SQLite store and request log) unless the test's config names one.
	g.cmd.Env = append(append(os.Environ(), "WEIR_DATA_DIR="+t.TempDir()), env...)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.err = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		g.stop()
		if t.Failed() {
			t.Logf("weir logs:\n%s", tail(g.logs.String(), 40))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(g.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return g
			}
		}
		select {
		case <-g.done:
			t.Fatalf("weir exited: %v\n%s", g.err, g.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("weir did not become healthy:\n%s", g.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (g *gateway) stop() {
	select {
	case <-g.done:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.done
	}
}

// handedOut are the addresses freeAddr has returned: a port closed after the probe can be handed out again by
// the kernel to the next probe, and two processes of one test (three cluster nodes once shared a gossip port)
// or of two tests would then race for it.
var handedOut sync.Map

// freeAddr is a loopback address no listener holds and this test process has not handed out before.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		if _, taken := handedOut.LoadOrStore(addr, true); !taken {
			return addr
		}
	}
	t.Fatal("no loopback port that was not handed out before")
	return ""
}

// startUpstream runs the in-repo mock upstream in-process.
func startUpstream(t *testing.T, o mockupstream.Options) (*mockupstream.Server, string) {
	t.Helper()
	m := mockupstream.New(o)
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	t.Cleanup(m.Close) // runs first: ends hanging requests so srv.Close does not wait for them
	return m, srv.URL
}

// post sends a raw JSON request and returns status, headers and body.
func post(t *testing.T, url, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

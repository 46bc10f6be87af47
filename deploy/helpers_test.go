package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// chartDir is the chart under test, relative to this module.
const chartDir = "helm/weir"

// tmpRoot holds what the tests build (the weir binary); TestMain removes it.
var tmpRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weir-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmpRoot = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the gateway's module, the parent of this one.
func repoRoot(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "cmd", "weir")); err != nil {
		t.Fatalf("the gateway module is not at %s: %v", abs, err)
	}
	return abs
}

// helm returns the helm CLI, or skips the test when there is none.
func helm(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if gp, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gp)), "bin", "helm")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Skip("helm is not on PATH: skipping the chart tests. Install it with .ci/helm.sh " +
		"(go install helm.sh/helm/v3/cmd/helm@v3.22.0) and put $(go env GOPATH)/bin on PATH.")
	return ""
}

// run runs a command and returns its stdout, failing the test with stderr on error.
func run(t testing.TB, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	out, errOut, err := runErr(dir, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func runErr(dir string, env []string, name string, args ...string) ([]byte, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

var (
	weirOnce sync.Once
	weirPath string
	weirErr  error
)

// weirBinary builds the gateway from the parent module once (static, like the image), or returns $WEIR_BIN.
func weirBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("WEIR_BIN"); p != "" {
		return p
	}
	root := repoRoot(t)
	weirOnce.Do(func() {
		weirPath = filepath.Join(tmpRoot, "weir")
		if runtime.GOOS == "windows" {
			weirPath += ".exe"
		}
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version=deploy-test", "-o", weirPath, "./cmd/weir")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			weirErr = fmt.Errorf("go build ./cmd/weir in %s: %v\n%s", root, err, out)
		}
	})
	if weirErr != nil {
		t.Fatal(weirErr)
	}
	return weirPath
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// fakeSecret stands in for the value of key in Secret name: 32 random-looking bytes, base64 (a valid
// encryption or gossip key), deterministic so failures reproduce.
func fakeSecret(name, key string) string {
	sum := sha256.Sum256([]byte(name + "/" + key))
	return base64.StdEncoding.EncodeToString(sum[:])
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// envRefs lists the ${VAR} references in a config document.
func envRefs(doc []byte) []string {
	var names []string
	for _, m := range envRef.FindAllSubmatch(doc, -1) {
		names = append(names, string(m[1]))
	}
	return names
}

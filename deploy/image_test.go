package deploy

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case
	args string
}

// stage is one FROM ... section.
type stage struct {
	from, name string
	ins        []instruction
}

// dockerfile is a parsed Dockerfile: the ARGs before the first FROM and the stages.
type dockerfile struct {
	globalArgs map[string]string
	stages     []stage
}

func parseDockerfile(t testing.TB, path string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	df := dockerfile{globalArgs: map[string]string{}}
	var cur strings.Builder
	var lines []string
	for _, raw := range strings.Split(string(b), "\n") {
		l := strings.TrimSpace(raw)
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	for _, l := range lines {
		cmd, args, _ := strings.Cut(l, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{from: expandArgs(f[0], df.globalArgs)}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			df.stages = append(df.stages, st)
			continue
		}
		if len(df.stages) == 0 {
			if in.cmd == "ARG" {
				k, v, _ := strings.Cut(in.args, "=")
				df.globalArgs[k] = v
			}
			continue
		}
		last := &df.stages[len(df.stages)-1]
		last.ins = append(last.ins, in)
	}
	return df
}

func expandArgs(s string, args map[string]string) string {
	return regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`).ReplaceAllStringFunc(s, func(m string) string {
		k := strings.Trim(m, "${}")
		if v, ok := args[k]; ok {
			return v
		}
		return m
	})
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

func (s stage) last(cmd string) string {
	a := s.all(cmd)
	if len(a) == 0 {
		return ""
	}
	return a[len(a)-1]
}

// execForm decodes a JSON-array (exec form) instruction argument.
func execForm(t testing.TB, what, args string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		t.Fatalf("%s %s is not in exec (JSON array) form: %v", what, args, err)
	}
	return out
}

// imageSpec is what the Dockerfile's final stage says about the image.
type imageSpec struct {
	entrypoint, cmd []string
	user            string
	ports, volumes  []string
	workdir         string
	env             []string
	labels          map[string]string
	ldflags         string
}

// TestDockerfile lints the Dockerfile: multi-stage, static stamped build, distroless non-root final stage,
// ports, entrypoint and command, data volume; and the .dockerignore keeps the build's inputs.
func TestDockerfile(t *testing.T) {
	specOf(t)
	ign, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns := strings.Fields(string(ign))
	if !slices.Contains(patterns, ".git") {
		t.Error(".dockerignore does not exclude .git")
	}
	for _, need := range []string{"go.mod", "go.sum", "cmd", "internal", "cmd/", "internal/", "*.go", "**/*.go"} {
		if slices.Contains(patterns, need) {
			t.Errorf(".dockerignore excludes %s, which the build needs", need)
		}
	}
}

func specOf(t testing.TB) imageSpec {
	t.Helper()
	df := parseDockerfile(t, filepath.Join(repoRoot(t), "Dockerfile"))
	if len(df.stages) != 2 {
		t.Fatalf("want a two-stage build, got %d stages", len(df.stages))
	}
	build, final := df.stages[0], df.stages[1]
	if build.from != "golang:1.26" || build.name == "" {
		t.Errorf("build stage FROM %s AS %q, want golang:1.26 AS <name>", build.from, build.name)
	}
	var buildRun string
	for _, r := range build.all("RUN") {
		if strings.Contains(r, "go build") {
			buildRun = r
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "./cmd/weir"} {
		if !strings.Contains(buildRun, want) {
			t.Errorf("the go build step lacks %s: %s", want, buildRun)
		}
	}
	if final.from != "gcr.io/distroless/static-debian12:nonroot" && final.from != "scratch" {
		t.Errorf("final stage FROM %s, want distroless static nonroot or scratch", final.from)
	}
	var sp imageSpec
	sp.entrypoint = execForm(t, "ENTRYPOINT", final.last("ENTRYPOINT"))
	sp.cmd = execForm(t, "CMD", final.last("CMD"))
	sp.user = final.last("USER")
	sp.workdir = final.last("WORKDIR")
	for _, e := range final.all("EXPOSE") {
		sp.ports = append(sp.ports, strings.Fields(e)...)
	}
	for _, v := range final.all("VOLUME") {
		if strings.HasPrefix(v, "[") {
			sp.volumes = append(sp.volumes, execForm(t, "VOLUME", v)...)
		} else {
			sp.volumes = append(sp.volumes, strings.Fields(v)...)
		}
	}
	for _, e := range final.all("ENV") {
		sp.env = append(sp.env, strings.Fields(e)...)
	}
	sp.labels = map[string]string{}
	for _, l := range final.all("LABEL") {
		for _, m := range regexp.MustCompile(`([\w.-]+)="([^"]*)"`).FindAllStringSubmatch(l, -1) {
			sp.labels[m[1]] = expandArgs(m[2], map[string]string{"VERSION": "image-test"})
		}
	}
	if m := regexp.MustCompile(`-ldflags "([^"]+)"`).FindStringSubmatch(buildRun); m != nil {
		sp.ldflags = expandArgs(m[1], map[string]string{"VERSION": "image-test"})
	} else {
		t.Errorf("no -ldflags \"...\" in the go build step")
	}

	if !slices.Equal(sp.entrypoint, []string{"/weir"}) {
		t.Errorf("ENTRYPOINT %v, want [/weir]", sp.entrypoint)
	}
	if want := []string{"serve", "-config", "/etc/weir/config.yaml", "-addr", "0.0.0.0:8080"}; !slices.Equal(sp.cmd, want) {
		t.Errorf("CMD %v, want %v", sp.cmd, want)
	}
	if uid, _, _ := strings.Cut(sp.user, ":"); uid != "65532" {
		t.Errorf("USER %q, want 65532 (non-root)", sp.user)
	}
	for _, p := range []string{"8080", "7946"} {
		if !slices.Contains(sp.ports, p) {
			t.Errorf("EXPOSE %v lacks %s", sp.ports, p)
		}
	}
	if !slices.Contains(sp.volumes, "/var/lib/weir") {
		t.Errorf("VOLUME %v lacks /var/lib/weir", sp.volumes)
	}
	copiesBinary := false
	for _, c := range final.all("COPY") {
		copiesBinary = copiesBinary || strings.Contains(c, "--from="+build.name) && strings.HasSuffix(c, " /weir")
	}
	if !copiesBinary {
		t.Errorf("the final stage does not COPY --from=%s ... /weir", build.name)
	}
	return sp
}

// TestImage assembles the image offline, without a Docker engine: the static binary built the way the
// Dockerfile builds it, on an empty base, with the final stage's entrypoint, command, user, ports, volume and
// environment. It writes a `docker load`-able tarball (kept at $WEIR_IMAGE_OUT when set), reads it back,
// checks its config and filesystem, and runs the binary from the image with the image's own command.
func TestImage(t *testing.T) {
	sp := specOf(t)
	root := repoRoot(t)
	work := t.TempDir()

	bin := filepath.Join(work, "weir")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", sp.ldflags, "-o", bin, "./cmd/weir")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	checkStatic(t, bin)

	defaultCfg, err := os.ReadFile(filepath.Join(root, "internal", "config", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	binBytes, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	files := []tarEntry{
		{name: "etc/", dir: true},
		{name: "etc/passwd", body: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "etc/group", body: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/weir/", dir: true},
		{name: "etc/weir/config.yaml", body: defaultCfg},
		{name: "tmp/", dir: true, mode: 0o1777},
		{name: "var/", dir: true},
		{name: "var/lib/", dir: true},
		{name: "var/lib/weir/", dir: true, uid: 65532},
		{name: "weir", body: binBytes, mode: 0o755},
	}
	// The distroless base brings CA certificates; on the empty base, take the host's when there are some.
	if ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		files = append(files, tarEntry{name: "etc/ssl/", dir: true}, tarEntry{name: "etc/ssl/certs/", dir: true},
			tarEntry{name: "etc/ssl/certs/ca-certificates.crt", body: ca})
	}
	layerTar := makeTar(t, files)
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]struct{}{}
	for _, p := range sp.ports {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		ports[p] = struct{}{}
	}
	vols := map[string]struct{}{}
	for _, v := range sp.volumes {
		vols[v] = struct{}{}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config = v1.Config{
		Entrypoint:   sp.entrypoint,
		Cmd:          sp.cmd,
		User:         sp.user,
		WorkingDir:   sp.workdir,
		ExposedPorts: ports,
		Volumes:      vols,
		Env:          append([]string{"PATH=/usr/local/bin:/usr/bin:/bin"}, sp.env...),
		Labels:       sp.labels,
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}

	out := os.Getenv("WEIR_IMAGE_OUT")
	if out == "" {
		out = filepath.Join(work, "weir-image.tar")
	}
	tag, err := name.NewTag("ghcr.io/weir-gateway/weir:image-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(out, tag, img); err != nil {
		t.Fatal(err)
	}

	// Read the tarball back as a consumer would and check what it declares.
	loaded, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	got, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := got.Config
	if !slices.Equal(c.Entrypoint, []string{"/weir"}) || c.User != "65532:65532" || c.WorkingDir != "/var/lib/weir" {
		t.Errorf("image config: entrypoint %v, user %q, workdir %q", c.Entrypoint, c.User, c.WorkingDir)
	}
	for _, p := range []string{"8080/tcp", "7946/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("image does not expose %s: %v", p, c.ExposedPorts)
		}
	}
	if _, ok := c.Volumes["/var/lib/weir"]; !ok {
		t.Errorf("image volumes %v lack /var/lib/weir", c.Volumes)
	}
	if !slices.Contains(c.Env, "WEIR_DATA_DIR=/var/lib/weir") {
		t.Errorf("image env %v lacks WEIR_DATA_DIR", c.Env)
	}

	// Unpack the image's filesystem and run it: `weir version`, then the image's CMD on loopback.
	fsRoot := filepath.Join(work, "rootfs")
	unpack(t, mutate.Extract(loaded), fsRoot)
	entry := filepath.Join(fsRoot, strings.TrimPrefix(c.Entrypoint[0], "/"))
	v, err := exec.Command(entry, "version").Output()
	if err != nil || strings.TrimSpace(string(v)) != "weir image-test" {
		t.Fatalf("weir version from the image: %q, %v", v, err)
	}
	port := freePort(t)
	args := slices.Clone(c.Cmd)
	for i, a := range args {
		switch {
		case a == "0.0.0.0:8080":
			args[i] = fmt.Sprintf("127.0.0.1:%d", port)
		case strings.HasPrefix(a, "/"):
			args[i] = filepath.Join(fsRoot, a)
		}
	}
	cmd := exec.Command(entry, args...)
	cmd.Dir = filepath.Join(fsRoot, c.WorkingDir)
	// The image's paths live under the unpacked root here, the data dir included.
	cmd.Env = make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		if k, v, ok := strings.Cut(e, "="); ok && k == "WEIR_DATA_DIR" && strings.HasPrefix(v, "/") {
			e = k + "=" + filepath.Join(fsRoot, v)
		}
		cmd.Env = append(cmd.Env, e)
	}
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _ := get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's CMD is not ready after 30s (last %d):\n%s", code, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkStatic fails unless the binary is a statically linked ELF (no interpreter, no shared libraries), as
// the distroless static and scratch bases need.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a dynamic loader (PT_INTERP): not static", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s links shared libraries %v: not static", path, libs)
	}
}

type tarEntry struct {
	name string
	body []byte
	dir  bool
	mode int64
	uid  int
}

func makeTar(t *testing.T, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, ModTime: epoch, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		} else {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.body))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unpack writes a flattened image filesystem to dir, checking ownership and modes on the way.
func unpack(t *testing.T, rc io.ReadCloser, dir string) {
	t.Helper()
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		clean := filepath.Clean(h.Name)
		if strings.HasPrefix(clean, "..") || filepath.IsAbs(clean) {
			t.Fatalf("unsafe path in the image: %s", h.Name)
		}
		seen[clean] = h
		p := filepath.Join(dir, clean)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	if h := seen["weir"]; h == nil || h.Mode&0o111 == 0 {
		t.Errorf("/weir is missing or not executable in the image")
	}
	if h := seen["var/lib/weir"]; h == nil || h.Uid != 65532 {
		t.Errorf("/var/lib/weir is missing or not owned by 65532 in the image: %+v", h)
	}
	if h := seen["etc/weir/config.yaml"]; h == nil {
		t.Errorf("/etc/weir/config.yaml is missing from the image")
	}
}

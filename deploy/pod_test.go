package deploy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// podEnv is the environment the kubelet would give the gateway container, with fake Secret values.
type podEnv struct {
	vars    map[string]string
	order   []string
	rewrite func(string) string
}

// newPodEnv resolves the container's env and envFrom. Secret values are fake (see fakeSecret) except the
// PostgreSQL DSN, which is WEIR_TEST_POSTGRES_DSN when CI provides one, and the Redis URL, which is a URL. Variables the config references that
// can only come from an envFrom Secret get fake values too.
func newPodEnv(t testing.TB, spec corev1.PodSpec, configDoc []byte, rewrite func(string) string) *podEnv {
	t.Helper()
	if rewrite == nil {
		rewrite = func(s string) string { return s }
	}
	c := container(t, spec)
	e := &podEnv{vars: map[string]string{}, rewrite: rewrite}
	set := func(k, v string) {
		if _, ok := e.vars[k]; !ok {
			e.order = append(e.order, k)
		}
		e.vars[k] = v
	}
	var fromSecrets []string
	for _, ef := range c.EnvFrom {
		if ef.SecretRef == nil {
			t.Fatalf("envFrom %+v: only Secrets are expected", ef)
		}
		fromSecrets = append(fromSecrets, ef.SecretRef.Name)
	}
	// Variables from envFrom: whatever the config references and the explicit env does not set.
	if len(fromSecrets) > 0 {
		explicit := map[string]bool{}
		for _, ev := range c.Env {
			explicit[ev.Name] = true
		}
		for _, name := range envRefs(configDoc) {
			if !explicit[name] {
				set(name, fakeSecret(fromSecrets[0], name))
			}
		}
	}
	for _, ev := range c.Env {
		switch {
		case ev.ValueFrom == nil:
			set(ev.Name, rewrite(ev.Value))
		case ev.ValueFrom.SecretKeyRef != nil:
			r := ev.ValueFrom.SecretKeyRef
			v := fakeSecret(r.Name, r.Key)
			switch ev.Name {
			case "WEIR_POSTGRES_DSN":
				v = os.Getenv("WEIR_TEST_POSTGRES_DSN")
				if v == "" {
					v = "postgres://weir:weir@127.0.0.1:1/weir?sslmode=disable"
				}
			case "WEIR_REDIS_URL": // a URL, as the Secret holds; nothing listens there
				v = "redis://weir:" + v + "@127.0.0.1:1/0"
			}
			set(ev.Name, v)
		case ev.ValueFrom.FieldRef != nil:
			switch ev.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				set(ev.Name, releaseName+"-0")
			case "metadata.namespace":
				set(ev.Name, namespace)
			case "status.podIP":
				set(ev.Name, "127.0.0.1")
			default:
				t.Fatalf("env %s: unexpected fieldRef %s", ev.Name, ev.ValueFrom.FieldRef.FieldPath)
			}
		case ev.ValueFrom.ResourceFieldRef != nil:
			r := ev.ValueFrom.ResourceFieldRef
			res, _ := strings.CutPrefix(r.Resource, "limits.")
			q, ok := c.Resources.Limits[corev1.ResourceName(res)]
			if !ok || r.ContainerName != c.Name {
				t.Fatalf("env %s: resourceFieldRef %+v names no limit of container %s", ev.Name, r, c.Name)
			}
			set(ev.Name, strconv.FormatInt(q.Value(), 10))
		default:
			t.Fatalf("env %s: unexpected valueFrom %+v", ev.Name, ev.ValueFrom)
		}
	}
	return e
}

func (e *podEnv) list() []string {
	out := make([]string, 0, len(e.order))
	for _, k := range e.order {
		out = append(out, k+"="+e.vars[k])
	}
	return out
}

// TestPodReady renders each case, lays out the pod's volumes in a temp dir, and starts the real binary with the
// container's args and env (on loopback, a free port); it must pass the readiness probe. For the default
// values it also sends SIGTERM and checks that /readyz fails while the gateway drains, then that it exits 0.
func TestPodReady(t *testing.T) {
	helm(t)
	bin := weirBinary(t)
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			m := render(t, c.flags()...)
			tpl, _ := m.podTemplate(t)
			spec := tpl.Spec
			ctr := container(t, spec)
			root := t.TempDir()
			for _, ev := range ctr.Env {
				if ev.Name == "WEIR_POSTGRES_DSN" && os.Getenv("WEIR_TEST_POSTGRES_DSN") == "" &&
					bytes.Contains(m.configDoc(t), []byte("${WEIR_POSTGRES_DSN}")) {
					t.Skip("this pod's store is PostgreSQL: set WEIR_TEST_POSTGRES_DSN " +
						"(eval \"$(bash .ci/postgres.sh)\" starts one) to run it")
				}
			}

			// Volumes: each mount becomes a directory under root; ConfigMap volumes get their files.
			volumes := map[string]corev1.Volume{}
			for _, v := range spec.Volumes {
				volumes[v.Name] = v
			}
			type mount struct{ from, to string }
			var mounts []mount
			configDoc := acceptedConfig(t, m)
			for _, vm := range ctr.VolumeMounts {
				dir := filepath.Join(root, vm.Name)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				mounts = append(mounts, mount{vm.MountPath, dir})
				if v, ok := volumes[vm.Name]; ok && v.ConfigMap != nil {
					if err := os.WriteFile(filepath.Join(dir, "config.yaml"), configDoc, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].from) > len(mounts[j].from) })
			rewrite := func(s string) string {
				for _, mt := range mounts {
					if s == mt.from || strings.HasPrefix(s, mt.from+"/") {
						return mt.to + strings.TrimPrefix(s, mt.from)
					}
				}
				return s
			}
			// The config's own paths (e.g. the SQLite file) move with their mounts too.
			for _, mt := range mounts {
				p := filepath.Join(mt.to, "config.yaml")
				if b, err := os.ReadFile(p); err == nil {
					b = bytes.ReplaceAll(b, []byte(" /var/lib/weir/"), []byte(" "+rewrite("/var/lib/weir")+"/"))
					// Cluster mode's gossip listener, once the gateway has one: loopback, a free port.
					b = bytes.ReplaceAll(b, []byte("bind: 0.0.0.0:7946"), []byte(fmt.Sprintf("bind: 127.0.0.1:%d", freePort(t))))
					if err := os.WriteFile(p, b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}

			// Args: the pod's, with paths moved and the listen address on loopback.
			port := freePort(t)
			containerPort := 0
			for _, p := range ctr.Ports {
				if p.Name == "http" {
					containerPort = int(p.ContainerPort)
				}
			}
			if ctr.ReadinessProbe.HTTPGet.Port.String() != "http" || containerPort == 0 {
				t.Fatalf("readiness probe port %s, http containerPort %d", ctr.ReadinessProbe.HTTPGet.Port.String(), containerPort)
			}
			args := slices.Clone(ctr.Args)
			addrAt := slices.Index(args, "-addr")
			if addrAt < 0 || addrAt+1 >= len(args) || args[addrAt+1] != fmt.Sprintf("0.0.0.0:%d", containerPort) {
				t.Fatalf("args %v do not listen on 0.0.0.0:%d (the probed port)", args, containerPort)
			}
			args[addrAt+1] = fmt.Sprintf("127.0.0.1:%d", port)
			for i := range args {
				args[i] = rewrite(args[i])
			}
			env := newPodEnv(t, spec, configDoc, rewrite).list()

			cmd := exec.Command(bin, args...)
			cmd.Env = env
			cmd.Dir = root
			var logs syncBuffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			stopped := false
			defer func() {
				if !stopped {
					_ = cmd.Process.Kill()
					<-exited
				}
				if t.Failed() {
					t.Logf("weir %s\nenv: %v\n--- logs\n%s", strings.Join(args, " "), env, logs.String())
				}
			}()

			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			probe := base + ctr.ReadinessProbe.HTTPGet.Path
			deadline := time.Now().Add(30 * time.Second)
			for {
				code, _ := get(probe)
				if code == http.StatusOK {
					break
				}
				select {
				case err := <-exited:
					stopped = true
					t.Fatalf("weir exited before it was ready: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET %s: %d after 30s", probe, code)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if code, _ := get(base + ctr.LivenessProbe.HTTPGet.Path); code != http.StatusOK {
				t.Errorf("liveness probe: %d", code)
			}
			if c.name != "default" {
				return
			}
			if code, body := get(base + "/v1/models"); code != http.StatusOK || !strings.Contains(body, "mock") {
				t.Errorf("GET /v1/models: %d %s", code, body)
			}
			// SIGTERM, as the kubelet sends after the preStop sleep: /readyz fails during the drain delay.
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			draining := false
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end) && !draining; time.Sleep(50 * time.Millisecond) {
				code, _ := get(probe)
				draining = code == http.StatusServiceUnavailable
			}
			if !draining {
				t.Error("/readyz did not turn 503 after SIGTERM")
			}
			select {
			case err := <-exited:
				stopped = true
				if err != nil {
					t.Errorf("weir exited with %v after SIGTERM", err)
				}
			case <-time.After(time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second):
				t.Error("weir did not exit within terminationGracePeriodSeconds after SIGTERM")
			}
		})
	}
}

func get(url string) (int, string) {
	cl := http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b)
}

// syncBuffer collects a child's output from two pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

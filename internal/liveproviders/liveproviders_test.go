package liveproviders

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/providerset"
	"github.com/weir-gateway/weir/internal/provider"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlite"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
)

func newCipher(t *testing.T) *secret.Cipher {
	t.Helper()
	c, err := secret.ParseKey(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func encrypt(t *testing.T, c *secret.Cipher, v string) []byte {
	t.Helper()
	ct, err := c.EncryptString(v)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestConfig(t *testing.T) {
	c := newCipher(t)
	other := newCipher(t)
	tests := []struct {
		name    string
		p       store.Provider
		cipher  *secret.Cipher
		check   func(t *testing.T, pc provider.Config)
		problem string // the path of the expected problem; "": none
	}{
		{
			name: "keys and credential headers decrypted, clear headers kept",
			p: store.Provider{Name: "eu", Type: "openai",
				Config: []byte(`{"base_url":"http://127.0.0.1:1/v1","concurrency":3,"timeout":"2s","headers":{"X-Team":"a"}}`),
				Keys: []store.ProviderKey{
					{ID: "main", Ciphertext: encrypt(t, c, "sk-main"), Weight: 2, Models: []string{"gpt-4o"}},
					{ID: "header:ocp-apim-subscription-key", Ciphertext: encrypt(t, c, "sub-secret")},
				}},
			cipher: c,
			check: func(t *testing.T, pc provider.Config) {
				if pc.Name != "eu" || pc.Type != "openai" || pc.BaseURL != "http://127.0.0.1:1/v1" || pc.Concurrency != 3 || pc.Timeout.D().Seconds() != 2 {
					t.Errorf("common fields: %+v", pc.Common)
				}
				if len(pc.Keys) != 1 || pc.Keys[0].Value != "sk-main" || pc.Keys[0].Weight != 2 || pc.Keys[0].Models[0] != "gpt-4o" {
					t.Errorf("keys: %+v", pc.Keys)
				}
				if pc.Headers["Ocp-Apim-Subscription-Key"] != "sub-secret" || pc.Headers["X-Team"] != "a" {
					t.Errorf("headers: %v", pc.Headers)
				}
			},
		},
		{
			name: "no ${VAR} expansion in stored values",
			p:    store.Provider{Name: "x", Type: "openai", Config: []byte(`{"base_url":"http://${HOME}/v1"}`)},
			check: func(t *testing.T, pc provider.Config) {
				if pc.BaseURL != "http://${HOME}/v1" {
					t.Errorf("base_url = %q", pc.BaseURL)
				}
			},
		},
		{
			name: "unset pool sizes and timeouts get the config file's defaults",
			p:    store.Provider{Name: "x", Type: "openai", Config: []byte(`{"base_url":"http://127.0.0.1:1/v1"}`)},
			check: func(t *testing.T, pc provider.Config) {
				if pc.Concurrency != config.DefaultConcurrency || pc.BufferSize != config.DefaultBufferSize || pc.Timeout.D() != config.DefaultTimeout {
					t.Errorf("defaults not applied: %+v", pc.Common)
				}
			},
		},
		{name: "a negative pool size", p: store.Provider{Name: "x", Type: "openai", Config: []byte(`{"concurrency":-1}`)}, problem: "config.concurrency"},
		{name: "a field of the wrong type", p: store.Provider{Name: "x", Type: "openai", Config: []byte(`{"concurrency":"many"}`)}, problem: "config.concurrency"},
		{name: "a field the type does not have", p: store.Provider{Name: "x", Type: "openai", Config: []byte(`{"base_url":"http://h/v1","colour":"red"}`)}, problem: "config.colour"},
		{name: "name set in config", p: store.Provider{Name: "x", Type: "openai", Config: []byte(`{"name":"y"}`)}, problem: "config.name"},
		{name: "a key under another encryption key", p: store.Provider{Name: "x", Type: "openai", Keys: []store.ProviderKey{{ID: "k", Ciphertext: encrypt(t, other, "sk")}}}, cipher: c, problem: "keys[0]"},
		{name: "a key and no encryption key", p: store.Provider{Name: "x", Type: "openai", Keys: []store.ProviderKey{{ID: "k", Ciphertext: encrypt(t, c, "sk")}}}, problem: "keys[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := Config(&tt.p, tt.cipher)
			if tt.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, pc)
				return
			}
			var ps confkit.Problems
			if !errors.As(err, &ps) || ps[0].Path != tt.problem {
				t.Fatalf("err = %v, want a problem at %s", err, tt.problem)
			}
		})
	}
}

// upstream is a loopback OpenAI-compatible server that answers every chat and remembers the API keys it saw.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	keys []string
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.keys = append(u.keys, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) lastKey() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.keys) == 0 {
		return ""
	}
	return u.keys[len(u.keys)-1]
}

func newEngine(t *testing.T) *gateway.Engine {
	t.Helper()
	cfg, err := config.Parse([]byte("providers:\n  - {name: cfg, type: openai, base_url: 'http://127.0.0.1:1/v1', keys: [{value: k}]}\n"),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	e, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type sink struct{ h http.Header }

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) WriteHeader(int)             {}
func (s *sink) Write(p []byte) (int, error) { return len(p), nil }
func (s *sink) Flush() error                { return nil }

var _ relay.Sink = (*sink)(nil)

// chat sends one chat for model through e: nil when it was served, else the gateway's error.
func chat(e *gateway.Engine, model string) error {
	req := gateway.Request{Op: provider.OpChat, Dialect: dialects.OpenAI, Header: http.Header{},
		Body: []byte(`{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`)}
	x := e.AcquireExchange()
	defer e.ReleaseExchange(x)
	_, err := e.Serve(context.Background(), x, &req, &sink{h: http.Header{}})
	return err
}

// replica is one gateway process's view of a shared store.
type replica struct {
	eng *gateway.Engine
	src *Source
}

func newReplica(t *testing.T, st store.Store, c *secret.Cipher) replica {
	e := newEngine(t)
	s := New(st, c, e, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := s.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return replica{e, s}
}

// TestReplicasFollowTheStore: a write on one replica routes there at once (Changed), and on another sharing the
// store at its next poll; an edited key is used; a removed provider is refused. On SQLite (two handles on one
// file) and, with WEIR_TEST_POSTGRES_DSN, PostgreSQL.
func TestReplicasFollowTheStore(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			a, b := openShared(t, d)
			c := newCipher(t)
			up := newUpstream(t)
			writer, reader := newReplica(t, a, c), newReplica(t, b, c)

			steps := []struct {
				name string
				put  *store.Provider // nil: delete
				key  string          // "": refused
			}{
				{"created", &store.Provider{Name: "live", Type: "openai", Config: []byte(`{"base_url":"` + up.URL + `/v1"}`),
					Keys: []store.ProviderKey{{ID: "main", Ciphertext: encrypt(t, c, "sk-one")}}}, "sk-one"},
				{"key edited", &store.Provider{Name: "live", Type: "openai", Config: []byte(`{"base_url":"` + up.URL + `/v1"}`),
					Keys: []store.ProviderKey{{ID: "main", Ciphertext: encrypt(t, c, "sk-two")}}}, "sk-two"},
				{"removed", nil, ""},
			}
			for _, s := range steps {
				if s.put != nil {
					if err := writer.src.Check(s.put); err != nil {
						t.Fatalf("%s: Check: %v", s.name, err)
					}
					if err := a.Providers().Put(ctx, s.put); err != nil {
						t.Fatal(err)
					}
				} else if err := a.Providers().Delete(ctx, "live"); err != nil {
					t.Fatal(err)
				}
				if err := writer.src.Changed(ctx); err != nil {
					t.Fatal(err)
				}
				if err := reader.src.poll(ctx); err != nil { // what Run does every interval
					t.Fatal(err)
				}
				for name, r := range map[string]replica{"writer": writer, "reader": reader} {
					err := chat(r.eng, "live/m")
					if s.key == "" {
						var ge *gateway.Error
						if !errors.As(err, &ge) || ge.Status != http.StatusNotFound {
							t.Fatalf("%s, %s: %v, want a 404", s.name, name, err)
						}
						if st, _ := r.src.Status("live"); st != "pending" {
							t.Fatalf("%s, %s: status %q", s.name, name, st)
						}
						continue
					}
					if err != nil {
						t.Fatalf("%s, %s: %v", s.name, name, err)
					}
					if got := up.lastKey(); got != s.key {
						t.Fatalf("%s, %s: the upstream saw key %q, want %q", s.name, name, got, s.key)
					}
					if st, _ := r.src.Status("live"); st != "active" {
						t.Fatalf("%s, %s: status %q", s.name, name, st)
					}
				}
			}
		})
	}
}

// openShared opens two stores on one database, as two replicas would.
func openShared(t *testing.T, d sqldb.Dialect) (store.Store, store.Store) {
	t.Helper()
	ctx := context.Background()
	var out [2]store.Store
	if d == sqldb.SQLite {
		path := filepath.Join(t.TempDir(), "weir.db")
		for i := range out {
			st, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			out[i] = st
		}
		return out[0], out[1]
	}
	dsn := sqldbtest.Schema(t)
	for i := range out {
		db, err := sqldb.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st, err := sqlstore.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = st
	}
	return out[0], out[1]
}

func TestStatusOfProvidersNotRouted(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, p := range []*store.Provider{
		{Name: "cfg", Type: "openai", Config: []byte(`{"base_url":"http://127.0.0.1:1/v1"}`)},
		{Name: "broken", Type: "openai", Config: []byte(`{"base_url":"ftp://x"}`)},
	} {
		if err := st.Providers().Put(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	r := newReplica(t, st, nil)
	tests := []struct{ name, status, errText string }{
		{"cfg", "shadowed", "config file"},
		{"broken", "error", "config.base_url"},
		{"unknown", "pending", ""},
	}
	for _, tt := range tests {
		status, err := r.src.Status(tt.name)
		if status != tt.status || (tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText))) {
			t.Errorf("%s: %q, %v; want %q with %q", tt.name, status, err, tt.status, tt.errText)
		}
	}
	if err := r.src.Check(&store.Provider{Name: "n", Type: "openai", Config: []byte(`{"base_url":"ftp://x"}`)}); err == nil || !strings.HasPrefix(err.Error(), "config.base_url") {
		t.Errorf("Check = %v, want a problem at config.base_url", err)
	}
	if err := r.src.Check(&store.Provider{Name: "cfg", Type: "openai", Config: []byte(`{"base_url":"http://127.0.0.1:1/v1"}`)}); !errors.Is(err, providerset.ErrShadowed) {
		t.Errorf("Check of a configured name = %v, want ErrShadowed", err)
	}
}

package governance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlite"
)

// fakeClock is an injected clock: tests move time explicitly, never sleep.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	// A Wednesday, exactly on a minute boundary, mid-month.
	return &fakeClock{t: time.Date(2026, 6, 17, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func memStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newService(t testing.TB, st store.Store, clk *fakeClock, cfg *Config) (*Service, map[string]string) {
	t.Helper()
	ctx := context.Background()
	s, err := New(ctx, st, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	if cfg != nil {
		gen, err := s.Seed(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gen {
			secrets[g.ID] = g.Secret
		}
		for _, k := range cfg.VirtualKeys {
			if k.Value != "" {
				secrets[k.ID] = k.Value
			}
		}
	}
	return s, secrets
}

func mustAuth(t testing.TB, s *Service, secret string) *Principal {
	t.Helper()
	p := s.Authenticate(secret)
	if p == nil {
		t.Fatalf("Authenticate(%q) = nil", secret)
	}
	return p
}

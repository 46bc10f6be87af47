// Package storetest is the conformance suite every store.Store backend runs (see sqlite and postgres tests).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/store"
)

// Run runs the suite. open must return an empty, migrated store; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Customers", testCustomers},
		{"Teams", testTeams},
		{"VirtualKeys", testVirtualKeys},
		{"Providers", testProviders},
		{"Counters", testCounters},
		{"Meta", testMeta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			if err := s.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			tc.fn(t, s)
		})
	}
}

var ctx = context.Background()

func testCustomers(t *testing.T, s store.Store) {
	cs := s.Customers()
	c := &store.Customer{ID: "acme", Name: "Acme", Budget: &store.Budget{MaxUSD: 100 * pricing.USD, Reset: "1M"},
		Limits: store.Limits{RPM: 10}, Source: store.SourceConfig}
	if err := cs.Put(ctx, c); err != nil {
		t.Fatal(err)
	}
	created := c.CreatedAt
	got, err := cs.Get(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Acme" || *got.Budget != *c.Budget || got.Limits != c.Limits || got.Source != store.SourceConfig || !got.CreatedAt.Equal(created) {
		t.Fatalf("got %+v", got)
	}
	c2 := &store.Customer{ID: "acme", Name: "Acme 2", Disabled: true}
	if err := cs.Put(ctx, c2); err != nil {
		t.Fatal(err)
	}
	got, _ = cs.Get(ctx, "acme")
	if got.Name != "Acme 2" || got.Budget != nil || !got.Disabled || !got.CreatedAt.Equal(created) {
		t.Fatalf("after update %+v (created_at must be kept)", got)
	}
	if err := cs.Put(ctx, &store.Customer{ID: "beta"}); err != nil {
		t.Fatal(err)
	}
	list, err := cs.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "acme" || list[1].ID != "beta" {
		t.Fatalf("list %v %v", list, err)
	}
	if err := cs.Delete(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Get(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if err := cs.Delete(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func testTeams(t *testing.T, s store.Store) {
	ts := s.Teams()
	tm := &store.Team{ID: "platform", CustomerID: "acme", Budget: &store.Budget{MaxUSD: 20 * pricing.USD, Reset: "1d"}, Limits: store.Limits{TPD: 1e9}}
	if err := ts.Put(ctx, tm); err != nil {
		t.Fatal(err)
	}
	got, err := ts.Get(ctx, "platform")
	if err != nil || got.CustomerID != "acme" || got.Budget.MaxUSD != 20*pricing.USD || got.Limits.TPD != 1e9 {
		t.Fatalf("got %+v %v", got, err)
	}
	if err := ts.Put(ctx, &store.Team{ID: "platform"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ts.Get(ctx, "platform"); got.CustomerID != "" {
		t.Fatal("customer not cleared on update")
	}
	if list, err := ts.List(ctx); err != nil || len(list) != 1 {
		t.Fatalf("list %v %v", list, err)
	}
	if err := ts.Delete(ctx, "platform"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Get(ctx, "platform"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
}

func hash(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func testVirtualKeys(t *testing.T, s store.Store) {
	ks := s.VirtualKeys()
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	k := &store.VirtualKey{ID: "ci-bot", Name: "CI", Hash: hash(1), Hint: "wk-abcd…wxyz", TeamID: "platform",
		Models: []string{"openai/gpt-4o-mini", "smart"}, Providers: []string{"openai"},
		ProviderLimits: map[string]store.Limits{"openai": {RPM: 5}}, MaxConcurrent: 3,
		Budget: &store.Budget{MaxUSD: pricing.Cent, Reset: "1d"}, Limits: store.Limits{RPM: 10, TPM: 20000},
		ExpiresAt: exp, Source: store.SourceConfig}
	if err := ks.Put(ctx, k); err != nil {
		t.Fatal(err)
	}
	for _, get := range []func() (*store.VirtualKey, error){
		func() (*store.VirtualKey, error) { return ks.Get(ctx, "ci-bot") },
		func() (*store.VirtualKey, error) { return ks.GetByHash(ctx, hash(1)) },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		want := *k
		want.CreatedAt, want.UpdatedAt = got.CreatedAt, got.UpdatedAt
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, &want)
		}
	}
	if _, err := ks.GetByHash(ctx, hash(9)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	// Another key with the same hash conflicts; the same key may keep its hash.
	if err := ks.Put(ctx, &store.VirtualKey{ID: "dup", Hash: hash(1)}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate hash: %v", err)
	}
	k.Hash = hash(2)
	k.Disabled = true
	if err := ks.Put(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.GetByHash(ctx, hash(1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("old hash still found after rotation")
	}
	if err := ks.Put(ctx, &store.VirtualKey{ID: "a-first", Hash: hash(3)}); err != nil {
		t.Fatal(err)
	}
	list, err := ks.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "a-first" || !list[1].Disabled {
		t.Fatalf("list %+v %v", list, err)
	}
	if err := ks.Delete(ctx, "ci-bot"); err != nil {
		t.Fatal(err)
	}
	if err := ks.Delete(ctx, "ci-bot"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
}

func testProviders(t *testing.T, s store.Store) {
	ps := s.Providers()
	p := &store.Provider{Name: "openai", Type: "openai", Config: []byte(`{"base_url":"http://x"}`), Keys: []store.ProviderKey{
		{ID: "k1", Ciphertext: []byte{1, 2, 3}, Weight: 2, Models: []string{"gpt-4o"}},
		{ID: "k2", Ciphertext: []byte{4, 5}, Weight: 1},
	}}
	if err := ps.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := ps.Get(ctx, "openai")
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "openai" || string(got.Config) != string(p.Config) || !reflect.DeepEqual(got.Keys, p.Keys) {
		t.Fatalf("got %+v", got)
	}
	// Put replaces the key set.
	p.Keys = p.Keys[1:]
	if err := ps.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := ps.Put(ctx, &store.Provider{Name: "anthropic", Type: "anthropic", Keys: []store.ProviderKey{{ID: "a", Ciphertext: []byte{9}}}}); err != nil {
		t.Fatal(err)
	}
	list, err := ps.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "anthropic" || len(list[1].Keys) != 1 || list[1].Keys[0].ID != "k2" {
		t.Fatalf("list %+v %v", list, err)
	}
	// Rotation rewrites every ciphertext atomically; a failure changes nothing.
	if _, err := ps.ReplaceCiphertexts(ctx, func(old []byte) ([]byte, error) {
		if old[0] == 9 {
			return nil, errors.New("boom")
		}
		return append([]byte{0xEE}, old...), nil
	}); err == nil {
		t.Fatal("failed rotation reported success")
	}
	if got, _ := ps.Get(ctx, "openai"); got.Keys[0].Ciphertext[0] != 4 {
		t.Fatal("failed rotation left partial changes")
	}
	n, err := ps.ReplaceCiphertexts(ctx, func(old []byte) ([]byte, error) { return append([]byte{0xEE}, old...), nil })
	if err != nil || n != 2 {
		t.Fatalf("rotated %d, %v", n, err)
	}
	if got, _ := ps.Get(ctx, "anthropic"); !bytes.Equal(got.Keys[0].Ciphertext, []byte{0xEE, 9}) {
		t.Fatalf("after rotation %v", got.Keys[0].Ciphertext)
	}
	if err := ps.Delete(ctx, "openai"); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Get(ctx, "openai"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
}

func testCounters(t *testing.T, s store.Store) {
	cs := s.Counters()
	day := time.Date(2026, 6, 17, 0, 0, 0, 0, time.UTC)
	rows := []store.Counter{
		{Subject: "key:k", Metric: "spend/1d", WindowStart: day, Value: 1234},
		{Subject: "key:k", Metric: "rpm", WindowStart: day.Add(10 * time.Hour), Value: 7},
		{Subject: "team:t", Metric: "spend/never", WindowStart: time.Unix(0, 0), Value: 99},
		{Subject: "key:k", Metric: "spend/1d", WindowStart: day.AddDate(0, 0, -60), Value: 5},
	}
	if err := cs.Upsert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	// Upsert overwrites (absolute values): re-flushing is idempotent.
	rows[0].Value = 2000
	if err := cs.Upsert(ctx, rows[:1]); err != nil {
		t.Fatal(err)
	}
	if err := cs.Upsert(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := cs.List(ctx, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Metric != "rpm" || got[0].Value != 7 || got[1].Value != 2000 || !got[1].WindowStart.Equal(day) {
		t.Fatalf("list since day: %+v", got)
	}
	n, err := cs.Prune(ctx, day.AddDate(0, 0, -40))
	if err != nil || n != 1 {
		t.Fatalf("prune removed %d, %v (want only the 60-day-old row; never-reset rows stay)", n, err)
	}
	all, err := cs.List(ctx, time.Unix(0, 0))
	if err != nil || len(all) != 3 {
		t.Fatalf("all: %+v %v", all, err)
	}
	// A batch large enough to matter for per-row round trips.
	var big []store.Counter
	for i := range 500 {
		big = append(big, store.Counter{Subject: fmt.Sprintf("key:%d", i), Metric: "tpm", WindowStart: day, Value: int64(i)})
	}
	if err := cs.Upsert(ctx, big); err != nil {
		t.Fatal(err)
	}
}

func testMeta(t *testing.T, s store.Store) {
	m := s.Meta()
	if _, err := m.Get(ctx, "kcv"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	ok, err := m.PutIfAbsent(ctx, "kcv", []byte("one"))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	ok, err = m.PutIfAbsent(ctx, "kcv", []byte("two"))
	if err != nil || ok {
		t.Fatal("PutIfAbsent overwrote", ok, err)
	}
	if v, _ := m.Get(ctx, "kcv"); string(v) != "one" {
		t.Fatalf("got %q", v)
	}
	if err := m.Put(ctx, "kcv", []byte("three")); err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get(ctx, "kcv"); string(v) != "three" {
		t.Fatalf("got %q", v)
	}
}

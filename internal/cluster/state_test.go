package cluster

import (
	"math/rand"
	"testing"
	"testing/quick"
)

// upd is one gossiped entry; a small alphabet makes collisions (same node and key) frequent.
type upd struct {
	Node  uint8
	Key   uint8
	Ver   uint8
	Count int8
}

func apply(us []upd) *State {
	s := NewState()
	for _, u := range us {
		s.Merge(string('a'+rune(u.Node%3)), Key{"key:k", "rpm", int64(u.Key % 3)}, Entry{Ver: uint64(u.Ver % 5), Count: int64(u.Count)})
	}
	return s
}

func TestMergeProperties(t *testing.T) {
	cfg := &quick.Config{MaxCount: 2000}
	// Commutative (any order of the same updates gives the same state).
	if err := quick.Check(func(us []upd, seed int64) bool {
		sh := append([]upd(nil), us...)
		rand.New(rand.NewSource(seed)).Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
		return apply(us).Equal(apply(sh))
	}, cfg); err != nil {
		t.Errorf("not commutative: %v", err)
	}
	// Idempotent (every update delivered twice, or a state merged into itself).
	if err := quick.Check(func(us []upd) bool {
		a := apply(us)
		b := apply(append(append([]upd(nil), us...), us...))
		c := apply(us)
		c.MergeState(a)
		return a.Equal(b) && a.Equal(c)
	}, cfg); err != nil {
		t.Errorf("not idempotent: %v", err)
	}
	// Associative: (A ⊔ B) ⊔ C == A ⊔ (B ⊔ C) on whole states.
	if err := quick.Check(func(a, b, c []upd) bool {
		ab := apply(a)
		ab.MergeState(apply(b))
		ab.MergeState(apply(c))
		bc := apply(b)
		bc.MergeState(apply(c))
		a2 := apply(a)
		a2.MergeState(bc)
		return ab.Equal(a2)
	}, cfg); err != nil {
		t.Errorf("not associative: %v", err)
	}
}

func TestMergeTable(t *testing.T) {
	k := Key{"key:k", "rpm", 60}
	for _, tc := range []struct {
		name string
		in   []Entry
		want Entry
	}{
		{"newer version wins", []Entry{{1, 5}, {2, 7}}, Entry{2, 7}},
		{"older version ignored", []Entry{{2, 7}, {1, 9}}, Entry{2, 7}},
		{"a release (lower count, newer) wins", []Entry{{1, 9}, {2, 8}}, Entry{2, 8}},
		{"duplicate is a no-op", []Entry{{3, 4}, {3, 4}}, Entry{3, 4}},
		{"same version ties to the larger count", []Entry{{3, 4}, {3, 6}, {3, 5}}, Entry{3, 6}},
	} {
		s := NewState()
		for _, e := range tc.in {
			s.Merge("n1", k, e)
		}
		if got, _ := s.Get("n1", k); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestSumAndPrune(t *testing.T) {
	s := NewState()
	for i, n := range []string{"a", "b", "c"} {
		s.Merge(n, Key{"key:k", "rpm", 0}, Entry{1, int64(10 * (i + 1))})
		s.Merge(n, Key{"key:k", "rpm", 60}, Entry{2, int64(i + 1)})
		s.Merge(n, Key{"key:k", "rpm", 120}, Entry{3, 1})
	}
	if got := s.Sum(Key{"key:k", "rpm", 60}, "a"); got != 5 {
		t.Fatalf("sum excluding a = %d, want 5", got)
	}
	// Rollover: only the current and previous windows stay.
	s.Prune(2)
	if _, ok := s.Get("a", Key{"key:k", "rpm", 0}); ok {
		t.Fatal("window 0 survived the prune")
	}
	if got := s.Sum(Key{"key:k", "rpm", 120}, ""); got != 3 {
		t.Fatalf("current window sum = %d, want 3", got)
	}
}

func TestWireRoundTrip(t *testing.T) {
	s := NewState()
	for i := range 300 {
		s.Merge("node-"+string(rune('a'+i%4)), Key{"key:some-longish-key-id", "tpm@openai", int64(i/4) * 60e9}, Entry{uint64(1e18) + uint64(i), int64(i * 1000)})
	}
	_, gs, err := decode(encodeFull(s))
	if err != nil {
		t.Fatal(err)
	}
	got := NewState()
	for _, g := range gs {
		for _, r := range g.recs {
			got.Merge(g.node, r.k, r.e)
		}
	}
	if !got.Equal(s) {
		t.Fatal("full state did not round-trip")
	}
	var recs []rec
	s.Each(func(n string, k Key, e Entry) { recs = append(recs, rec{k, e}) })
	msgs := encodeDeltas("me", recs, maxPacket)
	total := 0
	for _, m := range msgs {
		if len(m) > maxPacket {
			t.Fatalf("delta of %d bytes", len(m))
		}
		kind, gs, err := decode(m)
		if err != nil || kind != kindDelta || len(gs) != 1 || gs[0].node != "me" {
			t.Fatalf("delta: kind %d groups %d err %v", kind, len(gs), err)
		}
		total += len(gs[0].recs)
	}
	if total != len(recs) || len(msgs) < 2 {
		t.Fatalf("deltas carried %d of %d records in %d messages", total, len(recs), len(msgs))
	}
	t.Logf("%d records: full state %d bytes, %d delta packets", len(recs), len(encodeFull(s)), len(msgs))
	for _, bad := range [][]byte{nil, {magic}, {magic, kindDelta, 5}, {magic, kindFull, 1, 200}} {
		if _, _, err := decode(bad); err == nil {
			t.Errorf("decode(%v) accepted garbage", bad)
		}
	}
}

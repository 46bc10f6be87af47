package cluster

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/governance"
)

// fakeGov is a governance stand-in with real counters.
type fakeGov struct {
	mu   sync.Mutex
	refs []governance.CounterRef
}

func (f *fakeGov) Counters() []governance.CounterRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]governance.CounterRef(nil), f.refs...)
}

func (f *fakeGov) add(subject, metric string, limit int64, c governance.Counter) governance.Counter {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs = append(f.refs, governance.CounterRef{Subject: subject, Metric: metric, Limit: limit, Counter: c})
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time { return time.Unix(0, c.ns.Load()) }

func testKey() []byte { return []byte("0123456789abcdef0123456789abcdef") }

func startNodes(t *testing.T, n int, key []byte, clk func() time.Time, strict bool) ([]*Node, []*fakeGov, []int) {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ports[i] = freePort(t)
	}
	var join []string
	for _, p := range ports {
		join = append(join, "127.0.0.1:"+itoa(p)) // every node gets the same list, itself included
	}
	nodes := make([]*Node, n)
	govs := make([]*fakeGov, n)
	for i := range nodes {
		govs[i] = &fakeGov{}
		cfg := Config{Enabled: true, Name: "n" + itoa(i), Bind: "127.0.0.1:" + itoa(ports[i]), Join: join,
			GossipInterval: 50 * time.Millisecond, Strict: strict}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		if testing.Verbose() {
			log = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
		}
		nd, err := Start(context.Background(), cfg, govs[i], Options{Logger: log, Key: key, Now: clk})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = nd
		t.Cleanup(nd.Stop)
	}
	return nodes, govs, ports
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func itoa(i int) string { return fmtInt(int64(i)) }

func fmtInt(i int64) string {
	if i == 0 {
		return "0"
	}
	neg := i < 0
	if neg {
		i = -i
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

func waitFor(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestThreeNodesShareCounters(t *testing.T) {
	clk := &clock{}
	clk.ns.Store(time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC).UnixNano())
	nodes, govs, _ := startNodes(t, 3, testKey(), clk.now, false)
	waitFor(t, "3 members everywhere", 10*time.Second, func() bool {
		for _, n := range nodes {
			if n.NumAlive() != 3 {
				return false
			}
		}
		return true
	})
	cs := make([]governance.Counter, 3)
	for i, g := range govs {
		cs[i] = g.add("key:k", "rpm", 100, governance.NewSlidingWindow(time.Minute))
	}
	// 1,000 requests round-robin, paced: the cluster admits about 100.
	admitted := 0
	for i := range 1000 {
		if ok, _, _ := cs[i%3].Reserve(clk.now().UnixNano(), 1, 100); ok {
			admitted++
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("admitted %d of 1000 (limit 100, 3 nodes)", admitted)
	if admitted < 95 || admitted > 110 {
		t.Fatalf("admitted %d, want 95..110", admitted)
	}
	// Views converge to the same total.
	waitFor(t, "views to converge", 5*time.Second, func() bool {
		for _, c := range cs {
			if c.Peek(clk.now().UnixNano(), 100).Used != int64(admitted) {
				return false
			}
		}
		return true
	})
	for _, m := range nodes[0].Members() {
		if m.State != "alive" || (!m.Self && m.LastState.IsZero()) {
			t.Errorf("member %+v", m)
		}
	}
	st := nodes[0].Stats()
	t.Logf("node 0: %d bytes out, %d in, last delay %v", st.GossipBytesOut, st.GossipBytesIn, st.LastDelay)

	// Window rollover: a minute later the old window only counts through the sliding share, and two minutes
	// later not at all.
	clk.ns.Add(int64(time.Minute))
	if used := cs[1].Peek(clk.now().UnixNano(), 100).Used; used >= int64(admitted) || used == 0 {
		t.Fatalf("after one window: used %d, want a decayed share of %d", used, admitted)
	}
	clk.ns.Add(int64(2 * time.Minute))
	if used := cs[1].Peek(clk.now().UnixNano(), 100).Used; used != 0 {
		t.Fatalf("after two windows: used %d, want 0", used)
	}
	if ok, _, _ := cs[2].Reserve(clk.now().UnixNano(), 1, 100); !ok {
		t.Fatal("new window refused")
	}
	waitFor(t, "new window count to spread", 5*time.Second, func() bool {
		return cs[0].Peek(clk.now().UnixNano(), 100).Used == 1
	})
}

func TestDeadNodeCountsAndRestart(t *testing.T) {
	clk := &clock{}
	clk.ns.Store(time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC).UnixNano())
	nodes, govs, ports := startNodes(t, 3, testKey(), clk.now, false)
	waitFor(t, "3 members", 10*time.Second, func() bool { return nodes[0].NumAlive() == 3 && nodes[2].NumAlive() == 3 })
	cs := make([]governance.Counter, 3)
	for i, g := range govs {
		cs[i] = g.add("key:k", "rpm", 100, governance.NewSlidingWindow(time.Minute))
	}
	for range 40 {
		cs[2].Reserve(clk.now().UnixNano(), 1, 100)
	}
	waitFor(t, "counts to spread", 5*time.Second, func() bool { return cs[0].Peek(clk.now().UnixNano(), 100).Used == 40 })
	nodes[2].crash()
	time.Sleep(200 * time.Millisecond)
	if used := cs[0].Peek(clk.now().UnixNano(), 100).Used; used != 40 {
		t.Fatalf("dead node's counts: used %d, want 40", used)
	}
	// Restart with the same name and an empty counter: it learns the window, its own 40 included.
	g := &fakeGov{}
	c := g.add("key:k", "rpm", 100, governance.NewSlidingWindow(time.Minute))
	cfg := Config{Enabled: true, Name: "n2", Bind: "127.0.0.1:" + itoa(ports[2]), Join: []string{"127.0.0.1:" + itoa(ports[0])},
		GossipInterval: 50 * time.Millisecond}
	var nd *Node
	var err error
	for range 50 { // the old socket may linger a moment
		if nd, err = Start(context.Background(), cfg, g, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Key: testKey(), Now: clk.now}); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Stop()
	waitFor(t, "restarted node to learn the window", 5*time.Second, func() bool { return c.Peek(clk.now().UnixNano(), 100).Used == 40 })
	if st := c.Local(clk.now().UnixNano()); st[len(st)-1].Count != 40 {
		t.Fatalf("restarted node took back %d of its own 40", st[len(st)-1].Count)
	}
}

func TestWrongKeyCannotJoin(t *testing.T) {
	nodes, _, ports := startNodes(t, 2, testKey(), nil, false)
	waitFor(t, "2 members", 10*time.Second, func() bool { return nodes[0].NumAlive() == 2 })
	var buf syncBuf
	cfg := Config{Enabled: true, Name: "intruder", Bind: "127.0.0.1:" + itoa(freePort(t)), Join: []string{"127.0.0.1:" + itoa(ports[0])}}
	nd, err := Start(context.Background(), cfg, &fakeGov{}, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Key: []byte("fedcba9876543210")})
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Stop()
	time.Sleep(500 * time.Millisecond)
	if nd.NumAlive() != 1 || nodes[0].NumAlive() != 2 {
		t.Fatalf("intruder sees %d members, cluster %d", nd.NumAlive(), nodes[0].NumAlive())
	}
	if !contains(buf.String(), KeyEnv) {
		t.Fatalf("no clear log line:\n%s", buf.String())
	}
	t.Log(buf.String())
}

func TestStrictModeSplitsHeadroom(t *testing.T) {
	clk := &clock{}
	clk.ns.Store(time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC).UnixNano())
	nodes, govs, _ := startNodes(t, 3, testKey(), clk.now, true)
	waitFor(t, "3 members", 10*time.Second, func() bool {
		return nodes[0].NumAlive() == 3 && nodes[1].NumAlive() == 3 && nodes[2].NumAlive() == 3
	})
	cs := make([]governance.Counter, 3)
	for i, g := range govs {
		cs[i] = g.add("key:k", "rpm", 100, governance.NewSlidingWindow(time.Minute))
	}
	// 90 used on node 0: headroom 10 < 25, so once it has spread each node may take only its share right away.
	for range 90 {
		cs[0].Reserve(clk.now().UnixNano(), 1, 100)
	}
	waitFor(t, "counts to spread", 5*time.Second, func() bool {
		return cs[1].Peek(clk.now().UnixNano(), 100).Used >= 90 && cs[2].Peek(clk.now().UnixNano(), 100).Used >= 90
	})
	time.Sleep(50 * time.Millisecond)
	burst := 0 // node 1 takes a burst with no time for gossip: limited to about a third of the headroom
	for range 20 {
		if ok, _, _ := cs[1].Reserve(clk.now().UnixNano(), 1, 100); ok {
			burst++
		}
	}
	if burst < 1 || burst > 4 {
		t.Fatalf("strict burst admitted %d, want about 10/3", burst)
	}
	// With time, a node alone with the traffic still reaches the limit.
	total := 90 + burst
	waitFor(t, "the limit to be reachable", 10*time.Second, func() bool {
		if ok, _, _ := cs[1].Reserve(clk.now().UnixNano(), 1, 100); ok {
			total++
		}
		return total >= 98
	})
	t.Logf("strict: burst %d, total %d", burst, total)
}

type syncBuf struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestParseKey(t *testing.T) {
	if _, err := ParseKey("", false); err != ErrNoKey {
		t.Fatalf("no key: %v", err)
	}
	if k, err := ParseKey("", true); k != nil || err != nil {
		t.Fatal("insecure should allow no key")
	}
	if _, err := ParseKey("c2hvcnQ=", false); err == nil {
		t.Fatal("5-byte key accepted")
	}
	if k, err := ParseKey("MDEyMzQ1Njc4OWFiY2RlZg==", false); err != nil || len(k) != 16 {
		t.Fatalf("16-byte key: %v", err)
	}
}

// crash stops a node without leaving (as kill -9 would).
func (n *Node) crash() {
	close(n.stop)
	n.wg.Wait()
	_ = n.ml.Shutdown()
}

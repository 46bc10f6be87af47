package cluster

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/hashicorp/memberlist"
)

// memberlist calls the event delegate with its node lock held, and a node sends lease requests (which take that
// lock) while holding mu: the delegate must never wait for mu, or a member's join or leave during a delta tick
// deadlocks the node (ring mode hung at a member's leave in the cluster simulation). Here every event is raised
// with mu held by the test's own goroutine: a delegate that took mu would hang the test (sync.Mutex is not
// reentrant) and fail it at the go test timeout.
func TestEventDelegateNeverWaitsForMu(t *testing.T) {
	n, _ := offlineNode("a", nil)
	n.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	ev := (*events)(n)
	b := &memberlist.Node{Name: "b", Addr: net.ParseIP("127.0.0.1"), Port: 7946}
	n.mu.Lock()
	ev.NotifyJoin(b)
	ev.NotifyUpdate(b)
	ev.NotifyLeave(b)
	n.mu.Unlock()
	if p := n.peers["b"]; p == nil || p.state != "dead" || p.addr != "127.0.0.1:7946" {
		t.Fatalf("peer b after join, update, leave: %+v; want dead at 127.0.0.1:7946", p)
	}
	if !n.ringDirty {
		t.Error("membership changed but the ring is not marked for a rebuild")
	}
}

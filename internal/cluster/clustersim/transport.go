package clustersim

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// countingTransport is memberlist's own UDP/TCP transport on a loopback port, counting every byte this node
// puts on the wire: packets (probes, gossip, deltas) and streams (push/pull, joins), encryption included.
type countingTransport struct {
	*memberlist.NetTransport
	out     atomic.Uint64
	streams chan net.Conn
	done    chan struct{}
	stop    sync.Once
}

func newCountingTransport() (*countingTransport, error) {
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: 0})
	if err != nil {
		return nil, err
	}
	t := &countingTransport{NetTransport: nt, streams: make(chan net.Conn), done: make(chan struct{})}
	go func() { // inbound streams are written to as well (the push/pull answer)
		for {
			select {
			case c := <-nt.StreamCh():
				select {
				case t.streams <- &countingConn{Conn: c, out: &t.out}:
				case <-t.done:
					c.Close()
					return
				}
			case <-t.done:
				return
			}
		}
	}()
	return t, nil
}

// Addr is the gossip address peers join.
func (t *countingTransport) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(t.GetAutoBindPort()))
}

// Sent is every byte this node has sent.
func (t *countingTransport) Sent() uint64 { return t.out.Load() }

// Dropped is 0: the kernel's drops are not seen here.
func (t *countingTransport) Dropped() uint64 { return 0 }

func (t *countingTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.out.Add(uint64(len(b)))
	return t.NetTransport.WriteTo(b, addr)
}

func (t *countingTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.out.Add(uint64(len(b)))
	return t.NetTransport.WriteToAddress(b, a)
}

func (t *countingTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, out: &t.out}, nil
}

func (t *countingTransport) Shutdown() error {
	// The listener may be handing over a stream as it stops: keep forwarding until it has.
	err := t.NetTransport.Shutdown()
	t.stop.Do(func() { close(t.done) })
	return err
}

func (t *countingTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, out: &t.out}, nil
}

func (t *countingTransport) StreamCh() <-chan net.Conn { return t.streams }

type countingConn struct {
	net.Conn
	out *atomic.Uint64
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(uint64(n))
	return n, err
}

var _ memberlist.NodeAwareTransport = (*countingTransport)(nil)

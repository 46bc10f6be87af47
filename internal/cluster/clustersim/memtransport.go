package clustersim

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// memNetwork wires N nodes through memberlist's in-memory MockNetwork instead of loopback sockets: no kernel
// UDP/TCP per packet, so 100 nodes fit on 2 cores. memberlist still encrypts and compresses every packet and
// stream, and runs its failure detector unchanged; only the socket is gone.
//
// MockNetwork's registry is unguarded, so every transport is made before any node starts (none is added while
// others send). Its MockTransport hands each packet over an unbuffered channel, which would block the sender on
// a busy receiver and forever on a stopped one; memTransport puts a pump in front of each node that takes every
// packet at once into a bounded queue and drops what does not fit, as a full UDP socket buffer does.
type memNetwork struct {
	mn     memberlist.MockNetwork
	closed chan struct{}
	once   sync.Once
}

// udpQueue is how many packets wait for a node's memberlist before more are dropped (a socket buffer of a few
// MB at memberlist's packet sizes).
const udpQueue = 8192

func newMemNetwork(names []string) (*memNetwork, []*memTransport) {
	n := &memNetwork{closed: make(chan struct{})}
	ts := make([]*memTransport, len(names))
	for i, name := range names {
		ts[i] = &memTransport{MockTransport: n.mn.NewTransport(name), net: n,
			packets: make(chan *memberlist.Packet, udpQueue), streams: make(chan net.Conn), done: make(chan struct{})}
	}
	for _, t := range ts {
		go t.pump()
	}
	return n, ts
}

// close ends every pump; call it once every node has shut down.
func (n *memNetwork) close() { n.once.Do(func() { close(n.closed) }) }

// memTransport is one node's MockTransport, counting every byte the node sends.
type memTransport struct {
	*memberlist.MockTransport
	net     *memNetwork
	out     atomic.Uint64
	dropped atomic.Uint64
	packets chan *memberlist.Packet
	streams chan net.Conn
	done    chan struct{}
	stop    sync.Once
}

// pump takes what MockNetwork delivers to this node: packets into the bounded queue (dropped when it is full or
// the node has stopped), streams to memberlist (closed once it has stopped).
func (t *memTransport) pump() {
	for {
		select {
		case p := <-t.MockTransport.PacketCh():
			select {
			case <-t.done:
				continue
			default:
			}
			select {
			case t.packets <- p:
			default:
				t.dropped.Add(1)
			}
		case c := <-t.MockTransport.StreamCh():
			select {
			case t.streams <- &countingConn{Conn: c, out: &t.out}:
			case <-t.done:
				c.Close()
			}
		case <-t.net.closed:
			return
		}
	}
}

// Addr is the address peers join.
func (t *memTransport) Addr() string {
	ip, port, err := t.FinalAdvertiseAddr("", 0)
	if err != nil {
		panic(fmt.Sprintf("clustersim: mock transport address: %v", err))
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(port))
}

// Sent is every byte this node has sent.
func (t *memTransport) Sent() uint64 { return t.out.Load() }

// Dropped is how many packets to this node were dropped on a full queue.
func (t *memTransport) Dropped() uint64 { return t.dropped.Load() }

func (t *memTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *memTransport) StreamCh() <-chan net.Conn           { return t.streams }

func (t *memTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.out.Add(uint64(len(b)))
	return t.MockTransport.WriteTo(b, addr)
}

func (t *memTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.out.Add(uint64(len(b)))
	return t.MockTransport.WriteToAddress(b, a)
}

func (t *memTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

func (t *memTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	c, err := t.MockTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, out: &t.out}, nil
}

func (t *memTransport) Shutdown() error {
	t.stop.Do(func() { close(t.done) })
	return nil
}

var _ memberlist.NodeAwareTransport = (*memTransport)(nil)

// Package redistest runs a real redis-server (Debian's) for tests: on a free loopback port, in a temporary
// directory, with no persistence, stopped when the test ends. A test skips, saying why, only when the binary
// is not installed (`apt-get install -y redis-server`; .ci/run installs it).
package redistest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Addr  string // host:port
	dir   string
	wrap  []string
	extra []string // more redis-server arguments
	cmd   *exec.Cmd
	done  chan struct{}
}

// Options place a server elsewhere than a free port on 127.0.0.1 (StartWith).
type Options struct {
	Addr string   // host:port to bind
	Wrap []string // a command prefix that execs redis-server, e.g. ip netns exec NAME
}

// URL is the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Start runs a redis-server for t; it is killed when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (apt-get install -y redis-server): the Redis counter tests need a real one")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return StartWith(t, Options{Addr: addr})
}

// StartWith runs a redis-server as o says; it is killed when t ends.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (apt-get install -y redis-server): the Redis counter tests need a real one")
	}
	s := &Server{Addr: o.Addr, dir: t.TempDir(), wrap: o.Wrap}
	s.Restart(t)
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again on the same port after Stop (its data is gone: there is no persistence).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr)
	args := append(append([]string{}, s.wrap...), "redis-server", "--port", port, "--bind", host, "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no")
	args = append(args, s.extra...)
	s.cmd = exec.Command(args[0], args[1:]...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	ready := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled {
				log.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "Ready to accept connections") {
					signalled = true
					close(ready)
				}
			}
		}
		_ = s.cmd.Wait()
		close(s.done)
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("redis-server exited on %s:\n%s", s.Addr, log.String())
	case <-time.After(10 * time.Second):
		s.Stop()
		t.Fatalf("redis-server did not become ready on %s", s.Addr)
	}
}

// Stop kills the server (SIGKILL: as abrupt as a crash) and waits for it to exit.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Port is the server's TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (s *Server) String() string { return fmt.Sprintf("redis-server on %s", s.Addr) }

// Cluster is a Redis Cluster of real redis-server processes on loopback, every slot assigned.
type Cluster struct {
	Nodes []*Server
}

// URL is a go-redis cluster URL naming every node.
func (c *Cluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr
	for i, n := range c.Nodes[1:] {
		if i == 0 {
			u += "?"
		} else {
			u += "&"
		}
		u += "addr=" + n.Addr
	}
	return u
}

// StartCluster runs n cluster-enabled redis-servers and joins them with redis-cli --cluster create (no
// replicas); it returns once the cluster reports cluster_state:ok.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli not installed (it comes with redis-server): the Redis Cluster test needs it")
	}
	c := &Cluster{}
	args := []string{"--cluster", "create"}
	for range n {
		s := startNode(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		c.Nodes = append(c.Nodes, s)
		args = append(args, s.Addr)
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range c.Nodes {
		_, port, _ := net.SplitHostPort(s.Addr)
		for {
			out, _ := exec.Command("redis-cli", "-p", port, "cluster", "info").Output()
			if strings.Contains(string(out), "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redis cluster not ok on %s:\n%s", s.Addr, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

func startNode(t testing.TB, extra ...string) *Server {
	t.Helper()
	s := &Server{Addr: freeClusterAddr(t), dir: t.TempDir(), extra: extra}
	s.Restart(t)
	t.Cleanup(s.Stop)
	return s
}

// freeClusterAddr finds a loopback port free along with port+10000, the node's cluster bus.
func freeClusterAddr(t testing.TB) string {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(25000)
		a, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return "127.0.0.1:" + strconv.Itoa(p)
	}
	t.Fatal("no free port pair for a redis cluster node")
	return ""
}

package requestlog

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct{ name, id, data string }

// readEvents sends the events of an SSE body to a channel until it ends.
func readEvents(body *bufio.Reader) <-chan sseEvent {
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		var ev sseEvent
		for {
			line, err := body.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.name != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "id: "):
				ev.id = line[len("id: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	return out
}

func next(t *testing.T, evs <-chan sseEvent, within time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-evs:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(within):
		t.Fatalf("no event within %s", within)
	}
	return sseEvent{}
}

// The tail sends the stored rows that match its filters, with the chosen columns, as they are written; a client
// leaving ends its handler and subscription.
func TestTailSSE(t *testing.T) {
	db := sqldbtest.Open(t, sqldb.SQLite)
	s, err := NewSQLSink(context.Background(), db, SQLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hub := NewHub()
	w := NewWriter(s, Options{FlushInterval: 50 * time.Millisecond, Tail: hub, Logger: quiet})
	defer w.Close(context.Background())
	mux := http.NewServeMux()
	api := NewAPI(s, nil).WithTail(hub)
	api.keepalive = 50 * time.Millisecond
	api.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/logs/tail?provider=openai&status=5xx&columns=status,provider", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	evs := readEvents(bufio.NewReader(resp.Body))
	if ev := next(t, evs, 5*time.Second); ev.name != "ready" {
		t.Fatalf("first event %+v", ev)
	}
	w.Enqueue(Record{ID: "skip-provider", Provider: "anthropic", Status: 503})
	w.Enqueue(Record{ID: "skip-status", Provider: "openai", Status: 200})
	w.Enqueue(Record{ID: "want", Provider: "openai", Status: 502, Model: "gpt-4o"})
	for {
		ev := next(t, evs, 5*time.Second)
		if ev.name == "keepalive" || ev.name == "" {
			continue
		}
		if ev.name != "log" || ev.id != "want" {
			t.Fatalf("event %+v", ev)
		}
		var row map[string]any
		if err := json.Unmarshal([]byte(ev.data), &row); err != nil {
			t.Fatal(err)
		}
		if row["status"] != 502.0 || row["provider"] != "openai" || row["model"] != nil {
			t.Fatalf("row %v (want the chosen columns only)", row)
		}
		break
	}
	if hub.Subscribers() != 1 {
		t.Fatalf("%d subscribers", hub.Subscribers())
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for hub.Subscribers() != 0 || runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("after the client left: %d subscribers, %d goroutines (%d before)", hub.Subscribers(), runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code := get(t, srv.URL+"/api/logs/tail?status=6xx"); code != 400 {
		t.Fatalf("bad filter: %d", code)
	}

	// Closing the hub (the server shutting down) ends open tails.
	resp, err = srv.Client().Get(srv.URL + "/api/logs/tail")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	evs = readEvents(bufio.NewReader(resp.Body))
	next(t, evs, 5*time.Second) // ready
	hub.Close()
	for {
		select {
		case _, ok := <-evs:
			if !ok {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the tail stayed open after the hub closed")
		}
	}
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A subscriber that does not read loses rows beyond its buffer and is told how many; publishing never waits.
func TestTailSlowSubscriber(t *testing.T) {
	hub := NewHub()
	slow := hub.Subscribe(Filter{})
	defer slow.Close()
	picky := hub.Subscribe(Filter{Provider: "x"})
	defer picky.Close()
	recs := make([]Record, TailBuffer+40)
	for i := range recs {
		recs[i] = Record{ID: "r", Status: 200}
	}
	done := make(chan struct{})
	go func() {
		hub.Publish(recs)
		hub.Publish(recs[:10])
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a full subscriber")
	}
	if n := slow.TakeDropped(); n != 50 {
		t.Fatalf("dropped %d, want 50", n)
	}
	if n := slow.TakeDropped(); n != 0 {
		t.Fatalf("dropped again %d", n)
	}
	if len(slow.C) != TailBuffer || len(picky.C) != 0 || picky.TakeDropped() != 0 {
		t.Fatalf("buffers: %d, %d", len(slow.C), len(picky.C))
	}
	// Publishing copies: the writer reuses its batch.
	recs[0].ID = "changed"
	if r := <-slow.C; r.ID != "r" {
		t.Fatalf("the subscriber saw the writer's reused batch: %q", r.ID)
	}
	slow.Close()
	slow.Close()
	if hub.Subscribers() != 1 {
		t.Fatalf("%d subscribers after Close", hub.Subscribers())
	}
}

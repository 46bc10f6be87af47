package dispatch

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestPoolAdmission(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		holders    int // slots taken and held before the probe
		waiters    int // requests already queued before the probe
		wantErr    error
		wantQueued bool
	}{
		{"free slot", Options{Concurrency: 2, BufferSize: 1, Drop: true}, 1, 0, nil, false},
		{"queue has room", Options{Concurrency: 1, BufferSize: 2, Drop: true}, 1, 1, nil, true},
		{"queue full, drop", Options{Concurrency: 1, BufferSize: 1, Drop: true}, 1, 1, ErrQueueFull, false},
		{"queue full, no drop waits", Options{Concurrency: 1, BufferSize: 1, Drop: false}, 1, 1, nil, true},
		{"zero buffer, drop", Options{Concurrency: 1, BufferSize: 0, Drop: true}, 1, 0, ErrQueueFull, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := New(tc.opts)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for i := 0; i < tc.holders; i++ {
				if err := p.Acquire(ctx); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for i := 0; i < tc.waiters; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if p.Acquire(ctx) == nil {
						p.Release()
					}
				}()
			}
			waitFor(t, func() bool { return p.Stats().Queued == int64(tc.waiters) })
			done := make(chan error, 1)
			go func() { done <- p.Acquire(ctx) }()
			if tc.wantQueued {
				waitFor(t, func() bool { return p.Stats().Queued == int64(tc.waiters+1) })
				for i := 0; i < tc.holders; i++ {
					p.Release()
				}
			}
			err := <-done
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Acquire = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == ErrQueueFull && p.Stats().Dropped != 1 {
				t.Fatalf("dropped = %d, want 1", p.Stats().Dropped)
			}
			cancel()
			wg.Wait()
		})
	}
}

func TestPoolQueueTimeout(t *testing.T) {
	p := New(Options{Concurrency: 1, BufferSize: 1, QueueTimeout: time.Millisecond})
	if err := p.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Acquire(context.Background()); !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("got %v, want ErrQueueTimeout", err)
	}
	if got := p.Stats().TimedOut; got != 1 {
		t.Fatalf("timed out = %d", got)
	}
}

func TestPoolCallerGoesAway(t *testing.T) {
	p := New(Options{Concurrency: 1, BufferSize: 4})
	_ = p.Acquire(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Acquire(ctx) }()
	waitFor(t, func() bool { return p.Stats().Queued == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if q := p.Stats().Queued; q != 0 {
		t.Fatalf("queued = %d after cancel", q)
	}
}

// TestPoolNeverExceedsConcurrency hammers a pool and checks the in-flight bound under the race detector.
func TestPoolNeverExceedsConcurrency(t *testing.T) {
	p := New(Options{Concurrency: 3, BufferSize: 1000})
	var mu sync.Mutex
	cur, peak := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Acquire(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			cur++
			peak = max(peak, cur)
			mu.Unlock()
			mu.Lock()
			cur--
			mu.Unlock()
			p.Release()
		}()
	}
	wg.Wait()
	if peak > 3 {
		t.Fatalf("peak in flight %d > 3", peak)
	}
	if s := p.Stats(); s.Served != 200 || s.InFlight != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	p := New(Options{Concurrency: 64, BufferSize: 64})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if p.Acquire(ctx) == nil {
				p.Release()
			}
		}
	})
}

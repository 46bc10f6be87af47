package governance

import (
	"sync"
	"testing"
	"time"
)

// eachLeasable runs f in a subtest on a fresh counter of each Leasable kind.
func eachLeasable(t *testing.T, f func(t *testing.T, c Leasable)) {
	for _, tc := range []struct {
		name string
		c    Leasable
	}{
		{"sliding window", NewSlidingWindow(time.Minute)},
		{"period", NewPeriodCounter(ResetDay)},
	} {
		t.Run(tc.name, func(t *testing.T) { f(t, tc.c) })
	}
}

func TestLeasedCounterAdmitsOnlyFromItsLease(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC).UnixNano()
	eachLeasable(t, func(t *testing.T, c Leasable) {
		c.SetRemote(t0, Slot{Start: time.Unix(0, c.LeaseWindow(t0)).UTC(), Count: 40}) // other nodes' usage
		c.SetLeased(true)
		if ok, _, _ := c.Reserve(t0, 1, 100); ok {
			t.Fatal("admitted without a lease")
		}
		w := c.LeaseWindow(t0)
		c.AddLease(w, 3)
		for i := range 3 {
			ok, _, st := c.Reserve(t0, 1, 100)
			if !ok {
				t.Fatalf("refused unit %d of a 3-unit lease", i+1)
			}
			// The Status is the view's (cluster-wide), not the lease's.
			if want := int64(40 + i + 1); st.Used != want {
				t.Fatalf("status used %d, want %d", st.Used, want)
			}
		}
		if ok, _, st := c.Reserve(t0, 1, 100); ok || st.RetryAfter <= 0 {
			t.Fatalf("admitted past the lease (ok %v, retry %v)", ok, st.RetryAfter)
		}
		if left := c.LeaseLeft(w); left != 0 {
			t.Fatalf("lease left %d, want 0 (never negative)", left)
		}
		c.AddLease(w, 5)
		if ok, _, _ := c.Reserve(t0, 7, 100); ok {
			t.Fatal("took 7 from a 5-unit lease")
		}
		if got := c.DrainLease(w); got != 5 {
			t.Fatalf("drained %d, want the 5 unused units", got)
		}
		if got := c.DrainLease(w); got != 0 {
			t.Fatalf("drained %d twice", got)
		}
		if got := c.Local(t0); got[len(got)-1].Count != 3 {
			t.Fatalf("local count %d, want 3", got[len(got)-1].Count)
		}
		// A lease for another window reads as empty and is replaced by a new one.
		c.AddLease(w, 2)
		next := w + int64(48*time.Hour)
		if got := c.LeaseLeft(next); got != 0 {
			t.Fatalf("lease for the next window reads %d", got)
		}
		c.AddLease(next, 1)
		if got := c.LeaseLeft(w); got != 0 {
			t.Fatalf("old window's lease still %d after a new window's", got)
		}
		// Off, the counter admits on its view again.
		c.SetLeased(false)
		if ok, _, _ := c.Reserve(t0, 50, 100); !ok {
			t.Fatal("unleased counter refused within its view")
		}
	})
}

func TestLeaseConcurrentTakesNeverOverdraw(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC).UnixNano()
	c := NewSlidingWindow(time.Minute)
	c.SetLeased(true)
	c.AddLease(c.LeaseWindow(t0), 100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if ok, _, _ := c.Reserve(t0, 1, 1000); ok {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if admitted != 100 || c.LeaseLeft(c.LeaseWindow(t0)) != 0 {
		t.Fatalf("admitted %d of a 100-unit lease (left %d)", admitted, c.LeaseLeft(c.LeaseWindow(t0)))
	}
}

// TestLeaseChargeNeverMissesAnAdmission: the cluster layer reports a lessee's charge (what it holds of the
// owner's units) as the lease left, read first, plus the local count, read second, while admissions go on. An
// admission counts locally before it takes from the lease, so that reading can count one twice but never miss
// one; the other way round the owner was told one unit less than the node held and granted it again.
func TestLeaseChargeNeverMissesAnAdmission(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC).UnixNano()
	eachLeasable(t, func(t *testing.T, c Leasable) {
		c.SetLeased(true)
		w := c.LeaseWindow(t0)
		const granted = 200000
		c.AddLease(w, granted)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if ok, _, _ := c.Reserve(t0, 1, 1<<30); !ok {
						return
					}
				}
			})
		}
		var low int64 = granted
		for range 200000 {
			left := c.LeaseLeft(w)
			local := c.Local(t0)
			low = min(low, left+local[len(local)-1].Count)
		}
		close(stop)
		wg.Wait()
		if low < granted {
			t.Fatalf("lease left + local count read %d while %d units were held: an admission was missed", low, granted)
		}
	})
}

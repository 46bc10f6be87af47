package governance

import (
	"testing"
	"time"
)

func TestSlidingWindowRemote(t *testing.T) {
	const min = int64(time.Minute)
	base := int64(9) * min
	w := NewSlidingWindow(time.Minute)
	w.SetRemote(base, Slot{Start: time.Unix(0, base), Count: 8})
	if ok, _, _ := w.Reserve(base, 3, 10); ok {
		t.Fatal("remote count ignored")
	}
	if ok, _, _ := w.Reserve(base, 2, 10); !ok {
		t.Fatal("refused within limit")
	}
	sl := w.Local(base)
	if len(sl) != 1 || sl[0].Count != 2 {
		t.Fatalf("Local = %+v (remote counts must not be reported as local)", sl)
	}
}

package upload

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestClockStartsAtTheEndOfTheBody: the clock does not run while the body is being sent, runs once it was read to
// its end, and never after Stop.
func TestClockStartsAtTheEndOfTheBody(t *testing.T) {
	for _, tc := range []struct {
		name       string
		readAll    bool
		stop       bool
		wantExpiry bool
	}{
		{"body sent: the clock runs", true, false, true},
		{"body not sent yet: it does not", false, false, false},
		{"stopped before the body ended: it never runs", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expired := make(chan struct{}, 1)
			c := NewClock(time.Millisecond, func() { expired <- struct{}{} })
			if tc.stop {
				c.Stop()
			}
			body := c.Body(strings.NewReader("an upload"))
			if tc.readAll {
				if _, err := io.ReadAll(body); err != nil {
					t.Fatal(err)
				}
			} else if _, err := body.Read(make([]byte, 2)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-expired:
				if !tc.wantExpiry {
					t.Fatal("the clock ran")
				}
			case <-time.After(200 * time.Millisecond):
				if tc.wantExpiry {
					t.Fatal("the clock did not run once the body was sent")
				}
			}
			c.Stop()
		})
	}
}

package ui

import (
	"encoding/binary"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzSessionCheck: no cookie or CSRF header a caller sends makes Check panic or accept a session the gateway
// did not make, and no X-Forwarded-Prefix makes Prefix answer anything but a plain path.
func FuzzSessionCheck(f *testing.F) {
	s := NewSessions("fuzz-token", time.Hour)
	// one session made the same in every fuzz worker process: a fixed expiry and nonce
	payload := make([]byte, 24)
	binary.BigEndian.PutUint64(payload, uint64(time.Now().Add(24*time.Hour).Truncate(24*time.Hour).Unix()))
	valid, csrf := enc(payload)+"."+enc(s.mac("session", payload)), enc(s.mac("csrf", payload))
	f.Add(valid, csrf, "/weir")
	f.Add(valid+"x", csrf, "//evil.example")
	f.Add("a.b", "", `/"><x`)
	f.Add(strings.Repeat("A", 32)+"."+strings.Repeat("B", 43), "", "/a/../b")
	f.Fuzz(func(t *testing.T, cookie, header, prefix string) {
		r := httptest.NewRequest("POST", "/api/keys", nil)
		r.Header.Set("Cookie", CookieName+"="+cookie)
		r.Header.Set(CSRFHeader, header)
		r.Header.Set("X-Forwarded-Prefix", prefix)
		ok, csrfOK, _ := s.Check(r)
		if c, err := r.Cookie(CookieName); ok && (err != nil || c.Value != valid) {
			t.Fatalf("accepted a cookie the gateway did not make: %q", cookie)
		}
		if csrfOK && !ok {
			t.Fatal("a CSRF token without a session")
		}
		if p := Prefix(r, ""); p != "" && (!strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, `"<>' `)) {
			t.Fatalf("prefix %q from %q", p, prefix)
		}
	})
}

package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"sync"
	"time"
)

// CookieName is the web UI's session cookie.
const CookieName = "weir_session"

// CSRFHeader carries a session's CSRF token on every state-changing call the UI makes.
const CSRFHeader = "X-Weir-CSRF"

// Sessions issues and checks web UI sessions. A session is stateless — its expiry and a random nonce, signed
// with a key derived from the admin token — so every replica sharing the token accepts it, and changing the
// token ends every session. Its CSRF token is derived from it too. Logging out revokes the session on the
// replica that served the logout (sessions are short-lived; see server.ui_session_ttl).
type Sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // session payload → its expiry, kept until then
}

// NewSessions returns the sessions of an admin token; nil when token is empty (the UI then needs no login).
func NewSessions(token string, ttl time.Duration) *Sessions {
	if token == "" {
		return nil
	}
	seed := sha256.Sum256([]byte(token))
	m := hmac.New(sha256.New, seed[:])
	m.Write([]byte("weir-ui-session-v1"))
	return &Sessions{key: m.Sum(nil), ttl: ttl, now: time.Now, revoked: map[string]time.Time{}}
}

// TokenMatches says whether token is the admin token, in constant time.
func (s *Sessions) TokenMatches(token string) bool {
	seed := sha256.Sum256([]byte(token))
	m := hmac.New(sha256.New, seed[:])
	m.Write([]byte("weir-ui-session-v1"))
	return hmac.Equal(m.Sum(nil), s.key)
}

// New makes a session: the cookie value and its CSRF token.
func (s *Sessions) New() (cookie, csrf string) {
	payload := make([]byte, 8+16)
	binary.BigEndian.PutUint64(payload, uint64(s.now().Add(s.ttl).Unix()))
	_, _ = rand.Read(payload[8:])
	p := enc(payload)
	return p + "." + enc(s.mac("session", payload)), enc(s.mac("csrf", payload))
}

// Check reads r's session cookie: ok when it is valid and unexpired, csrfOK when r also carries its CSRF token
// in CSRFHeader; csrf is the session's CSRF token.
func (s *Sessions) Check(r *http.Request) (ok, csrfOK bool, csrf string) {
	payload, ok := s.payload(r)
	if !ok {
		return false, false, ""
	}
	want := s.mac("csrf", payload)
	got, err := b64.DecodeString(r.Header.Get(CSRFHeader))
	return true, err == nil && hmac.Equal(got, want), enc(want)
}

// Revoke ends r's session (logout).
func (s *Sessions) Revoke(r *http.Request) {
	payload, ok := s.payload(r)
	if !ok {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.revoked {
		if now.After(exp) {
			delete(s.revoked, k)
		}
	}
	s.revoked[string(payload)] = time.Unix(int64(binary.BigEndian.Uint64(payload)), 0)
}

// TTL is how long a new session lasts.
func (s *Sessions) TTL() time.Duration { return s.ttl }

func (s *Sessions) payload(r *http.Request) ([]byte, bool) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, false
	}
	p, sig, found := strings.Cut(c.Value, ".")
	if !found {
		return nil, false
	}
	payload, err1 := b64.DecodeString(p)
	mac, err2 := b64.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != 24 || !hmac.Equal(mac, s.mac("session", payload)) {
		return nil, false
	}
	if s.now().Unix() >= int64(binary.BigEndian.Uint64(payload)) {
		return nil, false
	}
	s.mu.Lock()
	_, gone := s.revoked[string(payload)]
	s.mu.Unlock()
	return payload, !gone
}

func (s *Sessions) mac(purpose string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write(payload)
	return m.Sum(nil)
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// b64 decodes what enc encodes, with one spelling per value (no stray trailing bits).
var b64 = base64.RawURLEncoding.Strict()

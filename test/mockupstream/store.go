package mockupstream

import (
	"sync"
	"time"
)

// Files and batches live in memory, per Server and per upstream API key
// (the credential the request authenticated with, see presentedKey), so a
// test can prove a gateway goes back to the same account: an object created
// with key A is a 404 when fetched with key B. Requests without a key share
// the "" account.

type store struct {
	mu       sync.Mutex
	accounts map[string]*account
}

type account struct {
	files      map[string]*storedFile
	batches    map[string]*batch
	msgBatches map[string]*msgBatch
}

func (s *Server) store() *store {
	s.objectsOnce.Do(func() { s.objects = &store{accounts: map[string]*account{}} })
	return s.objects
}

// account locks the store and returns the caller's account; the caller
// must call unlock when done with it.
func (c *call) account() (a *account, unlock func()) {
	st := c.s.store()
	st.mu.Lock()
	key := presentedKey(c.r)
	a = st.accounts[key]
	if a == nil {
		a = &account{files: map[string]*storedFile{}, batches: map[string]*batch{}, msgBatches: map[string]*msgBatch{}}
		st.accounts[key] = a
	}
	return a, st.mu.Unlock
}

// now is the clock for object timestamps.
func now() time.Time { return time.Now().UTC().Truncate(time.Second) }

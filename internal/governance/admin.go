package governance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/weir-gateway/weir/internal/store"
)

// Admin operations write through to the store, then update memory and publish a new snapshot. They are
// serialised by s.mu; the hot path is unaffected (it keeps reading the previous snapshot until the swap).

// ErrInUse refuses deleting a customer or team that still has members.
var ErrInUse = errors.New("governance: still referenced")

// ErrInvalid wraps validation failures of admin input.
var ErrInvalid = errors.New("governance: invalid")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

func checkEntity(id string, b *store.Budget, l store.Limits) error {
	if id == "" || strings.ContainsAny(id, " \t\n\x00") {
		return invalid("id %q: required, without spaces", id)
	}
	if b != nil {
		if b.MaxUSD < 0 {
			return invalid("budget max_usd must be >= 0")
		}
		if _, err := ParseReset(b.Reset); err != nil {
			return invalid("budget: %v", err)
		}
	}
	for _, v := range []int64{l.RPM, l.TPM, l.RPH, l.TPH, l.RPD, l.TPD} {
		if v < 0 || v > MaxWindowCount {
			return invalid("rate limit %d out of range", v)
		}
	}
	return nil
}

// PutCustomer creates or replaces a customer.
func (s *Service) PutCustomer(ctx context.Context, c store.Customer) error {
	if err := checkEntity(c.ID, c.Budget, c.Limits); err != nil {
		return err
	}
	if c.Source == "" {
		c.Source = store.SourceAdmin
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.st.Customers().Put(ctx, &c); err != nil {
		return err
	}
	s.customers[c.ID] = &c
	s.rebuildLocked()
	return nil
}

// DeleteCustomer deletes a customer without teams or keys.
func (s *Service) DeleteCustomer(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.teams {
		if t.CustomerID == id {
			return fmt.Errorf("%w: customer %s has team %s", ErrInUse, id, t.ID)
		}
	}
	for _, k := range s.keys {
		if k.CustomerID == id {
			return fmt.Errorf("%w: customer %s has virtual key %s", ErrInUse, id, k.ID)
		}
	}
	if err := s.st.Customers().Delete(ctx, id); err != nil {
		return err
	}
	delete(s.customers, id)
	s.rebuildLocked()
	return nil
}

// PutTeam creates or replaces a team; its customer must exist.
func (s *Service) PutTeam(ctx context.Context, t store.Team) error {
	if err := checkEntity(t.ID, t.Budget, t.Limits); err != nil {
		return err
	}
	if t.Source == "" {
		t.Source = store.SourceAdmin
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.CustomerID != "" && s.customers[t.CustomerID] == nil {
		return invalid("team %s: unknown customer %q", t.ID, t.CustomerID)
	}
	if err := s.st.Teams().Put(ctx, &t); err != nil {
		return err
	}
	s.teams[t.ID] = &t
	s.rebuildLocked()
	return nil
}

// DeleteTeam deletes a team without keys.
func (s *Service) DeleteTeam(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.TeamID == id {
			return fmt.Errorf("%w: team %s has virtual key %s", ErrInUse, id, k.ID)
		}
	}
	if err := s.st.Teams().Delete(ctx, id); err != nil {
		return err
	}
	delete(s.teams, id)
	s.rebuildLocked()
	return nil
}

func (s *Service) checkKeyLocked(k *store.VirtualKey) error {
	if err := checkEntity(k.ID, k.Budget, k.Limits); err != nil {
		return err
	}
	for prov, l := range k.ProviderLimits {
		if err := checkEntity(prov, nil, l); err != nil {
			return err
		}
	}
	if k.TeamID != "" && k.CustomerID != "" {
		return invalid("virtual key %s: set team or customer, not both", k.ID)
	}
	if k.TeamID != "" && s.teams[k.TeamID] == nil {
		return invalid("virtual key %s: unknown team %q", k.ID, k.TeamID)
	}
	if k.CustomerID != "" && s.customers[k.CustomerID] == nil {
		return invalid("virtual key %s: unknown customer %q", k.ID, k.CustomerID)
	}
	if k.MaxConcurrent < 0 {
		return invalid("virtual key %s: max_concurrent must be >= 0", k.ID)
	}
	return nil
}

// CreateKey stores a new virtual key with a fresh secret and returns the secret — the only time it is visible.
func (s *Service) CreateKey(ctx context.Context, k store.VirtualKey) (string, error) {
	secret, err := GenerateKey()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[k.ID] != nil {
		return "", invalid("virtual key %s already exists", k.ID)
	}
	if err := s.putKeyLocked(ctx, &k, secret); err != nil {
		return "", err
	}
	return secret, nil
}

// UpdateKey replaces a key's settings, keeping its secret.
func (s *Service) UpdateKey(ctx context.Context, k store.VirtualKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.keys[k.ID]
	if old == nil {
		return store.ErrNotFound
	}
	k.Hash, k.Hint, k.CreatedAt = old.Hash, old.Hint, old.CreatedAt
	return s.putKeyLocked(ctx, &k, "")
}

// RotateKey gives a key a new secret (the old one stops working at once) and returns it.
func (s *Service) RotateKey(ctx context.Context, id string) (string, error) {
	secret, err := GenerateKey()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.keys[id]
	if old == nil {
		return "", store.ErrNotFound
	}
	k := *old
	if err := s.putKeyLocked(ctx, &k, secret); err != nil {
		return "", err
	}
	return secret, nil
}

// putKeyLocked validates, sets the hash when secret is given, writes and publishes.
func (s *Service) putKeyLocked(ctx context.Context, k *store.VirtualKey, secret string) error {
	if err := s.checkKeyLocked(k); err != nil {
		return err
	}
	if secret != "" {
		h := HashKey(secret)
		k.Hash, k.Hint = h[:], keyHint(secret)
	}
	if len(k.Hash) != len(KeyHash{}) {
		return invalid("virtual key %s: no secret", k.ID)
	}
	if k.Source == "" {
		k.Source = store.SourceAdmin
	}
	if err := s.st.VirtualKeys().Put(ctx, k); err != nil {
		return err
	}
	s.keys[k.ID] = k
	s.rebuildLocked()
	return nil
}

// DeleteKey deletes a virtual key; it stops authenticating at once.
func (s *Service) DeleteKey(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.st.VirtualKeys().Delete(ctx, id); err != nil {
		return err
	}
	delete(s.keys, id)
	s.rebuildLocked()
	return nil
}

// Customers lists customers by id.
func (s *Service) Customers() []store.Customer {
	return listSorted(s, s.customers, func(c *store.Customer) string { return c.ID })
}

// Teams lists teams by id.
func (s *Service) Teams() []store.Team {
	return listSorted(s, s.teams, func(t *store.Team) string { return t.ID })
}

// Keys lists virtual keys by id (hashes included; secrets are never kept).
func (s *Service) Keys() []store.VirtualKey {
	return listSorted(s, s.keys, func(k *store.VirtualKey) string { return k.ID })
}

func listSorted[T any](s *Service, m map[string]*T, id func(*T) string) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, *v)
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(id(&a), id(&b)) })
	return out
}

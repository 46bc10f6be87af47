package liveproviders

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/providerset"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/store"
)

// GenerationKey is the store's meta entry every provider write replaces with a new random value. Replicas poll
// it and reload when it differs from what they last loaded. A random value rather than a counter: two replicas
// writing at once need no transaction, and each write still changes what the others see. A writer stores the
// generation after the provider, and a reader reads it before listing: whoever sees a generation lists at least
// the writes before it.
const GenerationKey = "providers_generation"

// DefaultInterval is how often a replica reads the generation.
const DefaultInterval = time.Second

// Source keeps the gateway's stored providers equal to the store's.
type Source struct {
	store  store.Store
	cipher *secret.Cipher
	eng    *gateway.Engine
	log    *slog.Logger

	mu     sync.Mutex // one load at a time, so an older listing never replaces a newer one
	gen    []byte     // the generation the last load started from
	failed atomic.Pointer[map[string]error]
}

// New makes a source; call Load once before serving, then Run.
func New(st store.Store, c *secret.Cipher, eng *gateway.Engine, log *slog.Logger) *Source {
	s := &Source{store: st, cipher: c, eng: eng, log: log}
	none := map[string]error{}
	s.failed.Store(&none)
	return s
}

// Load reads every stored provider and swaps the set in.
func (s *Source) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gen, err := s.generation(ctx)
	if err != nil {
		return err
	}
	return s.load(ctx, gen)
}

func (s *Source) load(ctx context.Context, gen []byte) error {
	list, err := s.store.Providers().List(ctx)
	if err != nil {
		return err
	}
	failed := map[string]error{}
	cfgs := make([]provider.Config, 0, len(list))
	for _, p := range list {
		pc, err := Config(p, s.cipher)
		if err != nil {
			failed[p.Name] = err
			continue
		}
		cfgs = append(cfgs, pc)
	}
	for n, err := range s.eng.SetStored(cfgs) {
		failed[n] = StoredPaths(err)
	}
	before := *s.failed.Load()
	for n, err := range failed {
		if was := before[n]; was == nil || was.Error() != err.Error() {
			s.log.Warn("a stored provider is not routed", "provider", n, "err", err)
		}
	}
	s.failed.Store(&failed)
	s.gen = gen
	return nil
}

// generation reads the store's providers generation; nil when none was ever written.
func (s *Source) generation(ctx context.Context) ([]byte, error) {
	g, err := s.store.Meta().Get(ctx, GenerationKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return g, err
}

// Changed makes a provider write take effect: it stores a new generation, for the other replicas, and reloads
// here at once, so the writer's answer is routed by the time it is sent.
func (s *Source) Changed(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gen := make([]byte, 16)
	_, _ = rand.Read(gen)
	gen = []byte(hex.EncodeToString(gen))
	if err := s.store.Meta().Put(ctx, GenerationKey, gen); err != nil {
		return err
	}
	return s.load(ctx, gen)
}

// Run reloads whenever the store's generation changes, checking every interval, until ctx ends.
func (s *Source) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.poll(ctx)
		if tick%resyncEvery == 0 && err == nil {
			err = s.Load(ctx)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("could not check the stored providers for changes", "err", err)
		}
	}
}

// resyncEvery is how many polls pass between two full reloads, which catch a write whose generation could not be
// stored. A reload that finds nothing changed changes nothing.
const resyncEvery = 60

// poll reloads when the generation moved since the last load.
func (s *Source) poll(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	gen, err := s.generation(ctx)
	if err != nil {
		return err
	}
	if bytes.Equal(gen, s.gen) {
		return nil
	}
	return s.load(ctx, gen)
}

// Check builds a stored provider without routing it: what a write would store must be servable. Problems have
// paths of the stored provider's fields ("config.base_url").
func (s *Source) Check(p *store.Provider) error {
	pc, err := Config(p, s.cipher)
	if err != nil {
		return err
	}
	return StoredPaths(s.check(pc))
}

// check builds pc the way Engine.SetStored would, without routing it. Problems have paths relative to the entry
// ("base_url", "keys[0].value").
func (s *Source) check(pc provider.Config) error {
	if s.eng.Routes().Configured(pc.Name) {
		return providerset.ErrShadowed
	}
	_, err := provider.Build(0, pc)
	return providerset.RelativeProblems(err)
}

// Status says how a stored provider stands: "active" (routed), "shadowed" (a provider of the config file has its
// name), "error" (it cannot be built: err says why), or "pending" (stored after this replica's last load).
func (s *Source) Status(name string) (string, error) {
	if err, ok := (*s.failed.Load())[name]; ok {
		if errors.Is(err, providerset.ErrShadowed) {
			return "shadowed", err
		}
		return "error", err
	}
	if s.eng.Routes().Stored(name) {
		return "active", nil
	}
	return "pending", nil
}

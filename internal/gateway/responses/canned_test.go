package responses

import (
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/gatewaytest"
	"github.com/weir-gateway/weir/internal/provider"
)

// cannedProvider is the shared test double: fixed answers, no network.
type cannedProvider = gatewaytest.Canned

var jsonHeader = gatewaytest.JSONHeader

const (
	cannedChat   = gatewaytest.Chat
	cannedStream = gatewaytest.ChatStream
)

var cannedProviders = map[string]*cannedProvider{}

// discard is a Sink that drops everything.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) Flush() error                { return nil }

var registerCanned sync.Once

// newEngine builds an engine from cfg, serving the Responses API through this package's layers.
func newEngine(cfg *config.Config) (*gateway.Engine, error) {
	e, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	Use(e)
	return e, nil
}

// newTestEngine builds an engine whose provider "up" is p.
func newTestEngine(tb testing.TB, p *cannedProvider, extra string) *gateway.Engine {
	tb.Helper()
	registerCanned.Do(func() {
		provider.Register("canned", func(cfg provider.Common, _ struct{}) (provider.Provider, error) {
			return cannedProviders[cfg.Name], nil
		})
	})
	cannedProviders[p.ProviderName] = p
	cfg, err := config.Parse([]byte("providers:\n  - {name: "+p.ProviderName+", type: canned, keys: [{value: k}]}\n"+extra), func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	e, err := newEngine(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

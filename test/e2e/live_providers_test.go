package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
	"github.com/weir-gateway/weir/test/mockupstream"
)

// liveChat sends one chat for model with the OpenAI SDK and returns the provider that answered.
func liveChat(g *gateway, model string) (string, error) {
	var resp *http.Response
	c := client(g)
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, option.WithResponseInto(&resp))
	if err != nil {
		return "", err
	}
	return resp.Header.Get("X-Weir-Provider"), nil
}

// liveProvider is the admin API body of a stored provider "live" at url with one key.
func liveProvider(url, key string) string {
	return fmt.Sprintf(`{"type":"openai","config":{"base_url":%q},"keys":[{"id":"main","value":%q}]}`, url+"/v1", key)
}

// TestLiveProviders: a provider created through the admin API is routed at once, without a restart; an edited
// key is the one the next request sends; after a delete the model is refused with a 404 naming it, in the
// OpenAI and the Anthropic dialect. The provider of the config file is untouched throughout.
func TestLiveProviders(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, "routing: {retries: {max: 0}}\n"), "WEIR_ENCRYPTION_KEY="+secret.GenerateKey())

	if _, err := liveChat(g, "live/mock-model"); err == nil {
		t.Fatal("live/mock-model served before the provider exists")
	}
	steps := []struct {
		name, method, path, body string
		status                   int
		key                      string // the key the upstream must see; "": the model is refused
	}{
		{"create", "POST", "/api/providers", `{"name":"live",` + liveProvider(url, "sk-live-one")[1:], 201, "sk-live-one"},
		{"edit the key", "PUT", "/api/providers/live", liveProvider(url, "sk-live-two"), 200, "sk-live-two"},
		{"delete", "DELETE", "/api/providers/live", "", 204, ""},
	}
	for _, s := range steps {
		if code, m := adminCall(t, g, s.method, s.path, "", s.body); code != s.status {
			t.Fatalf("%s: %d %v", s.name, code, m)
		}
		prov, err := liveChat(g, "live/mock-model")
		if s.key == "" {
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.Message, "live/mock-model") {
				t.Fatalf("%s: OpenAI dialect: %v, want a 404 naming live/mock-model", s.name, err)
			}
			ac := anthropic.NewClient(aoption.WithBaseURL(g.URL), aoption.WithAPIKey("unused"), aoption.WithMaxRetries(0))
			_, err := ac.Messages.New(context.Background(), anthropic.MessageNewParams{Model: "live/mock-model", MaxTokens: 16,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}})
			var aErr *anthropic.Error
			if !errors.As(err, &aErr) || aErr.StatusCode != 404 || !strings.Contains(aErr.RawJSON(), `"type":"error"`) ||
				!strings.Contains(aErr.RawJSON(), "live/mock-model") {
				t.Fatalf("%s: Anthropic dialect: %v, want a 404 Anthropic error naming live/mock-model", s.name, err)
			}
			continue
		}
		if err != nil || prov != "live" {
			t.Fatalf("%s: provider %q, %v", s.name, prov, err)
		}
		if got := up.LastRequestTo("/v1/chat/completions").Header.Get("Authorization"); got != "Bearer "+s.key {
			t.Fatalf("%s: the upstream saw %q, want the key %s", s.name, got, s.key)
		}
		// The attempt is counted just after its answer is relayed: wait for it. An edit rebuilds the provider, so
		// each step's provider has served one request.
		var last map[string]any
		waitUntil(t, s.name+": the request in GET /api/providers/live", func() bool {
			code, m := adminCall(t, g, "GET", "/api/providers/live", "", "")
			health, _ := m["health"].(map[string]any)
			recent, _ := health["recent"].(map[string]any)
			last = m
			return code == 200 && m["status"] == "active" && recent["requests"] == 1.0
		})
		if keys, _ := last["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["masked"] != "…"+s.key[len(s.key)-4:] {
			t.Fatalf("%s: keys %v, want the key masked to its last 4", s.name, last["keys"])
		}
	}
	if prov, err := liveChat(g, "up/mock-model"); err != nil || prov != "up" {
		t.Fatalf("the configured provider after the changes: %q %v", prov, err)
	}
}

// TestLiveProvidersAcrossReplicas: two gateways sharing one PostgreSQL database; a provider created on one is
// routed by the other within a couple of seconds (it polls the providers generation every second), and so is
// its removal. Skipped without WEIR_TEST_POSTGRES_DSN (.ci/run sets it).
func TestLiveProvidersAcrossReplicas(t *testing.T) {
	dsn := sqldbtest.Schema(t)
	_, url := startUpstream(t, mockupstream.Options{})
	config := fmt.Sprintf(`
providers:
  - {name: mock, type: mock}
routing: {retries: {max: 0}}
governance:
  store: {driver: postgres, dsn: %q}
`, dsn)
	key := "WEIR_ENCRYPTION_KEY=" + secret.GenerateKey()
	writer := startGateway(t, config, key)
	reader := startGateway(t, config, key)

	if code, m := adminCall(t, writer, "POST", "/api/providers", "", `{"name":"live",`+liveProvider(url, "sk-shared")[1:]); code != 201 {
		t.Fatalf("create: %d %v", code, m)
	}
	created := time.Now()
	if prov, err := liveChat(writer, "live/mock-model"); err != nil || prov != "live" {
		t.Fatalf("the writer: %q %v", prov, err)
	}
	waitRouted(t, reader, created, true)

	if code, m := adminCall(t, writer, "DELETE", "/api/providers/live", "", ""); code != 204 {
		t.Fatalf("delete: %d %v", code, m)
	}
	waitRouted(t, reader, time.Now(), false)
}

// waitRouted waits until g serves live/mock-model (or, routed false, refuses it with a 404), and fails when that
// takes more than 3 s from since: the poll interval is 1 s, and a loaded CI machine gets some slack.
func waitRouted(t *testing.T, g *gateway, since time.Time, routed bool) {
	t.Helper()
	for {
		_, err := liveChat(g, "live/mock-model")
		var apiErr *openai.Error
		refused := errors.As(err, &apiErr) && apiErr.StatusCode == 404
		if routed && err == nil || !routed && refused {
			t.Logf("the other replica followed in %v", time.Since(since).Round(10*time.Millisecond))
			return
		}
		if !routed && err != nil && !refused {
			t.Fatalf("while waiting for the removal: %v", err)
		}
		if time.Since(since) > 3*time.Second {
			t.Fatalf("the other replica did not follow within 3 s (routed %v): %v", routed, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLiveProviderDeleteLetsInFlightFinish: a request already at a provider's upstream when the provider is
// deleted is answered in full; the next request is refused.
func TestLiveProviderDeleteLetsInFlightFinish(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	g := startGateway(t, upstreamConfig(url, "routing: {retries: {max: 0}}\n"), "WEIR_ENCRYPTION_KEY="+secret.GenerateKey())
	if code, m := adminCall(t, g, "POST", "/api/providers", "", `{"name":"live",`+liveProvider(url, "sk-live")[1:]); code != 201 {
		t.Fatalf("create: %d %v", code, m)
	}
	type result struct {
		prov string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		p, err := liveChat(g, "live/slow-1500")
		done <- result{p, err}
	}()
	waitUntil(t, "the request to reach the upstream", func() bool { return up.Stats().InFlight == 1 })
	if code, m := adminCall(t, g, "DELETE", "/api/providers/live", "", ""); code != 204 {
		t.Fatalf("delete: %d %v", code, m)
	}
	var apiErr *openai.Error
	if _, err := liveChat(g, "live/mock-model"); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("a new request after the delete: %v, want 404", err)
	}
	if r := <-done; r.err != nil || r.prov != "live" {
		t.Fatalf("the request in flight during the delete: %q %v", r.prov, r.err)
	}
}

package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/store/sqlite"
	"github.com/weir-gateway/weir/test/mcpserver"
)

// TestOAuthClientCredentials: a server configured with oauth gets a client-credentials token, minted with the
// configured client id and secret and scopes, on every request — tools, resources and prompts alike (LiteLLM
// sent no client secret, BerriAI/litellm#37222, and no credential on prompts and resources, #37497).
func TestOAuthClientCredentials(t *testing.T) {
	// A stateless SDK server speaks SEP-2575 with Weir (calls go through the SDK client); a stateful one the
	// previous revision (/mcp's calls are relayed).
	for _, stateless := range []bool{true, false} {
		t.Run(map[bool]string{true: "stateless", false: "stateful"}[stateless], func(t *testing.T) { oauthClientCredentials(t, stateless) })
	}
}

func oauthClientCredentials(t *testing.T, stateless bool) {
	var mints atomic.Int64
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			_ = r.ParseForm()
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != "weir" || secret != "s3cret" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "tools.read" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusBadRequest)
			return
		}
		mints.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "minted-token", "token_type": "Bearer", "expires_in": 3600})
	}))
	defer tokenSrv.Close()

	s := mcpserver.New("secured", &mcpserver.Calls{})
	sdkHandler := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: stateless})
	var mu sync.Mutex
	var methods, unauthorized []string
	mcpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		methods = append(methods, r.Method)
		if r.Header.Get("Authorization") != "Bearer minted-token" {
			unauthorized = append(unauthorized, r.Method+" "+r.Header.Get("Authorization"))
			mu.Unlock()
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mu.Unlock()
		sdkHandler.ServeHTTP(w, r)
	}))
	defer mcpSrv.Close()

	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gov, err := governance.New(ctx, st, governance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gov.Seed(ctx, &governance.Config{VirtualKeys: []governance.VirtualKeyConfig{
		{ID: "k", Value: diffAll, MCP: &governance.MCPAccessConfig{Servers: []string{"secured"}}}}}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Servers: []ServerConfig{{Name: "secured", Transport: TransportStreamable, URL: mcpSrv.URL,
		OAuth: &OAuthConfig{ClientID: "weir", ClientSecret: "s3cret", TokenURL: tokenSrv.URL, Scopes: []string{"tools.read"}}}}}
	cfg.ApplyDefaults()
	g := New(cfg, Options{Gov: gov})
	g.Start(ctx)
	defer g.Close()
	if st := g.Servers()[0]; st.State != StateUp || st.Tools != 6 || st.Resources != 1 || st.Prompts != 1 {
		t.Fatalf("server: %+v", st)
	}
	p := gov.Principal("k")
	if res, err := g.CallTool(ctx, p, "secured__add", json.RawMessage(`{"a":1,"b":2}`)); err != nil || res.IsError {
		t.Fatalf("call: %v %v", res, err)
	}
	// /mcp's call, relayed to the stateful server, with the same token.
	call := diffCase{body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"secured__add","arguments":{"a":2,"b":3}}}`}
	wantRelayed := map[bool]int64{true: 0, false: 1}[stateless]
	if st, _, b := diffPost(g.Handler(), call); st != http.StatusOK || !strings.Contains(string(b), `"text":"5"`) || g.relayedCalls.Load() != wantRelayed {
		t.Fatalf("/mcp's call: %d %s (%d relayed, want %d)", st, b, g.relayedCalls.Load(), wantRelayed)
	}
	if _, err := g.readResource(ctx, p, nil, &sdk.ReadResourceParams{URI: "test://secured/readme"}); err != nil {
		t.Fatalf("resources/read: %v", err)
	}
	if _, err := g.getPrompt(ctx, p, nil, &sdk.GetPromptParams{Name: "secured__greet"}); err != nil {
		t.Fatalf("prompts/get: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(unauthorized) > 0 || len(methods) < 5 {
		t.Fatalf("requests without the token: %v (of %d)", unauthorized, len(methods))
	}
	if mints.Load() != 1 {
		t.Fatalf("%d tokens minted; one, cached, is enough", mints.Load())
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestResponsesAffinity: a response passed through to one of two OpenAI accounts behind a round-robin alias
// is remembered with the provider and key that made it. Every later previous_response_id, GET, input_items and
// DELETE goes back to that account (each mock upstream accepts only its own key), another virtual key gets a 404
// without reaching any upstream, and records older than responses.retention are gone at start.
func TestResponsesAffinity(t *testing.T) {
	const keyA, keyB = "wk-aff-a-0123456789abcdef", "wk-aff-b-0123456789abcdef"
	upA, urlA := startUpstream(t, mockupstream.Options{APIKey: "sk-account-a"})
	upB, urlB := startUpstream(t, mockupstream.Options{APIKey: "sk-account-b"})
	mocks := map[string]*mockupstream.Server{"oa": upA, "ob": upB}
	_, urlN := startUpstream(t, mockupstream.Options{})

	// Before the gateway starts: one record and one stored response past the retention, one record within it.
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "weir.db")
	seed(t, dbPath, []affinity.Record{
		{ID: "resp_expired", Kind: affinity.KindResponse, Owner: "a", Provider: "oa", KeyID: provider.KeyID("sk-account-a"),
			Model: "mock-model", CreatedAt: time.Now().Add(-72 * time.Hour)},
		{ID: "resp_fresh", Kind: affinity.KindResponse, Owner: "a", Provider: "oa", KeyID: provider.KeyID("sk-account-a"),
			Model: "mock-model", CreatedAt: time.Now().Add(-time.Hour)},
	}, conversation.Stored{ID: "resp_old_translated", KeyID: "a", CreatedAt: time.Now().Add(-72 * time.Hour),
		Response: json.RawMessage(`{"id":"resp_old_translated","object":"response"}`)})

	g := startGateway(t, fmt.Sprintf(`
providers:
  - {name: oa, type: openai, base_url: %[1]s/v1, keys: [{value: sk-account-a}]}
  - {name: ob, type: openai, base_url: %[2]s/v1, keys: [{value: sk-account-b}]}
  - {name: claude, type: anthropic, base_url: %[3]s, keys: [{value: sk-ant-test}]}
  - {name: gem, type: gemini, base_url: %[3]s/v1beta, keys: [{value: gm-test}]}
  - {name: co, type: cohere, base_url: %[3]s, keys: [{value: co-test}]}
models:
  - name: duo
    strategy: round-robin
    targets: [{provider: oa, model: mock-model}, {provider: ob, model: mock-model}]
routing:
  retries: {max: 0}
responses:
  retention: 24h
governance:
  store: {dsn: %[4]s}
  virtual_keys:
    - {id: a, value: %[5]s}
    - {id: b, value: %[6]s}
`, urlA, urlB, urlN, dbPath, keyA, keyB))
	a, b := client(g, option.WithAPIKey(keyA)), client(g, option.WithAPIKey(keyB))

	// Turn 1 through the alias; every later turn lands on the same account although round-robin alternates.
	var httpResp *http.Response
	first, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: "duo", Store: openai.Bool(true),
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("my name is Ada")}}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatal(err)
	}
	prov := httpResp.Header.Get("X-Weir-Provider")
	owner, other := mocks[prov], mocks[map[string]string{"oa": "ob", "ob": "oa"}[prov]]
	if owner == nil || first.ID == "" {
		t.Fatalf("turn 1 answered by %q: %+v", prov, first)
	}
	otherBefore := other.Stats().Received
	prevID := first.ID
	for i := 2; i <= 5; i++ {
		resp, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: "duo", PreviousResponseID: openaiString(prevID),
			Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("and now?")}}, option.WithResponseInto(&httpResp))
		if err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		if got := httpResp.Header.Get("X-Weir-Provider"); got != prov || resp.OutputText() == "" {
			t.Fatalf("turn %d answered by %s, the conversation lives in %s", i, got, prov)
		}
		prevID = resp.ID
	}
	// A streamed turn too: its response id comes from response.created.
	stream := a.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "duo", PreviousResponseID: openaiString(prevID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("stream it")}})
	var streamedID string
	for stream.Next() {
		if ev := stream.Current(); ev.Type == "response.completed" {
			streamedID = ev.Response.ID
		}
	}
	if err := stream.Err(); err != nil || streamedID == "" {
		t.Fatalf("stream: %v, id %q", err, streamedID)
	}
	if _, err := a.Responses.New(ctx, responses.ResponseNewParams{Model: "duo", PreviousResponseID: openaiString(streamedID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("after the stream")}}, option.WithResponseInto(&httpResp)); err != nil ||
		httpResp.Header.Get("X-Weir-Provider") != prov {
		t.Fatalf("turn after a stream: %v, answered by %s", err, httpResp.Header.Get("X-Weir-Provider"))
	}
	if n := other.Stats().Received - otherBefore; n != 0 {
		t.Fatalf("%d requests of the conversation reached the other account", n)
	}

	// GET and input_items are forwarded to the account that holds the response (the mock answers any id it is
	// asked about with "stored response <id>").
	got, err := a.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}, option.WithResponseInto(&httpResp))
	if err != nil || got.ID != first.ID || got.OutputText() != "stored response "+first.ID || httpResp.Header.Get("X-Weir-Provider") != prov {
		t.Fatalf("GET: %v %+v", err, got)
	}
	page, err := a.Responses.InputItems.List(ctx, first.ID, responses.InputItemListParams{Limit: openai.Int(5),
		Order: responses.InputItemListParamsOrderAsc})
	if err != nil || len(page.Data) != 1 || !strings.Contains(page.Data[0].RawJSON(), "limit=5") ||
		!strings.Contains(page.Data[0].RawJSON(), "order=asc") {
		t.Fatalf("input_items: %v %+v", err, page)
	}
	if n := owner.Stats().ByPath["/v1/responses/"+first.ID]; n != 1 {
		t.Fatalf("GET reached the owning account %d times", n)
	}

	// Another virtual key: 404 for everything, and nothing reaches an upstream.
	before := upA.Stats().Received + upB.Stats().Received
	_, err = b.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	if status, _ := apiStatus(t, err); status != 404 {
		t.Fatalf("GET with another key: %v", err)
	}
	_, err = b.Responses.InputItems.List(ctx, first.ID, responses.InputItemListParams{})
	if status, _ := apiStatus(t, err); status != 404 {
		t.Fatalf("input_items with another key: %v", err)
	}
	if status, _ := apiStatus(t, b.Responses.Delete(ctx, first.ID)); status != 404 {
		t.Fatal("DELETE with another key was not a 404")
	}
	_, err = b.Responses.New(ctx, responses.ResponseNewParams{Model: "duo", PreviousResponseID: openaiString(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("what is a's name?")}})
	if status, apiErr := apiStatus(t, err); status != 404 || !strings.Contains(apiErr.Message, "not found") {
		t.Fatalf("previous_response_id with another key: %v", err)
	}
	if after := upA.Stats().Received + upB.Stats().Received; after != before {
		t.Fatalf("another key's requests reached an upstream %d times", after-before)
	}

	// DELETE goes to the owning account and forgets the record.
	if err := a.Responses.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if owner.Stats().ByPath["/v1/responses/"+first.ID] != 2 {
		t.Fatal("DELETE did not reach the owning account")
	}
	_, err = a.Responses.Get(ctx, first.ID, responses.ResponseGetParams{})
	if status, _ := apiStatus(t, err); status != 404 || owner.Stats().ByPath["/v1/responses/"+first.ID] != 2 {
		t.Fatalf("GET after DELETE: %v", err)
	}

	// Retention: what was older than 24h when the gateway started is gone; the rest still works.
	for _, id := range []string{"resp_expired", "resp_old_translated"} {
		_, err = a.Responses.Get(ctx, id, responses.ResponseGetParams{})
		if status, _ := apiStatus(t, err); status != 404 {
			t.Fatalf("GET %s past the retention: %v", id, err)
		}
	}
	if got, err := a.Responses.Get(ctx, "resp_fresh", responses.ResponseGetParams{}); err != nil || got.ID != "resp_fresh" {
		t.Fatalf("GET resp_fresh: %v", err)
	}

	// These routes are metered and logged like inference.
	waitUntil(t, "stored-response routes in metrics and the request log", func() bool {
		_, _, metrics := get(t, g.URL+"/metrics")
		_, _, logs := get(t, g.URL+"/api/logs?limit=200")
		return strings.Contains(metrics, `provider="`+prov+`",route="GET /v1/responses/{id}",status_class="2xx"}`) &&
			strings.Contains(metrics, `route="DELETE /v1/responses/{id}",status_class="4xx"}`) &&
			strings.Contains(metrics, `route="GET /v1/responses/{id}/input_items",status_class="2xx"}`) &&
			strings.Contains(logs, `"route":"GET /v1/responses/{id}"`) && strings.Contains(logs, `"route":"DELETE /v1/responses/{id}"`)
	})
}

// seed writes records and stored responses into the gateway's database before it starts.
func seed(t *testing.T, path string, recs []affinity.Record, stored ...conversation.Stored) {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	objs, err := affinity.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := objs.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	convs, err := conversation.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stored {
		if err := convs.Save(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResponsesInputTokens counts a Responses request's input tokens on a pass-through target, Anthropic and
// Gemini (translated to their own counting endpoints), and refuses a target that cannot count with a 400 naming
// it. Nothing is charged: the key's token budget is untouched.
func TestResponsesInputTokens(t *testing.T) {
	up, url := startUpstream(t, mockupstream.Options{})
	const key = "wk-count-0123456789abcdef"
	g := startGateway(t, strings.Replace(nativeConfig(url), "routing:", fmt.Sprintf(`governance:
  store: {dsn: ":memory:"}
  virtual_keys:
    - {id: counter, value: %s, rate_limits: {tpm: 1}}
routing:`, key), 1))
	c := client(g, option.WithAPIKey(key))
	ctx := context.Background()
	params := func(model string) responses.InputTokenCountParams {
		return responses.InputTokenCountParams{Model: openaiString(model), Instructions: openaiString("be brief"),
			Input: responses.InputTokenCountParamsInputUnion{OfString: openaiString("how many tokens is this sentence?")}}
	}
	for _, model := range []string{"oai/mock-model", "claude/claude-sonnet-4-5", "gem/gemini-2.5-flash"} {
		// tpm: 1 would refuse any request that reserved tokens: counting reserves none.
		res, err := c.Responses.InputTokens.Count(ctx, params(model))
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if res.InputTokens <= 0 || res.Object != "response.input_tokens" {
			t.Fatalf("%s: %+v", model, res)
		}
	}
	if p := up.Stats().ByPath; p["/v1/responses/input_tokens"] != 1 || p["/v1/messages/count_tokens"] != 1 ||
		p["/v1beta/models/gemini-2.5-flash:countTokens"] != 1 {
		t.Fatalf("upstream paths %v", p)
	}
	// The limit is real: a request that reserves tokens is refused.
	_, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: "claude/claude-sonnet-4-5",
		Input: responses.ResponseNewParamsInputUnion{OfString: openaiString("hi")}})
	if status, _ := apiStatus(t, err); status != 429 {
		t.Fatalf("a create request under tpm 1: %v", err)
	}
	_, err = c.Responses.InputTokens.Count(ctx, params("co/command-r-plus"))
	if status, apiErr := apiStatus(t, err); status != 400 || !strings.Contains(apiErr.Message, "provider co") ||
		!strings.Contains(apiErr.Message, "cannot count input tokens") {
		t.Fatalf("cohere: %v", err)
	}
	// Also without /v1.
	status, _, body := post(t, g.URL+"/responses/input_tokens", `{"model":"claude/claude-sonnet-4-5","input":"hi"}`, "Authorization", "Bearer "+key)
	if status != 200 || !strings.Contains(body, `"input_tokens":`) {
		t.Fatalf("without /v1: %d %s", status, body)
	}
	waitUntil(t, "input_tokens metered", func() bool {
		_, _, metrics := get(t, g.URL+"/metrics")
		return strings.Contains(metrics, `model="claude-sonnet-4-5",provider="claude",route="POST /v1/responses/input_tokens",status_class="2xx"} 1`) &&
			strings.Contains(metrics, `route="POST /v1/responses/input_tokens",status_class="4xx"} 1`)
	})
}

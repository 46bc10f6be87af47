package responses

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	_ "github.com/weir-gateway/weir/internal/provider/anthropic"
	_ "github.com/weir-gateway/weir/internal/provider/cohere"
	_ "github.com/weir-gateway/weir/internal/provider/gemini"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/test/mockupstream"
)

// affinityEngine runs two OpenAI accounts (each its own mock upstream that accepts only its own key) behind the
// round-robin alias "duo", a provider with two keys on one upstream, and Anthropic, Gemini, Cohere and chat-only
// targets, with both stores on one SQLite database.
type affinityEngine struct {
	e          *gateway.Engine
	objs       affinity.Store
	convs      conversation.Store
	a, b, both *mockupstream.Server
}

func newAffinityEngine(t *testing.T) *affinityEngine {
	t.Helper()
	up := func(key string) (*mockupstream.Server, string) {
		m := mockupstream.New(mockupstream.Options{APIKey: key})
		ts := httptest.NewServer(m)
		t.Cleanup(ts.Close)
		t.Cleanup(m.Close)
		return m, ts.URL
	}
	ae := &affinityEngine{}
	var ua, ub, uboth string
	ae.a, ua = up("sk-a")
	ae.b, ub = up("sk-b")
	ae.both, uboth = up("")
	doc := fmt.Sprintf(`
providers:
  - {name: oa, type: openai, base_url: %[1]s/v1, keys: [{value: sk-a}]}
  - {name: ob, type: openai, base_url: %[2]s/v1, keys: [{value: sk-b}]}
  - {name: two, type: openai, base_url: %[3]s/v1, keys: [{value: sk-one}, {value: sk-two}]}
  - {name: chatonly, type: vllm, base_url: %[3]s/v1, endpoints: [chat]}
  - {name: claude, type: anthropic, base_url: %[3]s, keys: [{value: sk-ant}]}
  - {name: gem, type: gemini, base_url: %[3]s/v1beta, keys: [{value: gm}]}
  - {name: co, type: cohere, base_url: %[3]s, keys: [{value: co}]}
models:
  - name: duo
    strategy: round-robin
    targets: [{provider: oa, model: mock-model}, {provider: ob, model: mock-model}]
routing:
  retries: {max: 0}
`, ua, ub, uboth)
	cfg, err := config.Parse([]byte(doc), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	e, err := newEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqldb.OpenSQLite(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	objs, err := affinity.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	convs, err := conversation.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	e.SetObjects(objs)
	e.SetConversations(convs)
	t.Cleanup(func() { e.SetObjects(nil) })
	ae.e, ae.objs, ae.convs = e, objs, convs
	return ae
}

// serve runs one Responses request (op OpResponses or OpInputTokens) and returns the answer, its X-Weir-Provider
// and the outcome.
func (ae *affinityEngine) serve(t *testing.T, op provider.Op, body string) (string, string, gateway.Outcome, error) {
	t.Helper()
	x := ae.e.AcquireExchange()
	defer ae.e.ReleaseExchange(x)
	sink := &bufferSink{h: http.Header{}}
	req := gateway.Request{Op: op, Dialect: dialects.OpenAI, Body: []byte(body), Header: http.Header{}}
	var (
		out gateway.Outcome
		err error
	)
	if op == OpInputTokens {
		out, err = ae.e.Serve(context.Background(), x, &req, sink)
	} else {
		out, err = ae.e.Serve(context.Background(), x, &req, sink)
	}
	return string(sink.body), sink.h.Get("X-Weir-Provider"), out, err
}

func responseID(t *testing.T, answer string) string {
	t.Helper()
	if i := strings.Index(answer, `"response":{`); i >= 0 { // a stream: the first event's response
		return gjson.Get(answer[i+11:], "id").String()
	}
	id := gjson.Get(answer, "id").String()
	if id == "" {
		t.Fatalf("no response id in %s", answer)
	}
	return id
}

func TestPassThroughResponseIsPinned(t *testing.T) {
	ae := newAffinityEngine(t)
	ctx := context.Background()
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			first, prov, _, err := ae.serve(t, provider.OpResponses, fmt.Sprintf(`{"model":"duo","input":"hello","stream":%v}`, stream))
			if err != nil {
				t.Fatal(err)
			}
			id := responseID(t, first)
			rec, err := ae.objs.Get(ctx, affinity.KindResponse, id, "")
			want := map[string]string{"oa": provider.KeyID("sk-a"), "ob": provider.KeyID("sk-b")}
			if err != nil || rec.Provider != prov || rec.KeyID != want[prov] || rec.Model != "mock-model" || rec.Owner != "" {
				t.Fatalf("record of %s (served by %s): %+v, %v", id, prov, rec, err)
			}
			// Round-robin would alternate; every later turn goes back to the account that holds the response.
			for i := 0; i < 6; i++ {
				body := fmt.Sprintf(`{"model":"duo","input":"again","previous_response_id":%q,"stream":%v}`, id, stream)
				answer, got, out, err := ae.serve(t, provider.OpResponses, body)
				if err != nil {
					t.Fatalf("turn %d: %v", i+2, err)
				}
				if got != prov || out.Provider != prov || out.Model != "mock-model" || !strings.Contains(answer, "resp_mock_") {
					t.Fatalf("turn %d went to %s (outcome %s), want %s", i+2, got, out.Provider, prov)
				}
				if out.Usage.IsZero() {
					t.Fatalf("turn %d: no usage read", i+2)
				}
			}
		})
	}
	// store: false keeps nothing to come back to.
	answer, _, _, err := ae.serve(t, provider.OpResponses, `{"model":"duo","input":"x","store":false}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ae.objs.Get(ctx, affinity.KindResponse, responseID(t, answer), ""); !errors.Is(err, affinity.ErrNotFound) {
		t.Fatalf("store false was remembered: %v", err)
	}
}

func TestPassThroughResponseKeepsItsKey(t *testing.T) {
	ae := newAffinityEngine(t)
	ctx := context.Background()
	answer, _, _, err := ae.serve(t, provider.OpResponses, `{"model":"two/mock-model","input":"hello"}`)
	if err != nil {
		t.Fatal(err)
	}
	id := responseID(t, answer)
	rec, err := ae.objs.Get(ctx, affinity.KindResponse, id, "")
	if err != nil {
		t.Fatal(err)
	}
	first := ae.both.LastRequest().Header.Get("Authorization")
	if provider.KeyID(strings.TrimPrefix(first, "Bearer ")) != rec.KeyID {
		t.Fatalf("record key %s, request sent with %q", rec.KeyID, first)
	}
	for i := 0; i < 10; i++ {
		if _, _, _, err := ae.serve(t, provider.OpResponses, `{"model":"two/mock-model","input":"x","previous_response_id":"`+id+`"}`); err != nil {
			t.Fatal(err)
		}
		if got := ae.both.LastRequest().Header.Get("Authorization"); got != first {
			t.Fatalf("turn %d sent with %q, the response was made with %q", i+2, got, first)
		}
	}
}

func TestPreviousResponseAffinityErrors(t *testing.T) {
	ae := newAffinityEngine(t)
	ctx := context.Background()
	put := func(r affinity.Record) {
		t.Helper()
		r.Kind = affinity.KindResponse
		if err := ae.objs.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	put(affinity.Record{ID: "resp_foreign", Owner: "another-key", Provider: "oa", KeyID: provider.KeyID("sk-a")})
	put(affinity.Record{ID: "resp_provider_gone", Provider: "removed", Model: "m"})
	put(affinity.Record{ID: "resp_key_gone", Provider: "oa", KeyID: "000000000000", Model: "mock-model"})
	cases := []struct {
		id     string
		status int
		code   string
		msg    string
	}{
		{"resp_foreign", 404, "previous_response_not_found", `previous_response_id "resp_foreign" not found`},
		{"resp_provider_gone", 409, "provider_gone", `provider "removed", which is no longer configured`},
		{"resp_key_gone", 409, "key_gone", "an API key of provider oa that is no longer configured"},
	}
	for _, c := range cases {
		for _, op := range []provider.Op{provider.OpResponses, OpInputTokens} {
			_, _, _, err := ae.serve(t, op, `{"model":"duo","input":"x","previous_response_id":"`+c.id+`"}`)
			var ge *gateway.Error
			if !errors.As(err, &ge) || ge.Status != c.status || ge.Code != c.code || !strings.Contains(ge.Message, c.msg) ||
				ge.Param != "previous_response_id" {
				t.Errorf("%s %s: %v", op, c.id, err)
			}
		}
	}
	// An id in neither store goes upstream as before (the upstream decides).
	before := ae.a.Stats().Received + ae.b.Stats().Received
	if _, _, _, err := ae.serve(t, provider.OpResponses, `{"model":"duo","input":"x","previous_response_id":"resp_unknown"}`); err != nil {
		t.Fatal(err)
	}
	if after := ae.a.Stats().Received + ae.b.Stats().Received; after != before+1 {
		t.Fatalf("unknown previous id: %d upstream calls", after-before)
	}
}

func TestResponseObjectForwarding(t *testing.T) {
	ae := newAffinityEngine(t)
	ctx := context.Background()
	answer, prov, _, err := ae.serve(t, provider.OpResponses, `{"model":"duo","input":"hello"}`)
	if err != nil {
		t.Fatal(err)
	}
	id := responseID(t, answer)
	rec, err := ae.objs.Get(ctx, affinity.KindResponse, id, "")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, suffix, query string) (string, gateway.Outcome, error) {
		sink := &bufferSink{h: http.Header{}}
		x := ae.e.AcquireExchange()
		defer ae.e.ReleaseExchange(x)
		out, err := Object(ctx, ae.e, x, rec, method, suffix, query, sink)
		if err == nil && sink.h.Get("X-Weir-Provider") != prov {
			t.Fatalf("%s %s answered by %q, want %s", method, suffix, sink.h.Get("X-Weir-Provider"), prov)
		}
		return string(sink.body), out, err
	}
	// The mocks accept only their own key: a call that reached the wrong account would be a 401.
	body, out, err := call(http.MethodGet, "", "")
	if err != nil || gjson.Get(body, "id").Str != id || out.Status != 200 || out.Provider != prov || len(out.Attempts) != 1 {
		t.Fatalf("GET: %v %s %+v", err, body, out)
	}
	body, _, err = call(http.MethodGet, "/input_items", "limit=1&order=asc")
	if err != nil || gjson.Get(body, "data.0.content.0.text").Str != "query: limit=1&order=asc" {
		t.Fatalf("input_items: %v %s", err, body)
	}
	body, _, err = call(http.MethodDelete, "", "")
	if err != nil || !gjson.Get(body, "deleted").Bool() {
		t.Fatalf("DELETE: %v %s", err, body)
	}
	if _, err := ae.objs.Get(ctx, affinity.KindResponse, id, ""); !errors.Is(err, affinity.ErrNotFound) {
		t.Fatalf("record kept after DELETE: %v", err)
	}
	// The upstream's own error comes back as it wrote it.
	gone := affinity.Record{ID: "resp_gone_1", Kind: affinity.KindResponse, Provider: "oa", KeyID: provider.KeyID("sk-a")}
	x := ae.e.AcquireExchange()
	defer ae.e.ReleaseExchange(x)
	_, err = Object(ctx, ae.e, x, gone, http.MethodGet, "", "", &bufferSink{h: http.Header{}})
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Status != 404 || !strings.Contains(string(ge.Raw), "no route") {
		t.Fatalf("upstream 404: %v", err)
	}
	gone.Provider = "removed"
	if _, err = Object(ctx, ae.e, x, gone, http.MethodGet, "", "", &bufferSink{h: http.Header{}}); !errors.As(err, &ge) || ge.Status != 409 {
		t.Fatalf("provider gone: %v", err)
	}
}

func TestInputTokens(t *testing.T) {
	ae := newAffinityEngine(t)
	const body = `{"model":%q,"instructions":"be brief","input":"how many tokens is this?"}`
	for _, model := range []string{"oa/mock-model", "duo", "claude/claude-sonnet-4-5", "gem/gemini-2.5-flash"} {
		answer, _, out, err := ae.serve(t, OpInputTokens, fmt.Sprintf(body, model))
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if gjson.Get(answer, "object").Str != "response.input_tokens" || gjson.Get(answer, "input_tokens").Int() <= 0 || !out.Usage.IsZero() {
			t.Fatalf("%s: %s (usage %+v)", model, answer, out.Usage)
		}
	}
	if !strings.Contains(string(ae.a.LastRequest().Body), `"model":"mock-model"`) || ae.a.LastRequest().Path != "/v1/responses/input_tokens" {
		t.Fatalf("pass-through: %s %s", ae.a.LastRequest().Path, ae.a.LastRequest().Body)
	}
	for _, model := range []string{"co/command-r-plus", "chatonly/llama"} {
		_, _, _, err := ae.serve(t, OpInputTokens, fmt.Sprintf(body, model))
		var ge *gateway.Error
		if !errors.As(err, &ge) || ge.Status != 400 || !strings.Contains(ge.Message, "cannot count input tokens") ||
			!strings.Contains(ge.Message, strings.Split(model, "/")[0]) {
			t.Fatalf("%s: %v", model, err)
		}
	}
	// A translated conversation's earlier turns are counted too.
	first, _, _, err := ae.serve(t, provider.OpResponses, `{"model":"claude/claude-sonnet-4-5","input":"my name is Ada, remember it well"}`)
	if err != nil {
		t.Fatal(err)
	}
	alone, _, _, _ := ae.serve(t, OpInputTokens, `{"model":"claude/claude-sonnet-4-5","input":"and again?"}`)
	chained, _, _, err := ae.serve(t, OpInputTokens, `{"model":"claude/claude-sonnet-4-5","input":"and again?","previous_response_id":"`+responseID(t, first)+`"}`)
	if err != nil || gjson.Get(chained, "input_tokens").Int() <= gjson.Get(alone, "input_tokens").Int() {
		t.Fatalf("with history %s (%v), without %s", chained, err, alone)
	}
}

// TestCutResponsesStreamEndsWithErrorEvent: a passed-through Responses stream the upstream cuts ends with the
// Responses API's error event, numbered after the last event relayed, and is charged for what it relayed.
func TestCutResponsesStreamEndsWithErrorEvent(t *testing.T) {
	events := strings.SplitAfter(cannedResponseStream, "\n\n")
	p := &cannedProvider{ProviderName: "cutresp", Body: cannedResponse, Stream: events[0] + events[1], Header: jsonHeader, Cut: io.ErrUnexpectedEOF}
	e := newTestEngine(t, p, "")
	req := gateway.Request{Op: provider.OpResponses, Dialect: dialects.OpenAI, Header: http.Header{},
		Body: []byte(`{"model":"cutresp/gpt-4o-mini","stream":true,"input":"Say hello in one short sentence, please."}`)}
	sink := &bufferSink{h: http.Header{}}
	x := e.AcquireExchange()
	defer e.ReleaseExchange(x)
	out, err := e.Serve(context.Background(), x, &req, sink)
	if err == nil || !out.Committed {
		t.Fatalf("a cut stream: err %v committed %v", err, out.Committed)
	}
	body := string(sink.body)
	if !strings.HasPrefix(body, events[0]+events[1]) {
		t.Fatalf("relayed %q", body)
	}
	last := strings.TrimPrefix(body, events[0]+events[1])
	data, ok := strings.CutPrefix(last, "event: error\ndata: ")
	if !ok || !strings.HasSuffix(data, "}\n\n") {
		t.Fatalf("the stream ends with %q, want an error event", last)
	}
	ev := gjson.Parse(data)
	if ev.Get("type").Str != "error" || ev.Get("code").Str == "" || ev.Get("message").Str == "" ||
		ev.Get("param").Type != gjson.Null || !ev.Get("sequence_number").Exists() || ev.Get("sequence_number").Int() != 2 {
		t.Fatalf("error event %s", data)
	}
	if out.Usage.PromptTokens == 0 || out.Usage.CompletionTokens != 2 { // "hello": five bytes, about two tokens
		t.Fatalf("a cut stream is charged %+v", out.Usage)
	}
}

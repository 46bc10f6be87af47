package responses

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/sqldb"
)

// chatOnly is a canned OpenAI-dialect upstream without the Responses API, so /v1/responses is translated.
type chatOnly struct{ *cannedProvider }

func (chatOnly) Supports(op provider.Op) bool { return op != provider.OpResponses }

var registerChatOnly sync.Once

func newConversationEngine(t *testing.T) (*gateway.Engine, *cannedProvider, conversation.Store) {
	t.Helper()
	p := &cannedProvider{ProviderName: "chat", Body: cannedChat, Stream: cannedStream, Header: jsonHeader, Record: true}
	registerChatOnly.Do(func() {
		provider.Register("canned-chat", func(cfg provider.Common, _ struct{}) (provider.Provider, error) {
			return chatOnly{cannedProviders[cfg.Name]}, nil
		})
	})
	cannedProviders[p.ProviderName] = p
	cfg, err := config.Parse([]byte("providers:\n  - {name: chat, type: canned-chat, keys: [{value: k}]}\n"), func(string) (string, bool) { return "", false })
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
	st, err := conversation.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	e.SetConversations(st)
	return e, p, st
}

func serveResponses(t *testing.T, e *gateway.Engine, body string) (string, error) {
	t.Helper()
	x := e.AcquireExchange()
	defer e.ReleaseExchange(x)
	sink := &bufferSink{h: http.Header{}}
	req := gateway.Request{Op: provider.OpResponses, Dialect: dialects.OpenAI, Body: []byte(body), Header: http.Header{}}
	_, err := e.Serve(context.Background(), x, &req, sink)
	return string(sink.body), err
}

func TestResponsesConversationStore(t *testing.T) {
	e, p, st := newConversationEngine(t)
	ctx := context.Background()
	first, err := serveResponses(t, e, `{"model":"chat/m","input":"first question"}`)
	if err != nil {
		t.Fatal(err)
	}
	id1 := gjson.Get(first, "id").String()
	stored, err := st.Get(ctx, id1, "")
	if err != nil || stored.Provider != "chat" || len(stored.Input) != 1 || len(stored.Output) != 1 ||
		gjson.GetBytes(stored.Input[0], "id").String() == "" || string(stored.Response) != first {
		t.Fatalf("stored first turn: %+v %v", stored, err)
	}

	// A streamed second turn carries the first turn and is stored from the stream's final response.
	second, err := serveResponses(t, e, `{"model":"chat/m","input":"second question","stream":true,"previous_response_id":"`+id1+`"}`)
	if err != nil {
		t.Fatal(err)
	}
	sent := string(p.Calls()[len(p.Calls())-1].Body)
	for _, want := range []string{"first question", "hello there", "second question"} {
		if !strings.Contains(sent, want) {
			t.Fatalf("second upstream body lacks %q: %s", want, sent)
		}
	}
	id2 := gjson.Get(second[strings.Index(second, `"response":{`)+11:], "id").String()
	chain, err := st.Chain(ctx, id2, "")
	if err != nil || len(chain) != 4 || !strings.Contains(string(chain[3]), "hello") {
		t.Fatalf("chain after a streamed turn: %d items, %v (%s)", len(chain), err, second)
	}

	// store: false keeps nothing; an unknown previous id is a 404 naming it.
	third, err := serveResponses(t, e, `{"model":"chat/m","input":"x","store":false}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, gjson.Get(third, "id").String(), ""); !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("store false was stored: %v", err)
	}
	_, err = serveResponses(t, e, `{"model":"chat/m","input":"x","previous_response_id":"resp_nope"}`)
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Status != http.StatusNotFound || !strings.Contains(ge.Message, `previous_response_id "resp_nope" not found`) {
		t.Fatalf("unknown previous id: %v", err)
	}
}

package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/provider"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/store/sqlite"
	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestBodyFileRefs drives inference requests whose bodies name uploaded files: a governed key may name only its
// own files, and only on the provider that holds them; a refused request never reaches an upstream.
func TestBodyFileRefs(t *testing.T) {
	ctx := context.Background()
	m1 := mockupstream.New(mockupstream.Options{APIKey: "sk-up"})
	m2 := mockupstream.New(mockupstream.Options{APIKey: "sk-other"})
	ts1, ts2 := httptest.NewServer(m1), httptest.NewServer(m2)
	t.Cleanup(ts1.Close)
	t.Cleanup(ts2.Close)
	t.Cleanup(m1.Close)
	t.Cleanup(m2.Close)
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gov, err := governance.New(ctx, st, governance.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer gov.Close(ctx)
	const secretA = "wk-refs-a-0123456789abcdef"
	if _, err := gov.Seed(ctx, &governance.Config{VirtualKeys: []governance.VirtualKeyConfig{
		{ID: "a", Value: secretA}, {ID: "b", Value: "wk-refs-b-0123456789abcdef"}}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf("providers:\n"+
		"  - {name: up, type: openai, base_url: %s/v1, keys: [{value: sk-up}]}\n"+
		"  - {name: other, type: openai, base_url: %s/v1, keys: [{value: sk-other}]}\n"+
		"  - {name: multi, type: openai, base_url: %s/v1, keys: [{value: sk-wrong}, {value: sk-up}]}\n", ts1.URL, ts2.URL, ts1.URL)),
		func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	eng, err := gateway.New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	eng.SetGovernance(gov)
	db, err := sqldb.OpenSQLite(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	objs, err := affinity.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []affinity.Record{
		{ID: "file-a", Owner: "a", Provider: "up", KeyID: provider.KeyID("sk-up")},
		{ID: "file-a2", Owner: "a", Provider: "up", KeyID: provider.KeyID("sk-up")},
		{ID: "file-b", Owner: "b", Provider: "up", KeyID: provider.KeyID("sk-up")},
		{ID: "file-a-other", Owner: "a", Provider: "other", KeyID: provider.KeyID("sk-other")},
		{ID: "file-a-multi", Owner: "a", Provider: "multi", KeyID: provider.KeyID("sk-up")},
	} {
		r.Kind, r.CreatedAt = affinity.KindFile, time.Now()
		if err := objs.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	eng.SetObjects(objs)
	defer eng.SetObjects(nil)
	governed := New(eng, Governance{Service: gov, Enforce: true}, Observability{}, log)
	ungoverned := New(eng, Governance{}, Observability{}, log)

	chat := func(model, part string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":[{"type":"text","text":"hi"},` + part + `]}]}`
	}
	chatFile := func(id string) string { return `{"type":"file","file":{"file_id":"` + id + `"}}` }
	const respPrefix = `{"model":"up/mock-model","input":[`
	cases := []struct {
		name, path, body string
		ungoverned       bool
		status           int
		reaches          *mockupstream.Server // the upstream that answers; nil: none is reached
	}{
		{"chat own file", "/v1/chat/completions", chat("up/mock-model", chatFile("file-a")), false, 200, m1},
		{"chat foreign file", "/v1/chat/completions", chat("up/mock-model", chatFile("file-b")), false, 404, nil},
		{"chat unknown file", "/v1/chat/completions", chat("up/mock-model", chatFile("file-nobody")), false, 404, nil},
		{"chat multiple, one foreign", "/v1/chat/completions",
			chat("up/mock-model", chatFile("file-a")+","+chatFile("file-a2")+","+chatFile("file-b")), false, 404, nil},
		{"chat foreign in a later message", "/v1/chat/completions",
			`{"model":"up/mock-model","messages":[{"role":"user","content":"hi"},{"role":"user","content":[` + chatFile("file-b") + `]}]}`, false, 404, nil},
		{"chat duplicate key smuggles a foreign file", "/v1/chat/completions",
			chat("up/mock-model", `{"type":"file","file":{"file_id":"file-a","file_id":"file-b"}}`), false, 404, nil},
		{"chat escaped key", "/v1/chat/completions", chat("up/mock-model", `{"type":"file","file":{"file\u005fid":"file-b"}}`), false, 404, nil},
		{"chat own file on another provider is refused", "/v1/chat/completions", chat("up/mock-model", chatFile("file-a-other")), false, 400, nil},
		{"chat own file on its provider", "/v1/chat/completions", chat("other/mock-model", chatFile("file-a-other")), false, 200, m2},
		{"native chat foreign file", "/openai/chat/completions", chat("up/mock-model", chatFile("file-b")), false, 404, nil},
		{"native chat own file on another provider is refused", "/openai/chat/completions", chat("up/mock-model", chatFile("file-a-other")), false, 400, nil},
		{"native chat own file", "/openai/chat/completions", chat("other/mock-model", chatFile("file-a-other")), false, 200, m2},
		{"chat no principal passes", "/v1/chat/completions", chat("up/mock-model", chatFile("file-b")), true, 200, m1},
		{"responses own input_file", "/v1/responses",
			respPrefix + `{"role":"user","content":[{"type":"input_file","file_id":"file-a"}]}]}`, false, 200, m1},
		{"responses foreign input_file part", "/v1/responses",
			respPrefix + `{"role":"user","content":[{"type":"input_text","text":"x"},{"type":"input_file","file_id":"file-b"}]}]}`, false, 404, nil},
		{"responses foreign input_file item", "/v1/responses", respPrefix + `{"type":"input_file","file_id":"file-b"}]}`, false, 404, nil},
		{"responses unknown input_image", "/v1/responses",
			respPrefix + `{"role":"user","content":[{"type":"input_image","file_id":"file-nobody"}]}]}`, false, 404, nil},
		{"responses foreign file in a tool output", "/v1/responses",
			respPrefix + `{"type":"function_call_output","call_id":"c","output":[{"type":"input_file","file_id":"file-b"}]}]}`, false, 404, nil},
		{"responses foreign code interpreter file", "/v1/responses",
			`{"model":"up/mock-model","input":"x","tools":[{"type":"code_interpreter","container":{"type":"auto","file_ids":["file-a","file-b"]}}]}`, false, 404, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before1, before2 := m1.Stats().Received, m2.Stats().Received
			r := httptest.NewRequest(http.MethodPost, c.path, strings.NewReader(c.body))
			s := governed
			if c.ungoverned {
				s = ungoverned
			} else {
				r.Header.Set("Authorization", "Bearer "+secretA)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			b, _ := io.ReadAll(w.Result().Body)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, b)
			}
			if c.status == 404 && !strings.Contains(string(b), "was created with this key") {
				t.Fatalf("404 body: %s", b)
			}
			got1, got2 := m1.Stats().Received-before1, m2.Stats().Received-before2
			switch c.reaches {
			case nil:
				if got1+got2 != 0 {
					t.Fatalf("a refused request reached an upstream (%d, %d)", got1, got2)
				}
			case m1:
				if got1 != 1 || got2 != 0 {
					t.Fatalf("upstream requests (%d, %d), want (1, 0)", got1, got2)
				}
			case m2:
				if got1 != 0 || got2 != 1 {
					t.Fatalf("upstream requests (%d, %d), want (0, 1)", got1, got2)
				}
			}
		})
	}

	// The file exists only in the account of the key that uploaded it: every request naming it uses that key
	// (the mock answers only sk-up), never another key of the provider.
	for i := range 8 {
		r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(chat("multi/mock-model", chatFile("file-a-multi"))))
		r.Header.Set("Authorization", "Bearer "+secretA)
		w := httptest.NewRecorder()
		governed.ServeHTTP(w, r)
		if w.Code != 200 {
			b, _ := io.ReadAll(w.Result().Body)
			t.Fatalf("request %d with the file's key: %d %s", i, w.Code, b)
		}
	}
}

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

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/config"
	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/governance"
	_ "github.com/weir-gateway/weir/internal/provider/openai"
	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/store/sqlite"
	"github.com/weir-gateway/weir/internal/telemetry"
	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestPassedThroughResponseRoutes drives the HTTP routes of a response Weir passed through: GET, input_items and
// DELETE reach the upstream for the owning key only, and are metered like inference; input_tokens is served
// with and without /v1.
func TestPassedThroughResponseRoutes(t *testing.T) {
	ctx := context.Background()
	m := mockupstream.New(mockupstream.Options{APIKey: "sk-up"})
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)
	t.Cleanup(m.Close)
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
	const secretA, secretB = "wk-resp-a-0123456789abcdef", "wk-resp-b-0123456789abcdef"
	if _, err := gov.Seed(ctx, &governance.Config{VirtualKeys: []governance.VirtualKeyConfig{
		{ID: "a", Value: secretA}, {ID: "b", Value: secretB}}}); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf("providers:\n  - {name: up, type: openai, base_url: %s/v1, keys: [{value: sk-up}]}\n", ts.URL)),
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
	eng.SetObjects(objs)
	defer eng.SetObjects(nil)
	metrics := telemetry.NewMetrics(telemetry.MetricsOptions{})
	s := New(eng, Governance{Service: gov, Enforce: true}, Observability{Metrics: metrics}, log)

	send := func(method, path, secret, body string) (int, string) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+secret)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		b, _ := io.ReadAll(w.Result().Body)
		return w.Code, string(b)
	}
	code, body := send(http.MethodPost, "/v1/responses", secretA, `{"model":"up/mock-model","input":"hello"}`)
	id := gjson.Get(body, "id").Str
	if code != 200 || id == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	if rec, err := objs.Get(ctx, affinity.KindResponse, id, "a"); err != nil || rec.Provider != "up" {
		t.Fatalf("record: %+v %v", rec, err)
	}
	before := m.Stats().Received
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1/responses/" + id}, {http.MethodGet, "/v1/responses/" + id + "/input_items"},
		{http.MethodDelete, "/v1/responses/" + id},
	} {
		if code, body := send(c.method, c.path, secretB, ""); code != 404 || !strings.Contains(body, "not found") {
			t.Fatalf("%s %s with another key: %d %s", c.method, c.path, code, body)
		}
	}
	if m.Stats().Received != before {
		t.Fatal("another key's request reached the upstream")
	}
	if code, body := send(http.MethodGet, "/v1/responses/"+id, secretA, ""); code != 200 || gjson.Get(body, "id").Str != id {
		t.Fatalf("GET: %d %s", code, body)
	}
	if code, body := send(http.MethodGet, "/responses/"+id+"/input_items?limit=3", secretA, ""); code != 200 ||
		!strings.Contains(body, "query: limit=3") {
		t.Fatalf("input_items: %d %s", code, body)
	}
	if code, body := send(http.MethodDelete, "/v1/responses/"+id, secretA, ""); code != 200 || !gjson.Get(body, "deleted").Bool() {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if code, _ := send(http.MethodGet, "/v1/responses/"+id, secretA, ""); code != 404 {
		t.Fatalf("GET after DELETE: %d", code)
	}
	for _, path := range []string{"/v1/responses/input_tokens", "/responses/input_tokens"} {
		if code, body := send(http.MethodPost, path, secretA, `{"model":"up/mock-model","input":"count me"}`); code != 200 ||
			gjson.Get(body, "input_tokens").Int() <= 0 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
	}
	w := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`model="mock-model",provider="up",route="GET /v1/responses/{id}",status_class="2xx"} 1`,
		`route="GET /v1/responses/{id}",status_class="4xx"} 2`,
		`provider="up",route="DELETE /v1/responses/{id}",status_class="2xx"} 1`,
		`provider="up",route="GET /responses/{id}/input_items",status_class="2xx"} 1`,
		`provider="up",route="POST /v1/responses/input_tokens",status_class="2xx"} 1`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(w.Body.String())
	}
}

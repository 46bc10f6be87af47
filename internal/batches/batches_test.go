package batches

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/weir-gateway/weir/internal/affinity"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/sqldb"
)

// fakeSender answers raw calls from a map of paths to bodies (404 for any other path) and counts them.
type fakeSender struct {
	mu      sync.Mutex
	answers map[string]string
	calls   map[string]int
}

func (f *fakeSender) SendRaw(_ context.Context, c *provider.RawCall) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[c.Path]++
	body, ok := f.answers[c.Path]
	status := http.StatusOK
	if !ok {
		status, body = http.StatusNotFound, "{}"
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Body: io.NopCloser(strings.NewReader(body))}, nil
}

func newStore(t *testing.T) *affinity.SQLStore {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(t.TempDir(), "weir.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := affinity.NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFinished(t *testing.T) {
	for _, tc := range []struct {
		kind   affinity.Kind
		object string
		want   bool
	}{
		{affinity.KindBatch, `{"status":"in_progress"}`, false},
		{affinity.KindBatch, `{"status":"completed"}`, true},
		{affinity.KindBatch, `{"status":"cancelled"}`, true},
		{affinity.KindMessageBatch, `{"processing_status":"in_progress"}`, false},
		{affinity.KindMessageBatch, `{"processing_status":"ended"}`, true},
	} {
		if got := Finished(tc.kind, []byte(tc.object)); got != tc.want {
			t.Errorf("%s %s: %v", tc.kind, tc.object, got)
		}
	}
}

// TestPollSettlesOnce: a round of polling fetches a finished batch, remembers its files as the owner's, reads its
// results once and marks it settled; a second round finds nothing left to settle.
func TestPollSettlesOnce(t *testing.T) {
	ctx := context.Background()
	objs := newStore(t)
	if err := objs.Put(ctx, affinity.Record{ID: "batch_1", Kind: affinity.KindBatch, Owner: "vk1", Provider: "oa"}); err != nil {
		t.Fatal(err)
	}
	up := &fakeSender{calls: map[string]int{}, answers: map[string]string{
		"/batches/batch_1": `{"id":"batch_1","status":"completed","output_file_id":"file-out"}`,
		"/files/file-out/content": `{"response":{"body":{"model":"gpt-4o","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}}}` + "\n" +
			`{"response":{"body":{"model":"gpt-4o","usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}}}}` + "\n",
	}}
	var whats []string
	account := func(rec affinity.Record, what string) (provider.RawSender, *provider.Key, error) {
		whats = append(whats, what)
		return up, nil, nil
	}
	s := NewSettler(objs, nil, account, slog.New(slog.DiscardHandler))
	s.poll(ctx, affinity.KindBatch)
	s.poll(ctx, affinity.KindBatch)
	if up.calls["/batches/batch_1"] != 1 || up.calls["/files/file-out/content"] != 1 {
		t.Fatalf("calls %v", up.calls)
	}
	if len(whats) == 0 || whats[0] != "batch batch_1" {
		t.Fatalf("account asked about %q", whats)
	}
	if rec, err := objs.Get(ctx, affinity.KindBatch, "batch_1", "vk1"); err != nil || !rec.Settled {
		t.Fatalf("batch %+v %v", rec, err)
	}
	if rec, err := objs.Get(ctx, affinity.KindFile, "file-out", "vk1"); err != nil || rec.Provider != "oa" {
		t.Fatalf("output file %+v %v", rec, err)
	}
}

func TestMessageBatchUsage(t *testing.T) {
	up := &fakeSender{calls: map[string]int{}, answers: map[string]string{
		"/v1/messages/batches/msgbatch_1/results": `{"result":{"type":"succeeded","message":{"model":"claude","usage":{"input_tokens":10,"output_tokens":5}}}}` + "\n" +
			`{"result":{"type":"errored"}}` + "\n" +
			`{"result":{"type":"succeeded","message":{"model":"claude","usage":{"input_tokens":1,"output_tokens":2}}}}` + "\n",
	}}
	rec := affinity.Record{ID: "msgbatch_1", Kind: affinity.KindMessageBatch}
	usage, err := batchUsage(context.Background(), up, nil, rec, []byte(`{"processing_status":"ended"}`))
	if err != nil {
		t.Fatal(err)
	}
	if u := usage["claude"]; len(usage) != 1 || u.PromptTokens != 11 || u.CompletionTokens != 7 {
		t.Fatalf("usage %+v", usage)
	}
}

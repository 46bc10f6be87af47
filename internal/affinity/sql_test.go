package affinity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/sqldb/sqldbtest"
)

// backend is one database the tests run against: open returns a fresh store on it (several stores on one
// database stand for several gateways sharing it).
type backend struct {
	name string
	open func(t *testing.T) *SQLStore
}

// backends lists SQLite (a temporary file, so that several connections share it) always and PostgreSQL when
// WEIR_TEST_POSTGRES_DSN is set.
func backends(t *testing.T) []backend {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")
	out := []backend{{name: "sqlite", open: func(t *testing.T) *SQLStore {
		db, err := sqldb.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return mustStore(t, db)
	}}}
	if os.Getenv(sqldbtest.EnvPostgres) == "" {
		t.Log("WEIR_TEST_POSTGRES_DSN is not set: PostgreSQL is not tested (CI sets it; locally: eval \"$(bash .ci/postgres.sh)\")")
		return out
	}
	dsn := sqldbtest.Schema(t)
	return append(out, backend{name: "postgres", open: func(t *testing.T) *SQLStore {
		db, err := sqldb.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return mustStore(t, db)
	}})
}

func mustStore(t *testing.T, db *sqldb.DB) *SQLStore {
	t.Helper()
	ctx := context.Background()
	s, err := NewSQLStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSQLStore(ctx, db); err != nil { // idempotent
		t.Fatal(err)
	}
	return s
}

func ids(recs []Record) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.ID)
	}
	return strings.Join(s, ",")
}

func TestSQLStore(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			t0 := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
			put := func(r Record) {
				t.Helper()
				if err := s.Put(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			put(Record{ID: "resp_1", Kind: KindResponse, Owner: "a", Provider: "oai", KeyID: "0123456789ab", Model: "gpt-4o",
				CreatedAt: t0, Object: json.RawMessage(`{"id":"resp_1"}`)})
			put(Record{ID: "resp_2", Kind: KindResponse, Owner: "b", Provider: "oai2", CreatedAt: t0})
			put(Record{ID: "resp_3", Kind: KindResponse, Owner: "", Provider: "oai", CreatedAt: t0})
			// the same id in another kind is another record
			put(Record{ID: "resp_1", Kind: KindFile, Owner: "b", Provider: "files", CreatedAt: t0})

			r, err := s.Get(ctx, KindResponse, "resp_1", "a")
			if err != nil {
				t.Fatal(err)
			}
			if r.Provider != "oai" || r.KeyID != "0123456789ab" || r.Model != "gpt-4o" || r.Owner != "a" || r.Kind != KindResponse ||
				!r.CreatedAt.Equal(t0) || string(r.Object) != `{"id":"resp_1"}` || r.Settled {
				t.Fatalf("Get = %+v", r)
			}
			if r, err := s.Get(ctx, KindResponse, "resp_3", ""); err != nil || r.Object != nil {
				t.Fatalf("Get without object = %+v, %v", r, err)
			}
			// Isolation: another owner (or none) sees nothing, in Get and Delete alike.
			for _, c := range []struct {
				kind      Kind
				id, owner string
			}{
				{KindResponse, "resp_1", "b"}, {KindResponse, "resp_1", ""}, {KindResponse, "resp_2", "a"},
				{KindResponse, "resp_3", "a"}, {KindFile, "resp_1", "a"}, {KindBatch, "resp_1", "a"}, {KindResponse, "nope", "a"},
			} {
				if _, err := s.Get(ctx, c.kind, c.id, c.owner); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get(%s, %s, %q) = %v, want ErrNotFound", c.kind, c.id, c.owner, err)
				}
				if err := s.Delete(ctx, c.kind, c.id, c.owner); !errors.Is(err, ErrNotFound) {
					t.Errorf("Delete(%s, %s, %q) = %v, want ErrNotFound", c.kind, c.id, c.owner, err)
				}
			}
			if r, err := s.Locate(ctx, KindResponse, "resp_2"); err != nil || r.Owner != "b" {
				t.Errorf("Locate = %+v, %v", r, err)
			}
			if _, err := s.Locate(ctx, KindBatch, "resp_2"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Locate of another kind = %v", err)
			}

			// Put replaces; a zero CreatedAt keeps the original time.
			put(Record{ID: "resp_1", Kind: KindResponse, Owner: "a", Provider: "oai", KeyID: "k2", Object: json.RawMessage(`{"v":2}`)})
			if r, err := s.Get(ctx, KindResponse, "resp_1", "a"); err != nil || r.KeyID != "k2" || string(r.Object) != `{"v":2}` ||
				!r.CreatedAt.Equal(t0) {
				t.Errorf("replaced = %+v, %v", r, err)
			}

			if err := s.Delete(ctx, KindResponse, "resp_1", "a"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, KindResponse, "resp_1", "a"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after Delete = %v", err)
			}
			if _, err := s.Get(ctx, KindFile, "resp_1", "b"); err != nil {
				t.Errorf("Delete removed another kind's record: %v", err)
			}
			if err := s.Put(ctx, Record{Kind: KindFile}); err == nil {
				t.Error("Put without an id succeeded")
			}
		})
	}
}

func TestSQLStoreList(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			base := time.Now().Add(-time.Hour)
			// f0 … f6 for owner a, one second apart (f6 newest); f3 and f4 share a time (tie broken by id).
			for i := 0; i < 7; i++ {
				at := base.Add(time.Duration(i) * time.Second)
				if i == 4 {
					at = base.Add(3 * time.Second)
				}
				if err := s.Put(ctx, Record{ID: fmt.Sprintf("f%d", i), Kind: KindFile, Owner: "a", CreatedAt: at}); err != nil {
					t.Fatal(err)
				}
			}
			_ = s.Put(ctx, Record{ID: "fb", Kind: KindFile, Owner: "b", CreatedAt: base.Add(time.Minute)})
			_ = s.Put(ctx, Record{ID: "ba", Kind: KindBatch, Owner: "a", CreatedAt: base.Add(time.Minute)})

			cases := []struct {
				owner, after string
				limit        int
				want         string
				more         bool
			}{
				{"a", "", 0, "f6,f5,f4,f3,f2,f1,f0", false},
				{"a", "", 3, "f6,f5,f4", true},
				{"a", "f4", 3, "f3,f2,f1", true},
				{"a", "f1", 3, "f0", false},
				{"a", "f0", 3, "", false},
				{"a", "", 7, "f6,f5,f4,f3,f2,f1,f0", false},
				{"b", "", 10, "fb", false},
				{"c", "", 10, "", false},
			}
			for _, c := range cases {
				recs, more, err := s.List(ctx, KindFile, c.owner, c.after, c.limit)
				if err != nil || ids(recs) != c.want || more != c.more {
					t.Errorf("List(%q, after %q, %d) = %q %v %v; want %q %v", c.owner, c.after, c.limit, ids(recs), more, err, c.want, c.more)
				}
			}
			// Paging through everything one at a time visits each record once.
			var seen []string
			after := ""
			for {
				recs, more, err := s.List(ctx, KindFile, "a", after, 2)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range recs {
					seen = append(seen, r.ID)
				}
				if !more {
					break
				}
				after = recs[len(recs)-1].ID
			}
			if strings.Join(seen, ",") != "f6,f5,f4,f3,f2,f1,f0" {
				t.Errorf("paged = %v", seen)
			}
			// after must name one of the owner's records.
			if _, _, err := s.List(ctx, KindFile, "a", "fb", 3); !errors.Is(err, ErrNotFound) {
				t.Errorf("List after another owner's id = %v", err)
			}
		})
	}
}

func TestSQLStoreSettleAndExpire(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t)
			ctx := context.Background()
			now := time.Now()
			for i, age := range []time.Duration{50 * time.Hour, 3 * time.Hour, 2 * time.Hour, time.Hour} {
				if err := s.Put(ctx, Record{ID: fmt.Sprintf("batch_%d", i), Kind: KindBatch, Owner: "a", CreatedAt: now.Add(-age)}); err != nil {
					t.Fatal(err)
				}
			}
			_ = s.Put(ctx, Record{ID: "msgbatch_1", Kind: KindMessageBatch, CreatedAt: now.Add(-time.Hour)})

			recs, err := s.Unsettled(ctx, KindBatch, 0)
			if err != nil || ids(recs) != "batch_0,batch_1,batch_2,batch_3" {
				t.Fatalf("Unsettled = %q, %v", ids(recs), err)
			}
			if ok, err := s.MarkSettled(ctx, KindBatch, "batch_1"); err != nil || !ok {
				t.Fatalf("MarkSettled = %v, %v", ok, err)
			}
			if ok, err := s.MarkSettled(ctx, KindBatch, "batch_1"); err != nil || ok {
				t.Fatalf("second MarkSettled = %v, %v", ok, err)
			}
			if ok, err := s.MarkSettled(ctx, KindBatch, "missing"); err != nil || ok {
				t.Fatalf("MarkSettled of a missing record = %v, %v", ok, err)
			}
			if ok, _ := s.MarkSettled(ctx, KindMessageBatch, "batch_2"); ok {
				t.Fatal("MarkSettled crossed kinds")
			}
			if r, _ := s.Get(ctx, KindBatch, "batch_1", "a"); !r.Settled {
				t.Fatalf("settled record = %+v", r)
			}
			// Replacing a settled record's object does not unsettle it.
			if err := s.Put(ctx, Record{ID: "batch_1", Kind: KindBatch, Owner: "a", Object: json.RawMessage(`{"status":"completed"}`)}); err != nil {
				t.Fatal(err)
			}
			if r, _ := s.Get(ctx, KindBatch, "batch_1", "a"); !r.Settled || string(r.Object) != `{"status":"completed"}` {
				t.Fatalf("replaced settled record = %+v", r)
			}
			if ok, _ := s.MarkSettled(ctx, KindBatch, "batch_1"); ok {
				t.Fatal("a replaced settled record was settled again")
			}
			recs, err = s.Unsettled(ctx, KindBatch, 2)
			if err != nil || ids(recs) != "batch_0,batch_2" {
				t.Fatalf("Unsettled after settling = %q, %v", ids(recs), err)
			}

			n, err := s.DeleteBefore(ctx, now.Add(-24*time.Hour))
			if err != nil || n != 1 {
				t.Fatalf("DeleteBefore = %d, %v", n, err)
			}
			if _, err := s.Get(ctx, KindBatch, "batch_0", "a"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("expired record still there: %v", err)
			}
			if _, err := s.Get(ctx, KindBatch, "batch_3", "a"); err != nil {
				t.Fatalf("recent record expired: %v", err)
			}
		})
	}
}

// TestMarkSettledOnce: of many concurrent MarkSettled calls, from several stores on one database (several
// gateways), exactly one flips the record.
func TestMarkSettledOnce(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			stores := []*SQLStore{b.open(t), b.open(t), b.open(t)}
			ctx := context.Background()
			for round := 0; round < 5; round++ {
				id := fmt.Sprintf("batch_race_%d", round)
				if err := stores[0].Put(ctx, Record{ID: id, Kind: KindBatch, Owner: "a"}); err != nil {
					t.Fatal(err)
				}
				var wins, errs atomic.Int32
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := 0; i < 20; i++ {
					wg.Add(1)
					go func(s *SQLStore) {
						defer wg.Done()
						<-start
						ok, err := s.MarkSettled(ctx, KindBatch, id)
						if err != nil {
							errs.Add(1)
							t.Error(err)
						}
						if ok {
							wins.Add(1)
						}
					}(stores[i%len(stores)])
				}
				close(start)
				wg.Wait()
				if wins.Load() != 1 || errs.Load() != 0 {
					t.Fatalf("round %d: %d calls flipped the record (want exactly 1), %d errors", round, wins.Load(), errs.Load())
				}
			}
		})
	}
}

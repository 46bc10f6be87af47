package conversation

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weir-gateway/weir/internal/sqldb"
)

// backends opens every database the tests can reach: SQLite in memory always, PostgreSQL when
// WEIR_TEST_POSTGRES_DSN is set.
func backends(t *testing.T) map[string]*SQLStore {
	t.Helper()
	ctx := context.Background()
	out := map[string]*SQLStore{}
	open := func(name string, db *sqldb.DB) {
		t.Cleanup(func() { db.Close() })
		s, err := NewSQLStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewSQLStore(ctx, db); err != nil { // idempotent
			t.Fatal(err)
		}
		out[name] = s
	}
	db, err := sqldb.OpenSQLite(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	open("sqlite", db)
	if dsn := os.Getenv("WEIR_TEST_POSTGRES_DSN"); dsn != "" {
		db, err := sqldb.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"stored_responses", "stored_response_items"} {
			if _, err := db.ExecContext(ctx, `DROP TABLE IF EXISTS `+table); err != nil {
				t.Fatal(err)
			}
		}
		open("postgres", db)
	}
	return out
}

func item(id, text string) json.RawMessage {
	return json.RawMessage(`{"id":"` + id + `","type":"message","role":"user","content":[{"type":"input_text","text":"` + text + `"}]}`)
}

func ids(items []json.RawMessage) string {
	var s []string
	for _, it := range items {
		s = append(s, ItemID(it))
	}
	return strings.Join(s, ",")
}

func TestSQLStore(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			old := time.Now().Add(-40 * 24 * time.Hour)
			for _, st := range []Stored{
				{ID: "r1", KeyID: "a", Provider: "p", Model: "m", Input: []json.RawMessage{item("i1", "one")},
					Output: []json.RawMessage{item("o1", "ONE")}, Response: json.RawMessage(`{"id":"r1"}`)},
				{ID: "r2", KeyID: "a", PreviousID: "r1", Input: []json.RawMessage{item("i2", "two")},
					Output: []json.RawMessage{item("o2", "TWO")}, Response: json.RawMessage(`{"id":"r2"}`)},
				{ID: "r3", KeyID: "a", PreviousID: "r2", Input: []json.RawMessage{item("i3a", "x"), item("i3b", "y"), item("i3c", "z")},
					Output: []json.RawMessage{item("o3", "THREE")}, Response: json.RawMessage(`{"id":"r3"}`)},
				{ID: "rb", KeyID: "b", Input: []json.RawMessage{item("ib", "b")}, Response: json.RawMessage(`{"id":"rb"}`)},
				{ID: "rold", KeyID: "", CreatedAt: old, Input: []json.RawMessage{item("io", "old")}},
			} {
				if err := s.Save(ctx, st); err != nil {
					t.Fatal(err)
				}
			}

			getCases := []struct {
				id, key string
				want    string // response JSON, "" = not found
			}{
				{"r1", "a", `{"id":"r1"}`},
				{"r1", "b", ""},
				{"r1", "", ""},
				{"rb", "b", `{"id":"rb"}`},
				{"nope", "a", ""},
			}
			for _, c := range getCases {
				st, err := s.Get(ctx, c.id, c.key)
				if c.want == "" {
					if !errors.Is(err, ErrNotFound) {
						t.Errorf("Get(%s, %s) = %v, want ErrNotFound", c.id, c.key, err)
					}
					continue
				}
				if err != nil || string(st.Response) != c.want {
					t.Errorf("Get(%s, %s) = %s, %v", c.id, c.key, st.Response, err)
				}
			}
			if st, _ := s.Get(ctx, "r1", "a"); st.Provider != "p" || st.Model != "m" || st.CreatedAt.IsZero() || len(st.Input) != 1 {
				t.Errorf("Get(r1) fields: %+v", st)
			}

			chainCases := []struct {
				id, key, want string
				err           error
			}{
				{"r1", "a", "i1,o1", nil},
				{"r3", "a", "i1,o1,i2,o2,i3a,i3b,i3c,o3", nil},
				{"r3", "b", "", ErrNotFound},
				{"missing", "a", "", ErrNotFound},
			}
			for _, c := range chainCases {
				items, err := s.Chain(ctx, c.id, c.key)
				if !errors.Is(err, c.err) || ids(items) != c.want {
					t.Errorf("Chain(%s, %s) = %q, %v; want %q, %v", c.id, c.key, ids(items), err, c.want, c.err)
				}
			}

			pageCases := []struct {
				after   string
				limit   int
				order   Order
				want    string
				hasMore bool
				err     error
			}{
				{"", 20, Desc, "i3c,i3b,i3a", false, nil},
				{"", 20, Asc, "i3a,i3b,i3c", false, nil},
				{"", 2, Asc, "i3a,i3b", true, nil},
				{"i3b", 2, Asc, "i3c", false, nil},
				{"i3c", 1, Desc, "i3b", true, nil},
				{"zzz", 1, Desc, "", false, ErrItemNotFound},
			}
			for _, c := range pageCases {
				items, more, err := s.InputItems(ctx, "r3", "a", c.after, c.limit, c.order)
				if !errors.Is(err, c.err) || ids(items) != c.want || more != c.hasMore {
					t.Errorf("InputItems(after=%s limit=%d order=%d) = %q %v %v", c.after, c.limit, c.order, ids(items), more, err)
				}
			}
			if _, _, err := s.InputItems(ctx, "r3", "b", "", 20, Desc); !errors.Is(err, ErrNotFound) {
				t.Errorf("InputItems for another key: %v", err)
			}

			// Delete: another key cannot; the owner can; a chain through a deleted turn starts after it.
			if err := s.Delete(ctx, "r1", "b"); !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete by another key: %v", err)
			}
			if err := s.Delete(ctx, "r1", "a"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "r1", "a"); !errors.Is(err, ErrNotFound) {
				t.Errorf("second Delete: %v", err)
			}
			if items, err := s.Chain(ctx, "r3", "a"); err != nil || ids(items) != "i2,o2,i3a,i3b,i3c,o3" {
				t.Errorf("Chain after delete = %q, %v", ids(items), err)
			}

			// Save replaces.
			if err := s.Save(ctx, Stored{ID: "rb", KeyID: "b", Response: json.RawMessage(`{"id":"rb","v":2}`)}); err != nil {
				t.Fatal(err)
			}
			if st, err := s.Get(ctx, "rb", "b"); err != nil || string(st.Response) != `{"id":"rb","v":2}` || len(st.Input) != 0 {
				t.Errorf("replaced: %+v %v", st, err)
			}

			// Retention.
			n, err := s.DeleteBefore(ctx, time.Now().Add(-30*24*time.Hour))
			if err != nil || n != 1 {
				t.Errorf("DeleteBefore = %d, %v", n, err)
			}
			if _, err := s.Get(ctx, "rold", ""); !errors.Is(err, ErrNotFound) {
				t.Errorf("expired response still there: %v", err)
			}
			if _, err := s.Get(ctx, "r2", "a"); err != nil {
				t.Errorf("recent response expired: %v", err)
			}
		})
	}
}

// TestSQLStoreItems looks items up by id for item_reference: only among the responses of the same key, newest
// response first (its output before its input), and no more once the response is deleted, replaced or expired.
func TestSQLStoreItems(t *testing.T) {
	for name, s := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Now()
			many := make([]json.RawMessage, 450) // more than one INSERT's worth of rows
			for i := range many {
				many[i] = item("m"+strconv.Itoa(i), "many")
			}
			for _, st := range []Stored{
				{ID: "r1", KeyID: "a", CreatedAt: now.Add(-2 * time.Minute), Input: []json.RawMessage{item("in1", "question")},
					Output: []json.RawMessage{item("fc1", "call"), item("msg1", "answer")}},
				// r2 holds fc1 again in its input (sent back as the item itself) and in its output, changed.
				{ID: "r2", KeyID: "a", CreatedAt: now.Add(-time.Minute), Input: []json.RawMessage{item("fc1", "call again"), item("in2", "x")},
					Output: []json.RawMessage{item("out2", "two")}},
				{ID: "rb", KeyID: "b", CreatedAt: now, Input: []json.RawMessage{item("inb", "b's")}, Output: []json.RawMessage{item("outb", "B")}},
				{ID: "ranon", CreatedAt: now, Output: []json.RawMessage{item("outanon", "anon")}},
				{ID: "rmany", KeyID: "a", CreatedAt: now, Input: many},
				{ID: "rold", KeyID: "a", CreatedAt: now.Add(-40 * 24 * time.Hour), Output: []json.RawMessage{item("outold", "old")}},
			} {
				if err := s.Save(ctx, st); err != nil {
					t.Fatal(err)
				}
			}
			text := func(raw json.RawMessage) string {
				var v struct {
					Content []struct{ Text string } `json:"content"`
				}
				_ = json.Unmarshal(raw, &v)
				if len(v.Content) == 0 {
					return ""
				}
				return v.Content[0].Text
			}
			cases := []struct {
				key  string
				ids  []string
				want map[string]string // id → text
			}{
				{"a", []string{"in1", "msg1", "out2"}, map[string]string{"in1": "question", "msg1": "answer", "out2": "two"}},
				{"a", []string{"fc1"}, map[string]string{"fc1": "call again"}}, // the newest response's copy
				{"a", []string{"inb", "outb", "outanon", "nope"}, map[string]string{}},
				{"b", []string{"inb", "outb", "in1"}, map[string]string{"inb": "b's", "outb": "B"}},
				{"", []string{"outanon", "in1"}, map[string]string{"outanon": "anon"}},
				{"a", []string{"m0", "m449", "m200"}, map[string]string{"m0": "many", "m449": "many", "m200": "many"}},
				{"a", nil, map[string]string{}},
			}
			for _, c := range cases {
				got, err := s.Items(ctx, c.key, c.ids)
				if err != nil {
					t.Fatalf("Items(%s, %v): %v", c.key, c.ids, err)
				}
				texts := map[string]string{}
				for id, raw := range got {
					if ItemID(raw) != id {
						t.Errorf("Items(%s) returned %s for id %s", c.key, raw, id)
					}
					texts[id] = text(raw)
				}
				if !reflect.DeepEqual(texts, c.want) {
					t.Errorf("Items(%s, %v) = %v, want %v", c.key, c.ids, texts, c.want)
				}
			}
			// A list of ids longer than one query takes.
			ids := make([]string, len(many))
			for i := range many {
				ids[i] = ItemID(many[i])
			}
			if got, err := s.Items(ctx, "a", ids); err != nil || len(got) != len(many) {
				t.Errorf("Items(450 ids) = %d items, %v", len(got), err)
			}

			// Deleting r2 leaves r1's fc1; replacing r1 without items leaves none.
			if err := s.Delete(ctx, "r2", "a"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Items(ctx, "a", []string{"fc1", "out2"}); len(got) != 1 || text(got["fc1"]) != "call" {
				t.Errorf("after Delete: %v", got)
			}
			if err := s.Save(ctx, Stored{ID: "r1", KeyID: "a", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Items(ctx, "a", []string{"fc1", "in1"}); len(got) != 0 {
				t.Errorf("after replacing r1: %v", got)
			}
			if got, _ := s.Items(ctx, "a", []string{"outold"}); len(got) != 1 {
				t.Errorf("before expiry: %v", got)
			}
			if _, err := s.DeleteBefore(ctx, now.Add(-30*24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Items(ctx, "a", []string{"outold"}); len(got) != 0 {
				t.Errorf("after expiry: %v", got)
			}
		})
	}
}

func TestChainCycle(t *testing.T) {
	s := backends(t)["sqlite"]
	ctx := context.Background()
	_ = s.Save(ctx, Stored{ID: "x", PreviousID: "y", Input: []json.RawMessage{item("ix", "x")}})
	_ = s.Save(ctx, Stored{ID: "y", PreviousID: "x", Input: []json.RawMessage{item("iy", "y")}})
	items, err := s.Chain(ctx, "x", "")
	if err != nil || ids(items) != "iy,ix" {
		t.Errorf("Chain with a cycle = %q, %v", ids(items), err)
	}
}

func TestParseOrder(t *testing.T) {
	for in, want := range map[string]Order{"": Desc, "desc": Desc, "asc": Asc} {
		if got, ok := ParseOrder(in); !ok || got != want {
			t.Errorf("ParseOrder(%q) = %v %v", in, got, ok)
		}
	}
	if _, ok := ParseOrder("up"); ok {
		t.Error("ParseOrder accepted up")
	}
}

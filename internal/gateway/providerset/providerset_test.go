package providerset

import (
	"errors"
	"testing"

	"github.com/weir-gateway/weir/internal/provider"
)

type up struct {
	name   string
	models []string
}

func (u *up) Name() string     { return u.name }
func (u *up) Models() []string { return u.models }

func TestResolve(t *testing.T) {
	a, b := &up{"a", []string{"shared", "only-a"}}, &up{"b", []string{"shared"}}
	s := New(map[string]*up{"a": a, "b": b})
	tests := []struct {
		name      string
		want      *up
		model     string
		ambiguous bool
		notFound  bool
	}{
		{"a/x", a, "x", false, false},
		{"only-a", a, "only-a", false, false},
		{"shared", nil, "", true, false},
		{"c/x", nil, "", false, true},
		{"a/", nil, "", false, true},
		{"nowhere", nil, "", false, true},
	}
	for _, tt := range tests {
		got, model, nerr := s.Resolve(tt.name)
		if got != tt.want || model != tt.model {
			t.Errorf("%s: %v %q, want %v %q", tt.name, got, model, tt.want, tt.model)
		}
		if (nerr != nil && nerr.Ambiguous) != tt.ambiguous || (nerr != nil && !nerr.Ambiguous) != tt.notFound {
			t.Errorf("%s: error %v", tt.name, nerr)
		}
	}
}

func TestMerge(t *testing.T) {
	cfg := &up{name: "cfg"}
	s := New(map[string]*up{"cfg": cfg})
	builds := 0
	build := func(pc provider.Config, prev *up) (*up, error) {
		builds++
		if pc.Type == "broken" {
			return nil, errors.New("broken")
		}
		return &up{name: pc.Name}, nil
	}
	stored := func(name, typ string) provider.Config {
		return provider.Config{Common: provider.Common{Name: name, Type: typ}}
	}
	next, changed, failed := s.Merge([]provider.Config{stored("x", "t"), stored("cfg", "t"), stored("bad", "broken")}, build)
	if next == nil || len(changed) != 0 || !errors.Is(failed["cfg"], ErrShadowed) || failed["bad"] == nil {
		t.Fatalf("first merge: %v %v %v", next, changed, failed)
	}
	if !next.Stored("x") || next.Stored("cfg") || !next.Configured("cfg") || next.Get("cfg") != cfg || len(next.Names()) != 2 {
		t.Fatalf("set: %v stored x %v", next.Names(), next.Stored("x"))
	}
	if same, _, _ := next.Merge([]provider.Config{stored("x", "t")}, build); same != nil || builds != 2 {
		t.Fatalf("an unchanged list made a new set (%d builds)", builds)
	}
	edited, changed, _ := next.Merge([]provider.Config{stored("x", "t2")}, build)
	if edited == nil || len(changed) != 1 || changed[0] != "x" || edited.Get("x") == next.Get("x") {
		t.Fatalf("edit: changed %v", changed)
	}
	removed, changed, _ := edited.Merge(nil, build)
	if removed == nil || len(changed) != 1 || removed.Get("x") != nil || removed.Get("cfg") != cfg {
		t.Fatalf("removal: changed %v, names %v", changed, removed.Names())
	}
	edited.Retire()
	select {
	case <-edited.Replaced():
	default:
		t.Fatal("Replaced not closed by Retire")
	}
	select {
	case <-removed.Replaced():
		t.Fatal("a live set reports itself replaced")
	default:
	}
}

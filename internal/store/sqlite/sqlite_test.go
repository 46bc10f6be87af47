package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
	"github.com/weir-gateway/weir/internal/store/storetest"
)

func TestStoreMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestStoreFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "weir.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// Reopening a migrated file applies nothing twice and keeps the data.
func TestReopenMigrated(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "weir.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Meta().Put(ctx, "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Meta().Get(ctx, "x"); err != nil || string(v) != "y" {
		t.Fatal(v, err)
	}
	if sqlstore.LatestVersion() < 1 {
		t.Fatal("no migrations")
	}
}

// Package sqlite opens a store.Store on a SQLite database of its own: for tests and tools that need only the
// store. The gateway opens its one database with sqldb and gives it to sqlstore.New.
package sqlite

import (
	"context"

	"github.com/weir-gateway/weir/internal/sqldb"
	"github.com/weir-gateway/weir/internal/store"
	"github.com/weir-gateway/weir/internal/store/sqlstore"
)

// Open opens (creating if needed) and migrates the database at path, or an in-memory one for ":memory:". Closing
// the store closes the database.
func Open(ctx context.Context, path string) (store.Store, error) {
	db, err := sqldb.OpenSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	s, err := sqlstore.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return owned{s, db}, nil
}

// owned is a store that owns its database.
type owned struct {
	*sqlstore.Store
	db *sqldb.DB
}

func (o owned) Close() error { return o.db.Close() }

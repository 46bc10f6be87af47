package sqldb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Dialect is the SQL flavour of a DB.
type Dialect int

const (
	SQLite   Dialect = iota // modernc.org/sqlite ("sqlite" driver)
	Postgres                // pgx stdlib ("pgx" driver)
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// ParseDriver maps a governance.store.driver value ("" and "sqlite", or "postgres") to a Dialect.
func ParseDriver(s string) (Dialect, error) {
	switch strings.ToLower(s) {
	case "", "sqlite", "sqlite3":
		return SQLite, nil
	case "postgres", "postgresql", "pgx":
		return Postgres, nil
	}
	return 0, fmt.Errorf("sqldb: unknown driver %q (want sqlite or postgres)", s)
}

// Placeholder is the n-th (1-based) bound parameter: $n on PostgreSQL, ? on SQLite.
func (d Dialect) Placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Rebind rewrites ? placeholders as $n for PostgreSQL; SQLite takes the query as it is. Queries written with
// $n already run unchanged on both.
func (d Dialect) Rebind(query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Blob is the binary column type.
func (d Dialect) Blob() string {
	if d == Postgres {
		return "BYTEA"
	}
	return "BLOB"
}

// IsUnique reports whether err is a unique-constraint violation.
func (d Dialect) IsUnique(err error) bool {
	if err == nil {
		return false
	}
	if d == Postgres {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// Text makes a string storable in a TEXT column: PostgreSQL refuses NUL bytes and invalid UTF-8; SQLite keeps
// any bytes.
func (d Dialect) Text(v string) string {
	if d != Postgres {
		return v
	}
	if strings.IndexByte(v, 0) >= 0 {
		v = strings.ReplaceAll(v, "\x00", "")
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}

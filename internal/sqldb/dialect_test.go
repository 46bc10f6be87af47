package sqldb

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct {
		d         Dialect
		in, want  string
		wantPlace string
	}{
		{SQLite, `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = ? AND c = ?`, "?"},
		{Postgres, `SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`, "$3"},
		{Postgres, `SELECT 1`, `SELECT 1`, "$3"},
		{Postgres, `INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?,?)`, `INSERT INTO t VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, "$3"},
		{SQLite, `INSERT INTO t VALUES ($1, $2)`, `INSERT INTO t VALUES ($1, $2)`, "?"},
	} {
		if got := tc.d.Rebind(tc.in); got != tc.want {
			t.Errorf("%s Rebind(%q) = %q, want %q", tc.d, tc.in, got, tc.want)
		}
		if got := tc.d.Placeholder(3); got != tc.wantPlace {
			t.Errorf("%s Placeholder(3) = %q, want %q", tc.d, got, tc.wantPlace)
		}
	}
}

func TestParseDriver(t *testing.T) {
	for in, want := range map[string]Dialect{"": SQLite, "sqlite": SQLite, "SQLite3": SQLite,
		"postgres": Postgres, "postgresql": Postgres, "pgx": Postgres} {
		if got, err := ParseDriver(in); err != nil || got != want {
			t.Errorf("ParseDriver(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseDriver("mysql"); err == nil {
		t.Error("ParseDriver(mysql): no error")
	}
}

func TestDialectTypes(t *testing.T) {
	if SQLite.Blob() != "BLOB" || Postgres.Blob() != "BYTEA" {
		t.Errorf("blob types: %s, %s", SQLite.Blob(), Postgres.Blob())
	}
	if got := Postgres.Text("a\x00b\xffc"); got != "ab\uFFFDc" {
		t.Errorf("Postgres.Text = %q", got)
	}
	if got := SQLite.Text("a\x00b\xff"); got != "a\x00b\xff" {
		t.Errorf("SQLite.Text = %q", got)
	}
	if !Postgres.IsUnique(&pgconn.PgError{Code: "23505"}) || Postgres.IsUnique(&pgconn.PgError{Code: "23503"}) {
		t.Error("Postgres.IsUnique")
	}
	if !SQLite.IsUnique(errors.New("constraint failed: UNIQUE constraint failed: t.a (2067)")) || SQLite.IsUnique(nil) {
		t.Error("SQLite.IsUnique")
	}
}

package admin

import (
	"net/http"
	"testing"
)

func TestAdminClusterEndpoint(t *testing.T) {
	f := newAdminFixture(t, "", nil)
	if code, _, _ := f.do("GET", "/api/cluster", "", ""); code != http.StatusNotFound {
		t.Fatalf("without cluster mode: %d, want 404", code)
	}

	f = newAdminFixtureWith(t, Config{Token: "tok", Cluster: func() any { return map[string]any{"self": "node0", "alive": 3} }})
	if code, _, _ := f.do("GET", "/api/cluster", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("no admin token: %d, want 401", code)
	}
	code, m, raw := f.do("GET", "/api/cluster", "tok", "")
	if code != 200 || m["self"] != "node0" || m["alive"] != float64(3) {
		t.Fatalf("GET /api/cluster: %d %s", code, raw)
	}
	if code, _, _ := f.do("POST", "/api/cluster", "tok", ""); code == 200 {
		t.Fatal("POST /api/cluster answered 200")
	}
}

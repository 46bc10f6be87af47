package httpx

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzBearer: the parsed credential is what follows a case-insensitive "Bearer" scheme, and nothing else is one.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer wk-a", "bearer wk-a", "BEARER  x", "Basic x", "Bearer", "", " Bearer x", "Bearer\tx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, ok := Bearer(http.Header{"Authorization": {v}})
		if ok != (len(v) >= 7 && strings.EqualFold(v[:7], "Bearer ")) {
			t.Fatalf("%q: ok %v", v, ok)
		}
		if ok && !strings.HasSuffix(v, tok) {
			t.Fatalf("%q: token %q", v, tok)
		}
	})
}

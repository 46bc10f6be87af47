package ui

import (
	"net/http"
	"regexp"
	"strings"
)

// prefixRE is a URL path prefix a proxy may name: segments of unreserved characters.
var prefixRE = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// Prefix is the path prefix under which the caller reaches Weir: the proxy's X-Forwarded-Prefix when it names
// a plain path, else the configured base path ("" for none). Every URL the UI makes starts with it.
func Prefix(r *http.Request, base string) string {
	if p := strings.TrimRight(r.Header.Get("X-Forwarded-Prefix"), "/"); p != "" && prefixRE.MatchString(p) {
		return p
	}
	return base
}

// StripBase serves requests whose path still starts with base (a proxy that does not strip the prefix, or a
// caller reaching Weir directly at its public URL) as if it had been stripped; other requests pass unchanged.
func StripBase(base string, next http.Handler) http.Handler {
	if base == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, base); ok && (rest == "" || rest[0] == '/') {
			if rest == "" {
				rest = "/"
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = rest, ""
			r2.Header.Set("X-Forwarded-Prefix", base)
			next.ServeHTTP(w, r2)
			return
		}
		next.ServeHTTP(w, r)
	})
}

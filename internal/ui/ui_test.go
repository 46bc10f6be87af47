package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func newServer(t *testing.T, token, base string) (*http.ServeMux, *Sessions) {
	t.Helper()
	mux := http.NewServeMux()
	s := NewSessions(token, time.Hour)
	Mount(mux, Config{Sessions: s, BasePath: base, Version: "test"})
	return mux, s
}

func do(h http.Handler, method, target, body string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRedirectAndShellHonourThePrefix(t *testing.T) {
	for _, tc := range []struct {
		name, base, header, want string
	}{
		{"no prefix", "", "", ""},
		{"base path", "/weir", "", "/weir"},
		{"forwarded prefix", "", "/gw/weir/", "/gw/weir"},
		{"forwarded prefix wins", "/weir", "/other", "/other"},
		{"bad forwarded prefix ignored", "/weir", `/"><script>`, "/weir"},
		{"absolute URL refused", "", "https://evil.example", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux, _ := newServer(t, "", tc.base)
			w := do(mux, "GET", "/", "", "X-Forwarded-Prefix", tc.header)
			if w.Code != http.StatusFound || w.Header().Get("Location") != tc.want+"/ui/" {
				t.Fatalf("GET /: %d Location %q, want %q", w.Code, w.Header().Get("Location"), tc.want+"/ui/")
			}
			w = do(mux, "GET", "/ui/", "", "X-Forwarded-Prefix", tc.header)
			body := w.Body.String()
			if w.Code != 200 || !strings.Contains(body, `href="`+tc.want+`/ui/static/app.css?v=`) ||
				!strings.Contains(body, `data-base="`+tc.want+`"`) || strings.Contains(body, "<script>") {
				t.Fatalf("shell under %q: %d\n%s", tc.want, w.Code, body)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Fatalf("CSP %q", csp)
			}
		})
	}
}

func TestStripBase(t *testing.T) {
	var got, prefix string
	h := StripBase("/weir", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, prefix = r.URL.Path, Prefix(r, "")
	}))
	for _, tc := range []struct{ in, want, prefix string }{
		{"/weir/ui/", "/ui/", "/weir"},
		{"/weir", "/", "/weir"},
		{"/ui/", "/ui/", ""},
		{"/weirdo/x", "/weirdo/x", ""},
	} {
		do(h, "GET", tc.in, "")
		if got != tc.want || prefix != tc.prefix {
			t.Errorf("%s: served %s with prefix %q, want %s and %q", tc.in, got, prefix, tc.want, tc.prefix)
		}
	}
}

func TestAssetsAreEmbeddedWithETags(t *testing.T) {
	mux, _ := newServer(t, "", "")
	for _, name := range []string{"app.js", "app.css", "api.js", "pages/overview.js", "pages/logs.js", "favicon.svg"} {
		w := do(mux, "GET", "/ui/static/"+name, "")
		if w.Code != 200 || w.Header().Get("ETag") == "" || w.Body.Len() == 0 {
			t.Fatalf("%s: %d etag %q", name, w.Code, w.Header().Get("ETag"))
		}
		if strings.HasSuffix(name, ".js") && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
			t.Fatalf("%s: Content-Type %q", name, w.Header().Get("Content-Type"))
		}
		if w2 := do(mux, "GET", "/ui/static/"+name, "", "If-None-Match", w.Header().Get("ETag")); w2.Code != http.StatusNotModified {
			t.Fatalf("%s revalidated: %d", name, w2.Code)
		}
	}
	if w := do(mux, "GET", "/ui/static/nope.js", ""); w.Code != 404 {
		t.Fatalf("unknown asset: %d", w.Code)
	}
	// Nothing the UI ships may reach another host (air-gapped deployments): the only absolute URLs are XML
	// namespaces and example text in form fields.
	for name, a := range newAssets().files {
		for i, line := range strings.Split(string(a.body), "\n") {
			if strings.Contains(line, "://") && !strings.Contains(line, "http://www.w3.org/") && !strings.Contains(line, "placeholder:") {
				t.Errorf("%s:%d names another host: %s", name, i+1, line)
			}
		}
	}
}

func TestLogin(t *testing.T) {
	mux, s := newServer(t, "s3cret", "/weir")
	if w := do(mux, "GET", "/ui/", ""); !strings.Contains(w.Body.String(), `id="login"`) || strings.Contains(w.Body.String(), `id="nav"`) {
		t.Fatalf("without a session the shell must show the login only:\n%s", w.Body.String())
	}
	json := "application/json"
	for _, tc := range []struct {
		name, body string
		header     []string
		want       int
	}{
		{"wrong token", `{"token":"nope"}`, []string{"Content-Type", json}, 401},
		{"no token", `{}`, []string{"Content-Type", json}, 400},
		{"text/plain", `{"token":"s3cret"}`, []string{"Content-Type", "text/plain"}, 403},
		{"cross-site origin", `{"token":"s3cret"}`, []string{"Content-Type", json, "Origin", "http://evil.example"}, 403},
		{"cross-site fetch", `{"token":"s3cret"}`, []string{"Content-Type", json, "Sec-Fetch-Site", "cross-site"}, 403},
	} {
		if w := do(mux, "POST", "/ui/login", tc.body, tc.header...); w.Code != tc.want || w.Header().Get("Set-Cookie") != "" {
			t.Errorf("%s: %d %s (cookie %q), want %d", tc.name, w.Code, w.Body, w.Header().Get("Set-Cookie"), tc.want)
		}
	}
	w := do(mux, "POST", "/ui/login", `{"token":"s3cret"}`, "Content-Type", json, "Origin", "http://example.com", "X-Forwarded-Proto", "https")
	c := w.Result().Cookies()
	if w.Code != 200 || len(c) != 1 || !c[0].HttpOnly || !c[0].Secure || c[0].SameSite != http.SameSiteStrictMode || c[0].Path != "/weir/" {
		t.Fatalf("login: %d %+v", w.Code, c)
	}
	cookie := CookieName + "=" + c[0].Value
	w = do(mux, "GET", "/ui/", "", "Cookie", cookie)
	if !strings.Contains(w.Body.String(), `id="nav"`) || strings.Contains(w.Body.String(), `data-csrf=""`) {
		t.Fatalf("with a session the shell shows the app and its CSRF token:\n%s", w.Body.String())
	}
	r := httptest.NewRequest("GET", "/api/keys", nil)
	r.Header.Set("Cookie", cookie)
	ok, csrfOK, csrf := s.Check(r)
	if !ok || csrfOK || csrf == "" {
		t.Fatalf("session without its CSRF header: ok=%v csrfOK=%v", ok, csrfOK)
	}
	r.Header.Set(CSRFHeader, csrf)
	if ok, csrfOK, _ := s.Check(r); !ok || !csrfOK {
		t.Fatalf("session with its CSRF header: ok=%v csrfOK=%v", ok, csrfOK)
	}
	if w := do(mux, "POST", "/ui/logout", "", "Cookie", cookie); w.Code != 403 {
		t.Fatalf("logout without the CSRF header: %d", w.Code)
	}
	if w := do(mux, "POST", "/ui/logout", "", "Cookie", cookie, CSRFHeader, csrf); w.Code != 204 {
		t.Fatalf("logout: %d", w.Code)
	}
	if ok, _, _ := s.Check(r); ok {
		t.Fatal("the session outlived its logout")
	}
}

func TestSessionCheck(t *testing.T) {
	s := NewSessions("token", time.Hour)
	other := NewSessions("another token", time.Hour)
	cookie, csrf := s.New()
	otherCookie, _ := other.New()
	tamper := []byte(cookie)
	tamper[3] ^= 1
	for _, tc := range []struct {
		name, cookie, csrf string
		ok, csrfOK         bool
	}{
		{"valid with CSRF", cookie, csrf, true, true},
		{"valid without CSRF", cookie, "", true, false},
		{"valid with a wrong CSRF", cookie, "AAAA", true, false},
		{"another token's session", otherCookie, csrf, false, false},
		{"tampered", string(tamper), csrf, false, false},
		{"garbage", "x.y", "", false, false},
		{"none", "", "", false, false},
	} {
		r := httptest.NewRequest("POST", "/api/keys", nil)
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: CookieName, Value: tc.cookie})
		}
		r.Header.Set(CSRFHeader, tc.csrf)
		if ok, csrfOK, _ := s.Check(r); ok != tc.ok || csrfOK != tc.csrfOK {
			t.Errorf("%s: ok=%v csrfOK=%v, want %v %v", tc.name, ok, csrfOK, tc.ok, tc.csrfOK)
		}
	}
	// expiry
	s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	r := httptest.NewRequest("GET", "/api/keys", nil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	if ok, _, _ := s.Check(r); ok {
		t.Fatal("an expired session was accepted")
	}
	if NewSessions("", time.Hour) != nil {
		t.Fatal("no token must mean no sessions")
	}
}

func TestLoginWithoutToken(t *testing.T) {
	mux, _ := newServer(t, "", "")
	w := do(mux, "POST", "/ui/login", `{"token":"x"}`, "Content-Type", "application/json")
	b, _ := io.ReadAll(w.Body)
	if w.Code != 404 || !strings.Contains(string(b), "no_login") {
		t.Fatalf("%d %s", w.Code, b)
	}
	if w := do(mux, "GET", "/ui/", ""); !strings.Contains(w.Body.String(), `data-auth="loopback"`) {
		t.Fatal("no token: the shell must say so")
	}
}

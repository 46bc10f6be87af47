// Package ui is Weir's web UI: a small page shell rendered with html/template and vanilla JavaScript modules
// that call the documented admin API (/api/...), all embedded in the binary — nothing is fetched from the
// network. It serves /ui/ (and redirects / there), the login that exchanges the admin token for a session
// cookie, and honours a path prefix (server.base_path or X-Forwarded-Prefix) in every URL it makes.
// docs/ui.md describes the pages.
package ui

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

//go:embed web
var webFS embed.FS

var shellTmpl = template.Must(template.ParseFS(webFS, "web/index.html"))

// Config is what the UI needs from the gateway.
type Config struct {
	// Sessions checks logins; nil when no admin token is set: the UI then needs no login and, like the admin
	// API it calls, answers loopback callers only.
	Sessions *Sessions
	// BasePath is server.base_path ("" for none).
	BasePath string
	// Version is shown in the footer.
	Version string
	Log     *slog.Logger
}

// Mux is where the UI's routes are registered (the data plane's server in cmd/weir).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Handler serves the UI.
type Handler struct {
	c      Config
	assets *assets
}

// Mount registers the UI's routes on m.
func Mount(m Mux, c Config) {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	h := &Handler{c: c, assets: newAssets()}
	m.Handle("GET /{$}", http.HandlerFunc(h.redirect))
	m.Handle("GET /ui", http.HandlerFunc(h.redirect))
	m.Handle("GET /ui/{$}", http.HandlerFunc(h.shell))
	m.Handle("GET /ui/static/{path...}", h.assets)
	m.Handle("POST /ui/login", http.HandlerFunc(h.login))
	m.Handle("POST /ui/logout", http.HandlerFunc(h.logout))
}

func (h *Handler) redirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, Prefix(r, h.c.BasePath)+"/ui/", http.StatusFound)
}

// shellData is what index.html renders.
type shellData struct {
	Base     string // path prefix, "" for none
	CSRF     string // the session's CSRF token ("" without a session)
	Auth     string // "token": logins needed; "loopback": no admin token, loopback callers only
	LoggedIn bool
	Version  string
	Asset    func(string) string
}

func (h *Handler) shell(w http.ResponseWriter, r *http.Request) {
	base := Prefix(r, h.c.BasePath)
	d := shellData{Base: base, Auth: "loopback", LoggedIn: true, Version: h.c.Version,
		Asset: func(name string) string { return base + "/ui/static/" + name + "?v=" + h.assets.version }}
	if h.c.Sessions != nil {
		d.Auth = "token"
		d.LoggedIn, _, d.CSRF = h.c.Sessions.Check(r)
	}
	var buf bytes.Buffer
	if err := shellTmpl.Execute(&buf, d); err != nil {
		h.c.Log.Error("web UI: rendering the page", "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// securityHeaders keep the UI's pages from running anything but its own embedded scripts and from being framed.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// login exchanges the admin token for a session cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if h.c.Sessions == nil {
		jsonError(w, http.StatusNotFound, "no_login", "no admin token is configured: the UI needs no login (loopback callers only)")
		return
	}
	if why := crossSite(r); why != "" {
		jsonError(w, http.StatusForbidden, "cross_site_request", why)
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&body); err != nil || body.Token == "" {
		jsonError(w, http.StatusBadRequest, "invalid_value", "send {\"token\": \"<admin token>\"}")
		return
	}
	if !h.c.Sessions.TokenMatches(strings.TrimSpace(body.Token)) {
		h.c.Log.Warn("web UI: failed login", "remote", r.RemoteAddr)
		jsonError(w, http.StatusUnauthorized, "invalid_admin_token", "that is not the admin token (WEIR_ADMIN_TOKEN)")
		return
	}
	cookie, csrf := h.c.Sessions.New()
	http.SetCookie(w, h.cookie(r, cookie, int(h.c.Sessions.TTL().Seconds())))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"csrf": csrf})
}

// logout ends the session; it needs the session's CSRF token like every other state-changing call.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if h.c.Sessions == nil {
		jsonError(w, http.StatusNotFound, "no_login", "no admin token is configured: there is no session to end")
		return
	}
	if ok, csrfOK, _ := h.c.Sessions.Check(r); ok && !csrfOK {
		jsonError(w, http.StatusForbidden, "invalid_csrf_token", "logout needs the session's "+CSRFHeader+" header")
		return
	}
	h.c.Sessions.Revoke(r)
	http.SetCookie(w, h.cookie(r, "", -1))
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: Prefix(r, h.c.BasePath) + "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")}
}

// crossSite says why r may come from another site's page ("" if it cannot): a login must be a same-origin
// JSON request, which a page elsewhere cannot send without a CORS preflight.
func crossSite(r *http.Request) string {
	switch s := r.Header.Get("Sec-Fetch-Site"); s {
	case "cross-site", "same-site":
		return "Sec-Fetch-Site: " + s
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
			return "Origin " + o + " is not this host"
		}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return "the body must be sent as Content-Type: application/json"
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// jsonError answers in the admin API's error format (OpenAI's).
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	typ := map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error"}[status]
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
}

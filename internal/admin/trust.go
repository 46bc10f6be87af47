package admin

import (
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/weir-gateway/weir/internal/gateway"
)

// Browsers are loopback clients too: any web page a local user opens can send requests to 127.0.0.1, and a
// DNS-rebinding page can even read the answers. These checks keep the admin API's loopback trust for local
// tools (curl, scripts, the CLI) and away from web pages.

// hostAllowed says whether the Host a loopback caller named is a loopback name or address, or one the operator
// configured (server.allowed_hosts). A rebinding page's requests carry its own name as Host.
func hostAllowed(hostport string, allowed []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return true
	}
	for _, a := range allowed {
		if strings.EqualFold(a, host) || strings.EqualFold(a, hostport) {
			return true
		}
	}
	return false
}

// refuseBrowser refuses a state-changing admin call that a web page of another site could have sent: one whose
// Sec-Fetch-Site or Origin says it came from another site, and (when jsonOnly) one with a body that is not
// JSON — the content types a page may send without a CORS preflight (text/plain, forms) are never JSON.
func refuseBrowser(r *http.Request, jsonOnly bool) *gateway.Error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return crossSite("Sec-Fetch-Site: " + r.Header.Get("Sec-Fetch-Site"))
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
			return crossSite("Origin " + o + " is not this host")
		}
	}
	if jsonOnly && r.ContentLength != 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" {
			return &gateway.Error{Status: http.StatusUnsupportedMediaType, Type: gateway.TypeInvalidRequest, Code: "unsupported_media_type",
				Message: "admin request bodies must be sent with Content-Type: application/json"}
		}
	}
	return nil
}

func crossSite(why string) *gateway.Error {
	return &gateway.Error{Status: http.StatusForbidden, Type: gateway.TypePermission, Code: "cross_site_request",
		Message: "the admin API does not accept state-changing requests from web pages of another site (" + why + ")"}
}

// SessionChecker checks a web UI session (internal/ui.Sessions): ok when r carries a valid session cookie,
// csrfOK when it also carries that session's CSRF token.
type SessionChecker interface {
	Check(r *http.Request) (ok, csrfOK bool, csrf string)
}

// sessionRefusal is why a request without the admin token is refused (nil: a web UI session admits it). A
// session cookie is sent by the browser on its own, so a state-changing call needs the session's CSRF token
// too, which only the UI's own pages can read; reads need the cookie only (an EventSource cannot send headers,
// and SameSite=Strict keeps other sites' pages from sending the cookie at all).
func (a *admin) sessionRefusal(r *http.Request) *gateway.Error {
	if a.c.Sessions != nil {
		ok, csrfOK, _ := a.c.Sessions.Check(r)
		switch {
		case ok && (csrfOK || !stateChanging(r.Method)):
			return nil
		case ok:
			return &gateway.Error{Status: http.StatusForbidden, Type: gateway.TypePermission, Code: "invalid_csrf_token",
				Message: "a state-changing admin call made with a web UI session needs the session's X-Weir-CSRF header"}
		}
	}
	return &gateway.Error{Status: http.StatusUnauthorized, Type: gateway.TypeAuthentication, Code: "invalid_admin_token",
		Header:  http.Header{"WWW-Authenticate": {`Bearer realm="weir-admin"`}},
		Message: "the admin API needs Authorization: Bearer <admin token> (WEIR_ADMIN_TOKEN), or a web UI session"}
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

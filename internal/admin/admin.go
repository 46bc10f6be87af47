// Package admin is the admin API (/api/...): it manages customers, teams, virtual keys and stored providers, and
// reports usage, prices, the request log and the cluster. Every route answers JSON and errors in OpenAI's
// format, so one client library handles both this and the data plane (internal/api). docs/admin-api.md
// documents each route.
package admin

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/gateway/catalog"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/httpx"
	"github.com/weir-gateway/weir/internal/pricing"
	"github.com/weir-gateway/weir/internal/requestlog"
	"github.com/weir-gateway/weir/internal/secret"
	"github.com/weir-gateway/weir/internal/store"
)

// adminMaxBody bounds an admin request body.
const adminMaxBody = 1 << 20

// Config is what the admin API administers and reports on. Every field but Log may be left empty: the routes
// that need it then answer why they cannot serve, or are not mounted.
type Config struct {
	// Gov is the governance service; nil: every admin route answers 503 governance_disabled.
	Gov *governance.Service
	// Token protects the admin API; empty: the admin API answers loopback clients only.
	Token string
	// AllowedHosts are the Host names, besides loopback ones, that the admin API answers while it trusts
	// loopback clients (no Token); see hostAllowed.
	AllowedHosts []string
	// Store and Cipher back the provider routes (provider secrets are stored encrypted with Cipher; nil Cipher:
	// the admin API refuses to store them).
	Store  store.Store
	Cipher *secret.Cipher
	// LogReader, when set, serves GET /api/logs and /api/stats.
	LogReader requestlog.Reader
	// Cluster, when set, serves GET /api/cluster: the cluster node's view of its members and gossip figures.
	Cluster func() any
	// MCPServers, when set, serves GET /api/mcp/servers: each MCP server's state, transport and tool count.
	MCPServers func() any
	// Models lists the models the gateway serves, whose prices GET /api/pricing lists.
	Models func() []catalog.Model
	// Log gets the errors of failed admin operations; nil: slog.Default().
	Log *slog.Logger
}

// Mux is where the admin routes are registered: the data plane's server in cmd/weir, so that its body read
// deadlines and its 405 probing cover them too; a plain *http.ServeMux in tests.
type Mux interface {
	Handle(pattern string, h http.Handler)
	httpx.Mux
}

// Mount registers the /api routes on m.
func Mount(m Mux, c Config) { newAdmin(c).mount(m) }

// admin holds the admin API's state.
type admin struct {
	c         Config
	tokenHash [sha256.Size]byte
	hasToken  bool
	// mu serialises admin writes that read before they write (create-if-absent, toggles, partial updates),
	// so two admins editing the same entity cannot lose an update. Inference never takes it.
	mu sync.Mutex
}

func newAdmin(c Config) *admin {
	if c.Log == nil {
		c.Log = slog.Default() // failed admin operations are always logged somewhere
	}
	a := &admin{c: c}
	if c.Token != "" {
		a.tokenHash, a.hasToken = sha256.Sum256([]byte(c.Token)), true
	}
	return a
}

func (a *admin) mount(m Mux) {
	h := func(pattern string, f func(http.ResponseWriter, *http.Request)) {
		m.Handle(pattern, a.guard(http.HandlerFunc(f)))
	}
	a.mountCustomers(h)
	a.mountTeams(h)
	a.mountKeys(h)
	a.mountProviders(h)
	a.mountUsage(h)
	if a.c.LogReader != nil {
		// the admin guard has already authorised these
		logs := requestlog.NewAPI(a.c.LogReader, func(http.ResponseWriter, *http.Request) bool { return true })
		h("GET /api/logs", logs.Logs)
		h("GET /api/logs/{id}", logs.Log)
		h("GET /api/stats", logs.Stats)
	}
	if a.c.MCPServers != nil {
		h("GET /api/mcp/servers", func(w http.ResponseWriter, r *http.Request) {
			httpx.WriteJSON(w, http.StatusOK, map[string]any{"object": "list", "data": a.c.MCPServers()})
		})
	}
	if a.c.Cluster != nil {
		h("GET /api/cluster", func(w http.ResponseWriter, r *http.Request) { httpx.WriteJSON(w, http.StatusOK, a.c.Cluster()) })
	}
	h("/api/", func(w http.ResponseWriter, r *http.Request) { httpx.WriteOpenAIError(w, httpx.UnknownRoute(m, r)) })
}

// guard authenticates the admin: the admin token as a Bearer token, compared in constant time; with no token
// configured, only loopback clients are served.
func (a *admin) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !a.allow(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allow answers a refused admin request, unread, and says whether the request may go on.
func (a *admin) allow(w http.ResponseWriter, r *http.Request) bool {
	refuse := func(e *gateway.Error) bool {
		if r.ContentLength != 0 {
			w.Header().Set("Connection", "close") // don't read a refused caller's body
		}
		httpx.WriteOpenAIError(w, e)
		return false
	}
	if !a.hasToken {
		if !isLoopback(r.RemoteAddr) {
			return refuse(&gateway.Error{Status: http.StatusForbidden, Type: gateway.TypePermission, Code: "admin_loopback_only",
				Message: "the admin API answers only loopback clients while no admin token is configured: set WEIR_ADMIN_TOKEN (or server.admin_token)"})
		}
		if !hostAllowed(r.Host, a.c.AllowedHosts) {
			return refuse(&gateway.Error{Status: http.StatusForbidden, Type: gateway.TypePermission, Code: "admin_host_not_allowed",
				Message: "Host " + r.Host + " is not a loopback name: without an admin token the admin API answers only requests to localhost, 127.0.0.1 or [::1] (or a name in server.allowed_hosts)"})
		}
	} else {
		tok, ok := httpx.Bearer(r.Header)
		// Hash both sides so the comparison is constant-time in the token's length too.
		got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		if !ok || subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="weir-admin"`)
			return refuse(&gateway.Error{Status: http.StatusUnauthorized, Type: gateway.TypeAuthentication, Code: "invalid_admin_token",
				Message: "the admin API needs Authorization: Bearer <admin token> (WEIR_ADMIN_TOKEN)"})
		}
	}
	// With a token a page cannot send the Authorization header without a preflight, so only the loopback
	// trust needs the JSON rule; the cross-site rule is cheap defence in depth either way.
	if e := refuseBrowser(r, !a.hasToken); e != nil {
		return refuse(e)
	}
	if a.c.Gov == nil {
		return refuse(&gateway.Error{Status: http.StatusServiceUnavailable, Type: gateway.TypeAPI, Code: "governance_disabled",
			Message: "governance is not running, so there is nothing to administer"})
	}
	return true
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func (a *admin) gov() *governance.Service { return a.c.Gov }

// ---- errors ----

func adminInvalid(param, format string, args ...any) *gateway.Error {
	msg := fmt.Sprintf(format, args...)
	if param != "" {
		msg = param + ": " + msg
	}
	return &gateway.Error{Status: http.StatusBadRequest, Type: gateway.TypeInvalidRequest, Code: "invalid_value", Param: param, Message: msg}
}

func adminNotFound(what, id string) *gateway.Error {
	return &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "not_found",
		Message: fmt.Sprintf("no %s %q", what, id)}
}

func adminConflict(format string, args ...any) *gateway.Error {
	return &gateway.Error{Status: http.StatusConflict, Type: gateway.TypeInvalidRequest, Code: "conflict",
		Message: fmt.Sprintf(format, args...)}
}

// writeAdminError maps errors from governance and the store onto HTTP.
func (a *admin) writeError(w http.ResponseWriter, err error) {
	var ge *gateway.Error
	switch {
	case errors.As(err, &ge):
		httpx.WriteOpenAIError(w, ge)
	case errors.Is(err, governance.ErrInvalid):
		httpx.WriteOpenAIError(w, adminInvalid("", "%s", strings.TrimPrefix(err.Error(), governance.ErrInvalid.Error()+": ")))
	case errors.Is(err, governance.ErrInUse):
		httpx.WriteOpenAIError(w, adminConflict("%s", strings.TrimPrefix(err.Error(), governance.ErrInUse.Error()+": ")))
	case errors.Is(err, store.ErrNotFound):
		httpx.WriteOpenAIError(w, &gateway.Error{Status: http.StatusNotFound, Type: gateway.TypeNotFound, Code: "not_found", Message: "not found"})
	case errors.Is(err, store.ErrConflict):
		httpx.WriteOpenAIError(w, adminConflict("%s", err.Error()))
	default:
		a.c.Log.Error("admin API", "err", err)
		httpx.WriteOpenAIError(w, &gateway.Error{Status: http.StatusInternalServerError, Type: gateway.TypeAPI, Code: "internal_error",
			Message: "the admin operation failed: " + err.Error()})
	}
}

// ---- request decoding ----

// decode reads a JSON body into v, refusing unknown fields and naming the field of a type error.
func decode(r *http.Request, v any) *gateway.Error {
	body, err := io.ReadAll(io.LimitReader(r.Body, adminMaxBody+1))
	if err != nil {
		return httpx.BodyReadError(err, "server.read_timeout")
	}
	if len(body) > adminMaxBody {
		return &gateway.Error{Status: http.StatusRequestEntityTooLarge, Type: gateway.TypeInvalidRequest, Code: "request_too_large",
			Header: httpx.CloseConn, Message: fmt.Sprintf("admin request bodies are limited to %d bytes", adminMaxBody)}
	}
	return decodeBytes(body, v)
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

func decodeBytes(body []byte, v any) *gateway.Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return adminInvalid("", "a JSON object body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return adminInvalid(te.Field, "must be %s, not %s", jsonKind(te.Type.String()), te.Value)
		case errors.As(err, &se):
			return adminInvalid("", "invalid JSON at byte %d: %v", se.Offset, err)
		}
		if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
			return adminInvalid(m[1], "unknown field")
		}
		var fe *fieldError
		if errors.As(err, &fe) {
			return adminInvalid(fe.param, "%s", fe.msg)
		}
		return adminInvalid("", "invalid JSON: %v", err)
	}
	if dec.More() {
		return adminInvalid("", "the body must hold exactly one JSON object")
	}
	return nil
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "admin."), strings.HasPrefix(goType, "*admin."):
		return "an object"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"), goType == "json.Number":
		return "a number"
	case goType == "bool":
		return "true or false"
	case goType == "string":
		return "a string"
	}
	return goType
}

// fieldError is a validation failure inside a custom UnmarshalJSON.
type fieldError struct{ param, msg string }

func (e *fieldError) Error() string { return e.param + ": " + e.msg }

// ---- shared wire types ----

// wireBudget is a budget as the admin API writes it: max_usd is an exact decimal (nano-dollar precision).
type wireBudget struct {
	MaxUSD json.Number `json:"max_usd"`
	Reset  string      `json:"reset,omitempty"`
}

// wireLimits are rate limits; omitted or 0 means none.
type wireLimits struct {
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
	RPH int64 `json:"rph,omitempty"`
	TPH int64 `json:"tph,omitempty"`
	RPD int64 `json:"rpd,omitempty"`
	TPD int64 `json:"tpd,omitempty"`
}

func budgetOut(b *store.Budget) *wireBudget {
	if b == nil {
		return nil
	}
	return &wireBudget{MaxUSD: json.Number(usdString(b.MaxUSD)), Reset: b.Reset}
}

// usdString is an exact decimal dollar string without the "$".
func usdString(m pricing.Money) string {
	s := m.String()
	if neg, ok := strings.CutPrefix(s, "-$"); ok {
		return "-" + neg
	}
	return strings.TrimPrefix(s, "$")
}

func budgetIn(param string, b *wireBudget) (*store.Budget, *gateway.Error) {
	if b == nil {
		return nil, nil
	}
	if b.MaxUSD == "" {
		return nil, adminInvalid(param+".max_usd", "required (US dollars, e.g. 0.01)")
	}
	m, err := pricing.ParseUSD(b.MaxUSD.String())
	if err != nil {
		return nil, adminInvalid(param+".max_usd", "must be a non-negative amount of US dollars (%v)", err)
	}
	r, err := governance.ParseReset(b.Reset)
	if err != nil {
		return nil, adminInvalid(param+".reset", "must be one of 1m,1h,1d,1w,1M (or never / omitted: no reset)")
	}
	return &store.Budget{MaxUSD: m, Reset: string(r)}, nil
}

func limitsOut(l store.Limits) *wireLimits {
	if l.IsZero() {
		return nil
	}
	w := wireLimits(l)
	return &w
}

func limitsIn(param string, l *wireLimits) (store.Limits, *gateway.Error) {
	if l == nil {
		return store.Limits{}, nil
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"rpm", l.RPM}, {"tpm", l.TPM}, {"rph", l.RPH}, {"tph", l.TPH}, {"rpd", l.RPD}, {"tpd", l.TPD}} {
		if f.v < 0 || f.v > governance.MaxWindowCount {
			return store.Limits{}, adminInvalid(param+"."+f.name, "must be between 0 and %d", int64(governance.MaxWindowCount))
		}
	}
	return store.Limits(*l), nil
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

func checkID(param, id string) *gateway.Error {
	if id == "" {
		return adminInvalid(param, "required")
	}
	if !idRE.MatchString(id) {
		return adminInvalid(param, "must be 1-128 characters of letters, digits and . _ : @ - (starting with a letter or digit)")
	}
	return nil
}

// idFromPath takes the id in the URL and checks it against the body's, which may be omitted.
func idFromPath(r *http.Request, bodyID *string) *gateway.Error {
	id := r.PathValue("id")
	if *bodyID != "" && *bodyID != id {
		return adminInvalid("id", "the body says %q but the URL says %q", *bodyID, id)
	}
	*bodyID = id
	return nil
}

// patchJSON applies a partial update: the current object's JSON with the request's fields laid over it (top
// level; a nested object given in the request replaces the current one, and null clears it).
func patchJSON(current any, r *http.Request, into any) *gateway.Error {
	cur, err := json.Marshal(current)
	if err != nil {
		return adminInvalid("", "%v", err)
	}
	var patch map[string]json.RawMessage
	if gerr := decode(r, &patch); gerr != nil {
		return gerr
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(cur, &merged); err != nil {
		return adminInvalid("", "%v", err)
	}
	for k, v := range patch {
		if string(v) == "null" {
			delete(merged, k)
			continue
		}
		merged[k] = v
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return adminInvalid("", "%v", err)
	}
	return decodeBytes(b, into)
}

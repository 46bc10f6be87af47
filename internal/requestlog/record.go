// Package requestlog records one row per gateway request: a bounded in-memory queue drained by a background
// writer that inserts in batches (Writer), a SQL store for SQLite and PostgreSQL (SQLSink) with retention and a
// query side (QueryLogs, GetLog, Stats), and the admin HTTP handlers over it (API).
//
// The request path only ever calls Writer.Enqueue, which never blocks and never touches the database.
package requestlog

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Record is one request's log row.
type Record struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	KeyID      string    `json:"key_id,omitempty"`
	TeamID     string    `json:"team_id,omitempty"`
	CustomerID string    `json:"customer_id,omitempty"`
	Route      string    `json:"route"`
	Alias      string    `json:"alias,omitempty"`
	Provider   string    `json:"provider,omitempty"` // the provider that answered (or failed last)
	Model      string    `json:"model,omitempty"`    // its upstream model
	Attempts   []Attempt `json:"attempts,omitempty"`
	Status     int       `json:"status"`
	Error      string    `json:"error,omitempty"`

	InputTokens  int64         `json:"input_tokens"`
	OutputTokens int64         `json:"output_tokens"`
	CostNanoUSD  int64         `json:"cost_nano_usd"` // pricing.Money
	TTFB         time.Duration `json:"ttfb_ns"`
	Duration     time.Duration `json:"duration_ns"`
	Stream       bool          `json:"stream"`
	CallerIP     string        `json:"caller_ip,omitempty"`
	// Overhead is the time the gateway added: Duration minus the attempts' upstream latency.
	Overhead time.Duration `json:"overhead_ns"`
	TraceID  string        `json:"trace_id,omitempty"`
	// ProviderKey is the hint (last four characters) of the upstream key that served, never more.
	ProviderKey string `json:"provider_key,omitempty"`

	// Headers are the configured request headers (see SelectHeaders).
	Headers map[string]string `json:"headers,omitempty"`
	// Request and Response are the content, only when content logging is on, truncated (see TruncateContent).
	Request  string `json:"request,omitempty"`
	Response string `json:"response,omitempty"`
}

// Attempt is one upstream call of a request.
type Attempt struct {
	Provider string        `json:"provider"`
	Model    string        `json:"model"`
	Status   int           `json:"status"` // 0: no answer
	Latency  time.Duration `json:"latency_ns"`
	Error    string        `json:"error,omitempty"`
	KeyHint  string        `json:"provider_key,omitempty"` // the upstream key's last four characters
	// Call is the agent-mode model call it served (1, 2, …; 0: the request made one).
	Call int `json:"call,omitempty"`
	// RequestBytes and ResponseBytes are the sizes of an MCP tool call's arguments and result (0: not
	// recorded).
	RequestBytes  int64 `json:"request_bytes,omitempty"`
	ResponseBytes int64 `json:"response_bytes,omitempty"`
}

// NewID returns a time-sortable id (UUIDv7: 48-bit millisecond time, then a per-process monotonic sequence and
// randomness), so ids sort by creation time.
func NewID() string {
	u, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return u.String()
}

// IDLen is the length of an id NewID or PutID makes.
const IDLen = 36

// PutID writes a new id, as NewID makes, into b: for callers that keep it in memory they already hold.
func PutID(b *[IDLen]byte) {
	u, err := uuid.NewV7()
	if err != nil {
		u = uuid.New()
	}
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
}

// ErrNotFound is returned by GetLog for an unknown id.
var ErrNotFound = errors.New("requestlog: not found")

// Sink is where the Writer sends batches.
type Sink interface {
	InsertLogs(ctx context.Context, recs []Record) error
}

// Retainer deletes old rows; a Sink implementing it gets Options.Retention enforced.
type Retainer interface {
	// DeleteLogsBefore deletes at most limit rows older than t and returns how many it deleted.
	DeleteLogsBefore(ctx context.Context, t time.Time, limit int) (int64, error)
}

// Reader is the query side, served by API.
type Reader interface {
	QueryLogs(ctx context.Context, f Filter) (rows []Record, nextCursor string, total int64, err error)
	GetLog(ctx context.Context, id string) (Record, error)
	Stats(ctx context.Context, from, to time.Time, interval time.Duration) ([]Bucket, error)
}

// Bucket is one interval of Stats.
type Bucket struct {
	Start        time.Time `json:"start"`
	Requests     int64     `json:"requests"`
	Errors       int64     `json:"errors"` // status ≥ 400, or an error recorded
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	CostNanoUSD  int64     `json:"cost_nano_usd"`
	// Latency percentiles of the total duration, in milliseconds.
	P50ms float64 `json:"latency_p50_ms"`
	P95ms float64 `json:"latency_p95_ms"`
	P99ms float64 `json:"latency_p99_ms"`
}

// sensitiveHeaders are never recorded, whatever the configured list says.
var sensitiveHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true,
	"X-Api-Key": true, "Api-Key": true, "X-Goog-Api-Key": true, "X-Amz-Security-Token": true,
}

// SelectHeaders copies the named request headers (canonicalised; several values joined with ", ") into a map,
// skipping credentials (Authorization, X-Api-Key, Cookie, …) even when named. Returns nil when none match.
func SelectHeaders(h http.Header, names []string) map[string]string {
	var out map[string]string
	for _, n := range names {
		k := http.CanonicalHeaderKey(n)
		if sensitiveHeaders[k] {
			continue
		}
		vs := h[k]
		if len(vs) == 0 {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(names))
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// TruncateContent returns b as a string of at most max bytes (cut at a UTF-8 boundary, with a marker saying how
// much was cut). Only the kept part is copied. max ≤ 0 means no limit.
func TruncateContent(b []byte, max int) string {
	if max <= 0 || len(b) <= max {
		return string(b)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…[truncated " + strconv.Itoa(len(b)-cut) + " bytes]"
}

// TruncatedContent is the kept first bytes of content of total bytes, as TruncateContent would show it: cut at a
// UTF-8 boundary, with a marker saying how much is missing.
func TruncatedContent(kept []byte, total int64) string {
	if int64(len(kept)) >= total {
		return string(kept)
	}
	cut := len(kept)
	for i := 1; i <= utf8.UTFMax && i <= len(kept); i++ { // drop a last rune cut in half
		if utf8.RuneStart(kept[len(kept)-i]) {
			if !utf8.FullRune(kept[len(kept)-i:]) {
				cut = len(kept) - i
			}
			break
		}
	}
	return string(kept[:cut]) + "…[truncated " + strconv.FormatInt(total-int64(cut), 10) + " bytes]"
}

func truncateString(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.Clone(s[:cut]) + "…[truncated " + strconv.Itoa(len(s)-cut) + " bytes]"
}

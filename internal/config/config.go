// Package config loads Weir's configuration: YAML or JSON, ${VAR} expansion in values, defaults, and
// validation that names the exact field path of every problem.
package config

import (
	"errors"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/weir-gateway/weir/internal/cluster"
	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/governance"
	"github.com/weir-gateway/weir/internal/mcp"
	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/internal/router"
	"github.com/weir-gateway/weir/internal/telemetry"
)

// Config is the whole file. Sections other issues add (models, governance, cluster, telemetry) live beside these.
type Config struct {
	Server Server `yaml:"server"`
	Client Client `yaml:"client"`
	// Providers are the upstreams. Each entry's shared fields are provider.Common; its other fields are its
	// type's settings, which the type decodes and checks itself.
	Providers []provider.Config `yaml:"providers"`
	// Models are aliases: what callers send as "model", routed to provider targets with fallbacks.
	Models  []router.ModelConfig `yaml:"models"`
	Routing Routing              `yaml:"routing"`
	// Governance declares customers, teams and virtual keys (seeded into the store at start), prices and the store.
	Governance governance.Config `yaml:"governance"`
	Telemetry  telemetry.Config  `yaml:"telemetry"`
	// Cluster shares rate-limit counters and spend between replicas over gossip (see docs/cluster.md).
	Cluster cluster.Config `yaml:"cluster"`
	// Responses holds the settings of the OpenAI Responses API routes (/v1/responses).
	Responses Responses `yaml:"responses"`
	// MCP is the MCP gateway: the upstream MCP servers served together at /mcp (see docs/mcp.md).
	MCP mcp.Config `yaml:"mcp"`
}

// Responses holds the settings of the OpenAI Responses API routes.
type Responses struct {
	// Retention is how long Weir keeps the responses it stores (those it translated) and its record of which
	// provider and key made each response it passed through; older ones are removed at start and then hourly.
	// Unset or 0: DefaultResponsesRetention.
	Retention Duration `yaml:"retention"`
}

// DefaultResponsesRetention is the retention of stored responses when responses.retention is not set: 30 days,
// as OpenAI keeps its own.
const DefaultResponsesRetention = 30 * 24 * time.Hour

// RetentionOrDefault is Retention, or DefaultResponsesRetention when it is not set.
func (r Responses) RetentionOrDefault() time.Duration {
	if r.Retention <= 0 {
		return DefaultResponsesRetention
	}
	return r.Retention.D()
}

// UnmarshalYAML decodes the section and refuses a negative retention.
func (r *Responses) UnmarshalYAML(n *yaml.Node) error {
	type plain Responses
	if err := n.Decode((*plain)(r)); err != nil {
		return err
	}
	if r.Retention < 0 {
		return errors.New("responses.retention: must not be negative")
	}
	return nil
}

// Routing holds the router-wide defaults for aliases that set none and for plain "provider/model" requests.
type Routing struct {
	Retries  *router.Retries       `yaml:"retries"`
	Cooldown *router.BreakerConfig `yaml:"cooldown"`
}

// Server is the HTTP listener.
type Server struct {
	Addr string `yaml:"addr"`
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxUploadBytes bounds a multipart upload (audio, images, files); uploads are spooled to disk, not memory.
	MaxUploadBytes int64 `yaml:"max_upload_bytes"`
	// ShutdownTimeout bounds how long in-flight requests and streams may drain after SIGTERM.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// DrainDelay keeps serving (with /readyz failing) this long after SIGTERM before refusing new connections,
	// so load balancers stop sending first.
	DrainDelay        Duration `yaml:"drain_delay"`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a request body, from the end of its headers; a body not finished by then gets
	// 408 and its connection is closed. UploadReadTimeout is the same for a multipart upload.
	ReadTimeout       Duration `yaml:"read_timeout"`
	UploadReadTimeout Duration `yaml:"upload_read_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	// DataDir holds the embedded SQLite database when governance.store.dsn is not set.
	DataDir string `yaml:"data_dir"`
	// AdminToken protects /api; also WEIR_ADMIN_TOKEN. Without one the admin API answers only on loopback.
	AdminToken string `yaml:"admin_token"`
	// AllowedHosts are extra Host names (besides localhost, *.localhost, 127.0.0.0/8 and [::1]) under which the
	// admin API answers loopback clients while no admin token is set, e.g. a name in /etc/hosts. Others get 403,
	// so a web page cannot reach the admin API through DNS rebinding.
	AllowedHosts []string `yaml:"allowed_hosts"`
}

// Client holds the gateway-wide request handling settings (Bifrost's "client" block).
type Client struct {
	// InitialPoolSize pre-allocates this many reusable per-request objects.
	InitialPoolSize int `yaml:"initial_pool_size"`
	// DropExcessRequests answers 429 at once when a provider's queue is full instead of waiting.
	DropExcessRequests bool `yaml:"drop_excess_requests"`
	// QueueTimeout bounds the wait for a worker when DropExcessRequests is off (then 503).
	QueueTimeout Duration `yaml:"queue_timeout"`
	// EnforceGovernanceHeader requires a valid virtual key on every inference request (else 401).
	EnforceGovernanceHeader bool `yaml:"enforce_governance_header"`
	// EnableLogging records every request in the request log (asynchronously). Default true.
	EnableLogging *bool `yaml:"enable_logging"`
	// LogContent also records messages and outputs, truncated to LogContentMaxBytes. Default false.
	LogContent         bool `yaml:"log_content"`
	LogContentMaxBytes int  `yaml:"log_content_max_bytes"`
	// LogRetentionDays deletes request-log records older than this (0: keep forever).
	LogRetentionDays int `yaml:"log_retention_days"`
	// LogHeaders lists request headers recorded with each request (credentials are never recorded).
	LogHeaders []string `yaml:"log_headers"`
}

// LoggingEnabled reports whether the request log is on.
func (c Client) LoggingEnabled() bool { return c.EnableLogging == nil || *c.EnableLogging }

// Duration is a time.Duration written as "30s" in YAML.
type Duration = confkit.Duration

// Package bedrock is the provider for Amazon Bedrock's runtime API. It speaks the Bedrock Converse dialect,
// addresses models by path (/model/{modelId}/converse) and signs every request with AWS Signature Version 4
// (service "bedrock"). Streams come back as the raw application/vnd.amazon.eventstream body; the translator
// decodes it.
package bedrock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
)

func init() { provider.Register("bedrock", New) }

// SigningService is the SigV4 service name of the Bedrock runtime.
const SigningService = "bedrock"

// Provider sends Bedrock-dialect calls to one region.
type Provider struct {
	name    string
	base    string // runtime
	control string // control plane (model lists)
	region  string
	creds   aws.CredentialsProvider // cached
	signer  *v4.Signer
	headers http.Header
	client  *http.Client
	now     func() time.Time // signing clock; tests may pin it
}

// Settings are the fields of a bedrock entry beyond the shared ones.
type Settings struct {
	// Region is the AWS region; else the AWS default region (AWS_REGION, AWS_DEFAULT_REGION, the shared config
	// profile).
	Region string `yaml:"region"`
	// AccessKeyID and SecretAccessKey (with SessionToken for temporary credentials) sign the requests; without
	// them, the AWS default credential chain does.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
}

// New builds a bedrock provider. Shared fields used: base_url (default
// https://bedrock-runtime.{region}.amazonaws.com for the runtime and https://bedrock.{region}.amazonaws.com for
// the control plane that lists models; a set base_url serves both), headers and the timeouts. keys are refused:
// Bedrock signs with AWS credentials instead.
func New(cfg provider.Common, s Settings) (provider.Provider, error) {
	var ps confkit.Problems
	if len(cfg.Keys) > 0 {
		ps = append(ps, confkit.Problem{Path: "keys",
			Msg: "not used by type bedrock (set access_key_id and secret_access_key, or use the AWS default chain)"})
	}
	switch {
	case s.AccessKeyID != "" && s.SecretAccessKey == "":
		ps = append(ps, confkit.Problem{Path: "secret_access_key", Msg: "required with access_key_id"})
	case s.AccessKeyID == "" && s.SecretAccessKey != "":
		ps = append(ps, confkit.Problem{Path: "access_key_id", Msg: "required with secret_access_key"})
	case s.AccessKeyID == "" && s.SessionToken != "":
		ps = append(ps, confkit.Problem{Path: "session_token", Msg: "only with access_key_id and secret_access_key"})
	}
	if len(ps) > 0 {
		return nil, ps
	}

	// The AWS default configuration supplies the region when the config names none, and the credentials when
	// it holds no keys. Loading reads the environment and the shared files only; nothing is fetched yet.
	region := s.Region
	var ac aws.Config
	if region == "" || s.AccessKeyID == "" {
		var opts []func(*awsconfig.LoadOptions) error
		if region != "" {
			opts = append(opts, awsconfig.WithRegion(region))
		}
		var err error
		ac, err = awsconfig.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			return nil, confkit.Problems{{Path: "", Msg: "loading the AWS default configuration: " + err.Error()}}
		}
		region = ac.Region
	}
	if region == "" {
		ps = append(ps, confkit.Problem{Path: "region", Msg: "required for type bedrock: set it here, or set AWS_REGION or AWS_DEFAULT_REGION, or region in the shared AWS config profile"})
	}
	base, control := cfg.BaseURL, cfg.BaseURL
	if base == "" && region != "" {
		base = "https://bedrock-runtime." + region + ".amazonaws.com"
		control = "https://bedrock." + region + ".amazonaws.com"
	}
	if base != "" {
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps = append(ps, confkit.Problem{Path: "base_url", Msg: fmt.Sprintf("%q is not an http(s) URL", base)})
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}

	var creds aws.CredentialsProvider
	if s.AccessKeyID != "" {
		creds = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(s.AccessKeyID, s.SecretAccessKey, s.SessionToken))
	} else {
		// The default chain: environment, shared config and credentials files (profiles, SSO), web identity,
		// ECS and EC2 roles. Credentials are fetched on first use and then cached.
		if ac.Credentials == nil {
			return nil, confkit.Problems{{Path: "access_key_id", Msg: "no AWS credentials configured (set access_key_id and secret_access_key, or configure the AWS default chain)"}}
		}
		creds = ac.Credentials
		if _, cached := creds.(*aws.CredentialsCache); !cached {
			creds = aws.NewCredentialsCache(creds)
		}
	}
	p := &Provider{
		name:    cfg.Name,
		base:    strings.TrimRight(base, "/"),
		control: strings.TrimRight(control, "/"),
		region:  region,
		creds:   creds,
		signer:  v4.NewSigner(),
		headers: provider.ConfiguredHeader(cfg.Headers),
		client:  provider.NewHTTPClient(cfg),
		now:     time.Now,
	}
	return p, nil
}

// Name is the configured name.
func (p *Provider) Name() string { return p.name }

// Dialect is Bedrock Converse.
func (p *Provider) Dialect() dialects.Dialect { return dialects.Bedrock }

// Supports reports chat (Converse), embeddings (InvokeModel with the embedding model's native body) and the
// native /bedrock routes (SendRaw).
func (p *Provider) Supports(op provider.Op) bool {
	return op == provider.OpChat || op == provider.OpEmbeddings || op == provider.OpNative
}

// URL returns the endpoint of op for model.
func (p *Provider) URL(op provider.Op, model string, stream bool) (string, error) {
	var action string
	switch op {
	case provider.OpChat:
		action = "/converse"
		if stream {
			action = "/converse-stream"
		}
	case provider.OpEmbeddings:
		action = "/invoke"
	default:
		return "", fmt.Errorf("has no %s endpoint", op)
	}
	if model == "" {
		return "", fmt.Errorf("no model given")
	}
	return p.base + "/model/" + escapeLabel(model) + action, nil
}

var (
	jsonCT = []string{"application/json"}
)

// Send signs and posts the call's body. Configured and call headers are added before signing, so they are
// covered by the signature.
func (p *Provider) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	u, err := p.URL(c.Op, c.Model, c.Stream)
	if err != nil {
		return nil, fmt.Errorf("provider %s (bedrock): %w", p.name, err)
	}
	// No text/event-stream: Bedrock streams in its own event-stream encoding.
	req, err := provider.NewJSONPost(ctx, u, c.Body, false, p.headers, c.Header)
	if err != nil {
		return nil, err
	}
	// InvokeModel is asked for JSON unless the configured or the call's headers ask for another type.
	if _, ok := req.Header["Accept"]; !ok && c.Op == provider.OpEmbeddings {
		req.Header["Accept"] = jsonCT
	}
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider %s (bedrock): AWS credentials: %w", p.name, err)
	}
	sum := sha256.Sum256(c.Body)
	if err := p.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), SigningService, p.region, p.now()); err != nil {
		return nil, fmt.Errorf("provider %s (bedrock): signing: %w", p.name, err)
	}
	return p.client.Do(req)
}

// escapeLabel percent-encodes everything but RFC 3986 unreserved characters, as the AWS SDKs do for a
// {modelId} path label: "anthropic.claude-3-5-sonnet-20240620-v1:0" becomes "...-v1%3A0", and an
// inference-profile ARN keeps its '/' inside one segment as %2F.
func escapeLabel(s string) string {
	const hexd = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexd[c>>4], hexd[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

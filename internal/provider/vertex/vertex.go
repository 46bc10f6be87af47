// Package vertex is the provider for Google Vertex AI. One Vertex provider serves two dialects: Google's
// Gemini models through generateContent, and Anthropic's Claude models (any model whose id starts with
// "claude") through rawPredict, which takes an Anthropic Messages body with "anthropic_version" in it and the
// model in the URL instead of the body. Dialect reports Gemini; DialectFor reports the dialect per model.
//
// Authentication is an OAuth2 bearer token for the cloud-platform scope, minted from a service account (or
// any Google credential JSON) and cached until shortly before it expires.
package vertex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/provider"
)

func init() { provider.Register("vertex", New) }

const (
	// Scope is the OAuth2 scope requested for every credential.
	Scope = "https://www.googleapis.com/auth/cloud-platform"
	// AnthropicVersion is put in Claude bodies that carry no anthropic_version.
	AnthropicVersion = "vertex-2023-10-16"
	// DefaultAPIVersion is the Vertex API version in the URL.
	DefaultAPIVersion = "v1"
)

// Provider sends Gemini- and Anthropic-dialect calls to one Vertex AI project and region.
type Provider struct {
	name    string
	base    string // https://{host}/v1/projects/{project}/locations/{region}
	tokens  oauth2.TokenSource
	byKey   map[string]oauth2.TokenSource // per keys[].value holding a credential JSON
	headers http.Header
	client  *http.Client
}

// Settings are the fields of a vertex entry beyond the shared ones.
type Settings struct {
	// Region is required; "global", "us" and "eu" map to their special hosts.
	Region string `yaml:"region"`
	// Project is required unless the credentials name one.
	Project string `yaml:"project"`
	// CredentialsFile names a Google credential JSON (a service account).
	CredentialsFile string `yaml:"credentials_file"`
	// APIVersion is the version in the URL: v1 (DefaultAPIVersion) or v1beta1.
	APIVersion string `yaml:"api_version"`
}

// New builds a vertex provider. Shared fields used: keys (each value a credential JSON, chosen per call by
// weight), base_url (replaces the host, or the whole prefix when it contains "/projects/"), headers and the
// timeouts.
//
// Credentials, first found wins: credentials_file; the keys' JSON values; the file named by
// GOOGLE_APPLICATION_CREDENTIALS; Application Default Credentials (gcloud's file, the metadata server).
func New(cfg provider.Common, s Settings) (provider.Provider, error) {
	var ps confkit.Problems
	if s.Region == "" {
		ps = append(ps, confkit.Problem{Path: "region", Msg: "required for type vertex (e.g. us-central1, europe-west4, global)"})
	} else if strings.ContainsAny(s.Region, "/?#:@ ") {
		ps = append(ps, confkit.Problem{Path: "region", Msg: fmt.Sprintf("%q is not a region", s.Region)})
	}
	if cfg.BaseURL != "" {
		if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps = append(ps, confkit.Problem{Path: "base_url", Msg: fmt.Sprintf("%q is not an http(s) URL", cfg.BaseURL)})
		}
	}

	// Credentials. Token sources are built with a background context: they outlive any request.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	var (
		tokens    oauth2.TokenSource
		projectID string
		byKey     map[string]oauth2.TokenSource
	)
	if s.CredentialsFile != "" {
		b, err := os.ReadFile(s.CredentialsFile)
		if err != nil {
			ps = append(ps, confkit.Problem{Path: "credentials_file", Msg: err.Error()})
		} else if c, err := fromJSON(ctx, b); err != nil {
			ps = append(ps, confkit.Problem{Path: "credentials_file", Msg: err.Error()})
		} else {
			tokens, projectID = c.TokenSource, c.ProjectID
		}
	}
	for i, k := range cfg.Keys {
		if k.Value == "" {
			continue
		}
		c, err := fromJSON(ctx, []byte(k.Value))
		if err != nil {
			// Never echo the value: it holds a private key.
			ps = append(ps, confkit.Problem{Path: fmt.Sprintf("keys[%d].value", i), Msg: "must be a Google credential JSON (service account): " + err.Error()})
			continue
		}
		if byKey == nil {
			byKey = map[string]oauth2.TokenSource{}
		}
		byKey[k.Value] = oauth2.ReuseTokenSource(nil, c.TokenSource)
		if tokens == nil {
			tokens, projectID = byKey[k.Value], c.ProjectID
		}
	}
	if tokens == nil && len(ps) == 0 {
		if f := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); f != "" {
			b, err := os.ReadFile(f)
			if err == nil {
				var c *google.Credentials
				if c, err = fromJSON(ctx, b); err == nil {
					tokens, projectID = c.TokenSource, c.ProjectID
				}
			}
			if err != nil {
				ps = append(ps, confkit.Problem{Path: "credentials_file", Msg: "GOOGLE_APPLICATION_CREDENTIALS: " + err.Error()})
			}
		} else if c, err := google.FindDefaultCredentials(ctx, Scope); err != nil {
			ps = append(ps, confkit.Problem{Path: "credentials_file", Msg: "no Google credentials: set credentials_file, a key holding the service-account JSON, or GOOGLE_APPLICATION_CREDENTIALS (" + err.Error() + ")"})
		} else {
			tokens, projectID = c.TokenSource, c.ProjectID
		}
	}
	project := s.Project
	if project == "" {
		project = projectID
	}
	if project == "" && len(ps) == 0 {
		ps = append(ps, confkit.Problem{Path: "project", Msg: "required for type vertex"})
	} else if strings.ContainsAny(project, "/?#") {
		ps = append(ps, confkit.Problem{Path: "project", Msg: fmt.Sprintf("%q is not a project id", project)})
	}
	apiVersion := s.APIVersion
	if apiVersion == "" {
		apiVersion = DefaultAPIVersion
	} else if apiVersion != "v1" && apiVersion != "v1beta1" {
		ps = append(ps, confkit.Problem{Path: "api_version", Msg: fmt.Sprintf("%q is not a Vertex API version (v1, v1beta1)", apiVersion)})
	}
	if len(ps) > 0 {
		return nil, ps
	}

	p := &Provider{
		name:    cfg.Name,
		base:    baseURL(cfg.BaseURL, apiVersion, project, s.Region),
		tokens:  oauth2.ReuseTokenSource(nil, tokens),
		byKey:   byKey,
		headers: provider.ConfiguredHeader(cfg.Headers),
		client:  provider.NewHTTPClient(cfg),
	}
	return p, nil
}

// baseURL is the project-and-location prefix every model path hangs off.
func baseURL(override, version, project, region string) string {
	if override != "" {
		override = strings.TrimRight(override, "/")
		if strings.Contains(override, "/projects/") {
			return override
		}
		return override + "/" + version + "/projects/" + project + "/locations/" + region
	}
	host := region + "-aiplatform.googleapis.com"
	switch region {
	case "global":
		host = "aiplatform.googleapis.com"
	case "us", "eu": // multi-region endpoints
		host = "aiplatform." + region + ".rep.googleapis.com"
	}
	return "https://" + host + "/" + version + "/projects/" + project + "/locations/" + region
}

// credential types accepted in configuration: all are the operator's own files, not caller input.
var credTypes = map[string]google.CredentialsType{
	"service_account":                  google.ServiceAccount,
	"authorized_user":                  google.AuthorizedUser,
	"external_account":                 google.ExternalAccount,
	"external_account_authorized_user": google.ExternalAccountAuthorizedUser,
	"impersonated_service_account":     google.ImpersonatedServiceAccount,
}

func fromJSON(ctx context.Context, b []byte) (*google.Credentials, error) {
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	t, ok := credTypes[f.Type]
	if !ok {
		return nil, fmt.Errorf("unsupported credential type %q", f.Type)
	}
	return google.CredentialsFromJSONWithType(ctx, b, t, Scope)
}

// Name is the configured name.
func (p *Provider) Name() string { return p.name }

// Dialect is Gemini, the dialect of Google's own models. Use DialectFor for the dialect of one model.
func (p *Provider) Dialect() dialects.Dialect { return dialects.Gemini }

// DialectFor reports the dialect Send expects and answers in for model: Anthropic for Claude models
// ("claude-..."), Gemini for everything else.
func (p *Provider) DialectFor(model string) dialects.Dialect {
	if isClaude(model) {
		return dialects.Anthropic
	}
	return dialects.Gemini
}

func isClaude(model string) bool { return strings.HasPrefix(model, "claude") }

// Supports reports chat, messages (Claude models) and count_tokens, and the native /gemini routes and image
// generations on Imagen and Gemini image models (SendRaw, Google's models only).
func (p *Provider) Supports(op provider.Op) bool {
	switch op {
	case provider.OpChat, provider.OpMessages, provider.OpCountTokens, provider.OpNative, provider.OpImages:
		return true
	}
	return false
}

// URL returns the endpoint of op for model.
func (p *Provider) URL(op provider.Op, model string, stream bool) (string, error) {
	if model == "" {
		return "", fmt.Errorf("no model given")
	}
	if isClaude(model) {
		switch op {
		case provider.OpChat, provider.OpMessages:
			if stream {
				return p.base + "/publishers/anthropic/models/" + url.PathEscape(model) + ":streamRawPredict", nil
			}
			return p.base + "/publishers/anthropic/models/" + url.PathEscape(model) + ":rawPredict", nil
		case provider.OpCountTokens:
			return p.base + "/publishers/anthropic/models/count-tokens:rawPredict", nil
		}
		return "", fmt.Errorf("has no %s endpoint for Claude models", op)
	}
	switch op {
	case provider.OpChat:
		if stream {
			return p.base + "/publishers/google/models/" + url.PathEscape(model) + ":streamGenerateContent?alt=sse", nil
		}
		return p.base + "/publishers/google/models/" + url.PathEscape(model) + ":generateContent", nil
	case provider.OpCountTokens:
		return p.base + "/publishers/google/models/" + url.PathEscape(model) + ":countTokens", nil
	}
	return "", fmt.Errorf("has no %s endpoint for Gemini models", op)
}

// Send posts the call's body with a bearer token. For Claude models the body gets "anthropic_version"
// (vertex-2023-10-16) unless it has one, and loses "model" (messages only: count-tokens needs it); the
// call's body itself is not modified.
func (p *Provider) Send(ctx context.Context, c *provider.Call) (*http.Response, error) {
	u, err := p.URL(c.Op, c.Model, c.Stream)
	if err != nil {
		return nil, fmt.Errorf("provider %s (vertex): %w", p.name, err)
	}
	body := c.Body
	if isClaude(c.Model) {
		if body, err = anthropicBody(body, c.Op != provider.OpCountTokens); err != nil {
			return nil, fmt.Errorf("provider %s (vertex): %w", p.name, err)
		}
	}
	ts := p.tokens
	if c.Key != nil {
		if k, ok := p.byKey[c.Key.Value]; ok {
			ts = k
		}
	}
	tok, err := ts.Token()
	if err != nil {
		return nil, fmt.Errorf("provider %s (vertex): getting an access token: %w", p.name, err)
	}
	req, err := provider.NewJSONPost(ctx, u, body, c.Stream, p.headers, c.Header)
	if err != nil {
		return nil, err
	}
	req.Header["Authorization"] = []string{tok.Type() + " " + tok.AccessToken}
	return p.client.Do(req)
}

// anthropicBody adapts a Messages body to rawPredict: anthropic_version set, model removed.
func anthropicBody(b []byte, dropModel bool) ([]byte, error) {
	r := gjson.GetManyBytes(b, "anthropic_version", "model")
	if r[0].Exists() && (!dropModel || !r[1].Exists()) {
		return b, nil
	}
	var err error
	out := b
	if !r[0].Exists() {
		if out, err = sjson.SetBytes(out, "anthropic_version", AnthropicVersion); err != nil {
			return nil, err
		}
	}
	if dropModel && r[1].Exists() {
		if out, err = sjson.DeleteBytes(out, "model"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

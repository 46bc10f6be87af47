package bedrock

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/weir-gateway/weir/internal/provider"
)

// emptySHA256 is the SigV4 payload hash of a GET's empty body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// ListModels asks the control plane for the foundation models that can be called on demand
// (ListFoundationModels) and the inference profiles (ListInferenceProfiles, paged), signed like the runtime
// calls. Models that are served only through a profile are left out: calling them by their own id fails. The
// key is unused (SigV4 credentials sign the calls).
func (p *Provider) ListModels(ctx context.Context, _ *provider.Key) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var fm struct {
		ModelSummaries []struct {
			ModelID                 string   `json:"modelId"`
			InferenceTypesSupported []string `json:"inferenceTypesSupported"`
		} `json:"modelSummaries"`
	}
	if err := p.getJSON(ctx, "/foundation-models", nil, &fm); err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range fm.ModelSummaries {
		if m.ModelID != "" && onDemand(m.InferenceTypesSupported) {
			ids = append(ids, m.ModelID)
		}
	}
	profiles, err := provider.ListPages(ctx, func(ctx context.Context, token string) ([]string, string, error) {
		q := url.Values{"maxResults": {"1000"}}
		if token != "" {
			q.Set("nextToken", token)
		}
		var ip struct {
			InferenceProfileSummaries []struct {
				InferenceProfileID string `json:"inferenceProfileId"`
			} `json:"inferenceProfileSummaries"`
			NextToken string `json:"nextToken"`
		}
		// Profiles are a separate IAM permission (bedrock:ListInferenceProfiles); without it the foundation
		// models still list, and so do the profiles of the pages before.
		if err := p.getJSON(ctx, "/inference-profiles", q, &ip); err != nil {
			return nil, "", nil
		}
		var ids []string
		for _, s := range ip.InferenceProfileSummaries {
			if s.InferenceProfileID != "" {
				ids = append(ids, s.InferenceProfileID)
			}
		}
		return ids, ip.NextToken, nil
	})
	if err != nil {
		return nil, err
	}
	return append(ids, profiles...), nil
}

// onDemand reports whether a model can be invoked by its own id; an absent list is taken as yes.
func onDemand(types []string) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if t == "ON_DEMAND" {
			return true
		}
	}
	return false
}

// getJSON signs a GET of the control plane's path and decodes the JSON answer into v.
func (p *Provider) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	u := p.control + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := provider.NewGet(ctx, u, p.headers)
	if err != nil {
		return err
	}
	req.Header["Accept"] = jsonCT
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("provider %s (bedrock): AWS credentials: %w", p.name, err)
	}
	if err := p.signer.SignHTTP(ctx, creds, req, emptySHA256, SigningService, p.region, p.now()); err != nil {
		return fmt.Errorf("provider %s (bedrock): signing: %w", p.name, err)
	}
	return provider.GetJSON(p.client, req, v)
}

package bedrock

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/weir-gateway/weir/internal/provider"
	"github.com/weir-gateway/weir/test/mockupstream"
)

// TestListModels lists the mock's control plane: on-demand foundation models and inference profiles, signed
// with the runtime's credentials and region; a wrong secret is an error, not an empty list.
func TestListModels(t *testing.T) {
	isolateAWS(t)
	m := mockupstream.New(mockupstream.Options{AWSAccessKeyID: akid, AWSSecretKey: secret, AWSRegion: region})
	ts := httptest.NewServer(m)
	t.Cleanup(ts.Close)

	t.Run("static keys", func(t *testing.T) {
		p := build(t, entry{Common: provider.Common{BaseURL: ts.URL}, Settings: Settings{Region: region, AccessKeyID: akid, SecretAccessKey: secret}})
		ids, err := p.ListModels(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"mock-model", "echo", "us.mock-model", "us.mock-profile-only"} {
			if !slices.Contains(ids, want) {
				t.Errorf("%q missing from %v", want, ids)
			}
		}
		if slices.Contains(ids, "mock-profile-only") {
			t.Errorf("a profile-only model is listed: %v", ids)
		}
		if got := m.Stats().ByPath["/inference-profiles"]; got != 1 {
			t.Errorf("inference-profiles asked %d times", got)
		}
	})
	t.Run("region from AWS_REGION", func(t *testing.T) {
		t.Setenv("AWS_REGION", region)
		p := build(t, entry{Common: provider.Common{BaseURL: ts.URL}, Settings: Settings{AccessKeyID: akid, SecretAccessKey: secret}})
		if ids, err := p.ListModels(context.Background(), nil); err != nil || !slices.Contains(ids, "mock-model") {
			t.Fatalf("%v %v", ids, err)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		p := build(t, entry{Common: provider.Common{BaseURL: ts.URL}, Settings: Settings{Region: region, AccessKeyID: akid, SecretAccessKey: "nope"}})
		if ids, err := p.ListModels(context.Background(), nil); err == nil {
			t.Fatalf("no error: %v", ids)
		}
	})
}

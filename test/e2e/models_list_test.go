package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weir-gateway/weir/test/mockupstream"
)

// awsEnv isolates the AWS default chain from the machine's own files and names only a region, as a deployment
// that sets AWS_REGION does.
func awsEnv(t *testing.T, region string) []string {
	dir := t.TempDir()
	return []string{"AWS_REGION=" + region, "AWS_DEFAULT_REGION=", "AWS_PROFILE=", "AWS_DEFAULT_PROFILE=",
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true"}
}

// TestModelsListedFromUpstreams: Gemini and Bedrock providers without models: list their upstream's models in
// /v1/models (Gemini's GET models, Bedrock's signed control plane), a provider's models: overrides its list,
// and Bedrock takes its region from AWS_REGION when the config names none.
func TestModelsListedFromUpstreams(t *testing.T) {
	_, url := startUpstream(t, mockupstream.Options{AWSAccessKeyID: awsKeyID, AWSSecretKey: awsSecret, AWSRegion: "us-east-1"})
	cfg := fmt.Sprintf(`
providers:
  - { name: gem, type: gemini, base_url: %[1]s, keys: [{value: gk-test}] }
  - { name: gemv, type: gemini, base_url: %[1]s/v1beta, keys: [{value: gk-test}] }
  - { name: aws, type: bedrock, base_url: %[1]s, access_key_id: %[2]s, secret_access_key: %[3]s }
  - { name: awsfixed, type: bedrock, base_url: %[1]s, access_key_id: %[2]s, secret_access_key: %[3]s, models: [only-this] }
`, url, awsKeyID, awsSecret)
	env := awsEnv(t, "us-east-1")

	path := filepath.Join(t.TempDir(), "weir.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	check := exec.Command(weirBin, "config", "check", path)
	check.Env = append(os.Environ(), env...)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("config check with AWS_REGION and no region: %v\n%s", err, out)
	}

	g := startGateway(t, cfg, env...)
	var ids []string
	waitUntil(t, "upstream model lists", func() bool {
		_, _, body := get(t, g.URL+"/v1/models")
		var list struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if json.Unmarshal([]byte(body), &list) != nil {
			return false
		}
		ids = ids[:0]
		for _, m := range list.Data {
			ids = append(ids, m.ID)
		}
		return slices.Contains(ids, "gem/mock-model") && slices.Contains(ids, "aws/mock-model")
	})
	for _, want := range []string{"gem/mock-model", "gemv/mock-model", "aws/mock-model", "aws/us.mock-model", "awsfixed/only-this"} {
		if !slices.Contains(ids, want) {
			t.Errorf("%s missing from %v", want, ids)
		}
	}
	for _, id := range ids {
		if id == "aws/mock-profile-only" || (strings.HasPrefix(id, "awsfixed/") && id != "awsfixed/only-this") {
			t.Errorf("%s listed: %v", id, ids)
		}
	}
}

// TestBedrockNoRegionAnywhere: without a region in the config or the AWS default chain, config check names the
// field.
func TestBedrockNoRegionAnywhere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weir.yaml")
	cfg := "providers:\n  - { name: aws, type: bedrock, access_key_id: AKID, secret_access_key: s }\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	check := exec.Command(weirBin, "config", "check", path)
	check.Env = append(os.Environ(), awsEnv(t, "")...)
	out, err := check.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "providers[0].region: required for type bedrock") {
		t.Fatalf("%v\n%s", err, out)
	}
}

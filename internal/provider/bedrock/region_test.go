package bedrock

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/weir-gateway/weir/internal/confkit"
	"github.com/weir-gateway/weir/internal/provider"
)

// isolateAWS points the AWS default chain at empty files and clears the region variables, so the test sees only
// what it sets.
func isolateAWS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return dir
}

// TestRegionResolution: the config's region wins, else the SDK's default chain (AWS_REGION, AWS_DEFAULT_REGION,
// the shared config profile) supplies it, and only when none names one is it a config problem.
func TestRegionResolution(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfgRegion  string
		env        map[string]string
		configFile string
		want       string // region, or the problem when wantErr
		wantErr    bool
	}{
		{name: "config field", cfgRegion: "eu-west-1", env: map[string]string{"AWS_REGION": "us-east-2"}, want: "eu-west-1"},
		{name: "AWS_REGION", env: map[string]string{"AWS_REGION": "us-east-2"}, want: "us-east-2"},
		{name: "AWS_DEFAULT_REGION", env: map[string]string{"AWS_DEFAULT_REGION": "ap-south-1"}, want: "ap-south-1"},
		{name: "AWS_REGION over AWS_DEFAULT_REGION", env: map[string]string{"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "ap-south-1"}, want: "us-east-2"},
		{name: "shared config", configFile: "[default]\nregion = sa-east-1\n", want: "sa-east-1"},
		{name: "shared config profile", env: map[string]string{"AWS_PROFILE": "work"},
			configFile: "[default]\nregion = sa-east-1\n[profile work]\nregion = ca-central-1\n", want: "ca-central-1"},
		{name: "none", wantErr: true,
			want: "region: required for type bedrock: set it here, or set AWS_REGION or AWS_DEFAULT_REGION, or region in the shared AWS config profile"},
	} {
		for _, static := range []bool{true, false} {
			name := tc.name + "/default chain"
			if static {
				name = tc.name + "/static keys"
			}
			t.Run(name, func(t *testing.T) {
				dir := isolateAWS(t)
				for k, v := range tc.env {
					t.Setenv(k, v)
				}
				if tc.configFile != "" {
					if err := os.WriteFile(filepath.Join(dir, "config"), []byte(tc.configFile), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				cfg := entry{Common: provider.Common{Type: "bedrock", Name: "aws"}, Settings: Settings{Region: tc.cfgRegion}}
				if static {
					cfg.AccessKeyID, cfg.SecretAccessKey = akid, secret
				} else {
					t.Setenv("AWS_ACCESS_KEY_ID", akid)
					t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
				}
				p, err := New(cfg.Common, cfg.Settings)
				if tc.wantErr {
					if ps, ok := err.(confkit.Problems); !ok || ps.Error() != tc.want {
						t.Fatalf("got %v, want %q", err, tc.want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				bp := p.(*Provider)
				if bp.region != tc.want {
					t.Fatalf("region %q, want %q", bp.region, tc.want)
				}
				if want := "https://bedrock-runtime." + tc.want + ".amazonaws.com"; bp.base != want {
					t.Fatalf("base %q, want %q", bp.base, want)
				}
				if want := "https://bedrock." + tc.want + ".amazonaws.com"; bp.control != want {
					t.Fatalf("control %q, want %q", bp.control, want)
				}
			})
		}
	}
}

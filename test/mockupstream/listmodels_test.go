package mockupstream

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/tidwall/gjson"
)

func TestGeminiModelList(t *testing.T) {
	ts, _ := start(t, Options{APIKey: "gk"})
	for _, tc := range []struct {
		name, path string
		hdr        []string
		check      string
		want       string
	}{
		{"header", "/v1beta/models?pageSize=1000", []string{"x-goog-api-key: gk"}, "models.0.name", "models/mock-model"},
		{"query key", "/v1beta/models?key=gk", nil, "models.0.supportedGenerationMethods.0", "generateContent"},
		{"no version prefix", "/models", []string{"x-goog-api-key: gk"}, "models.#", "12"},
		{"first page", "/v1beta/models?pageSize=5", []string{"x-goog-api-key: gk"}, "nextPageToken", "5"},
		{"second page", "/v1beta/models?pageSize=5&pageToken=5", []string{"x-goog-api-key: gk"}, "models.0.name", "models/fail-500"},
		{"last page", "/v1beta/models?pageSize=5&pageToken=10", []string{"x-goog-api-key: gk"}, "nextPageToken", ""},
		{"openai unchanged", "/v1/models", []string{"Authorization: Bearer gk"}, "data.0.id", "mock-model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := okDo(t, http.MethodGet, ts.URL+tc.path, "", tc.hdr...)
			if got := r.Get(tc.check).String(); got != tc.want {
				t.Fatalf("%s = %q, want %q: %s", tc.check, got, tc.want, r.Raw)
			}
		})
	}
	if st, b, _ := send(t, http.MethodGet, ts.URL+"/v1beta/models", "", "x-goog-api-key: wrong"); st != 401 {
		t.Fatalf("wrong key: %d %s", st, b)
	}
}

// signedGet builds a control-plane GET signed with the SDK's SigV4 signer.
func signedGet(t *testing.T, url, secret string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	creds := aws.Credentials{AccessKeyID: "AKIDMOCK", SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, empty, "bedrock", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestBedrockControlPlane(t *testing.T) {
	ts, _ := start(t, Options{AWSAccessKeyID: "AKIDMOCK", AWSSecretKey: "s3cret", AWSRegion: "us-east-1"})
	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		check  string
		want   string
	}{
		{"foundation models", signedGet(t, ts.URL+"/foundation-models", "s3cret"), 200, "modelSummaries.0.modelId", "mock-model"},
		{"on demand", signedGet(t, ts.URL+"/foundation-models", "s3cret"), 200, "modelSummaries.0.inferenceTypesSupported.0", "ON_DEMAND"},
		{"profile only", signedGet(t, ts.URL+"/foundation-models", "s3cret"), 200, `modelSummaries.#(modelId=="mock-profile-only").inferenceTypesSupported.0`, "INFERENCE_PROFILE"},
		{"profiles", signedGet(t, ts.URL+"/inference-profiles", "s3cret"), 200, "inferenceProfileSummaries.#", "2"},
		{"profiles paged", signedGet(t, ts.URL+"/inference-profiles?maxResults=1", "s3cret"), 200, "nextToken", "1"},
		{"profiles page 2", signedGet(t, ts.URL+"/inference-profiles?maxResults=1&nextToken=1", "s3cret"), 200, "inferenceProfileSummaries.0.inferenceProfileId", "us.mock-profile-only"},
		{"wrong secret", signedGet(t, ts.URL+"/foundation-models", "nope"), 403, "", ""},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, ts.URL+"/inference-profiles", nil)
			return r
		}(), 403, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := http.DefaultClient.Do(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("%d %s", res.StatusCode, b)
			}
			if tc.status != 200 {
				if res.Header.Get("X-Amzn-ErrorType") == "" && !strings.Contains(string(b), "Exception") {
					t.Fatalf("not an AWS error: %v %s", res.Header, b)
				}
				return
			}
			if got := gjson.GetBytes(b, tc.check).String(); got != tc.want {
				t.Fatalf("%s = %q, want %q: %s", tc.check, got, tc.want, b)
			}
		})
	}
}

package mockupstream

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SigV4 verification for Bedrock. Rather than reimplementing the canonical
// request, we rebuild the request from exactly the headers the client says
// it signed, sign it again with the SDK's signer and the configured secret,
// and compare signatures — so a gateway signing bug fails here like it would
// against AWS.

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDate      = "20060102T150405Z"
	maxClockSkew = 15 * time.Minute // AWS's own tolerance
)

// awsError carries the exception name AWS would put in X-Amzn-ErrorType.
type awsError struct{ typ, msg string }

func (e *awsError) Error() string { return e.msg }

func awsErrorType(err error) string {
	var ae *awsError
	if errors.As(err, &ae) {
		return ae.typ
	}
	return "AccessDeniedException"
}

type sigParts struct {
	keyID, date, region, service string
	signedHeaders                []string
	signature                    string
}

// parseAuthorization splits "AWS4-HMAC-SHA256 Credential=AKID/date/region/
// service/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (sigParts, bool) {
	var p sigParts
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return p, false
	}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			scope := strings.Split(v, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return p, false
			}
			p.keyID, p.date, p.region, p.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			p.signedHeaders = strings.Split(v, ";")
		case "Signature":
			p.signature = v
		}
	}
	return p, p.keyID != "" && p.signature != "" && len(p.signedHeaders) > 0
}

func (s *Server) verifySigV4(r *http.Request, body []byte) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return &awsError{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	p, ok := parseAuthorization(auth)
	if !ok {
		return &awsError{"IncompleteSignatureException", "Authorization header is not a valid SigV4 header"}
	}
	if p.keyID != s.o.AWSAccessKeyID {
		return &awsError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if p.service != "bedrock" {
		return &awsError{"InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'."}
	}
	if s.o.AWSRegion != "" && p.region != s.o.AWSRegion {
		return &awsError{"InvalidSignatureException", "Credential should be scoped to a valid region, not '" + p.region + "'."}
	}
	t, err := time.Parse(amzDate, r.Header.Get("X-Amz-Date"))
	if err != nil || t.Format("20060102") != p.date {
		return &awsError{"IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope"}
	}
	if d := time.Since(t); d > maxClockSkew || d < -maxClockSkew {
		return &awsError{"InvalidSignatureException", "Signature expired"}
	}

	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		if h != "UNSIGNED-PAYLOAD" {
			return &awsError{"InvalidSignatureException", "The provided X-Amz-Content-Sha256 does not match the body"}
		}
		payloadHash = h
	}

	// Rebuild with only the signed headers; the signer adds host, content-
	// length (when > 0) and X-Amz-Date itself.
	req, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return &awsError{"InvalidSignatureException", err.Error()}
	}
	req.Host = r.Host
	for _, h := range p.signedHeaders {
		switch h {
		case "host", "x-amz-date":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: s.o.AWSAccessKeyID, SecretAccessKey: s.o.AWSSecretKey}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, req, payloadHash, p.service, p.region, t); err != nil {
		return &awsError{"InvalidSignatureException", err.Error()}
	}
	want, ok := parseAuthorization(req.Header.Get("Authorization"))
	if !ok || strings.Join(want.signedHeaders, ";") != strings.Join(p.signedHeaders, ";") ||
		subtle.ConstantTimeCompare([]byte(want.signature), []byte(p.signature)) != 1 {
		return &awsError{"InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return nil
}

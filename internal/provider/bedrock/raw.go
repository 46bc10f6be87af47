package bedrock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/weir-gateway/weir/internal/provider"
)

// maxRawBody bounds the body SendRaw reads to sign: the gateway has already bounded it by server.max_body_bytes.
const maxRawBody = 64 << 20

var eventStreamAccept = []string{"application/vnd.amazon.eventstream"}

// rawActions are the runtime actions the native /bedrock route may call.
var rawActions = map[string]bool{"converse": true, "converse-stream": true, "invoke": true, "invoke-with-response-stream": true}

// SendRaw passes a call to the runtime API (the /bedrock native route: Converse, ConverseStream, InvokeModel,
// InvokeModelWithResponseStream) through as it is, signed with the provider's own credentials. c.Path is
// "/model/{modelId}/{action}"; the model id is re-escaped as Send escapes it. The body is read whole, since its
// hash is part of the signature. The caller's own credentials never reach the upstream: only content type,
// accept, trace context and Bedrock's X-Amzn-Bedrock-* request options are taken from c.Header.
func (p *Provider) SendRaw(ctx context.Context, c *provider.RawCall) (*http.Response, error) {
	path, action, status, err := rawPath(c.Path)
	if err != nil {
		return refusal(status, err.Error()), nil
	}
	var body []byte
	if c.Body != nil {
		if body, err = io.ReadAll(io.LimitReader(c.Body, maxRawBody+1)); err != nil {
			return nil, fmt.Errorf("provider %s (bedrock): reading the body: %w", p.name, err)
		}
		if len(body) > maxRawBody {
			return refusal(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", maxRawBody)), nil
		}
	}
	method := c.Method
	if method == "" {
		method = http.MethodPost
	}
	// No query: none of the actions takes one, and a caller's presigned X-Amz-* parameters must not go upstream.
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	for k, v := range c.Header {
		if k == "Content-Type" || k == "Accept" || k == "Traceparent" || k == "Tracestate" || strings.HasPrefix(k, "X-Amzn-Bedrock-") {
			h[k] = v
		}
	}
	if len(h["Content-Type"]) == 0 {
		h["Content-Type"] = jsonCT
	}
	if strings.HasSuffix(action, "-stream") {
		h["Accept"] = eventStreamAccept // the answer is an event stream whatever the caller asked
	} else if len(h["Accept"]) == 0 {
		h["Accept"] = jsonCT
	}
	for k, v := range p.headers {
		h[k] = v
	}
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider %s (bedrock): AWS credentials: %w", p.name, err)
	}
	sum := sha256.Sum256(body)
	if err := p.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), SigningService, p.region, p.now()); err != nil {
		return nil, fmt.Errorf("provider %s (bedrock): signing: %w", p.name, err)
	}
	return p.client.Do(req)
}

// rawPath checks a native call's path, /model/{modelId}/{action}, and returns it with the model id escaped as
// the AWS SDKs escape a path label (so "v1:0" is sent as "v1%3A0" and an ARN's '/' as "%2F"), and the action; a
// path it refuses comes with the status to answer.
func rawPath(p string) (path, action string, status int, err error) {
	rest, ok := strings.CutPrefix(p, "/model/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i <= 0 {
		return "", "", http.StatusNotFound, fmt.Errorf("path %q is not /model/{modelId}/{action}", p)
	}
	action = rest[i+1:]
	if !rawActions[action] {
		return "", "", http.StatusNotFound, fmt.Errorf("action %q is not served (converse, converse-stream, invoke, invoke-with-response-stream)", action)
	}
	model, err := url.PathUnescape(rest[:i])
	if err != nil || model == "" || model == "." || model == ".." {
		return "", "", http.StatusBadRequest, fmt.Errorf("path %q does not name a model", p)
	}
	return "/model/" + escapeLabel(model) + "/" + action, action, 0, nil
}

// refusal is the answer to a call SendRaw does not send because Bedrock could only refuse it: an error as
// Bedrock writes one, {"message"} with the exception in X-Amzn-ErrorType. A caller's mistake thus reaches the
// gateway as the client error it is, not as a failure of the provider, which would be retried and count against
// the provider's circuit breaker.
func refusal(status int, msg string) *http.Response {
	typ := "ValidationException"
	if status == http.StatusNotFound {
		typ = "UnknownOperationException"
	}
	b, _ := json.Marshal(map[string]string{"message": msg})
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {typ}},
		Body:   io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b))}
}

// Package mockupstream is Weir's in-repo fake LLM provider. It speaks the
// wire formats of OpenAI (Chat Completions, Completions, Embeddings, Models,
// Responses, Azure paths), Anthropic (also via Vertex rawPredict and Bedrock
// invoke), Gemini (AI Studio and Vertex paths, model list), Bedrock (Converse,
// binary event streams, SigV4, the control plane's model lists) and Cohere v2, so gateway tests and load benchmarks
// run without network access and with deterministic answers.
//
// Faults are selected per request by the model name (which the gateway
// forwards) or by the X-Mock-Fault header (which it normally does not); see
// faults.go for the vocabulary.
package mockupstream

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options shapes every answer of a Server. The zero value is usable.
type Options struct {
	Latency      time.Duration // before the first byte of every answer
	Chunks       int           // content chunks in a stream (default 8)
	ChunkDelay   time.Duration // pause between content chunks
	ContentBytes int           // size of the default answer text (default 64)
	FailRatio    float64       // share of requests answered with FailStatus
	FailStatus   int           // status used by FailRatio (default 500); 429 adds Retry-After: 1
	// APIKey, when set, must arrive as Bearer, x-api-key, api-key,
	// x-goog-api-key or ?key=, else 401 in the dialect's error format.
	APIKey string
	// When AWSAccessKeyID is set, Bedrock requests must carry a valid SigV4
	// signature for these credentials (service "bedrock"), else 403.
	AWSAccessKeyID, AWSSecretKey, AWSRegion string
}

// Stats counts what the server saw. Cancelled counts requests whose context
// ended (or whose client write failed) before the answer was complete, which
// is how tests prove a caller's disconnect reached the upstream. Counters
// settle when the handler returns, so tests should poll rather than read once.
type Stats struct {
	Received  int64
	Failed    int64 // error statuses, resets and mid-stream drops
	Cancelled int64
	InFlight  int64
	ByPath    map[string]int64
}

// Recorded is a copy of one request as it reached the upstream.
type Recorded struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Server is an http.Handler; wrap it with httptest.NewServer or http.Server.
type Server struct {
	o       Options
	created int64 // fixed "created" timestamp so bodies are reproducible

	lorem       string   // ContentBytes of filler text
	loremPieces []string // lorem split into Chunks pieces, reused by every stream
	models      []byte   // precomputed GET /v1/models body

	received, failed, cancelled, inFlight atomic.Int64
	seq, flakyN, ratioN                   atomic.Int64

	mu     sync.Mutex
	byPath map[string]int64
	last   Recorded
	// lastTo is the most recent request to each path: a gateway's background requests (model listing) can
	// land between a test's request and its look at LastRequest.
	lastTo map[string]Recorded

	closed    chan struct{} // closed by Close: releases hanging handlers
	closeOnce sync.Once

	objects     *store // files and batches, per upstream key (store.go)
	objectsOnce sync.Once
}

// New builds a Server, filling Options defaults.
func New(o Options) *Server {
	if o.Chunks <= 0 {
		o.Chunks = 8
	}
	if o.ContentBytes <= 0 {
		o.ContentBytes = 64
	}
	if o.FailStatus == 0 {
		o.FailStatus = http.StatusInternalServerError
	}
	s := &Server{o: o, created: time.Now().Unix(), byPath: map[string]int64{}, lastTo: map[string]Recorded{}, closed: make(chan struct{})}
	s.lorem = loremText(o.ContentBytes)
	s.loremPieces = splitText(s.lorem, o.Chunks)
	s.models = s.modelsBody()
	return s
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Received:  s.received.Load(),
		Failed:    s.failed.Load(),
		Cancelled: s.cancelled.Load(),
		InFlight:  s.inFlight.Load(),
		ByPath:    map[string]int64{},
	}
	s.mu.Lock()
	for k, v := range s.byPath {
		st.ByPath[k] = v
	}
	s.mu.Unlock()
	return st
}

// Close aborts every request that is hanging, stalled or streaming, by
// dropping its connection. httptest.Server.Close waits for active requests,
// so a test that leaks a "hang" request should register Close to run first:
//
//	ts := httptest.NewServer(m); t.Cleanup(ts.Close); t.Cleanup(m.Close)
//
// The Server keeps answering new requests normally.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closed) }) }

// LastRequest returns a copy of the most recent request.
func (s *Server) LastRequest() Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.last
	r.Header = r.Header.Clone()
	r.Body = append([]byte(nil), r.Body...)
	return r
}

// LastRequestTo returns a copy of the most recent request to path (zero if none).
func (s *Server) LastRequestTo(path string) Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lastTo[path]
	r.Header = r.Header.Clone()
	r.Body = append([]byte(nil), r.Body...)
	return r
}

// ServeHTTP routes to a dialect after auth and fault checks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.received.Add(1)
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)

	// Reading the whole body up front also lets net/http notice a client
	// disconnect (and cancel the context) while we stall or stream.
	body, _ := io.ReadAll(r.Body)
	s.record(r, body)

	c := &call{s: s, w: w, r: r, body: body}
	defer c.finish()

	h := s.route(c)
	if h == nil {
		c.fail(http.StatusNotFound, "mock: no route for "+r.Method+" "+r.URL.Path)
		return
	}
	if !c.authorize() || !c.validate() || !c.preflight() {
		return
	}
	h(s, c)
}

func (s *Server) record(r *http.Request, body []byte) {
	s.mu.Lock()
	s.byPath[r.URL.Path]++
	s.last = Recorded{
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body, // never mutated after this point
	}
	s.lastTo[r.URL.Path] = s.last
	s.mu.Unlock()
}

// handler answers one routed request in its dialect.
type handler func(*Server, *call)

// route picks the handler and sets the dialect (for error bodies) and model.
// Matching is by suffix so base-URL prefixes (/openai/v1, Vertex project
// paths, ...) work unchanged.
func (s *Server) route(c *call) handler {
	p := c.r.URL.Path
	switch {
	case strings.HasPrefix(p, "/model/"):
		return s.routeBedrock(c)
	case c.r.Method == http.MethodGet && (strings.HasSuffix(p, "/foundation-models") || strings.HasSuffix(p, "/inference-profiles")):
		return s.routeBedrockControl(c) // listmodels.go
	case c.r.Method == http.MethodGet && strings.Contains(p, "/models/"): // before ':' so ft:… ids work
		return s.routeModel(c)
	case strings.Contains(p[strings.LastIndexByte(p, '/')+1:], ":"):
		return s.routeGoogle(c)
	}

	c.dialect = dialectOpenAI
	c.model = bodyModel(c.body)
	if dep, ok := azureDeployment(p); ok {
		c.model = dep
	}
	switch {
	case strings.HasSuffix(p, "/v1/messages"):
		c.dialect, c.native = dialectAnthropic, true
		return (*Server).anthropicMessages
	case strings.HasSuffix(p, "/v1/messages/count_tokens"):
		c.dialect, c.native = dialectAnthropic, true
		return (*Server).anthropicCountTokens
	case strings.HasSuffix(p, "/v2/chat"):
		c.dialect = dialectCohere
		return (*Server).cohereChat
	case strings.HasSuffix(p, "/v2/embed"), strings.HasSuffix(p, "/v1/embed"):
		c.dialect = dialectCohere
		return (*Server).cohereEmbed
	case strings.HasSuffix(p, "/v2/rerank"):
		c.dialect = dialectCohere
		return (*Server).cohereRerank
	case strings.HasSuffix(p, "/v1/rerank"): // Cohere v1 and OpenAI-compatible (Jina, vLLM)
		return (*Server).rerank
	case strings.HasSuffix(p, "/chat/completions"):
		return (*Server).openaiChat
	case strings.HasSuffix(p, "/completions"):
		return (*Server).openaiCompletions
	case strings.HasSuffix(p, "/embeddings"):
		return (*Server).openaiEmbeddings
	case strings.HasSuffix(p, "/responses"):
		return (*Server).responses
	case strings.Contains(p, "/responses/"): // input_tokens, {id}, {id}/input_items (responses_input_tokens.go)
		return s.routeResponseObjects(c)
	case strings.HasSuffix(p, "/models") && c.r.Method == http.MethodGet:
		return s.routeModelList(c) // OpenAI's shape, or Gemini's (listmodels.go)
	}
	return s.routeSurface(c) // images, audio, moderations, files, batches (surface.go)
}

// azureDeployment extracts {dep} from /openai/deployments/{dep}/...; Azure
// names the model by deployment, so faults ride on the deployment name.
func azureDeployment(p string) (string, bool) {
	const pre = "/openai/deployments/"
	i := strings.Index(p, pre)
	if i < 0 {
		return "", false
	}
	rest := p[i+len(pre):]
	if j := strings.IndexByte(rest, '/'); j > 0 {
		return rest[:j], true
	}
	return "", false
}

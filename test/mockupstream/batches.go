package mockupstream

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// OpenAI Batch API: POST /batches, GET /batches, GET /batches/{id},
// POST /batches/{id}/cancel (Azure's /openai/batches... too). A batch moves
// one step per GET of it: validating → in_progress (1st GET) → completed
// (2nd GET), or failed when the input does not validate; cancel makes it
// cancelling, and the next GET cancelled. When the first input line's model
// contains "instant" the create answer is already completed. Each line is
// answered with deterministic usage (batchIn prompt and batchOut completion
// tokens); a line whose model is fail-<status> lands in the error file.

const (
	batchIn  = 10 // prompt tokens per batch line
	batchOut = 5  // completion tokens per chat/completions batch line
)

// batchEndpoints are the endpoints the mock can answer in a batch, without
// their /v1 prefix (Azure names them that way).
var batchEndpoints = map[string]bool{"/chat/completions": true, "/embeddings": true, "/completions": true}

type batch struct {
	id, endpoint, inputFileID, window, model string
	metadata                                 json.RawMessage
	n                                        int64
	status                                   string
	lines                                    []gjson.Result
	errs                                     []any // validation errors
	outputFileID, errorFileID                string
	total, completed, failed, in, out        int

	created, expiresAt, inProgressAt, finalizingAt, completedAt, failedAt, cancellingAt, cancelledAt int64
}

func batchRoute(method, id, sub string) handler {
	switch {
	case method == http.MethodPost && id == "":
		return (*Server).createBatch
	case method == http.MethodGet && id == "":
		return (*Server).listBatches
	case method == http.MethodGet && sub == "":
		return func(s *Server, c *call) { s.getBatch(c, id) }
	case method == http.MethodPost && sub == "cancel":
		return func(s *Server, c *call) { s.cancelBatch(c, id) }
	}
	return nil
}

func trimV1(endpoint string) string { return strings.TrimPrefix(endpoint, "/v1") }

func (s *Server) createBatch(c *call) {
	r := gjson.GetManyBytes(c.body, "input_file_id", "endpoint", "completion_window", "metadata")
	fileID, endpoint, window := r[0].String(), r[1].String(), r[2].String()
	switch {
	case fileID == "":
		c.reject(http.StatusBadRequest, "Missing required parameter: 'input_file_id'.", "input_file_id", "missing_required_parameter")
		return
	case !batchEndpoints[trimV1(endpoint)]:
		c.reject(http.StatusBadRequest, "mock: unsupported batch endpoint '"+endpoint+"' (the mock answers /v1/chat/completions, /v1/embeddings, /v1/completions).", "endpoint", "invalid_value")
		return
	case window != "24h":
		c.reject(http.StatusBadRequest, "Invalid value for 'completion_window': '"+window+"'. Supported values are: '24h'.", "completion_window", "invalid_value")
		return
	}
	a, unlock := c.account()
	o, reply := s.newBatch(c, a, fileID, endpoint, window, r[3])
	unlock()
	if reply != nil {
		reply()
		return
	}
	c.sendJSON(o)
}

// newBatch creates the batch under the store lock; a non-nil reply is an
// error answer to send once the lock is released.
func (s *Server) newBatch(c *call, a *account, fileID, endpoint, window string, meta gjson.Result) (obj, func()) {
	f := a.files[fileID]
	if f == nil {
		return nil, func() { c.notFound("File", fileID) }
	}
	if f.purpose != "batch" {
		return nil, func() {
			c.reject(http.StatusBadRequest, "The input file must have purpose 'batch', not '"+f.purpose+"'.", "input_file_id", "invalid_value")
		}
	}
	id, n := c.newID("batch_mock")
	t := now().Unix()
	b := &batch{id: id, n: n, endpoint: endpoint, inputFileID: fileID, window: window, status: "validating",
		created: t, expiresAt: t + 86400}
	if meta.IsObject() {
		b.metadata = json.RawMessage(meta.Raw)
	}
	b.parse(f.data)
	a.batches[id] = b
	if strings.Contains(strings.ToLower(b.model), "instant") {
		for b.advance(c, a) {
		}
	}
	return b.object(), nil
}

// parse splits the input JSONL and records validation errors per line.
func (b *batch) parse(data []byte) {
	seen := map[string]bool{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		line := gjson.ParseBytes(raw)
		bad := func(code, msg, param string) {
			b.errs = append(b.errs, obj{"code": code, "message": msg, "param": param, "line": i + 1})
		}
		cid, model := line.Get("custom_id").String(), line.Get("body.model").String()
		switch {
		case cid == "":
			bad("missing_required_parameter", "Missing required parameter: 'custom_id'.", "custom_id")
		case seen[cid]:
			bad("duplicate_custom_id", "The custom_id '"+cid+"' is used more than once.", "custom_id")
		case line.Get("method").String() != "POST":
			bad("invalid_value", "Only POST is supported as the request method.", "method")
		case trimV1(line.Get("url").String()) != trimV1(b.endpoint):
			bad("mismatched_endpoint", "The url must match the batch endpoint '"+b.endpoint+"'.", "url")
		case model == "":
			bad("missing_required_parameter", "Missing required parameter: 'body.model'.", "body.model")
		}
		seen[cid] = true
		if b.model == "" {
			b.model = model
		}
		b.lines = append(b.lines, line)
	}
	if len(b.lines) == 0 {
		b.errs = append(b.errs, obj{"code": "empty_file", "message": "The input file is empty.", "param": nil, "line": nil})
	}
}

// advance moves the batch one step; false once it is terminal.
func (b *batch) advance(c *call, a *account) bool {
	t := now().Unix()
	switch b.status {
	case "validating":
		if len(b.errs) > 0 {
			b.status, b.failedAt = "failed", t
			return false
		}
		b.status, b.inProgressAt, b.total = "in_progress", t, len(b.lines)
	case "in_progress":
		b.finalizingAt = t
		b.run(c, a)
		b.status, b.completedAt = "completed", t
	case "cancelling":
		b.status, b.cancelledAt = "cancelled", t
	default:
		return false
	}
	return true
}

// unix renders an optional timestamp (0 = not reached yet).
func unix(t int64) any {
	if t == 0 {
		return nil
	}
	return t
}

// optional renders an optional string field.
func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (b *batch) object() obj {
	var errs any
	if len(b.errs) > 0 {
		errs = obj{"object": "list", "data": b.errs}
	}
	var meta any
	if b.metadata != nil {
		meta = b.metadata
	}
	return obj{
		"id": b.id, "object": "batch", "endpoint": b.endpoint, "model": optional(b.model), "errors": errs,
		"input_file_id": b.inputFileID, "completion_window": b.window, "status": b.status,
		"output_file_id": optional(b.outputFileID), "error_file_id": optional(b.errorFileID),
		"created_at": b.created, "in_progress_at": unix(b.inProgressAt), "expires_at": b.expiresAt,
		"finalizing_at": unix(b.finalizingAt), "completed_at": unix(b.completedAt), "failed_at": unix(b.failedAt),
		"expired_at": nil, "cancelling_at": unix(b.cancellingAt), "cancelled_at": unix(b.cancelledAt),
		"request_counts": obj{"total": b.total, "completed": b.completed, "failed": b.failed},
		"usage": obj{"input_tokens": b.in, "input_tokens_details": obj{"cached_tokens": 0},
			"output_tokens": b.out, "output_tokens_details": obj{"reasoning_tokens": 0}, "total_tokens": b.in + b.out},
		"metadata": meta,
	}
}

func (s *Server) getBatch(c *call, id string) {
	a, unlock := c.account()
	var o obj
	if b := a.batches[id]; b != nil {
		b.advance(c, a)
		o = b.object()
	}
	unlock()
	if o == nil {
		c.notFound("Batch", id)
		return
	}
	c.sendJSON(o)
}

func (s *Server) cancelBatch(c *call, id string) {
	a, unlock := c.account()
	var o obj
	status := ""
	if b := a.batches[id]; b != nil {
		if b.status == "validating" || b.status == "in_progress" {
			b.status, b.cancellingAt = "cancelling", now().Unix()
		}
		o, status = b.object(), b.status
	}
	unlock()
	switch {
	case o == nil:
		c.notFound("Batch", id)
	case status != "cancelling":
		c.reject(http.StatusConflict, "Cannot cancel a batch with status '"+status+"'.", "", nil)
	default:
		c.sendJSON(o)
	}
}

func (s *Server) listBatches(c *call) {
	a, unlock := c.account()
	bs := make([]*batch, 0, len(a.batches))
	for _, b := range a.batches {
		bs = append(bs, b)
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].n > bs[j].n })
	data := make([]any, len(bs))
	for i, b := range bs {
		data[i] = b.object()
	}
	unlock()
	c.sendJSON(page(data, c.r.URL.Query().Get("after"), queryInt(c.r, "limit", 20), "id"))
}

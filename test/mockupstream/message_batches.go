package mockupstream

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Anthropic Message Batches: POST /v1/messages/batches, GET .../batches,
// GET .../batches/{id}, GET .../batches/{id}/results (JSONL), POST
// .../batches/{id}/cancel, DELETE .../batches/{id}. A batch is in_progress
// when created and on the 1st GET, ended on the 2nd (at once when the first
// request's model contains "instant"); cancel makes it canceling and the
// next GET ends it with every request canceled. Each succeeded result is a
// Message with usage batchIn input and batchOut output tokens; a request
// whose model is fail-<status>, or whose params lack model, max_tokens or
// messages, is an errored result.

var customIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

type msgReq struct {
	customID string
	params   gjson.Result
}

type msgBatch struct {
	id                           string
	n                            int64
	status                       string // in_progress, canceling, ended
	gets                         int
	reqs                         []msgReq
	resultsURL                   string // set when ended
	results                      []byte
	processing, succeeded        int
	errored, canceled            int
	created, ended, cancelInited time.Time
}

func msgBatchRoute(method, id, sub string) handler {
	switch {
	case method == http.MethodPost && id == "":
		return (*Server).createMsgBatch
	case method == http.MethodGet && id == "":
		return (*Server).listMsgBatches
	case method == http.MethodGet && sub == "":
		return func(s *Server, c *call) { s.msgBatchOp(c, id, "get") }
	case method == http.MethodGet && sub == "results":
		return func(s *Server, c *call) { s.msgBatchResults(c, id) }
	case method == http.MethodPost && sub == "cancel":
		return func(s *Server, c *call) { s.msgBatchOp(c, id, "cancel") }
	case method == http.MethodDelete && sub == "":
		return func(s *Server, c *call) { s.msgBatchOp(c, id, "delete") }
	}
	return nil
}

func (s *Server) createMsgBatch(c *call) {
	reqs := gjson.GetBytes(c.body, "requests").Array()
	if len(reqs) == 0 {
		c.fail(http.StatusBadRequest, "requests: Field required and must not be empty")
		return
	}
	b := &msgBatch{status: "in_progress", created: now()}
	seen := map[string]bool{}
	for i, r := range reqs {
		cid, params := r.Get("custom_id").String(), r.Get("params")
		at := "requests." + strconv.Itoa(i)
		switch {
		case !customIDPattern.MatchString(cid):
			c.fail(http.StatusBadRequest, at+".custom_id: must match ^[a-zA-Z0-9_-]{1,64}$")
			return
		case seen[cid]:
			c.fail(http.StatusBadRequest, at+".custom_id: duplicate custom_id "+cid)
			return
		case !params.IsObject():
			c.fail(http.StatusBadRequest, at+".params: Field required")
			return
		}
		seen[cid] = true
		b.reqs = append(b.reqs, msgReq{cid, params})
	}
	b.processing = len(b.reqs)
	p := c.r.URL.Path
	base := baseURL(c.r) + p[:strings.Index(p, "/v1/messages/batches")] + "/v1/messages/batches/"

	a, unlock := c.account()
	b.id, b.n = c.newID("msgbatch_mock")
	b.resultsURL = base + b.id + "/results"
	a.msgBatches[b.id] = b
	if strings.Contains(strings.ToLower(b.reqs[0].params.Get("model").String()), "instant") {
		b.end(c)
	}
	o := b.object()
	unlock()
	c.sendJSON(o)
}

// end answers every request (or cancels those still processing).
func (b *msgBatch) end(c *call) {
	cancel := b.status == "canceling"
	for _, r := range b.reqs {
		var res obj
		switch {
		case cancel:
			res = obj{"type": "canceled"}
			b.canceled++
		default:
			res = c.s.msgBatchResult(c, r.params)
			if res["type"] == "succeeded" {
				b.succeeded++
			} else {
				b.errored++
			}
		}
		b.results = append(append(b.results, mustJSON(obj{"custom_id": r.customID, "result": res})...), '\n')
	}
	b.processing, b.status, b.ended = 0, "ended", now()
}

// msgBatchResult answers one request's params as the Messages API would.
func (s *Server) msgBatchResult(c *call, params gjson.Result) obj {
	model := params.Get("model").String()
	status, msg := 0, ""
	switch {
	case model == "":
		status, msg = http.StatusBadRequest, "model: Field required"
	case !params.Get("max_tokens").Exists():
		status, msg = http.StatusBadRequest, "max_tokens: Field required"
	case !params.Get("messages").IsArray():
		status, msg = http.StatusBadRequest, "messages: Field required"
	default:
		if f := parseFault(model); f.status != 0 {
			status, msg = f.status, "mock: injected failure "+strconv.Itoa(f.status)
		}
	}
	if status != 0 {
		return obj{"type": "errored", "error": obj{"type": "error", "request_id": c.id("req_mock_"),
			"error": obj{"type": anthropicErrorType(status), "message": msg}}}
	}
	t := anthropicTurn([]byte(params.Raw), model)
	a := s.answer(&t)
	return obj{"type": "succeeded", "message": obj{
		"id": c.id("msg_mock_"), "type": "message", "role": "assistant", "model": model,
		"content": anthropicContent(&a), "stop_reason": anthropicStop(&a), "stop_sequence": nil,
		"usage": obj{"input_tokens": batchIn, "output_tokens": batchOut},
	}}
}

func rfc3339(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

func (b *msgBatch) object() obj {
	var url any
	if b.status == "ended" {
		url = b.resultsURL
	}
	return obj{
		"id": b.id, "type": "message_batch", "processing_status": b.status,
		"request_counts": obj{"processing": b.processing, "succeeded": b.succeeded, "errored": b.errored,
			"canceled": b.canceled, "expired": 0},
		"ended_at": rfc3339(b.ended), "created_at": rfc3339(b.created), "expires_at": rfc3339(b.created.Add(24 * time.Hour)),
		"archived_at": nil, "cancel_initiated_at": rfc3339(b.cancelInited), "results_url": url,
	}
}

// msgBatchOp is get (which advances the batch), cancel or delete.
func (s *Server) msgBatchOp(c *call, id, op string) {
	a, unlock := c.account()
	b := a.msgBatches[id]
	var o obj
	conflict := ""
	switch {
	case b == nil:
	case op == "get":
		if b.gets++; b.status == "canceling" || (b.status == "in_progress" && b.gets >= 2) {
			b.end(c)
		}
		o = b.object()
	case op == "cancel" && b.status == "ended":
		conflict = "Message batch " + id + " has already ended and cannot be canceled."
	case op == "cancel":
		if b.status == "in_progress" {
			b.status, b.cancelInited = "canceling", now()
		}
		o = b.object()
	case op == "delete" && b.status != "ended":
		conflict = "Message batch " + id + " is still processing; cancel it and wait for it to end before deleting it."
	case op == "delete":
		delete(a.msgBatches, id)
		o = obj{"id": id, "type": "message_batch_deleted"}
	}
	unlock()
	switch {
	case b == nil:
		c.notFound("Message batch", id)
	case conflict != "":
		c.fail(http.StatusConflict, conflict)
	default:
		c.sendJSON(o)
	}
}

func (s *Server) msgBatchResults(c *call, id string) {
	a, unlock := c.account()
	b := a.msgBatches[id]
	var results []byte
	ended := b != nil && b.status == "ended"
	if ended {
		results = b.results // never mutated once ended
	}
	unlock()
	switch {
	case b == nil:
		c.notFound("Message batch", id)
	case !ended:
		c.fail(http.StatusBadRequest, "Message batch "+id+" has not ended yet; its results are not available.")
	default:
		c.send(results, "application/x-jsonl")
	}
}

// listMsgBatches answers newest first, paged by limit and after_id.
func (s *Server) listMsgBatches(c *call) {
	a, unlock := c.account()
	bs := make([]*msgBatch, 0, len(a.msgBatches))
	for _, b := range a.msgBatches {
		bs = append(bs, b)
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].n > bs[j].n })
	data := make([]any, len(bs))
	for i, b := range bs {
		data[i] = b.object()
	}
	unlock()
	res := page(data, c.r.URL.Query().Get("after_id"), queryInt(c.r, "limit", 20), "id")
	delete(res, "object")
	c.sendJSON(res)
}

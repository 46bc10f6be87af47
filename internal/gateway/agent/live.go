package agent

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/relay"
)

// liveEvents is a streamed Responses request's event stream, written as the loop goes: response.created at
// once, each mcp_list_tools item, each mcp_call as it starts and ends, then the model's last output and
// response.completed. Its methods do nothing on a nil receiver (an unstreamed request).
type liveEvents struct {
	w       relay.Sink
	out     *gateway.Outcome
	shell   map[string]any    // the response as it stands: id, model, status
	seq     int               // the next sequence_number
	sent    int               // output items sent, the next output_index
	err     error             // the first failed write: the caller is gone, nothing more is sent
	items   []json.RawMessage // the output items sent, in order
	sentIDs map[string]bool   // their ids
	// the model call being streamed (responses_stream.go)
	local    map[int64]int // its output_index → the caller's; -1 for a kept function_call
	resp     []byte        // its final response
	broke    bool
	brokeMsg string
}

func startLive(w relay.Sink, body []byte, out *gateway.Outcome) *liveEvents {
	l := &liveEvents{w: w, out: out, sentIDs: map[string]bool{}, shell: map[string]any{"id": newID("resp_"), "object": "response",
		"created_at": time.Now().Unix(), "status": "in_progress", "model": gjson.GetBytes(body, "model").Str,
		"output": []any{}, "error": nil, "incomplete_details": nil}}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	out.Committed, out.Stream, out.Status = true, true, http.StatusOK
	l.emit("response.created", map[string]any{"response": l.shell})
	l.emit("response.in_progress", map[string]any{"response": l.shell})
	return l
}

func (l *liveEvents) emit(typ string, fields map[string]any) {
	if l.err != nil {
		return
	}
	fields["type"], fields["sequence_number"] = typ, l.seq
	l.seq++
	if _, l.err = l.w.Write(sse(nil, typ, mustJSON(fields))); l.err == nil {
		l.err = l.w.Flush()
	}
}

// item sends one whole output item, with the events between added and done that its type has.
func (l *liveEvents) item(item any, between func(i int)) {
	i := l.sent
	l.emit("response.output_item.added", map[string]any{"output_index": i, "item": item})
	if between != nil {
		between(i)
	}
	l.emit("response.output_item.done", map[string]any{"output_index": i, "item": item})
	l.record(item)
	l.sent++
}

// listed sends the mcp_list_tools items.
func (l *liveEvents) listed(r *run) {
	for _, it := range r.listItems() {
		id := it.(map[string]any)["id"]
		l.item(it, func(i int) {
			l.emit("response.mcp_list_tools.in_progress", map[string]any{"output_index": i, "item_id": id})
			l.emit("response.mcp_list_tools.completed", map[string]any{"output_index": i, "item_id": id})
		})
	}
}

// calling announces a call about to run.
func (l *liveEvents) calling(rec *callRecord) {
	if l == nil {
		return
	}
	it := rec.item()
	it["status"], it["output"] = "in_progress", nil
	l.emit("response.output_item.added", map[string]any{"output_index": l.sent, "item": it})
	l.emit("response.mcp_call_arguments.done", map[string]any{"output_index": l.sent, "item_id": rec.itemID, "arguments": string(rec.call.args)})
	l.emit("response.mcp_call.in_progress", map[string]any{"output_index": l.sent, "item_id": rec.itemID})
}

// called sends a call's end.
func (l *liveEvents) called(rec *callRecord) {
	if l == nil {
		return
	}
	ev := "response.mcp_call.completed"
	if rec.errText != "" {
		ev = "response.mcp_call.failed"
	}
	l.emit(ev, map[string]any{"output_index": l.sent, "item_id": rec.itemID})
	l.emit("response.output_item.done", map[string]any{"output_index": l.sent, "item": rec.item()})
	l.record(rec.item())
	l.sent++
}

// held sends a call held for approval.
func (l *liveEvents) held(rec *callRecord) {
	if l == nil {
		return
	}
	l.item(rec.item(), nil)
}

// failed ends the stream with response.failed: the loop could not go on.
func (l *liveEvents) failed(err error) (gateway.Outcome, error) {
	code, msg := "agent_failed", err.Error()
	var ge *gateway.Error
	if asGatewayError(err, &ge) {
		code, l.out.Status = ge.Code, ge.Status
	}
	return l.fail(code, msg)
}

func (l *liveEvents) fail(code, msg string) (gateway.Outcome, error) {
	l.shell["status"], l.shell["error"] = "failed", map[string]any{"code": code, "message": msg}
	l.emit("response.failed", map[string]any{"response": l.shell})
	return *l.out, l.err
}

// finish sends what the model's last answer adds (its output items, text as deltas) and the final response.
func (l *liveEvents) finish(r *run, ans answer) (gateway.Outcome, error) {
	if ans.status != http.StatusOK {
		l.out.Status = ans.status
		msg := gjson.GetBytes(ans.body, "error.message").Str
		if msg == "" {
			msg = string(ans.body)
		}
		return l.fail("upstream_error", msg)
	}
	body, err := r.d.final(ans.body, r, r.out.Usage)
	if err != nil {
		return l.fail("agent_bad_answer", err.Error())
	}
	body, _ = sjson.SetBytes(body, "id", l.shell["id"])
	for _, it := range gjson.GetBytes(body, "output").Array() {
		if l.sentIDs[it.Get("id").Str] {
			continue // sent as the loop went
		}
		l.item(json.RawMessage(it.Raw), func(idx int) {
			if it.Get("type").Str != "message" {
				return
			}
			for j, part := range it.Get("content").Array() {
				if part.Get("type").Str != "output_text" {
					continue
				}
				f := map[string]any{"output_index": idx, "content_index": j, "item_id": it.Get("id").Str}
				l.emit("response.content_part.added", map[string]any{"output_index": idx, "content_index": j,
					"item_id": it.Get("id").Str, "part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
				f["delta"] = part.Get("text").Str
				l.emit("response.output_text.delta", f)
				delete(f, "delta")
				f["text"] = part.Get("text").Str
				l.emit("response.output_text.done", f)
				l.emit("response.content_part.done", map[string]any{"output_index": idx, "content_index": j,
					"item_id": it.Get("id").Str, "part": json.RawMessage(part.Raw)})
			}
		})
	}
	body, _ = sjson.SetBytes(body, "output", l.items)
	done := "response.completed"
	if gjson.GetBytes(body, "status").Str == "incomplete" {
		done = "response.incomplete"
	}
	l.emit(done, map[string]any{"response": json.RawMessage(body)})
	return *l.out, l.err
}

func asGatewayError(err error, target **gateway.Error) bool { return errors.As(err, target) }

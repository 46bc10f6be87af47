package agent

import (
	"encoding/json"
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/weir-gateway/weir/internal/gateway"
)

// A streamed Responses request's model calls are streamed too: their message (and reasoning) items are relayed
// into the caller's one response as they arrive, renumbered after the items already sent; their function_call
// items are kept (a call Weir runs is shown as its mcp_call); the model call's own response.created and
// response.completed are not sent, the latter kept as the turn's answer.

func (l *liveEvents) turn() {
	l.local, l.resp, l.broke, l.brokeMsg = map[int64]int{}, nil, false, ""
}

func (l *liveEvents) event(name, data []byte) error {
	ev, typ, ok := typedEvent(name, data)
	if !ok {
		return nil
	}
	switch typ {
	case "response.created", "response.in_progress", "response.queued":
		return nil
	case "response.completed", "response.incomplete":
		l.resp = []byte(ev.Get("response").Raw)
		return nil
	case "response.failed", "error":
		l.broke = true
		if l.brokeMsg = ev.Get("response.error.message").Str; l.brokeMsg == "" {
			l.brokeMsg = ev.Get("message").Str
		}
		return nil
	case "response.output_item.added":
		idx := ev.Get("output_index").Int()
		if ev.Get("item.type").Str == "function_call" {
			l.local[idx] = -1
			return nil
		}
		l.local[idx] = l.sent
		l.sent++
	}
	ci, ok := l.local[ev.Get("output_index").Int()]
	if !ok || ci < 0 {
		return nil
	}
	if typ == "response.output_item.done" {
		l.record(json.RawMessage(ev.Get("item").Raw))
	}
	if l.err != nil {
		return l.err
	}
	d, err := sjson.SetBytes(data, "output_index", ci)
	if err != nil {
		return nil
	}
	d, _ = sjson.SetBytes(d, "sequence_number", l.seq)
	l.seq++
	if _, l.err = l.w.Write(sse(nil, typ, d)); l.err == nil {
		l.err = l.w.Flush()
	}
	return l.err
}

// record notes an output item sent whole, for the final response's output.
func (l *liveEvents) record(item any) {
	b := mustJSON(item)
	l.items = append(l.items, b)
	if id := gjson.GetBytes(b, "id").Str; id != "" {
		l.sentIDs[id] = true
	}
}

func (l *liveEvents) answer() []byte { return l.resp }
func (l *liveEvents) broken() bool   { return l.broke || l.resp == nil }
func (l *liveEvents) opened() bool   { return true }

func (l *liveEvents) end(r *run, ans answer) (gateway.Outcome, error) {
	if l.broke || ans.status == http.StatusBadGateway && ans.body == nil {
		msg := l.brokeMsg
		if msg == "" {
			msg = "the model's stream ended without its response"
		}
		l.out.Status = http.StatusBadGateway
		return l.fail("upstream_error", msg)
	}
	return l.finish(r, ans)
}

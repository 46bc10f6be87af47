package agent

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/relay"
)

// finish writes the loop's answer to the caller: the model's last answer in the route's dialect with the
// request's whole usage (and, on the Responses API, the MCP items), or the model call's failure as it came.
func (r *run) finish(ans answer, w relay.Sink) (gateway.Outcome, error) {
	if r.live != nil {
		return r.live.end(r, ans)
	}
	if r.rel != nil && (r.rel.opened() || ans.status == http.StatusOK && !r.stopped) {
		return r.rel.end(r, ans)
	}
	h := w.Header()
	for k, v := range ans.header {
		if k == "Content-Length" {
			continue
		}
		h[k] = v
	}
	if ans.status != http.StatusOK {
		return r.write(w, ans.status, ans.body)
	}
	if r.stopped && !r.d.stopsInBand() {
		return r.out, gateway.Errorf(http.StatusLoopDetected, gateway.TypeAPI, "agent_max_depth", "%s", depthMessage(r))
	}
	h.Set("X-Weir-Agent-Calls", strconv.Itoa(len(r.records)))
	body, err := r.d.final(ans.body, r, r.out.Usage)
	if err != nil {
		return r.out, gateway.Errorf(http.StatusBadGateway, gateway.TypeAPI, "agent_bad_answer",
			"agent mode could not read the model's answer: %s", err.Error())
	}
	h.Set("Content-Type", "application/json")
	return r.write(w, http.StatusOK, body)
}

func (r *run) write(w relay.Sink, status int, body []byte) (gateway.Outcome, error) {
	w.WriteHeader(status)
	r.out.Committed = true
	r.out.Status = status
	if _, err := w.Write(body); err != nil {
		return r.out, err
	}
	return r.out, w.Flush()
}

func depthMessage(r *run) string {
	return fmt.Sprintf("agent mode stopped after %d model calls: the model still asked for tools (mcp.agent_max_depth)", r.a.maxDepth)
}

// failed ends the request on an error of the loop: as the error itself while nothing was sent, else as the
// stream's error event.
func (r *run) failed(w relay.Sink, err error) (gateway.Outcome, error) {
	switch {
	case r.live != nil:
		return r.live.failed(err)
	case r.rel != nil && r.rel.opened():
		relay.EndWithError(w, r.d.wire(), err)
		return r.out, nil
	}
	return r.out, err
}

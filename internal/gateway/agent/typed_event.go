package agent

import "github.com/tidwall/gjson"

// typedEvent parses a streamed event's JSON and names its type: the body's "type" field, else the SSE event
// name (Anthropic and the Responses API both carry it in both places, but either may be missing). ok is false
// for a body that is not JSON, which the relays skip.
func typedEvent(name, data []byte) (ev gjson.Result, typ string, ok bool) {
	if !gjson.ValidBytes(data) {
		return gjson.Result{}, "", false
	}
	ev = gjson.ParseBytes(data)
	typ = ev.Get("type").Str
	if typ == "" {
		typ = string(name)
	}
	return ev, typ, true
}

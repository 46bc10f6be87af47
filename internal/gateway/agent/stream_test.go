package agent

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/gateway"
	"github.com/weir-gateway/weir/internal/translate"
)

// feed runs a model call's stream through rel in pieces of n bytes, as the engine's writes would arrive.
func feed(t testing.TB, rel relayer, stream string, n int) error {
	rel.turn()
	var rd translate.EventReader
	for len(stream) > 0 {
		k := min(n, len(stream))
		if err := rd.Feed([]byte(stream[:k]), rel.event); err != nil {
			return err
		}
		stream = stream[k:]
	}
	return rd.Finish(rel.event)
}

const chatTurn = `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}

data: {"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}}]}

data: {"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}}]}

data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"web__weather","arguments":"{\"city\":"}}]}}]}

data: {"id":"c1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]}

data: {"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: [DONE]

`

const messagesTurn = `event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":5,"output_tokens":0}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"lo"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"web__weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}

event: message_stop
data: {"type":"message_stop"}

`

const responsesTurn = `event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"r1","status":"in_progress","output":[]}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[]}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":2,"output_index":0,"item_id":"msg_1","content_index":0,"delta":"Hel"}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":3,"output_index":0,"item_id":"msg_1","content_index":0,"delta":"lo"}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":4,"output_index":0,"item":{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hello"}]}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":5,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"web__weather","arguments":""}}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":6,"output_index":1,"item_id":"fc_1","delta":"{}"}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":7,"output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"web__weather","arguments":"{\"city\":\"Paris\"}"}}

event: response.completed
data: {"type":"response.completed","sequence_number":8,"response":{"id":"r1","status":"completed","output":[{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hello"}]},{"type":"function_call","id":"fc_1","call_id":"call_1","name":"web__weather","arguments":"{\"city\":\"Paris\"}"}]}}

`

// TestRelayTurn: whatever the split of the model call's stream, its text is relayed to the caller as its own
// deltas, its tool call is not relayed but accumulated into the turn's answer, which the dialect reads.
func TestRelayTurn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		d      dialect
		newRel func(s *bufferSink, out *gateway.Outcome) relayer
		stream string
		deltas string // the relayed event that carries a text piece
	}{
		{"chat", chatDialect{}, func(s *bufferSink, out *gateway.Outcome) relayer {
			return &chatStream{callerStream: callerStream{w: s, out: out}}
		}, chatTurn, `"content":"`},
		{"messages", messagesDialect{}, func(s *bufferSink, out *gateway.Outcome) relayer {
			return &messagesStream{callerStream: callerStream{w: s, out: out}}
		}, messagesTurn, `"text_delta"`},
		{"responses", responsesDialect{}, func(s *bufferSink, out *gateway.Outcome) relayer {
			return &liveEvents{w: s, out: out, sentIDs: map[string]bool{}}
		}, responsesTurn, "event: response.output_text.delta"},
	} {
		for _, n := range []int{1, 7, 64, len(tc.stream)} {
			s := &bufferSink{header: http.Header{}}
			var out gateway.Outcome
			rel := tc.newRel(s, &out)
			if err := feed(t, rel, tc.stream, n); err != nil {
				t.Fatalf("%s/%d: %v", tc.name, n, err)
			}
			if rel.broken() {
				t.Fatalf("%s/%d: broken", tc.name, n)
			}
			sent := s.b.String()
			if got := strings.Count(sent, tc.deltas); got != 2 {
				t.Fatalf("%s/%d: %d text deltas relayed, want 2:\n%s", tc.name, n, got, sent)
			}
			if strings.Contains(sent, "Paris") || strings.Contains(sent, "web__weather") {
				t.Fatalf("%s/%d: the tool call was relayed:\n%s", tc.name, n, sent)
			}
			calls := tc.d.calls(rel.answer())
			if len(calls) != 1 || calls[0].name != "web__weather" || string(calls[0].args) != `{"city":"Paris"}` {
				t.Fatalf("%s/%d: calls %+v from answer %s", tc.name, n, calls, rel.answer())
			}
			if _, err := tc.d.appendTurn([]byte(`{"messages":[],"input":[]}`), rel.answer(), calls, []toolResult{{text: "sunny"}}); err != nil {
				t.Fatalf("%s/%d: appendTurn: %v", tc.name, n, err)
			}
		}
	}
}

// FuzzRelay: any model stream (the engine's output for the route's dialect) neither panics a relayer nor
// makes it answer invalid JSON, and relays only whole events.
func FuzzRelay(f *testing.F) {
	for _, s := range []string{chatTurn, messagesTurn, responsesTurn} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stream string) {
		for _, mk := range []func(s *bufferSink, out *gateway.Outcome) relayer{
			func(s *bufferSink, out *gateway.Outcome) relayer {
				return &chatStream{callerStream: callerStream{w: s, out: out}}
			},
			func(s *bufferSink, out *gateway.Outcome) relayer {
				return &messagesStream{callerStream: callerStream{w: s, out: out}}
			},
			func(s *bufferSink, out *gateway.Outcome) relayer {
				return &liveEvents{w: s, out: out, sentIDs: map[string]bool{}}
			},
		} {
			s := &bufferSink{header: http.Header{}}
			var out gateway.Outcome
			rel := mk(s, &out)
			if err := feed(t, rel, stream, 5); err != nil {
				continue // an oversized event: the model call fails
			}
			if a := rel.answer(); a != nil && !json.Valid(a) {
				t.Fatalf("answer is not JSON: %s", a)
			}
			for _, ev := range strings.Split(strings.TrimSuffix(s.b.String(), "\n\n"), "\n\n") {
				if ev == "" {
					continue
				}
				data := ev[strings.LastIndex(ev, "data: ")+len("data: "):]
				if data != "[DONE]" && !gjson.Valid(data) {
					t.Fatalf("relayed a broken event %q", ev)
				}
			}
		}
	})
}

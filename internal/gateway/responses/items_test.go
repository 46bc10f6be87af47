package responses

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/conversation"
	"github.com/weir-gateway/weir/internal/gateway"
)

// TestResponsesItemReference serves item references on a translated target, streamed and not, in both forms
// clients send them: each becomes the item Weir stored for the same key, in place; an unknown or another key's
// id is a 404 in OpenAI's words that reaches no upstream.
func TestResponsesItemReference(t *testing.T) {
	e, p, st := newConversationEngine(t)
	ctx := context.Background()
	first, err := serveResponses(t, e, `{"model":"chat/m","input":"first question"}`)
	if err != nil {
		t.Fatal(err)
	}
	msgID := gjson.Get(first, "output.0.id").String()
	stored, err := st.Get(ctx, gjson.Get(first, "id").String(), "")
	if err != nil || msgID == "" {
		t.Fatalf("first turn: %v %s", err, first)
	}
	inID := conversation.ItemID(stored.Input[0])
	// A stored function call of this key's, and an item of another key's.
	call := json.RawMessage(`{"id":"fc_seed","type":"function_call","status":"completed","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}`)
	for _, s := range []conversation.Stored{
		{ID: "resp_seed", Output: []json.RawMessage{call}},
		{ID: "resp_other", KeyID: "other", Output: []json.RawMessage{json.RawMessage(`{"id":"msg_foreign","type":"message","role":"assistant","content":[{"type":"output_text","text":"secret"}]}`)}},
	} {
		if err := st.Save(ctx, s); err != nil {
			t.Fatal(err)
		}
	}

	refForms := map[string]func(id string) string{
		"typed":    func(id string) string { return `{"type":"item_reference","id":"` + id + `"}` },
		"typeless": func(id string) string { return `{"id":"` + id + `"}` }, // openai-go's ResponseInputItemParamOfItemReference
	}
	for form, ref := range refForms {
		for _, stream := range []bool{false, true} {
			name := form + "/json"
			if stream {
				name = form + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				body := `{"model":"chat/m","stream":` + map[bool]string{false: "false", true: "true"}[stream] +
					`,"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"}}],"input":[` +
					ref(inID) + `,` + ref(msgID) + `,{"role":"user","content":"weather?"},` + ref("fc_seed") +
					`,{"type":"function_call_output","call_id":"call_1","output":"sunny"}]}`
				before := len(p.Calls())
				answer, err := serveResponses(t, e, body)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Calls()) != before+1 {
					t.Fatalf("%d upstream calls", len(p.Calls())-before)
				}
				sent := gjson.GetBytes(p.Calls()[len(p.Calls())-1].Body, "messages")
				roles := []string{}
				for _, m := range sent.Array() {
					roles = append(roles, m.Get("role").String())
				}
				// first question, its answer, the new question, the call, its output: in the caller's order.
				if strings.Join(roles, ",") != "user,assistant,user,assistant,tool" ||
					!strings.Contains(sent.Raw, "first question") || !strings.Contains(sent.Raw, "hello there") ||
					sent.Get("3.tool_calls.0.id").String() != "call_1" || sent.Get("4.tool_call_id").String() != "call_1" {
					t.Fatalf("upstream messages %s", sent.Raw)
				}
				// The new response is stored with the items themselves, so a later turn can follow it.
				id := gjson.Get(answer, "id").String()
				if stream {
					i := strings.LastIndex(answer, `"type":"response.completed"`)
					id = gjson.Get(answer[i-1:][strings.Index(answer[i-1:], `"response":{`)+11:], "id").String()
				}
				got, err := st.Get(ctx, id, "")
				if err != nil || len(got.Input) != 5 || strings.Contains(string(got.Input[3]), "item_reference") ||
					conversation.ItemID(got.Input[3]) != "fc_seed" || gjson.GetBytes(got.Input[3], "call_id").String() != "call_1" {
					t.Fatalf("stored %s: %v %s", id, err, got.Input)
				}
			})
		}
	}

	for _, tc := range []struct {
		name, input string
		status      int
		message     string
	}{
		{"unknown", `[{"type":"item_reference","id":"msg_nope"}]`, http.StatusNotFound, "Item with id 'msg_nope' not found."},
		{"another key's", `[{"role":"user","content":"x"},{"id":"msg_foreign"}]`, http.StatusNotFound, "Item with id 'msg_foreign' not found."},
		{"one of several unknown", `[{"id":"` + msgID + `"},{"type":"item_reference","id":"fc_nope"}]`, http.StatusNotFound, "Item with id 'fc_nope' not found."},
		{"no id", `[{"type":"item_reference"}]`, http.StatusBadRequest, "an item reference needs the id of an item"},
	} {
		for _, stream := range []string{"false", "true"} {
			t.Run(tc.name+"/stream="+stream, func(t *testing.T) {
				before := len(p.Calls())
				_, err := serveResponses(t, e, `{"model":"chat/m","stream":`+stream+`,"input":`+tc.input+`}`)
				var ge *gateway.Error
				if !errors.As(err, &ge) || ge.Status != tc.status || ge.Type != gateway.TypeInvalidRequest || ge.Message != tc.message ||
					(tc.status == http.StatusNotFound && (ge.Param != "input" || ge.Code != "")) {
					t.Fatalf("got %+v, want %d %q", err, tc.status, tc.message)
				}
				if len(p.Calls()) != before {
					t.Fatal("the request reached the upstream")
				}
			})
		}
	}
}

// TestFindItemRefs: which input items are references; everything else is left to the translation.
func TestFindItemRefs(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string // index:id, comma-separated
		err  bool
	}{
		{`{"input":"text"}`, "", false},
		{`{}`, "", false},
		{`{"input":[{"role":"user","content":"x"},{"type":"message","id":"msg_1","role":"assistant","content":[]}]}`, "", false},
		{`{"input":[{"type":"function_call","id":"fc_1","call_id":"c","name":"f","arguments":"{}"}]}`, "", false},
		{`{"input":[{"role":"user","content":"x"},{"type":"item_reference","id":"a"},{"id":"b"},{"type":null,"id":"c"}]}`, "1:a,2:b,3:c", false},
		{`{"input":[1,"x",{"id":"d"}]}`, "2:d", false},
		{`{"input":[{"type":"item_reference","id":7}]}`, "", true},
		{`{"input":[{"type":"item_reference","id":""}]}`, "", true},
	} {
		refs, gerr := findItemRefs([]byte(tc.body))
		var got []string
		for _, r := range refs {
			got = append(got, strconv.Itoa(r.index)+":"+r.id)
		}
		if (gerr != nil) != tc.err || (gerr == nil && strings.Join(got, ",") != tc.want) {
			t.Errorf("findItemRefs(%s) = %v, %v; want %q err=%v", tc.body, got, gerr, tc.want, tc.err)
		}
	}
}

// FuzzExpandItemReferences: any request body either expands to valid JSON whose input holds no reference, or
// is refused; it never panics.
func FuzzExpandItemReferences(f *testing.F) {
	for _, s := range []string{
		`{"input":[{"type":"item_reference","id":"msg_1"},{"id":"fc_1"},{"role":"user","content":"x"}]}`,
		`{"input":[{"id":"msg_1"}],"model":"m"}`,
		`{"input":"x"}`,
		`{"input":[{"type":"item_reference"}]}`,
		`{"input":[{"id":"zzz"}]}`,
		`[`,
	} {
		f.Add([]byte(s))
	}
	e := &gateway.Engine{}
	e.SetConversations(fuzzItems{})
	f.Fuzz(func(t *testing.T, body []byte) {
		out, gerr := expandItemReferences(context.Background(), e, body, "", nil)
		if gerr != nil || !json.Valid(body) {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("expanded %s into invalid JSON %s", body, out)
		}
		if refs, _ := findItemRefs(out); len(refs) != 0 {
			t.Fatalf("references left in %s", out)
		}
	})
}

// fuzzItems holds every id starting with "msg_" or "fc_".
type fuzzItems struct{ conversation.Store }

func (fuzzItems) Items(_ context.Context, _ string, ids []string) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	for _, id := range ids {
		if strings.HasPrefix(id, "msg_") || strings.HasPrefix(id, "fc_") {
			b, _ := json.Marshal(map[string]string{"id": id, "type": "message", "role": "user", "content": "x"})
			m[id] = b
		}
	}
	return m, nil
}

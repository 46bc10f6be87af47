package agent

import (
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestParseSpecs(t *testing.T) {
	cases := []struct {
		name, body string
		want       []spec
		tools      string // what stays in tools
		err        string
	}{
		{"responses shape", `{"tools":[{"type":"mcp","server_label":"gh","allowed_tools":["a","b"],"require_approval":"never"}]}`,
			[]spec{{label: "gh", allowed: []string{"a", "b"}}}, `[]`, ""},
		{"tool_names filter, default approval", `{"tools":[{"type":"mcp","server_label":"gh","allowed_tools":{"tool_names":["a"]}}]}`,
			[]spec{{label: "gh", allowed: []string{"a"}, approveAll: true}}, `[]`, ""},
		{"approval lists", `{"tools":[{"type":"mcp","server_label":"gh","require_approval":{"never":{"tool_names":["r"]},"always":{"tool_names":["w"]}}}]}`,
			[]spec{{label: "gh", approveAll: true, neverApprove: []string{"r"}, alwaysList: []string{"w"}}}, `[]`, ""},
		{"the caller's own tools stay", `{"tools":[{"type":"function","name":"f"},{"type":"mcp","server_label":"gh","require_approval":"always"}]}`,
			[]spec{{label: "gh", approveAll: true}}, `[{"type":"function","name":"f"}]`, ""},
		{"no label", `{"tools":[{"type":"mcp"}]}`, nil, "", "server_label"},
		{"server_url", `{"tools":[{"type":"mcp","server_label":"x","server_url":"https://evil"}]}`, nil, "", "server_url"},
		{"bad approval", `{"tools":[{"type":"mcp","server_label":"x","require_approval":"sometimes"}]}`, nil, "", "require_approval"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			specs, body, err := parseSpecs([]byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one naming %s", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(specs) != len(c.want) {
				t.Fatalf("specs %+v", specs)
			}
			for i := range specs {
				g, w := specs[i], c.want[i]
				if g.label != w.label || !slices.Equal(g.allowed, w.allowed) || g.approveAll != w.approveAll ||
					!slices.Equal(g.neverApprove, w.neverApprove) || !slices.Equal(g.alwaysList, w.alwaysList) {
					t.Fatalf("spec %+v, want %+v", g, w)
				}
			}
			if got := gjson.GetBytes(body, "tools").Raw; got != c.tools {
				t.Fatalf("tools left %s, want %s", got, c.tools)
			}
		})
	}
}

func TestNeedsApproval(t *testing.T) {
	s := spec{approveAll: true, neverApprove: []string{"read"}, alwaysList: []string{"write"}}
	for tool, want := range map[string]bool{"read": false, "write": true, "other": true} {
		if got := s.needsApproval(tool); got != want {
			t.Errorf("%s: %v, want %v", tool, got, want)
		}
	}
	never := spec{}
	if never.needsApproval("x") {
		t.Error(`"never" asks approval`)
	}
}

// TestDialects: each dialect reads the calls of its answer and continues the conversation with the results.
func TestDialects(t *testing.T) {
	cases := []struct {
		name          string
		d             dialect
		body, ans     string
		wantArgs      string
		turnPath      string // what appendTurn extends
		wantTurnItems int
		resultPath    string // where the tool result's text lands
	}{
		{"chat", chatDialect{}, `{"messages":[{"role":"user","content":"hi"}]}`,
			`{"choices":[{"message":{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"s__t","arguments":"{\"a\":1}"}}]}}]}`,
			`{"a":1}`, "messages", 3, "messages.2.content"},
		{"messages", messagesDialect{}, `{"messages":[{"role":"user","content":"hi"}]}`,
			`{"content":[{"type":"text","text":"let me see"},{"type":"tool_use","id":"c1","name":"s__t","input":{"a":1}}]}`,
			`{"a":1}`, "messages", 3, "messages.2.content.0.content"},
		{"responses", responsesDialect{}, `{"input":"hi"}`,
			`{"output":[{"type":"function_call","call_id":"c1","name":"s__t","arguments":"{\"a\":1}"}]}`,
			`{"a":1}`, "input", 3, "input.2.output"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := c.d.calls([]byte(c.ans))
			if len(calls) != 1 || calls[0].id != "c1" || calls[0].name != "s__t" || string(calls[0].args) != c.wantArgs {
				t.Fatalf("calls %+v", calls)
			}
			body, err := c.d.appendTurn([]byte(c.body), []byte(c.ans), calls, []toolResult{{text: "42"}})
			if err != nil {
				t.Fatal(err)
			}
			if n := gjson.GetBytes(body, c.turnPath+".#").Int(); n != int64(c.wantTurnItems) {
				t.Fatalf("%s has %d items: %s", c.turnPath, n, body)
			}
			if got := gjson.GetBytes(body, c.resultPath).Str; got != "42" {
				t.Fatalf("%s = %q: %s", c.resultPath, got, body)
			}
		})
	}
}

func FuzzParseSpecs(f *testing.F) {
	f.Add([]byte(`{"tools":[{"type":"mcp","server_label":"gh","allowed_tools":["a"],"require_approval":{"never":{"tool_names":["a"]}}}]}`))
	f.Add([]byte(`{"tools":[{"type":"function"},{"type":"mcp"}]}`))
	f.Add([]byte(`{"tools":"mcp"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		specs, out, err := parseSpecs(body)
		if err != nil {
			return
		}
		for _, s := range specs {
			if s.label == "" {
				t.Fatalf("a spec without a label from %q", body)
			}
		}
		if len(specs) > 0 && gjson.GetBytes(out, `tools.#(type=="mcp")`).Exists() {
			t.Fatalf("an mcp entry left in %s", out)
		}
	})
}

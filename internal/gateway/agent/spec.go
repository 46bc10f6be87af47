package agent

import (
	"fmt"
	"slices"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// spec is one mcp tool entry of a request: the Responses API's own shape, which chat and messages accept too.
//
//	{"type":"mcp","server_label":"github","allowed_tools":["create_issue"],"require_approval":"never"}
//
// allowed_tools may also be {"tool_names":[…]}; require_approval "always" (the default, as OpenAI's), "never",
// or {"never":{"tool_names":[…]},"always":{"tool_names":[…]}}.
type spec struct {
	label   string
	allowed []string // empty: every tool of the server the key may call
	// approval: which tools need the caller's approval before they run.
	approveAll   bool
	neverApprove []string
	alwaysList   []string
}

// needsApproval reports whether tool (its server's name for it) waits for the caller's approval.
func (s *spec) needsApproval(tool string) bool {
	if slices.Contains(s.alwaysList, tool) {
		return true
	}
	if slices.Contains(s.neverApprove, tool) {
		return false
	}
	return s.approveAll
}

func hasMCPTools(body []byte) bool {
	return gjson.GetBytes(body, `tools.#(type=="mcp")`).Exists()
}

// parseSpecs reads the mcp entries of body's tools and returns them with body less them.
func parseSpecs(body []byte) ([]spec, []byte, error) {
	var specs []spec
	var kept []string
	var err error
	gjson.GetBytes(body, "tools").ForEach(func(_, t gjson.Result) bool {
		if t.Get("type").Str != "mcp" {
			kept = append(kept, t.Raw)
			return true
		}
		var s spec
		s, err = parseSpec(t)
		specs = append(specs, s)
		return err == nil
	})
	if err != nil {
		return nil, nil, err
	}
	raw := "[" + joinRaw(kept) + "]"
	out, serr := sjson.SetRawBytes(body, "tools", []byte(raw))
	if serr != nil {
		return nil, nil, serr
	}
	return specs, out, nil
}

func parseSpec(t gjson.Result) (spec, error) {
	s := spec{label: t.Get("server_label").Str}
	if s.label == "" {
		return s, fmt.Errorf("an mcp tool needs a server_label: the name of an MCP server configured in Weir")
	}
	if t.Get("server_url").Exists() || t.Get("connector_id").Exists() {
		return s, fmt.Errorf("mcp tool %q: Weir runs only the MCP servers of its configuration; name one by server_label, without server_url or connector_id", s.label)
	}
	allowed := t.Get("allowed_tools")
	if allowed.IsObject() {
		allowed = allowed.Get("tool_names")
	}
	for _, n := range allowed.Array() {
		s.allowed = append(s.allowed, n.String())
	}
	switch ra := t.Get("require_approval"); {
	case !ra.Exists() || ra.Str == "always":
		s.approveAll = true
	case ra.Str == "never":
	case ra.IsObject():
		s.approveAll = true // what neither list names needs approval, as OpenAI's default
		for _, n := range ra.Get("never.tool_names").Array() {
			s.neverApprove = append(s.neverApprove, n.String())
		}
		for _, n := range ra.Get("always.tool_names").Array() {
			s.alwaysList = append(s.alwaysList, n.String())
		}
	default:
		return s, fmt.Errorf("mcp tool %q: require_approval must be \"always\", \"never\" or an object of tool_names lists", s.label)
	}
	return s, nil
}

func joinRaw(parts []string) string {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p...)
	}
	return string(b)
}

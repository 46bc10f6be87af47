package mockupstream

import (
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Tool calls always carry these arguments so tests can assert them.
const (
	toolArgs = `{"city":"Paris"}`
)

// toolArgPieces is toolArgs split for streamed argument deltas.
var toolArgPieces = []string{`{"city":`, `"Paris"}`}

// turn is what every dialect extracts from its request; the decision of
// what to answer is shared so all dialects behave alike.
type turn struct {
	model       string
	stream      bool
	tool        string // name of the first offered tool, "" if none
	afterTool   bool   // the last message carries a tool result
	toolResult  string
	lastUser    string
	promptChars int
}

// answer is the dialect-neutral reply.
type answer struct {
	text     string
	pieces   []string // text split into stream chunks
	toolName string   // non-empty: call this tool with toolArgs
	in, out  int      // prompt and completion tokens
}

func (a *answer) total() int { return a.in + a.out }

// answer applies the shared rules: a tool result is acknowledged in text
// (except by the model "tool-loop", which calls the offered tool again, for
// ever), offered tools are called, "echo" repeats the user, anything else
// gets ContentBytes of lorem ipsum.
func (s *Server) answer(t *turn) answer {
	a := answer{in: tokens(t.promptChars), out: s.o.Chunks * 2}
	switch {
	case t.afterTool && !(t.tool != "" && controlName(t.model) == "tool-loop"):
		a.text = "The tool returned: " + t.toolResult
	case t.tool != "":
		a.toolName = t.tool
		return a
	case controlName(t.model) == "echo":
		a.text = t.lastUser
	default:
		a.text, a.pieces = s.lorem, s.loremPieces
		return a
	}
	a.pieces = splitText(a.text, s.o.Chunks)
	return a
}

// tokens is the deterministic token estimate used for every usage figure.
func tokens(chars int) int { return chars/4 + 1 }

// textOf flattens a content value: a string, or an array of parts whose
// "text" fields (or nested "content", for tool results) are concatenated.
func textOf(v gjson.Result) string {
	switch {
	case v.Type == gjson.String:
		return v.Str
	case v.IsArray():
		var b strings.Builder
		v.ForEach(func(_, p gjson.Result) bool {
			if p.Type == gjson.String {
				b.WriteString(p.Str)
			} else if t := p.Get("text"); t.Exists() {
				b.WriteString(t.String())
			} else if c := p.Get("content"); c.Exists() {
				b.WriteString(textOf(c))
			} else if j := p.Get("json"); j.Exists() {
				b.WriteString(j.Raw)
			} else if d := p.Get("document.data"); d.Exists() { // Cohere tool results
				b.WriteString(d.String())
			}
			return true
		})
		return b.String()
	case v.IsObject():
		if t := v.Get("text"); t.Exists() {
			return t.String()
		}
		return v.Raw
	}
	return ""
}

func bodyModel(body []byte) string { return gjson.GetBytes(body, "model").String() }

// splitText cuts s into n pieces of near-equal size on rune boundaries;
// short texts yield fewer pieces, never zero.
func splitText(s string, n int) []string {
	if s == "" || n <= 1 {
		return []string{s}
	}
	size := (len(s) + n - 1) / n
	out := make([]string, 0, n)
	for len(s) > 0 {
		end := min(size, len(s))
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end++
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

const loremSeed = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. "

// loremText repeats the lorem seed to exactly n bytes (ASCII, so JSON-safe).
func loremText(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(loremSeed)
	}
	return b.String()[:n]
}

package schema

import (
	"encoding/json"
	"testing"
)

func TestMessageParts(t *testing.T) {
	var m Message
	if err := json.Unmarshal([]byte(`{"role":"user","content":"hi"}`), &m); err != nil {
		t.Fatal(err)
	}
	if p, _ := m.Parts(); len(p) != 1 || p[0].Text != "hi" || m.Text() != "hi" {
		t.Fatalf("string content: %+v", p)
	}
	if err := json.Unmarshal([]byte(`{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"b"}]}`), &m); err != nil {
		t.Fatal(err)
	}
	if p, _ := m.Parts(); len(p) != 3 || p[1].ImageURL.URL != "u" || m.Text() != "ab" {
		t.Fatalf("parts: %+v", p)
	}
	m.Content = json.RawMessage("null")
	if p, err := m.Parts(); p != nil || err != nil {
		t.Fatal(p, err)
	}
}

func TestStringList(t *testing.T) {
	var r ChatRequest
	if err := json.Unmarshal([]byte(`{"stop":"x"}`), &r); err != nil || len(r.Stop) != 1 || r.Stop[0] != "x" {
		t.Fatal(err, r.Stop)
	}
	if err := json.Unmarshal([]byte(`{"stop":["x","y"]}`), &r); err != nil || len(r.Stop) != 2 {
		t.Fatal(err, r.Stop)
	}
}

func TestChatUsageRoundTrip(t *testing.T) {
	u := Usage{PromptTokens: 10, CompletionTokens: 5, CachedTokens: 3, ReasoningTokens: 2}
	got := NewChatUsage(u).ToUsage()
	u.TotalTokens = 15
	if got != u {
		t.Fatalf("%+v != %+v", got, u)
	}
	b, _ := json.Marshal(ChatChunk{Choices: []ChunkChoice{}})
	if want := `{"id":"","object":"","created":0,"model":"","choices":[]}`; string(b) != want {
		t.Fatalf("usage chunk shape %s", b)
	}
}

package mockupstream

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"
)

// OpenAI Moderations: POST /moderations with "input" a string, an array of
// strings (one result each) or an array of multimodal parts (one result for
// all of them). An input containing "kill" (any case) is flagged for
// violence; everything else is clean.

var moderationCategories = []string{
	"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
	"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic",
}

// imageCategories are the categories omni-moderation also applies to images.
var imageCategories = map[string]bool{
	"self-harm": true, "self-harm/intent": true, "self-harm/instructions": true,
	"sexual": true, "violence": true, "violence/graphic": true,
}

func (s *Server) moderations(c *call) {
	in := gjson.GetBytes(c.body, "input")
	type item struct {
		text     string
		hasImage bool
	}
	var items []item
	switch {
	case in.Type == gjson.String:
		items = []item{{text: in.Str}}
	case in.IsArray() && len(in.Array()) > 0 && in.Array()[0].IsObject():
		var it item
		for _, p := range in.Array() {
			it.text += p.Get("text").String()
			it.hasImage = it.hasImage || p.Get("type").String() == "image_url"
		}
		items = []item{it}
	case in.IsArray():
		for _, t := range in.Array() {
			items = append(items, item{text: t.String()})
		}
	}
	if len(items) == 0 {
		c.reject(http.StatusBadRequest, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
		return
	}
	model := c.model
	if model == "" {
		model = "omni-moderation-latest"
	}
	results := make([]any, len(items))
	for i, it := range items {
		flagged := strings.Contains(strings.ToLower(it.text), "kill")
		cats, scores, applied := obj{}, obj{}, obj{}
		for _, k := range moderationCategories {
			hit := flagged && k == "violence"
			cats[k], scores[k] = hit, 0.0001
			if hit {
				scores[k] = 0.93
			}
			types := []string{"text"}
			if it.hasImage && imageCategories[k] {
				types = append(types, "image")
			}
			applied[k] = types
		}
		results[i] = obj{"flagged": flagged, "categories": cats, "category_scores": scores, "category_applied_input_types": applied}
	}
	c.sendJSON(obj{"id": c.id("modr-mock-"), "model": model, "results": results})
}

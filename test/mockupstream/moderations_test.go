package mockupstream

import (
	"testing"
)

func TestModerations(t *testing.T) {
	ts, _ := start(t, Options{})
	cases := []struct {
		name, body, model string
		flagged           []bool
		imageApplied      bool
	}{
		{"clean string", `{"input":"hello there"}`, "omni-moderation-latest", []bool{false}, false},
		{"flagged string", `{"model":"omni-moderation-latest","input":"I will KILL the process"}`, "omni-moderation-latest", []bool{true}, false},
		{"array of strings", `{"model":"text-moderation-latest","input":["fine","kill it","also fine"]}`, "text-moderation-latest", []bool{false, true, false}, false},
		{"multimodal", `{"model":"omni-moderation-latest","input":[{"type":"text","text":"how to kill"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}`, "omni-moderation-latest", []bool{true}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := okJSON(t, ts.URL+"/v1/moderations", tc.body)
			res := r.Get("results").Array()
			if len(res) != len(tc.flagged) || r.Get("model").String() != tc.model || !r.Get("id").Exists() {
				t.Fatalf("%s", r.Raw)
			}
			for i, want := range tc.flagged {
				m := res[i]
				if m.Get("flagged").Bool() != want || m.Get("categories.violence").Bool() != want ||
					(m.Get("category_scores.violence").Float() > 0.5) != want || len(m.Get("categories").Map()) != 13 ||
					len(m.Get("category_scores").Map()) != 13 || m.Get("categories.hate").Bool() {
					t.Fatalf("result %d: %s", i, m.Raw)
				}
				if got := len(m.Get("category_applied_input_types.violence").Array()) == 2; got != tc.imageApplied {
					t.Fatalf("applied types: %s", m.Get("category_applied_input_types").Raw)
				}
			}
		})
	}
	st, b, _ := post(t, ts.URL+"/v1/moderations", `{"model":"omni-moderation-latest"}`)
	wantError(t, st, b, 400, "input")
}

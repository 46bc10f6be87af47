package reqbody

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/weir-gateway/weir/internal/jsonstr"
)

func TestParseEssentials(t *testing.T) {
	tests := []struct {
		body                         string
		model                        string
		stream, hasOpt, includeUsage bool
		err                          error
	}{
		{`{"model":"a/b","messages":[]}`, "a/b", false, false, false, nil},
		{`{"messages":[],"stream":true,"model":"x/y"}`, "x/y", true, false, false, nil},
		{`{"model":"m/n","stream":true,"stream_options":{"include_usage":true}}`, "m/n", true, true, true, nil},
		{`{"model":"m/n","stream":false,"stream_options":{}}`, "m/n", false, true, false, nil},
		{`{"model":"m\/n"}`, "m/n", false, false, false, nil},
		{`{"model":"","messages":[]}`, "", false, false, false, ErrNoModel},
		{`{"messages":[]}`, "", false, false, false, ErrNoModel},
		{`{"model":null}`, "", false, false, false, ErrNoModel},
		{`{"model":3}`, "", false, false, false, ErrModelString},
		{`[1,2]`, "", false, false, false, ErrNotObject},
		{`{not json`, "", false, false, false, ErrNotJSON},
		{``, "", false, false, false, ErrNotJSON},
		{`{"model":"a/b"} trailing`, "", false, false, false, ErrNotJSON},
		{`{"model":"a/cheap","x":1,"model":"a/dear"}`, "", false, false, false, ErrTwoModels},
		{`{"model":"a/cheap","MODEL":"a/dear"}`, "", false, false, false, ErrTwoModels},
		{`{"model":"a/cheap","mod\u0065l":"a/dear"}`, "", false, false, false, ErrTwoModels},
		{`{"model":"a/b","stream":false,"Stream":true}`, "", false, false, false, ErrTwoStreams},
		{`{"model":"a/b\u0000"}`, "", false, false, false, ErrModelChars},
		{`{"model":"a/b\n"}`, "", false, false, false, ErrModelChars},
		{`{"model":"a/b\u0085"}`, "", false, false, false, ErrModelChars},
		{"{\"model\":\"a/\xffb\"}", "", false, false, false, ErrModelChars},
		{`{"model":"a/é","messages":[{"model":"x"},{"model":"y"}]}`, "a/é", false, false, false, nil},
	}
	for _, tc := range tests {
		e, err := Parse([]byte(tc.body))
		if err != tc.err {
			t.Errorf("%s: err %v, want %v", tc.body, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if e.Model.String() != tc.model || e.Stream != tc.stream || e.HasStreamOpt != tc.hasOpt || e.IncludeUsage != tc.includeUsage {
			t.Errorf("%s: got %q %v %v %v", tc.body, e.Model.String(), e.Stream, e.HasStreamOpt, e.IncludeUsage)
		}
	}
}

func TestRewriteModel(t *testing.T) {
	tests := []struct{ body, model, want string }{
		{`{"model":"openai/gpt-4o","x":1}`, "gpt-4o", `{"model":"gpt-4o","x":1}`},
		{`{"x":{"model":"keep"}, "model" : "p/m" ,"unknown_field":[1,2]}`, "m", `{"x":{"model":"keep"}, "model" : "m" ,"unknown_field":[1,2]}`},
		{`{"model":"p/a\"b"}`, `a"b`, `{"model":"a\"b"}`},
		{`{"model":"same"}`, "same", `{"model":"same"}`},
		{`{"model":"p/é"}`, "é\n", `{"model":"é\n"}`},
	}
	for _, tc := range tests {
		e, err := Parse([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		got := RewriteModel(nil, []byte(tc.body), &e, tc.model)
		if string(got) != tc.want {
			t.Errorf("rewrite %s -> %s, want %s", tc.body, got, tc.want)
		}
	}
}

func TestAskForUsage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"model":"m","stream":true}`, `{"stream_options":{"include_usage":true},"model":"m","stream":true}`},
		{` {"model":"m","stream":true,"stream_options":{"x":1}}`, ` {"model":"m","stream":true,"stream_options":{"x":1,"include_usage":true}}`},
		{`{"model":"m","stream_options":{"include_usage":false}}`, `{"model":"m","stream_options":{"include_usage":true}}`},
		{`{"model":"m","stream_options":{"include_usage":true}}`, `{"model":"m","stream_options":{"include_usage":true}}`},
	}
	for _, tc := range tests {
		e, err := Parse([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if got := AskForUsage([]byte(tc.body), &e); string(got) != tc.want {
			t.Errorf("%s -> %s, want %s", tc.body, got, tc.want)
		}
	}
}

// FuzzRequestBody feeds arbitrary caller bodies through parsing and the rewrites, which must never panic and
// must always produce valid JSON from valid JSON.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{`{"model":"a/b","stream":true}`, `{"model":"x","stream_options":{"a":1},"stream":true}`,
		`{"model":"\u00e9/\n"}`, `[]`, `{`, `{"model":{"a":1}}`, ` {"model" : "p/m" } `,
		`{"model":"a/cheap","model":"a/dear"}`, `{"model":"a/cheap","Model":"a/dear"}`, `{"model":"a/b","mod\u0065l":"a/c"}`,
		`{"model":"a/b","stream":false,"stream":true}`, `{"model":"a/b","ſtream":true,"stream":false}`, `{"model":"a/\u0000"}`,
		`{"model":"a/\ud800"}`, "{\"model\":\"a/\xff\"}"} {
		f.Add([]byte(s), "gpt-4o")
	}
	f.Fuzz(func(t *testing.T, body []byte, model string) {
		orig := bytes.Clone(body)
		e, err := Parse(body)
		if err == nil {
			// What was priced is what an upstream serves, whichever copy of a key it keeps and however loosely it
			// matches names (Go's encoding/json: the last, case-insensitively).
			var loose struct {
				Model string `json:"model"`
			}
			if json.Unmarshal(body, &loose) == nil && loose.Model != e.Model.Str {
				t.Fatalf("the gateway reads model %q, a Go upstream %q", e.Model.Str, loose.Model)
			}
			if !ValidModel(e.Model.Str) {
				t.Fatalf("accepted model %q", e.Model.Str)
			}
		}
		if err != nil || !ValidModel(model) || model == "" {
			return // a target's model comes from the router, and is never one the gateway would refuse
		}
		out := RewriteModel(nil, body, &e, model)
		if !json.Valid(out) {
			t.Fatalf("rewrite made invalid JSON: %q", out)
		}
		e2, err := Parse(out)
		if err != nil {
			t.Fatalf("rewritten body does not parse: %v", err)
		}
		if e.Model.Index > 0 && e2.Model.String() != model && json.Valid([]byte(`"`+model+`"`)) {
			// only comparable when the model survives a JSON round trip unchanged (valid UTF-8)
			var back string
			_ = json.Unmarshal(jsonstr.Append(nil, model), &back)
			if back == model {
				t.Fatalf("model %q became %q", model, e2.Model.String())
			}
		}
		withUsage := AskForUsage(out, &e2)
		if !json.Valid(withUsage) {
			t.Fatalf("AskForUsage made invalid JSON: %q", withUsage)
		}
		if !bytes.Equal(body, orig) {
			t.Fatal("the caller's body was modified")
		}
	})
}

func TestTokenEstimates(t *testing.T) {
	for body, want := range map[string]int64{
		`{"max_tokens":7}`:                            7,
		`{"max_completion_tokens":8,"max_tokens":7}`:  8,
		`{"max_output_tokens":9}`:                     9,
		`{"generationConfig":{"maxOutputTokens":10}}`: 10,
		`{"inferenceConfig":{"maxTokens":11}}`:        11,
		`{"messages":[]}`:                             DefaultCompletionEstimate,
	} {
		if _, got := TokenEstimate([]byte(body)); got != want {
			t.Errorf("%s: %d, want %d", body, got, want)
		}
	}
}

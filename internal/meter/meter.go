// Package meter reads what a pass-through answer costs from the answer itself (or, for speech, the request):
// the usage readers the API routes hand the gateway with each raw request.
package meter

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/relay"
	"github.com/weir-gateway/weir/internal/schema"
)

// Meters (passthrough.Request.Meter) are handed the request body and the buffered JSON answer (nil when the
// answer was not JSON, such as audio bytes). Tail meters (passthrough.Request.TailMeter) read the last bytes of an
// answer that was streamed rather than buffered.

// Images counts the images generated, plus the tokens of models billed by the token (gpt-image-1).
func Images(_, answer []byte) schema.Usage {
	u := relay.OpenAIUsage(answer)
	u.Images = int64(len(gjson.GetBytes(answer, "data").Array()))
	return u
}

// Speech counts the characters turned into speech.
func Speech(body, _ []byte) schema.Usage {
	return schema.Usage{Characters: int64(utf8.RuneCountInString(gjson.GetBytes(body, "input").String()))}
}

// Audio reads the seconds transcribed (usage.seconds, or verbose_json's duration) or, for models billed
// by the token, the tokens.
func Audio(_, answer []byte) schema.Usage {
	usage := gjson.GetBytes(answer, "usage")
	if usage.Get("type").Str == "duration" {
		return schema.Usage{AudioMillis: int64(usage.Get("seconds").Float() * 1000)}
	}
	if usage.Exists() {
		return relay.OpenAIUsage(answer)
	}
	if d := gjson.GetBytes(answer, "duration"); d.Exists() {
		return schema.Usage{AudioMillis: int64(d.Float() * 1000)}
	}
	return schema.Usage{}
}

// Rerank counts search units (Cohere reports them; one query is one unit elsewhere) and any tokens.
func Rerank(_, answer []byte) schema.Usage {
	u := relay.OpenAIUsage(answer)
	u.Queries = 1
	if su := gjson.GetBytes(answer, "meta.billed_units.search_units"); su.Exists() {
		u.Queries = su.Int()
	}
	return u
}

// lastMember finds the last `"name":` member in b — a whole answer, or the tail of a stream — and returns its
// value.
func lastMember(b []byte, name string) gjson.Result {
	key := []byte(`"` + name + `"`)
	for end := len(b); end > 0; {
		i := bytes.LastIndex(b[:end], key)
		if i < 0 {
			return gjson.Result{}
		}
		if v := gjson.GetBytes(append([]byte("{"), b[i:]...), name); v.IsObject() {
			return v
		}
		end = i
	}
	return gjson.Result{}
}

// Gemini reads a Gemini answer's usageMetadata: a whole answer, a streamed JSON array or the tail of an
// SSE stream (the last chunk carries the totals).
func Gemini(_, answer []byte) schema.Usage { return GeminiTail(answer) }

// GeminiTail is Gemini for a stream's tail.
func GeminiTail(tail []byte) schema.Usage {
	m := lastMember(tail, "usageMetadata")
	if !m.Exists() {
		return schema.Usage{}
	}
	u := schema.Usage{
		PromptTokens:     m.Get("promptTokenCount").Int(),
		CompletionTokens: m.Get("candidatesTokenCount").Int() + m.Get("thoughtsTokenCount").Int(),
		CachedTokens:     m.Get("cachedContentTokenCount").Int(),
		ReasoningTokens:  m.Get("thoughtsTokenCount").Int(),
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

// Bedrock reads a Bedrock answer's usage: Converse's usage (inputTokens, outputTokens), or the model's own
// in an InvokeModel answer (Anthropic's input_tokens, output_tokens).
func Bedrock(_, answer []byte) schema.Usage { return BedrockTail(answer) }

// BedrockTail reads usage from the tail of a Bedrock event stream: ConverseStream's metadata event, or in
// InvokeModelWithResponseStream the invocation metrics Bedrock adds to the last chunk, whose payloads are
// base64-encoded.
//
// Bedrock (inputTokens) and Anthropic (input_tokens) count the prompt tokens read from or written to the cache
// apart from the input tokens, so they are added to the prompt, as the translators do (schema.Usage counts
// cached tokens inside PromptTokens).
func BedrockTail(tail []byte) schema.Usage {
	if u := lastMember(tail, "usage"); u.Exists() {
		in := u.Get("inputTokens").Int() + u.Get("input_tokens").Int()
		outTok := u.Get("outputTokens").Int() + u.Get("output_tokens").Int()
		// Converse, Anthropic's Messages, and Nova's own InvokeModel body name the cache counts differently.
		read := u.Get("cacheReadInputTokens").Int() + u.Get("cache_read_input_tokens").Int() + u.Get("cacheReadInputTokenCount").Int()
		write := u.Get("cacheWriteInputTokens").Int() + u.Get("cache_creation_input_tokens").Int() + u.Get("cacheWriteInputTokenCount").Int()
		if in+outTok+read+write > 0 {
			return meteredBedrockUsage(in, outTok, read, write)
		}
	}
	key := []byte(`"bytes":"`)
	for end := len(tail); end > 0; {
		i := bytes.LastIndex(tail[:end], key)
		if i < 0 {
			break
		}
		end = i
		rest := tail[i+len(key):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 {
			continue
		}
		payload, err := base64.StdEncoding.DecodeString(string(rest[:j]))
		if err != nil {
			continue
		}
		if m := gjson.GetBytes(payload, "amazon-bedrock-invocationMetrics"); m.Exists() {
			return meteredBedrockUsage(m.Get("inputTokenCount").Int(), m.Get("outputTokenCount").Int(),
				m.Get("cacheReadInputTokenCount").Int(), m.Get("cacheWriteInputTokenCount").Int())
		}
	}
	return schema.Usage{}
}

// meteredBedrockUsage is the usage of in fresh input tokens, out output tokens, and read and written cache tokens.
func meteredBedrockUsage(in, out, read, write int64) schema.Usage {
	prompt := in + read + write
	return schema.Usage{PromptTokens: prompt, CompletionTokens: out, TotalTokens: prompt + out, CachedTokens: read}
}

// OpenAI reads the usage of an OpenAI-dialect answer passed through a native route.
func OpenAI(_, answer []byte) schema.Usage { return relay.OpenAIUsage(answer) }

// Anthropic reads the usage of an Anthropic answer passed through a native route.
func Anthropic(_, answer []byte) schema.Usage { return relay.AnthropicUsage(answer) }

// SubtitleDuration reads the end of the last cue of an SRT or WebVTT transcription ("00:01:02,500 --> …" or
// "… --> 00:01:02.500"): the audio's duration, to a cue's precision.
func SubtitleDuration(tail []byte) schema.Usage {
	i := bytes.LastIndex(tail, []byte("-->"))
	if i < 0 {
		return schema.Usage{}
	}
	rest := bytes.TrimLeft(tail[i+3:], " ")
	end := bytes.IndexAny(rest, " \r\n")
	if end < 0 {
		end = len(rest)
	}
	ts := strings.ReplaceAll(string(rest[:end]), ",", ".")
	parts := strings.Split(ts, ":")
	var secs float64
	for _, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return schema.Usage{}
		}
		secs = secs*60 + v
	}
	return schema.Usage{AudioMillis: int64(secs*1000 + 0.5)}
}

// TranscriptText turns a JSON transcription into the plain text OpenAI answers for response_format "text".
func TranscriptText(answer []byte) ([]byte, string) {
	return []byte(gjson.GetBytes(answer, "text").String() + "\n"), "text/plain; charset=utf-8"
}

// ImagesTail reads a streamed image generation or edit (gpt-image's "stream": true): the last completed
// event's usage, and one image for it. Each completed event carries its image's own usage, and only the last is
// within the tail, so n streamed images are charged as one.
func ImagesTail(tail []byte) schema.Usage {
	u := lastMember(tail, "usage")
	if !u.Exists() {
		return schema.Usage{}
	}
	out := relay.OpenAIUsage([]byte(`{"usage":` + u.Raw + `}`))
	out.Images = 1
	return out
}

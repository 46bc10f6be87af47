package relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/tidwall/gjson"

	"github.com/weir-gateway/weir/internal/schema"
)

// AnthropicUsage reads the usage of an Anthropic Messages answer. Cache reads and writes are prompt tokens
// too (Anthropic counts them apart from input_tokens).
func AnthropicUsage(body []byte) schema.Usage {
	return anthropicUsage(gjson.Get(unsafeString(body), "usage"), schema.Usage{})
}

func anthropicUsage(u gjson.Result, into schema.Usage) schema.Usage {
	if !u.IsObject() {
		return into
	}
	if v := u.Get("input_tokens"); v.Exists() {
		cacheRead := u.Get("cache_read_input_tokens").Int()
		into.PromptTokens = v.Int() + cacheRead + u.Get("cache_creation_input_tokens").Int()
		into.CachedTokens = cacheRead
	}
	if v := u.Get("output_tokens"); v.Exists() {
		into.CompletionTokens = v.Int()
	}
	into.TotalTokens = into.PromptTokens + into.CompletionTokens
	return into
}

var (
	messageStart = []byte(`"message_start"`)
	messageDelta = []byte(`"message_delta"`)
)

// AnthropicStream copies an Anthropic SSE stream unchanged, event by event, reading usage from message_start
// (input) and message_delta (output, cumulative), and counting the generated text relayed.
func AnthropicStream(w Sink, r io.Reader) (Streamed, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); readers.Put(br) }()
	var (
		st   Streamed
		long []byte
	)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			isData := bytes.HasPrefix(line, dataPrefix)
			if isData {
				st.Text += deltaText(line[len(dataPrefix):])
			}
			if isData && (bytes.Contains(line, messageStart) || bytes.Contains(line, messageDelta)) {
				payload := unsafeString(bytes.TrimSpace(line[len(dataPrefix):]))
				switch gjson.Get(payload, "type").Str {
				case "message_start":
					st.Usage = anthropicUsage(gjson.Get(payload, "message.usage"), st.Usage)
				case "message_delta":
					st.Usage = anthropicUsage(gjson.Get(payload, "usage"), st.Usage)
				}
				st.SawUsage = st.Usage != schema.Usage{}
			}
			if _, werr := w.Write(line); werr != nil {
				return st, werr
			}
			if isBlank(line) {
				if ferr := w.Flush(); ferr != nil {
					return st, ferr
				}
			}
		}
		if err != nil {
			_ = w.Flush()
			if errors.Is(err, io.EOF) {
				return st, nil
			}
			return st, err
		}
	}
}

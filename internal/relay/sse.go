package relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"unsafe"

	"github.com/tidwall/gjson"
)

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}

var (
	dataPrefix = []byte("data:")
	usageKey   = []byte(`"usage"`)
	usageNull  = []byte(`"usage":null`)
)

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// OpenAIStream copies an OpenAI-dialect SSE stream from r to w event by event, flushing after each event so the
// caller sees every chunk when the upstream sends it. It reads usage from the chunk that carries it; when the
// caller did not ask for usage (the gateway asked on its behalf), that usage-only chunk is not forwarded.
// It returns the usage seen, the generated text relayed, and the first read or write error; io.EOF is not an
// error.
func OpenAIStream(w Sink, r io.Reader, forwardUsage bool) (Streamed, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() { br.Reset(nil); readers.Put(br) }()

	var (
		st      Streamed
		skip    bool // the current event is a usage-only chunk to hold back
		long    []byte
		pending bool // bytes written since the last flush
	)
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An event larger than the buffer: gather it whole (rare: a huge tool-call argument in one chunk).
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			if isBlank(line) {
				if !skip {
					if _, werr := w.Write(line); werr != nil {
						return st, werr
					}
					if ferr := w.Flush(); ferr != nil {
						return st, ferr
					}
					pending = false
				}
				skip = false
			} else {
				isData := bytes.HasPrefix(line, dataPrefix)
				if isData {
					st.Text += deltaText(line[len(dataPrefix):])
				}
				if isData && bytes.Contains(line, usageKey) && !bytes.Contains(line, usageNull) {
					// The payload is only read within this iteration, so viewing it without a copy is safe.
					payload := unsafeString(bytes.TrimSpace(line[len(dataPrefix):]))
					u := gjson.Get(payload, "usage")
					if !u.IsObject() {
						u = gjson.Get(payload, "response.usage") // Responses API: response.completed carries it
					}
					if u.IsObject() {
						st.Usage, st.SawUsage = usageFrom(u), true
						if !forwardUsage && isEmptyArray(gjson.Get(payload, "choices")) {
							skip = true
						}
					}
				}
				if !skip {
					if _, werr := w.Write(line); werr != nil {
						return st, werr
					}
					pending = true
				}
			}
		}
		if err != nil {
			if pending {
				_ = w.Flush()
			}
			if errors.Is(err, io.EOF) {
				return st, nil
			}
			return st, err
		}
	}
}

func isBlank(line []byte) bool {
	return len(line) == 1 || (len(line) == 2 && line[0] == '\r')
}

func isEmptyArray(r gjson.Result) bool {
	return r.IsArray() && len(r.Raw) >= 2 && strings.TrimSpace(r.Raw[1:len(r.Raw)-1]) == ""
}

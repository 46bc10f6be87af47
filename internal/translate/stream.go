package translate

import (
	"fmt"
	"io"

	"github.com/weir-gateway/weir/internal/dialects"
	"github.com/weir-gateway/weir/internal/schema"
)

// StreamTranslator turns an upstream stream (dialect out) into the caller's stream (dialect in), incrementally.
type StreamTranslator interface {
	// Feed takes the next raw upstream bytes (any split) and writes translated events to w, flushing after each
	// complete caller event group.
	Feed(p []byte, w io.Writer) error
	// End is called at upstream EOF (or with a non-nil cause when the upstream broke mid-stream) and writes
	// whatever closes the caller's stream properly, or an error event in the caller's dialect.
	End(w io.Writer, cause error) error
	Usage() schema.Usage
	// Text counts the bytes of generated text (content, reasoning, tool arguments) translated so far: a stream
	// cut before its usage report is charged for them.
	Text() int64
}

// evKind enumerates the hub stream events every upstream parser reduces its dialect to.
type evKind uint8

const (
	evMeta      evKind = iota // upstream message id known (id)
	evText                    // text delta
	evReasoning               // thinking delta
	evToolStart               // tool call begins: index (OpenAI tool index), id, name
	evToolArgs                // arguments JSON fragment for tool index
	evFinish                  // finish reason, OpenAI vocabulary (text)
	evUsage                   // usage so far (non-zero fields replace earlier ones)
	evDone                    // upstream says the answer is complete
	evError                   // upstream error event: errType, text (message)
)

type event struct {
	kind    evKind
	index   int
	id      string
	name    string
	text    string
	errType string
	usage   schema.Usage
}

// parser reduces one upstream dialect to hub events; each call of emit carries the events of one upstream event.
type parser interface {
	feed(p []byte, emit func([]event) error) error
	finish(emit func([]event) error) error
}

// sink renders hub events in the caller's dialect.
type sink interface {
	write(w io.Writer, ev *event) error
	end(w io.Writer, cause error) error
	closed() bool
}

// NewStream returns the translator for an upstream stream in dialect out read by a caller speaking in.
func NewStream(in, out dialects.Dialect, model string, includeUsage bool) (StreamTranslator, error) {
	ci, co, err := pair(in, out)
	if err != nil {
		return nil, err
	}
	t := &translator{p: co.newParser()}
	t.s = ci.newSink(model, includeUsage, &t.usage)
	return t, nil
}

type translator struct {
	p     parser
	s     sink
	usage schema.Usage
	text  int64
	w     io.Writer
	emitF func([]event) error
}

func (t *translator) Usage() schema.Usage { return t.usage }
func (t *translator) Text() int64         { return t.text }

func (t *translator) Feed(p []byte, w io.Writer) error {
	if t.s.closed() {
		return nil // the caller's stream is complete; trailing upstream bytes have nothing to add
	}
	t.w = w
	if t.emitF == nil {
		t.emitF = t.emit
	}
	return t.p.feed(p, t.emitF)
}

func (t *translator) emit(evs []event) error {
	wrote := false
	for i := range evs {
		ev := &evs[i]
		if ev.kind == evUsage {
			mergeUsage(&t.usage, ev.usage)
			continue
		}
		if t.s.closed() {
			return nil
		}
		if ev.kind == evText || ev.kind == evReasoning || ev.kind == evToolArgs {
			t.text += int64(len(ev.text))
		}
		if err := t.s.write(t.w, ev); err != nil {
			return err
		}
		wrote = true
	}
	if wrote {
		flush(t.w)
	}
	return nil
}

func (t *translator) End(w io.Writer, cause error) error {
	t.w = w
	if cause == nil && !t.s.closed() {
		if t.emitF == nil {
			t.emitF = t.emit
		}
		if err := t.p.finish(t.emitF); err != nil {
			cause = err
		}
	}
	if t.s.closed() {
		return nil
	}
	err := t.s.end(w, cause)
	flush(w)
	return err
}

// mergeUsage folds a usage report into the running total: dialects report cumulative counts, sometimes split
// across events (Anthropic: input at the start, output at the end), so non-zero fields replace earlier values.
func mergeUsage(u *schema.Usage, v schema.Usage) {
	if v.PromptTokens != 0 {
		u.PromptTokens = v.PromptTokens
	}
	if v.CompletionTokens != 0 {
		u.CompletionTokens = v.CompletionTokens
	}
	if v.CachedTokens != 0 {
		u.CachedTokens = v.CachedTokens
	}
	if v.ReasoningTokens != 0 {
		u.ReasoningTokens = v.ReasoningTokens
	}
	if v.TotalTokens != 0 {
		u.TotalTokens = v.TotalTokens
	}
	if u.TotalTokens < u.PromptTokens+u.CompletionTokens {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
}

// flush pushes written bytes to the caller when the writer buffers (http.Flusher, bufio.Writer).
func flush(w io.Writer) {
	switch f := w.(type) {
	case interface{ Flush() }:
		f.Flush()
	case interface{ Flush() error }:
		_ = f.Flush()
	}
}

func causeMessage(cause error) string {
	if cause == nil {
		return "upstream stream ended unexpectedly"
	}
	return fmt.Sprintf("upstream stream failed: %v", cause)
}

// Pump runs an upstream stream through st into w as it arrives, reading into buf (grown to 16 KiB when
// smaller; returned for reuse). The stream ends with st.End: an error event in the caller's dialect when the
// upstream broke or w failed.
func Pump(st StreamTranslator, src io.Reader, w io.Writer, buf []byte) ([]byte, error) {
	buf = buf[:cap(buf)]
	if len(buf) < 16<<10 {
		buf = make([]byte, 16<<10)
	}
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if ferr := st.Feed(buf[:n], w); ferr != nil {
				_ = st.End(w, ferr)
				return buf[:0], ferr
			}
		}
		if rerr == io.EOF {
			return buf[:0], st.End(w, nil)
		}
		if rerr != nil {
			_ = st.End(w, rerr)
			return buf[:0], rerr
		}
	}
}

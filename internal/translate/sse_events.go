package translate

// EventReader splits a Server-Sent Events stream fed in fragments of any size into its events, with the
// splitter the stream translators use (bounded at 16 MiB per event). The data slice passed to fn is reused:
// fn copies what it keeps.
type EventReader struct{ r sseReader }

// Feed takes the next bytes of the stream and calls fn for each event they complete.
func (e *EventReader) Feed(p []byte, fn func(event, data []byte) error) error { return e.r.feed(p, fn) }

// Finish calls fn for an event left unterminated at the end of the stream.
func (e *EventReader) Finish(fn func(event, data []byte) error) error { return e.r.finish(fn) }

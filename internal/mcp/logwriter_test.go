package mcp

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// lines collects the log records' line attributes.
type lines struct{ got []string }

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "line" {
			l.got = append(l.got, a.Value.String())
		}
		return true
	})
	return nil
}
func (l *lines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lines) WithGroup(string) slog.Handler      { return l }

func TestLogWriterSplitsLines(t *testing.T) {
	h := &lines{}
	w := &logWriter{log: slog.New(h)}
	for _, chunk := range []string{"first li", "ne\r\nsecond\n", "", "third\nunfinished"} {
		w.Write([]byte(chunk))
	}
	if want := []string{"first line", "second", "third"}; strings.Join(h.got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q, want %q", h.got, want)
	}
}

// FuzzLogWriter: whatever a stdio server writes to stderr, in whatever pieces, every complete line is logged
// once, without its newline, and nothing is buffered beyond maxLogLine.
func FuzzLogWriter(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), uint8(3))
	f.Add(bytes.Repeat([]byte("x"), maxLogLine+10), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		h := &lines{}
		w := &logWriter{log: slog.New(h)}
		n := int(split) + 1
		for i := 0; i < len(data); i += n {
			if k, err := w.Write(data[i:min(i+n, len(data))]); err != nil || k != min(n, len(data)-i) {
				t.Fatalf("Write = %d, %v", k, err)
			}
		}
		for _, l := range h.got {
			if strings.ContainsRune(l, '\n') || len(l) > maxLogLine+n {
				t.Fatalf("logged line %q", l)
			}
		}
		if len(w.buf) >= maxLogLine {
			t.Fatalf("%d bytes left buffered", len(w.buf))
		}
		if bytes.Count(data, []byte("\n")) > len(h.got) {
			t.Fatalf("%d newlines, %d lines logged", bytes.Count(data, []byte("\n")), len(h.got))
		}
	})
}

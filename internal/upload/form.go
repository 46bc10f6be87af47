// Package upload reads multipart/form-data uploads (audio to transcribe, images to edit, files for batches)
// without holding them in memory: small fields are kept, file parts are spooled to a temporary file as they
// arrive, and the form is re-encoded for the upstream from there. Memory stays at a few buffers whatever the
// upload's size, and the body can be sent again on a retry.
package upload

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"os"
	"strings"
)

// MaxFieldBytes bounds one non-file field (a prompt, a model name).
const MaxFieldBytes = 1 << 20

// ErrTooLarge is returned when the upload exceeds its limit.
var ErrTooLarge = errors.New("upload: larger than the limit")

// part is one form part, in the order the caller sent it.
type part struct {
	name, filename, contentType string
	value                       string // a field's value
	spool                       *os.File
	size                        int64
}

// Form is a parsed multipart form. Close removes its spooled files.
type Form struct {
	parts []part
	size  int64 // bytes of file content
}

// IsMultipart reports whether a Content-Type is multipart/form-data, and its boundary.
func IsMultipart(contentType string) (string, bool) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return "", false
	}
	return params["boundary"], true
}

// Read parses a multipart body, spooling file parts to files in dir ("" = the system's temp dir). More than
// limit bytes in total is ErrTooLarge.
func Read(body io.Reader, boundary string, limit int64, dir string) (*Form, error) {
	f := &Form{}
	lr := &io.LimitedReader{R: body, N: limit + 1}
	mr := multipart.NewReader(lr, boundary)
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			f.Close()
			if lr.N <= 0 {
				return nil, ErrTooLarge
			}
			return nil, fmt.Errorf("upload: malformed multipart body: %w", err)
		}
		if err := f.add(p, dir); err != nil {
			f.Close()
			if lr.N <= 0 {
				return nil, ErrTooLarge
			}
			return nil, err
		}
	}
}

func (f *Form) add(p *multipart.Part, dir string) error {
	pt := part{name: p.FormName(), filename: p.FileName(), contentType: p.Header.Get("Content-Type")}
	if pt.name == "" {
		return errors.New("upload: a part has no form name")
	}
	if pt.filename == "" {
		b, err := io.ReadAll(io.LimitReader(p, MaxFieldBytes+1))
		if err != nil {
			return fmt.Errorf("upload: reading field %q: %w", pt.name, err)
		}
		if len(b) > MaxFieldBytes {
			return fmt.Errorf("upload: field %q is larger than %d bytes", pt.name, MaxFieldBytes)
		}
		pt.value = string(b)
		f.parts = append(f.parts, pt)
		return nil
	}
	spool, err := os.CreateTemp(dir, "weir-upload-*")
	if err != nil {
		return fmt.Errorf("upload: spooling %q: %w", pt.name, err)
	}
	_ = os.Remove(spool.Name()) // unlinked at once: the open descriptor keeps it, nothing is left behind on a crash
	pt.spool = spool
	f.parts = append(f.parts, pt)
	n, err := io.Copy(spool, p)
	f.parts[len(f.parts)-1].size = n
	f.size += n
	if err != nil {
		return fmt.Errorf("upload: reading file %q: %w", pt.name, err)
	}
	return nil
}

// Value returns the first field called name, or "".
func (f *Form) Value(name string) string {
	for _, p := range f.parts {
		if p.name == name && p.spool == nil {
			return p.value
		}
	}
	return ""
}

// Set replaces the value of the field name (the first one), or adds it.
func (f *Form) Set(name, value string) {
	for i := range f.parts {
		if f.parts[i].name == name && f.parts[i].spool == nil {
			f.parts[i].value = value
			return
		}
	}
	f.parts = append(f.parts, part{name: name, value: value})
}

// HasFile reports whether a file part called name (or name[]) was sent.
func (f *Form) HasFile(name string) bool {
	for _, p := range f.parts {
		if p.spool != nil && (p.name == name || p.name == name+"[]") {
			return true
		}
	}
	return false
}

// FileSize is the total size of the file parts.
func (f *Form) FileSize() int64 { return f.size }

// Fields returns the non-file fields, for logs and metering.
func (f *Form) Fields() map[string]string {
	out := map[string]string{}
	for _, p := range f.parts {
		if p.spool == nil {
			if _, ok := out[p.name]; !ok {
				out[p.name] = p.value
			}
		}
	}
	return out
}

// Body re-encodes the form for sending and returns its reader, Content-Type and exact length. The reader
// streams from the spooled files; call Body again for a retry.
func (f *Form) Body() (io.Reader, string, int64) {
	boundary := multipart.NewWriter(io.Discard).Boundary()
	var (
		readers []io.Reader
		length  int64
	)
	add := func(r io.Reader, n int64) { readers = append(readers, r); length += n }
	for i, p := range f.parts {
		var head strings.Builder
		if i > 0 {
			head.WriteString("\r\n")
		}
		head.WriteString("--" + boundary + "\r\n")
		h := textproto.MIMEHeader{}
		if p.spool != nil {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, escapeQuotes(p.name), escapeQuotes(p.filename)))
			ct := p.contentType
			if ct == "" {
				ct = "application/octet-stream"
			}
			h.Set("Content-Type", ct)
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"`, escapeQuotes(p.name)))
		}
		for _, k := range []string{"Content-Disposition", "Content-Type"} {
			if v := h.Get(k); v != "" {
				head.WriteString(k + ": " + v + "\r\n")
			}
		}
		head.WriteString("\r\n")
		add(strings.NewReader(head.String()), int64(head.Len()))
		if p.spool != nil {
			add(io.NewSectionReader(p.spool, 0, p.size), p.size)
		} else {
			add(strings.NewReader(p.value), int64(len(p.value)))
		}
	}
	tail := "--" + boundary + "--\r\n"
	if len(f.parts) > 0 {
		tail = "\r\n" + tail
	}
	add(strings.NewReader(tail), int64(len(tail)))
	return io.MultiReader(readers...), "multipart/form-data; boundary=" + boundary, length
}

// Close removes the spooled files.
func (f *Form) Close() {
	for _, p := range f.parts {
		if p.spool != nil {
			_ = p.spool.Close()
		}
	}
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

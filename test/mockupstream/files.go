package mockupstream

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"

	"github.com/tidwall/gjson"
)

// OpenAI Files: POST /files (multipart: file, purpose), GET /files,
// GET /files/{id}, GET /files/{id}/content, DELETE /files/{id}. Objects are
// per API key (store.go); batches write their output and error files here.

type storedFile struct {
	id, filename, purpose string
	data                  []byte
	created, n            int64 // n orders objects created in the same second
}

func (f *storedFile) object() obj {
	return obj{"id": f.id, "object": "file", "bytes": len(f.data), "created_at": f.created,
		"filename": f.filename, "purpose": f.purpose, "status": "processed", "status_details": nil, "expires_at": nil}
}

// maxFileBytes bounds an upload; the real limit is far larger, but a test
// double has no business holding more.
const maxFileBytes = 64 << 20

var filePurposes = map[string]bool{"assistants": true, "batch": true, "fine-tune": true, "vision": true, "user_data": true, "evals": true}

func fileRoute(method, id, sub string) handler {
	switch {
	case method == http.MethodPost && id == "":
		return (*Server).uploadFile
	case method == http.MethodGet && id == "":
		return (*Server).listFiles
	case method == http.MethodGet && sub == "":
		return func(s *Server, c *call) { s.getFile(c, id, false) }
	case method == http.MethodGet && sub == "content":
		return func(s *Server, c *call) { s.getFile(c, id, true) }
	case method == http.MethodDelete && sub == "":
		return func(s *Server, c *call) { s.deleteFile(c, id) }
	}
	return nil
}

// newID returns a unique id and its sequence number.
func (c *call) newID(prefix string) (string, int64) {
	n := c.s.seq.Add(1)
	return prefix + strconv.FormatInt(n, 10), n
}

// addFile stores data in the account; the caller holds the store lock.
func (a *account) addFile(c *call, filename, purpose string, data []byte) *storedFile {
	id, n := c.newID("file-mock")
	f := &storedFile{id: id, filename: filename, purpose: purpose, data: data, created: now().Unix(), n: n}
	a.files[id] = f
	return f
}

func (s *Server) uploadFile(c *call) {
	var data []byte
	var filename string
	found := false
	fields, ok := c.readForm(func(p *multipart.Part) error {
		if p.FormName() != "file" {
			_, err := io.Copy(io.Discard, p)
			return err
		}
		b, err := io.ReadAll(io.LimitReader(p, maxFileBytes))
		data, filename, found = b, p.FileName(), true
		return err
	})
	if !ok {
		return
	}
	purpose := first(fields, "purpose")
	switch {
	case !found:
		c.reject(http.StatusBadRequest, "Missing required parameter: 'file'.", "file", "missing_required_parameter")
		return
	case purpose == "":
		c.reject(http.StatusBadRequest, "Missing required parameter: 'purpose'.", "purpose", "missing_required_parameter")
		return
	case !filePurposes[purpose]:
		c.reject(http.StatusBadRequest, "Invalid value for 'purpose': '"+purpose+"'.", "purpose", "invalid_value")
		return
	case purpose == "batch" && !validJSONL(data):
		c.reject(http.StatusBadRequest, "Invalid file format for Batch API. Must be .jsonl", "file", "invalid_file_format")
		return
	}
	a, unlock := c.account()
	o := a.addFile(c, filename, purpose, data).object()
	unlock()
	c.sendJSON(o)
}

// validJSONL reports whether every non-blank line is a JSON object and
// there is at least one.
func validJSONL(b []byte) bool {
	n := 0
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !gjson.ValidBytes(line) || !gjson.ParseBytes(line).IsObject() {
			return false
		}
		n++
	}
	return n > 0
}

func (s *Server) listFiles(c *call) {
	q := c.r.URL.Query()
	purpose, asc, after := q.Get("purpose"), q.Get("order") == "asc", q.Get("after")
	a, unlock := c.account()
	var files []*storedFile
	for _, f := range a.files {
		if purpose == "" || f.purpose == purpose {
			files = append(files, f)
		}
	}
	sort.Slice(files, func(i, j int) bool { return (files[i].n < files[j].n) == asc })
	data := make([]any, 0, len(files))
	for _, f := range files {
		data = append(data, f.object())
	}
	unlock()
	c.sendJSON(page(data, after, queryInt(c.r, "limit", 10000), "id"))
}

// page cuts a list after the cursor id and to limit, in OpenAI's list shape.
func page(data []any, after string, limit int, idKey string) obj {
	if after != "" {
		for i, d := range data {
			if d.(obj)[idKey] == after {
				data = data[i+1:]
				break
			}
		}
	}
	more := len(data) > limit
	if more {
		data = data[:limit]
	}
	res := obj{"object": "list", "data": data, "has_more": more, "first_id": nil, "last_id": nil}
	if len(data) > 0 {
		res["first_id"], res["last_id"] = data[0].(obj)[idKey], data[len(data)-1].(obj)[idKey]
	}
	return res
}

func (s *Server) getFile(c *call, id string, content bool) {
	a, unlock := c.account()
	f := a.files[id]
	var o obj
	if f != nil {
		o = f.object()
	}
	unlock()
	switch {
	case f == nil:
		c.notFound("File", id)
	case content:
		c.send(f.data, "application/octet-stream") // data is never mutated
	default:
		c.sendJSON(o)
	}
}

func (s *Server) deleteFile(c *call, id string) {
	a, unlock := c.account()
	_, found := a.files[id]
	delete(a.files, id)
	unlock()
	if !found {
		c.notFound("File", id)
		return
	}
	c.sendJSON(obj{"id": id, "object": "file", "deleted": true})
}

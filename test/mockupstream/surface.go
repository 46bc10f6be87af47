package mockupstream

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// The rest of the OpenAI/Anthropic surface beyond chat: images, audio,
// moderations, rerank, files, batches, Anthropic message batches and model
// lookup. routeSurface is route's fallback, so it only sees paths no chat
// dialect claimed; its suffix matches are anchored on the resource segment
// ("files", "batches") so ids and verbs after it never collide with the
// chat suffixes. Files and batches are kept per API key (store.go).

// mockImagePath serves the PNG that url-format image answers point at.
const mockImagePath = "/mockupstream/images/"

func (s *Server) routeSurface(c *call) handler {
	p, m := c.r.URL.Path, c.r.Method
	post := m == http.MethodPost
	switch {
	case strings.HasSuffix(p, "/images/generations") && post:
		return (*Server).imageGenerations
	case (strings.HasSuffix(p, "/images/edits") || strings.HasSuffix(p, "/images/variations")) && post:
		c.multipart()
		return (*Server).imageEdits
	case strings.Contains(p, mockImagePath) && m == http.MethodGet:
		return (*Server).mockImage
	case strings.HasSuffix(p, "/audio/speech") && post:
		return (*Server).speech
	case (strings.HasSuffix(p, "/audio/transcriptions") || strings.HasSuffix(p, "/audio/translations")) && post:
		c.multipart()
		return (*Server).transcribe
	case strings.HasSuffix(p, "/moderations") && post:
		return (*Server).moderations
	case strings.HasSuffix(p, "/rerank") && post: // /v1/rerank and /v2/rerank are routed earlier
		return (*Server).rerank
	}
	if id, sub, parent, ok := resource(p, "batches"); ok {
		if parent == "messages" {
			c.dialect, c.native = dialectAnthropic, true
			return msgBatchRoute(m, id, sub)
		}
		return batchRoute(m, id, sub)
	}
	if id, sub, _, ok := resource(p, "files"); ok {
		if post && id == "" {
			c.multipart()
		}
		return fileRoute(m, id, sub)
	}
	return nil
}

// resource finds the collection segment name among the last three path
// segments: ".../name" → id "", ".../name/{id}" → id, ".../name/{id}/{sub}"
// → id and sub. parent is the segment before name. Collections nested under
// another object (vector store files, container files) are not matched.
func resource(p, name string) (id, sub, parent string, ok bool) {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	n := len(segs)
	for k := 0; k <= 2 && k < n; k++ {
		i := n - 1 - k
		if segs[i] != name {
			continue
		}
		if i >= 1 {
			parent = segs[i-1]
		}
		if i >= 2 && (segs[i-2] == "vector_stores" || segs[i-2] == "containers") {
			return "", "", "", false
		}
		rest := segs[i+1:]
		if len(rest) > 0 {
			id = rest[0]
		}
		if len(rest) > 1 {
			sub = rest[1]
		}
		return id, sub, parent, true
	}
	return "", "", "", false
}

// multipart hands the buffered body back as r.Body, so handlers stream it
// with mime/multipart; lifts the "model" form field into c.model (faults
// ride on it, unless an Azure deployment already named the model); and
// clears c.body, which validate() would otherwise reject as invalid JSON.
func (c *call) multipart() {
	mt, params, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return
	}
	if _, azure := azureDeployment(c.r.URL.Path); !azure {
		c.model = formField(c.body, params["boundary"], "model")
	}
	c.r.Body = io.NopCloser(bytes.NewReader(c.body))
	c.body = nil
}

// formField peeks one small text field out of a buffered multipart body.
func formField(body []byte, boundary, name string) string {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if part.FormName() == name && part.FileName() == "" {
			b, _ := io.ReadAll(io.LimitReader(part, 1024))
			return string(b)
		}
	}
}

// maxFormField bounds the text fields kept from a multipart form.
const maxFormField = 64 << 10

// readForm streams a multipart/form-data body: text fields are collected,
// and each file part (one with a filename) is handed to onFile while it is
// being read, so nothing needs the whole file in memory. ok is false (after
// a 400) when the body is not multipart or is malformed.
func (c *call) readForm(onFile func(*multipart.Part) error) (fields map[string][]string, ok bool) {
	mr, err := c.r.MultipartReader()
	if err != nil {
		c.reject(http.StatusBadRequest, "mock: expected a multipart/form-data body: "+err.Error(), "", nil)
		return nil, false
	}
	fields = map[string][]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return fields, true
		}
		if err != nil {
			c.reject(http.StatusBadRequest, "mock: malformed multipart body: "+err.Error(), "", nil)
			return nil, false
		}
		if part.FileName() != "" {
			err = onFile(part)
		} else {
			var b []byte
			b, err = io.ReadAll(io.LimitReader(part, maxFormField))
			fields[part.FormName()] = append(fields[part.FormName()], string(b))
		}
		if err != nil {
			c.reject(http.StatusBadRequest, "mock: reading "+part.FormName()+": "+err.Error(), part.FormName(), nil)
			return nil, false
		}
	}
}

// first returns the first value of a form field.
func first(fields map[string][]string, name string) string {
	if v := fields[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// reject answers an error with an explicit param and code in the OpenAI
// format (fail derives the code from the status, which only suits model
// errors); other dialects get their usual format.
func (c *call) reject(status int, msg, param string, code any) {
	if c.dialect != dialectOpenAI {
		c.fail(status, msg)
		return
	}
	c.s.failed.Add(1)
	var p any
	if param != "" {
		p = param
	}
	body := mustJSON(obj{"error": obj{"message": msg, "type": "invalid_request_error", "param": p, "code": code}})
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	if _, err := c.w.Write(body); err != nil {
		c.broken = true
		return
	}
	c.done = true
}

// notFound is OpenAI's answer for an unknown object id.
func (c *call) notFound(kind, id string) {
	if c.dialect == dialectAnthropic {
		c.fail(http.StatusNotFound, kind+" not found: "+id)
		return
	}
	c.reject(http.StatusNotFound, "No such "+kind+" object: "+id, "id", nil)
}

// sendJSON marshals v as a success body.
func (c *call) sendJSON(v any) { c.send(mustJSON(v), "application/json") }

// baseURL is scheme://host of the request, for URLs the mock hands out.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// queryInt reads a positive integer query parameter, else def.
func queryInt(r *http.Request, name string, def int) int {
	if v, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil && v > 0 {
		return v
	}
	return def
}

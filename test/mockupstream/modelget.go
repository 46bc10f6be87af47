package mockupstream

import (
	"net/http"
	"strings"
	"time"
)

// GET …/models/{id}: an OpenAI model object, or Anthropic's ModelInfo when
// the request carries anthropic-version. Any id is known except one
// containing "missing", which is a 404; fault names work as ids (the id is
// the request's model). The route runs before the Gemini colon check so
// fine-tuned ids such as ft:gpt-4o-mini:org::abc reach it.

func (s *Server) routeModel(c *call) handler {
	p := c.r.URL.Path
	id := p[strings.Index(p, "/models/")+len("/models/"):]
	c.dialect = dialectOpenAI
	if c.r.Header.Get("anthropic-version") != "" {
		c.dialect = dialectAnthropic
	}
	if id == "" {
		return (*Server).openaiModels
	}
	c.model = id
	return func(s *Server, c *call) { s.getModel(c, id) }
}

func (s *Server) getModel(c *call, id string) {
	missing := strings.Contains(strings.ToLower(id), "missing")
	switch {
	case missing && c.dialect == dialectAnthropic:
		c.fail(http.StatusNotFound, "model: "+id)
	case missing:
		c.reject(http.StatusNotFound, "The model '"+id+"' does not exist", "model", "model_not_found")
	case c.dialect == dialectAnthropic:
		c.sendJSON(obj{"type": "model", "id": id, "display_name": id,
			"created_at": time.Unix(s.created, 0).UTC().Format(time.RFC3339)})
	default:
		c.sendJSON(obj{"id": id, "object": "model", "created": s.created, "owned_by": "mockupstream"})
	}
}

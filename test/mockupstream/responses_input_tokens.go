package mockupstream

import (
	"net/http"
	"strings"
)

// The Responses API beyond create: POST /v1/responses/input_tokens counts a
// request's input tokens; GET and DELETE /v1/responses/{id} and GET
// /v1/responses/{id}/input_items answer for any id (the mock keeps no
// responses), so a gateway's forwarding can be tested; an id starting with
// "resp_gone" is a 404, as for a response the upstream no longer has. The
// account a request reaches is proven with Options.APIKey.

func (s *Server) routeResponseObjects(c *call) handler {
	p, m := c.r.URL.Path, c.r.Method
	rest := p[strings.LastIndex(p, "/responses/")+len("/responses/"):]
	id, sub, _ := strings.Cut(rest, "/")
	switch {
	case id == "input_tokens" && sub == "" && m == http.MethodPost:
		return (*Server).responsesInputTokens
	case id == "" || strings.HasPrefix(id, "resp_gone"):
		return nil
	case sub == "" && m == http.MethodGet:
		return (*Server).responseGet
	case sub == "" && m == http.MethodDelete:
		return (*Server).responseDelete
	case sub == "input_items" && m == http.MethodGet:
		return (*Server).responseInputItems
	}
	return nil
}

// responsesInputTokens answers {"object":"response.input_tokens","input_tokens":N}
// with the same estimate a create request's usage reports.
func (s *Server) responsesInputTokens(c *call) {
	t := responsesTurn(c.body, c.model)
	c.send(mustJSON(obj{"object": "response.input_tokens", "input_tokens": tokens(t.promptChars)}), "application/json")
}

func responseObjectID(c *call) string {
	p := c.r.URL.Path
	id, _, _ := strings.Cut(p[strings.LastIndex(p, "/responses/")+len("/responses/"):], "/")
	return id
}

func (s *Server) responseGet(c *call) {
	id := responseObjectID(c)
	rs := &respState{id: id, msgID: "msg_" + id, model: "mock-model", created: s.created}
	a := answer{text: "stored response " + id}
	c.send(mustJSON(rs.response("completed", []any{rs.item(&a, "completed")}, &a)), "application/json")
}

func (s *Server) responseDelete(c *call) {
	c.send(mustJSON(obj{"id": responseObjectID(c), "object": "response", "deleted": true}), "application/json")
}

// responseInputItems answers one input item whose text echoes the query
// string, so a test sees that paging parameters were forwarded.
func (s *Server) responseInputItems(c *call) {
	id := "msg_in_" + responseObjectID(c)
	item := obj{"id": id, "type": "message", "role": "user", "status": "completed",
		"content": []any{obj{"type": "input_text", "text": "query: " + c.r.URL.RawQuery}}}
	c.send(mustJSON(obj{"object": "list", "data": []any{item}, "first_id": id, "last_id": id, "has_more": false}), "application/json")
}

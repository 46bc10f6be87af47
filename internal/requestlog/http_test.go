package requestlog

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestBadQueryAnswersInAdminShape: /api/logs and /api/stats are part of the admin API, so a bad query
// parameter is refused in its error format — {"error":{"message","type","param","code"}}, OpenAI's — naming
// the parameter, for every parameter that is checked.
func TestBadQueryAnswersInAdminShape(t *testing.T) {
	a := NewAPI(nil, nil) // every case is refused before the reader is asked
	for _, tc := range []struct {
		handler func(http.ResponseWriter, *http.Request)
		query   string
		param   string
	}{
		{a.Logs, "limit=-1", "limit"},
		{a.Logs, "limit=0", "limit"},
		{a.Logs, "limit=ten", "limit"},
		{a.Logs, "from=yesterday", "from"},
		{a.Logs, "to=soon", "to"},
		{a.Logs, "status=6xx", "status"},
		{a.Logs, "status=0", "status"},
		{a.Logs, "min_latency_ms=-5", "min_latency_ms"},
		{a.Stats, "from=yesterday", "from"},
		{a.Stats, "to=soon", "to"},
		{a.Stats, "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from"},
		{a.Stats, "interval=-1m", "interval"},
		{a.Stats, "interval=fast", "interval"},
		{a.Stats, "from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&interval=1s", "interval"},
	} {
		w := httptest.NewRecorder()
		tc.handler(w, httptest.NewRequest("GET", "/api/x?"+tc.query, nil))
		var body struct {
			Error struct {
				Message string  `json:"message"`
				Type    string  `json:"type"`
				Param   *string `json:"param"`
				Code    string  `json:"code"`
			} `json:"error"`
		}
		err := json.Unmarshal(w.Body.Bytes(), &body)
		e := body.Error
		if w.Code != http.StatusBadRequest || err != nil || e.Type != "invalid_request_error" || e.Code != "invalid_value" ||
			e.Param == nil || *e.Param != tc.param || e.Message == "" {
			t.Errorf("?%s: %d %s", tc.query, w.Code, w.Body.String())
		}
	}
}

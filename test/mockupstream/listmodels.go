package mockupstream

import (
	"strconv"
	"strings"
)

// Model lists in the non-OpenAI shapes, each advertising mockModels:
//   - Gemini's GET …/models (a request carrying x-goog-api-key or ?key=), paged by pageSize/pageToken;
//   - Bedrock's control plane, GET /foundation-models and GET /inference-profiles (paged by
//     maxResults/nextToken), SigV4-verified like the runtime routes. Each mock model is a foundation model
//     callable on demand; "mock-profile-only" is served only through the "us.mock-profile-only" profile.

// routeModelList picks the list shape for GET …/models.
func (s *Server) routeModelList(c *call) handler {
	if c.r.Header.Get("X-Goog-Api-Key") != "" || c.r.URL.Query().Get("key") != "" {
		c.dialect = dialectGemini
		return (*Server).geminiModels
	}
	return (*Server).openaiModels
}

// routeBedrockControl answers the Bedrock control plane's model lists.
func (s *Server) routeBedrockControl(c *call) handler {
	c.dialect = dialectBedrock
	switch {
	case strings.HasSuffix(c.r.URL.Path, "/foundation-models"):
		return (*Server).bedrockFoundationModels
	case strings.HasSuffix(c.r.URL.Path, "/inference-profiles"):
		return (*Server).bedrockInferenceProfiles
	}
	return nil
}

// tokenPage returns the [from, to) window of n items for a page token (an offset) and a page size, and the next
// token ("" on the last page).
func tokenPage(n int, token, size string, def int) (from, to int, next string) {
	from, _ = strconv.Atoi(token)
	per, err := strconv.Atoi(size)
	if err != nil || per <= 0 {
		per = def
	}
	from = min(max(from, 0), n)
	to = min(from+per, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next
}

func (s *Server) geminiModels(c *call) {
	q := c.r.URL.Query()
	from, to, next := tokenPage(len(mockModels), q.Get("pageToken"), q.Get("pageSize"), 50)
	models := make([]obj, 0, to-from)
	for _, m := range mockModels[from:to] {
		models = append(models, obj{"name": "models/" + m, "displayName": m, "version": "001",
			"inputTokenLimit": 1048576, "outputTokenLimit": 8192,
			"supportedGenerationMethods": []string{"generateContent", "countTokens"}})
	}
	body := obj{"models": models}
	if next != "" {
		body["nextPageToken"] = next
	}
	c.sendJSON(body)
}

func (s *Server) bedrockFoundationModels(c *call) {
	sums := make([]obj, 0, len(mockModels)+1)
	add := func(id string, types ...string) {
		sums = append(sums, obj{"modelArn": "arn:aws:bedrock:" + s.region() + "::foundation-model/" + id,
			"modelId": id, "modelName": id, "providerName": "Mock", "inputModalities": []string{"TEXT"},
			"outputModalities": []string{"TEXT"}, "responseStreamingSupported": true,
			"inferenceTypesSupported": types, "modelLifecycle": obj{"status": "ACTIVE"}})
	}
	for _, m := range mockModels {
		add(m, "ON_DEMAND")
	}
	add("mock-profile-only", "INFERENCE_PROFILE")
	c.sendJSON(obj{"modelSummaries": sums})
}

func (s *Server) bedrockInferenceProfiles(c *call) {
	profiles := []string{"us.mock-model", "us.mock-profile-only"}
	q := c.r.URL.Query()
	from, to, next := tokenPage(len(profiles), q.Get("nextToken"), q.Get("maxResults"), 1000)
	sums := make([]obj, 0, to-from)
	for _, id := range profiles[from:to] {
		sums = append(sums, obj{"inferenceProfileId": id, "inferenceProfileName": "US " + id[3:],
			"inferenceProfileArn": "arn:aws:bedrock:" + s.region() + ":123456789012:inference-profile/" + id,
			"type":                "SYSTEM_DEFINED", "status": "ACTIVE",
			"models": []obj{{"modelArn": "arn:aws:bedrock:" + s.region() + "::foundation-model/" + id[3:]}}})
	}
	body := obj{"inferenceProfileSummaries": sums}
	if next != "" {
		body["nextToken"] = next
	}
	c.sendJSON(body)
}

func (s *Server) region() string {
	if s.o.AWSRegion != "" {
		return s.o.AWSRegion
	}
	return "us-east-1"
}

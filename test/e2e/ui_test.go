package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/openai/openai-go/v3/option"

	"github.com/weir-gateway/weir/test/mockupstream"
)

const uiAdminToken = "ui-e2e-admin-token"

// adminGet reads an admin route with the admin token.
func adminGet(t *testing.T, g *gateway, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", g.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+uiAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// routeExists says whether the gateway serves an admin route (a stream is closed after its headers).
func routeExists(t *testing.T, g *gateway, path string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+uiAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound
}

// waitLogged waits until the request log holds at least n rows (it is written in the background).
func waitLogged(t *testing.T, g *gateway, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d logged requests", n), func() bool {
		_, body := adminGet(t, g, fmt.Sprintf("/api/logs?limit=%d&total=false", n))
		var l struct{ Data []json.RawMessage }
		return json.Unmarshal([]byte(body), &l) == nil && len(l.Data) >= n
	})
}

// TestUIBrowser drives the web UI in headless Chromium against the zero-config gateway (mock provider) with an
// admin token: log in, watch the overview fill, filter the log and drill into a request, make a virtual key and
// use it from the OpenAI SDK, give it a budget and see a 429, add a provider live, tail the log, chat in the
// Playground, and move through the navigation by keyboard. Screenshots of every page go to test/e2e/out/ui/.
func TestUIBrowser(t *testing.T) {
	b := newBrowser(t)
	_, upURL := startUpstream(t, mockupstream.Options{APIKey: "sk-live-provider"})
	encKey := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	g := startGateway(t, "", "WEIR_ADMIN_TOKEN="+uiAdminToken, "WEIR_ENCRYPTION_KEY="+encKey)
	c := client(g)
	ctx := context.Background()

	// Login: the shell shows only the login form until the admin token is exchanged for a session.
	b.run(chromedp.Navigate(g.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if n := b.text("body"); strings.Contains(n, "Request log") {
		t.Fatalf("the navigation shows before login: %s", n)
	}
	b.shots("login")
	b.run(chromedp.SendKeys(chromedp.CSS("#token"), "wrong"), chromedp.Click(chromedp.CSS("#login button[type=submit]")))
	b.waitJS("the login error", `document.getElementById('login-error').textContent.includes('not the admin token')`, 5*time.Second)
	b.run(chromedp.SetValue(chromedp.CSS("#token"), uiAdminToken), chromedp.Click(chromedp.CSS("#login button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#nav")))
	b.waitReady("overview")

	t.Run("overview populates", func(t *testing.T) {
		b.t = t
		if !strings.Contains(b.text("main"), "No requests yet") || !strings.Contains(b.text("main"), g.URL+"/v1/chat/completions") {
			t.Fatalf("empty overview should say what to try: %s", b.text("main"))
		}
		b.shots("overview-empty")
		for range 3 {
			if _, err := chat(ctx, c, "mock/echo"); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = chat(ctx, c, "nope/x") // a 404, logged as an error
		waitLogged(t, g, 4)
		b.page("#/overview")
		main := b.text("main")
		if !strings.Contains(main, "mock") || !strings.Contains(main, "Latest requests") {
			t.Fatalf("overview after requests: %s", main)
		}
		b.shots("overview")
	})

	t.Run("log filter and drill-down", func(t *testing.T) {
		b.t = t
		b.page("#/logs")
		b.redraws("logs", chromedp.SetValue(chromedp.CSS(`#log-filters select[name=status]`), "error"), chromedp.Click(chromedp.CSS(`#log-filters button[type=submit]`)))
		statuses := evalJS[[]string](b, `[...document.querySelectorAll('main tbody tr .pill')].map((p) => p.textContent)`)
		if len(statuses) != 1 || statuses[0] != "404" {
			t.Fatalf("status=error rows: %v", statuses)
		}
		b.redraws("logs", chromedp.SetValue(chromedp.CSS(`#log-filters select[name=status]`), "2xx"), chromedp.SetValue(chromedp.CSS(`#log-filters input[name=provider]`), "mock"),
			chromedp.Click(chromedp.CSS(`#log-filters button[type=submit]`)))
		statuses = evalJS[[]string](b, `[...document.querySelectorAll('main tbody tr .pill')].map((p) => p.textContent)`)
		if len(statuses) != 3 || statuses[0] != "200" {
			t.Fatalf("status=2xx&provider=mock rows: %v", statuses)
		}
		b.run(chromedp.Click(chromedp.CSS(`main tbody tr`)))
		b.waitJS("the drill-down", `document.querySelector('#drilldown dl') !== null`, 5*time.Second)
		d := b.text("#drilldown")
		for _, want := range []string{"Attempts", "mock", "echo", "Time to first byte", "Content is not logged"} {
			if !strings.Contains(d, want) {
				t.Fatalf("drill-down lacks %q: %s", want, d)
			}
		}
		b.shots("log-drilldown")
		b.run(chromedp.KeyEvent(kb.Escape))
		b.waitJS("the drill-down to close", `document.getElementById('drilldown') === null`, 2*time.Second)
		b.page("#/logs")
		b.shots("logs")
	})

	var secret string
	t.Run("virtual key, budget and 429", func(t *testing.T) {
		b.t = t
		b.page("#/keys")
		if !strings.Contains(b.text("main"), "No virtual keys yet") {
			t.Fatalf("keys page empty state: %s", b.text("main"))
		}
		b.run(chromedp.Click(chromedp.CSS("#create-key")), chromedp.WaitVisible(chromedp.CSS("dialog form")),
			chromedp.SetValue(chromedp.CSS(`dialog input[name=id]`), "ui-key"), chromedp.SetValue(chromedp.CSS(`dialog input[name=name]`), "Made in the UI"),
			chromedp.SetValue(chromedp.CSS(`dialog input[name=rpm]`), "100"), chromedp.Click(chromedp.CSS(`dialog button[type=submit]`)))
		b.waitJS("the new secret", `document.getElementById('new-secret') !== null || (document.querySelector('dialog .error')?.textContent ?? '') !== ''`, 5*time.Second)
		secret = b.text("#new-secret")
		if !strings.HasPrefix(secret, "wk-") {
			t.Fatalf("secret shown: %q", secret)
		}
		b.redraws("keys", chromedp.Click(chromedp.CSS(`dialog button.primary`)))
		if strings.Contains(b.text("main"), secret) {
			t.Fatal("the secret is still on the page after its dialog closed")
		}
		kc := client(g, option.WithAPIKey(secret))
		if _, err := chat(ctx, kc, "mock/echo"); err != nil {
			t.Fatalf("the new key from openai-go: %v", err)
		}
		// A budget below one request's cost: the next request is charged, the one after is refused.
		b.run(chromedp.Click(chromedp.CSS(`button[aria-label="Edit ui-key"]`)), chromedp.WaitVisible(chromedp.CSS("dialog form")),
			chromedp.SetValue(chromedp.CSS(`dialog input[name=max_usd]`), "0.00001"))
		b.submitDialog()
		b.waitReady("keys")
		status := 0
		for i := 0; i < 3 && status != 429; i++ {
			_, err := chat(ctx, kc, "mock/echo")
			status, _ = apiStatus(t, err)
		}
		if status != http.StatusTooManyRequests {
			t.Fatalf("over its budget the key got %d, want 429", status)
		}
		b.page("#/keys")
		if m := b.text("main"); !strings.Contains(m, "budget") || !strings.Contains(m, "resets") || !strings.Contains(m, "rpm 100") {
			t.Fatalf("keys page should show spend against the budget and the rpm limit with reset times: %s", m)
		}
		b.shots("keys")
	})

	t.Run("add a provider live", func(t *testing.T) {
		b.t = t
		b.page("#/providers")
		b.run(chromedp.Click(chromedp.CSS("#add-provider")), chromedp.WaitVisible(chromedp.CSS("dialog form")),
			chromedp.SetValue(chromedp.CSS(`dialog input[name=name]`), "live-up"), chromedp.SetValue(chromedp.CSS(`dialog input[name=type]`), "openai"),
			chromedp.SetValue(chromedp.CSS(`dialog input[name=base_url]`), upURL+"/v1"), chromedp.SetValue(chromedp.CSS(`dialog input[name=models]`), "mock-model"),
			chromedp.SetValue(chromedp.CSS(`dialog input[name=key_value]`), "sk-live-provider"))
		b.submitDialog()
		b.waitReady("providers")
		if !strings.Contains(b.text("main"), "live-up") {
			t.Fatalf("providers page after adding: %s", b.text("main"))
		}
		if strings.Contains(b.text("main"), "sk-live-provider") {
			t.Fatal("a provider key is shown in full")
		}
		b.shots("providers")
		if _, body := adminGet(t, g, "/api/providers"); !strings.Contains(body, `"source"`) {
			t.Skip("stored providers are not routed by this build yet (live providers not merged): the UI stored it; routing not checked")
		}
		resp, err := chat(ctx, c, "live-up/mock-model")
		if err != nil {
			t.Fatalf("routing to the provider added in the UI: %v", err)
		}
		if resp.Choices[0].Message.Content == "" {
			t.Fatal("empty answer from the live provider")
		}
	})

	t.Run("live tail", func(t *testing.T) {
		b.t = t
		b.page("#/logs?model=mock-model")
		if !routeExists(t, g, "/api/logs/tail") {
			t.Skip("this build has no /api/logs/tail (request-log data endpoints not merged)")
		}
		b.run(chromedp.Click(chromedp.CSS("#live-tail")))
		b.waitJS("the tail to connect", `document.querySelector('main [role=status]').textContent.startsWith('live')`, 5*time.Second)
		if _, err := chat(ctx, c, "mock/mock-model"); err != nil {
			t.Fatal(err)
		}
		b.waitJS("the new request in the tail", `(document.querySelector('main tbody')?.innerText ?? '').includes('mock-model')`, 2*time.Second)
		b.run(chromedp.Click(chromedp.CSS("#live-tail")))
	})

	t.Run("playground", func(t *testing.T) {
		b.t = t
		b.page("#/playground")
		b.run(chromedp.SetValue(chromedp.CSS("#pg-prompt"), "hello from the playground"), chromedp.Click(chromedp.CSS("#pg-send")))
		b.waitJS("the streamed answer", `(document.querySelector('.msg.assistant')?.textContent ?? '').includes('hello from the playground')`, 5*time.Second)
		b.waitJS("the request's log entry", `document.querySelector('#pg-entry dl') !== null`, 5*time.Second)
		if e := b.text("#pg-entry"); !strings.Contains(e, "Cost") || !strings.Contains(e, "mock/echo") {
			t.Fatalf("log entry: %s", e)
		}
		b.run(chromedp.Click(chromedp.CSS(`details summary`)))
		if code := b.text("main"); !strings.Contains(code, g.URL+"/v1") || (secret != "" && strings.Contains(code, secret)) {
			t.Fatalf("snippets must name the gateway and never a secret: %s", code)
		}
		b.shots("playground")
		b.page("#/cluster")
		if !strings.Contains(b.text("main"), "Cluster mode is off") {
			t.Fatalf("cluster page: %s", b.text("main"))
		}
		b.shots("cluster")
		b.page("#/mcp")
		if m := b.text("main"); !strings.Contains(m, "No MCP servers are configured") || !strings.Contains(m, "mcp.servers") {
			t.Fatalf("MCP page without servers should say how to configure them: %s", m)
		}
		b.shots("mcp-empty")
	})

	t.Run("keyboard", func(t *testing.T) {
		b.t = t
		b.run(chromedp.Navigate(g.URL + "/ui/?reload#/overview")) // a fresh page: focus starts at its top
		b.waitReady("overview")
		var seen []string
		for range 6 {
			b.run(chromedp.KeyEvent(kb.Tab))
			focus := evalJS[struct{ Text, Outline string }](b, `({text: document.activeElement.textContent.trim(), outline: getComputedStyle(document.activeElement).outlineStyle})`)
			if focus.Outline == "none" {
				t.Fatalf("focus on %q is not visible", focus.Text)
			}
			seen = append(seen, focus.Text)
			if focus.Text == "Request log" {
				b.run(chromedp.KeyEvent(kb.Enter))
				b.waitReady("logs")
				return
			}
		}
		t.Fatalf("tabbing did not reach the navigation: focus went %v", seen)
	})

	t.Run("logout", func(t *testing.T) {
		b.t = t
		b.run(chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#token")))
		// the old session's cookie is gone: the admin API refuses the page's calls
		status := evalJS[int](b, `fetch(document.body.dataset.base + '/api/keys').then((r) => r.status)`)
		if status != http.StatusUnauthorized {
			t.Fatalf("after logout /api/keys answered %d", status)
		}
	})
}

// TestUIUnderPathPrefix: behind a proxy at /weir (server.base_path) every link, asset and API call of the UI
// carries the prefix, and the overview fills from the gateway's own data.
func TestUIUnderPathPrefix(t *testing.T) {
	b := newBrowser(t)
	g := startGateway(t, "server:\n  base_path: /weir\nproviders:\n  - {name: mock, type: mock, models: [echo]}\n")
	if _, err := chat(context.Background(), client(g), "mock/echo"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the request in the log", func() bool {
		resp, err := http.Get(g.URL + "/weir/api/logs?total=false")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), `"mock"`)
	})
	b.run(chromedp.Navigate(g.URL+"/weir/"), chromedp.WaitVisible(chromedp.CSS("#nav")))
	b.waitReady("overview")
	if !strings.Contains(b.text("main"), "mock") {
		t.Fatalf("overview under /weir: %s", b.text("main"))
	}
	requests := evalJS[[]string](b, `performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)`)
	if len(requests) < 3 {
		t.Fatalf("resources loaded: %v", requests)
	}
	for _, p := range requests {
		if !strings.HasPrefix(p, "/weir/") {
			t.Errorf("%s was fetched without the /weir prefix", p)
		}
	}
	links := evalJS[[]string](b, `[...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')).filter((h) => !h.startsWith('#'))`)
	for _, l := range links {
		if !strings.HasPrefix(l, "/weir/") {
			t.Errorf("link %s lacks the /weir prefix", l)
		}
	}
}

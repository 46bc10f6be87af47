package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weir-gateway/weir/test/mcpserver"
)

// TestUIMCPAndPlayground drives the MCP page against a gateway with one MCP server up (test/mcpserver over
// streamable HTTP) and one that cannot be reached, edits a key's MCP allow-list in the keys dialog, and checks
// that the Playground shows its own request's log entry while other traffic of the same key is logged at the
// same time.
func TestUIMCPAndPlayground(t *testing.T) {
	b := newBrowser(t)
	webSrv := mcpserver.New("web", &mcpserver.Calls{})
	web := &restartableServer{t: t, addr: "127.0.0.1:0",
		h: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return webSrv }, nil)}
	web.start()
	t.Cleanup(web.stop)
	g := startGateway(t, fmt.Sprintf(`
providers:
  - {name: mock, type: mock, models: [echo, mock-model]}
mcp:
  servers:
    - { name: web, transport: streamable-http, url: "http://%s/mcp" }
    - { name: gone, transport: streamable-http, url: "http://%s/mcp", call_timeout: 1s }
governance:
  virtual_keys:
    - { id: tools-key, value: %s, mcp: { servers: [web] } }
`, web.addr, freeAddr(t), mcpFullKey))
	waitUntil(t, "the MCP servers' first connection", func() bool {
		_, _, body := get(t, g.URL+"/api/mcp/servers")
		return strings.Contains(body, `"state":"up"`) && strings.Contains(body, `"state":"down"`)
	})
	b.run(chromedp.Navigate(g.URL+"/ui/#/mcp"), chromedp.WaitVisible(chromedp.CSS("#nav")))
	b.waitReady("mcp")

	t.Run("MCP page", func(t *testing.T) {
		b.t = t
		b.page("#/mcp")
		rows := evalJS[[][]string](b, `[...document.querySelectorAll('main tbody tr')].map((r) => [...r.cells].map((c) => c.textContent))`)
		if len(rows) != 2 {
			t.Fatalf("server rows: %v", rows)
		}
		web, gone := strings.Join(rows[0], "|"), strings.Join(rows[1], "|")
		if !strings.HasPrefix(web, "web|up|") || !strings.Contains(web, "streamable-http") || rows[0][4] == "0" {
			t.Errorf("the up server's row: %s", web)
		}
		if !strings.HasPrefix(gone, "gone|down|") || rows[1][len(rows[1])-1] == "–" {
			t.Errorf("the unreachable server's row should say it is down and why: %s", gone)
		}
		tools := evalJS[[]string](b, `[...document.querySelectorAll('main .chips li')].map((li) => li.textContent)`)
		if !strings.Contains(strings.Join(tools, ","), "add") || len(tools) != atoiT(t, rows[0][4]) {
			t.Errorf("tool names %v against the count %s", tools, rows[0][4])
		}
		b.shots("mcp")
	})

	t.Run("key's MCP allow-list", func(t *testing.T) {
		b.t = t
		b.page("#/keys")
		if m := b.text("main"); !strings.Contains(m, "web") {
			t.Fatalf("the keys page should show tools-key's MCP servers: %s", m)
		}
		b.run(chromedp.Click(chromedp.CSS(`button[aria-label="Edit tools-key"]`)), chromedp.WaitVisible(chromedp.CSS("dialog form")))
		if v := evalJS[string](b, `document.querySelector('dialog input[name=mcp_servers]').value`); v != "web" {
			t.Fatalf("the dialog's MCP servers: %q", v)
		}
		b.run(chromedp.SetValue(chromedp.CSS(`dialog input[name=mcp_tools]`), "web__add, web__echo*"))
		b.submitDialog()
		b.waitReady("keys")
		_, _, body := get(t, g.URL+"/api/keys/tools-key")
		var k struct {
			MCP struct{ Servers, Tools []string }
		}
		if err := json.Unmarshal([]byte(body), &k); err != nil || strings.Join(k.MCP.Servers, ",") != "web" || strings.Join(k.MCP.Tools, ",") != "web__add,web__echo*" {
			t.Fatalf("the key's mcp after the edit: %s", body)
		}
		// Clearing both fields removes the key's own allow-list.
		b.run(chromedp.Click(chromedp.CSS(`button[aria-label="Edit tools-key"]`)))
		b.waitJS("the edit dialog with the new allow-list", `document.querySelector('dialog input[name=mcp_tools]')?.value === 'web__add, web__echo*'`, 5*time.Second)
		evalJS[bool](b, `(() => { for (const n of ['mcp_servers', 'mcp_tools']) document.querySelector('dialog input[name=' + n + ']').value = ''; return true })()`)
		b.submitDialog()
		b.waitReady("keys")
		if _, _, body := get(t, g.URL+"/api/keys/tools-key"); strings.Contains(body, `"mcp"`) {
			t.Fatalf("the key's mcp after clearing it: %s", body)
		}
	})

	t.Run("playground's own log entry under concurrent traffic", func(t *testing.T) {
		b.t = t
		// Other requests without a key, to another model, logged all the time the playground's is.
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var others atomic.Int64
		c := client(g)
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := chat(ctx, c, "mock/mock-model"); err == nil {
					others.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		defer func() { cancel(); wg.Wait() }()
		waitUntil(t, "concurrent traffic", func() bool { return others.Load() > 3 })
		b.page("#/playground")
		b.run(chromedp.SetValue(chromedp.CSS("#pg-model"), "mock/echo"), chromedp.SetValue(chromedp.CSS("#pg-prompt"), "exactly mine"),
			chromedp.Click(chromedp.CSS("#pg-send")))
		b.waitJS("the request's log entry", `document.querySelector('#pg-entry dl') !== null || document.querySelector('#pg-entry p') !== null`, 5*time.Second)
		entry := b.text("#pg-entry")
		if !strings.Contains(entry, "mock/echo") {
			t.Fatalf("the playground shows another request's entry: %s", entry)
		}
		id := b.text("#pg-entry-id")
		_, _, body := get(t, g.URL+"/api/logs/"+id)
		if !strings.Contains(body, `"model":"echo"`) {
			t.Fatalf("entry %s is not the playground's request: %s", id, body)
		}
		if others.Load() < 10 {
			t.Errorf("only %d concurrent requests: the test did not race the playground", others.Load())
		}
	})
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q is not a number: %v", s, err)
	}
	return n
}

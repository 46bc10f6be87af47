package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// browser is one headless Chromium tab (Debian's chromium package; .ci/run installs it).
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts headless Chromium, or skips the test when no Chromium is installed.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no Chromium to drive the web UI with: apt-get install -y chromium (.ci/run installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first action starts the browser, which lives as long as the context of that call: one without a deadline.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return &browser{t: t, ctx: ctx}
}

// run runs actions in order, failing the test on an error.
func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v (page text: %s)", err, b.text("body"))
	}
}

// text is the visible text of the first element matching the CSS selector ("" if none).
func (b *browser) text(sel string) string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ''`, sel)))
	return s
}

// evalJS evaluates a JavaScript expression into a T.
func evalJS[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitJS waits until the expression is true, for at most d.
func (b *browser) waitJS(what, js string, d time.Duration) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.t.Fatalf("waiting for %s: %v\npage text: %s", what, err, b.text("main"))
	}
}

// scheme sets prefers-color-scheme.
func (b *browser) scheme(s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: s}}})
		return err
	})
}

// redraws runs actions that make the current page draw itself again, and waits until it has.
func (b *browser) redraws(page string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	evalJS[bool](b, `(document.body.dataset.ready = '', true)`)
	b.run(actions...)
	b.waitReady(page)
}

// submitDialog submits the open dialog's form and waits until it closes, failing with the error it shows.
func (b *browser) submitDialog() {
	b.t.Helper()
	b.run(chromedp.Click(chromedp.CSS(`dialog button[type=submit]`)))
	b.waitJS("the dialog to close", `!document.querySelector('dialog form') || document.querySelector('dialog .error').textContent !== ''`, 5*time.Second)
	if e := b.text("dialog .error"); e != "" {
		b.t.Fatalf("the form was refused: %s", e)
	}
}

// page opens a page of the UI by its hash route (#/logs?...) and waits until it is drawn.
func (b *browser) page(route string) {
	b.t.Helper()
	evalJS[bool](b, fmt.Sprintf(`(() => { document.body.dataset.ready = ''; performance.clearResourceTimings();
		if (location.hash === %[1]q) dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = %[1]q; return true })()`, route))
	b.waitReady(strings.SplitN(strings.TrimPrefix(route, "#/"), "?", 2)[0])
	// No page view makes more than three API calls (LiteLLM's logs page fired an N+1 storm).
	calls := evalJS[[]string](b, `performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
		.filter((p) => /\/(api|v1)\//.test(p))`)
	if len(calls) > 3 {
		b.t.Fatalf("%s made %d API calls: %v", route, len(calls), calls)
	}
}

// waitReady waits until the router has drawn the named page.
func (b *browser) waitReady(page string) {
	b.t.Helper()
	b.waitJS("the "+page+" page", fmt.Sprintf(`document.body.dataset.ready === %q`, page), 10*time.Second)
}

// shots saves screenshots of the current page in light and dark, at desktop (1280×800) and phone (390 px) width,
// under test/e2e/out/ui/.
func (b *browser) shots(name string) {
	b.t.Helper()
	dir := filepath.Join("out", "ui")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	for _, scheme := range []string{"light", "dark"} {
		for _, size := range []struct {
			name string
			w, h int64
		}{{"desktop", 1280, 800}, {"phone", 390, 844}} {
			b.run(chromedp.EmulateViewport(size.w, size.h), b.scheme(scheme), chromedp.Sleep(50*time.Millisecond))
			png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				b.t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", name, scheme, size.name)), png, 0o644); err != nil {
				b.t.Fatal(err)
			}
		}
	}
	b.run(chromedp.EmulateViewport(1280, 800), b.scheme("light"))
}

package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/squallstream/squall/internal/testenv"
)

// browser is one headless chromium tab on the UI.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu      sync.Mutex
	console []string // exceptions and console errors the page raised
}

func startBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		need(t, "chromium (Debian package chromium) for the browser tests", err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root needs it
		chromedp.DisableGPU,
		chromedp.WindowSize(1366, 768),
		chromedp.Flag("lang", "en-US"),
	)...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, base: base}
	// The first run starts the browser: no timeout on its context.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			// A 404 of an optional route logs "Failed to load resource":
			// the browser's network log, not the page's error.
			if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasPrefix(m.Text, "Failed to load resource") {
				b.mu.Lock()
				b.console = append(b.console, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// do runs actions, failing the test with what on error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := ctxTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v%s", what, err, b.pageState())
	}
}

// eval evaluates a JavaScript expression whose value is JSON-decoded.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := ctxTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %.80s: %v", expr, err)
	}
	return v
}

// waitFor waits until the expression is truthy in the page.
func (b *browser) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	b.do("wait for "+what, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[chromedp.Void](expr,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(testenv.Patience(timeout)))(ctx, t)
		return err
	}))
}

// pageState is the page's banner and main text, for failure messages.
func (b *browser) pageState() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.hash + "\nbanner: " + document.getElementById('banner').textContent + "\n" + document.getElementById('main').innerText.slice(0, 1500)`))
	if err != nil {
		return ""
	}
	return "\n--- page " + s
}

// load loads the UI from base (scheme://host:port) and waits for its
// cluster page.
func (b *browser) load(base string) {
	b.t.Helper()
	b.do("load the UI from "+base, chromedp.Navigate(base+"/"))
	b.waitFor("the cluster page", `document.getElementById('main').hasAttribute('data-refreshed')`, 60*time.Second)
}

// open shows a page of the UI by its route and waits until the page has
// loaded its data once.
func (b *browser) open(route string) {
	b.t.Helper()
	b.do("open "+route, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`document.getElementById('main').removeAttribute('data-refreshed');
		if (location.hash === %[1]q) window.dispatchEvent(new HashChangeEvent('hashchange')); // open it anew
		else location.hash = %[1]q;
		undefined`, route)))
	b.waitFor(route+" to load", `document.getElementById('main').hasAttribute('data-refreshed')`, 60*time.Second)
}

// refresh refreshes the page now and waits for it.
func (b *browser) refresh() {
	b.t.Helper()
	before := eval[string](b, `document.getElementById('main').getAttribute('data-refreshed') || ''`)
	b.do("refresh", chromedp.Click(chromedp.ID("refresh-now")))
	b.waitFor("the refresh", fmt.Sprintf(`(document.getElementById('main').getAttribute('data-refreshed') || '') !== %q`, before), 60*time.Second)
}

// check runs what every page must pass: it fits 1366x768 without
// horizontal scrolling, axe-core finds no serious or critical violation,
// and the page raised no JavaScript error. Then it takes the screenshot.
func (b *browser) check(name string) {
	b.t.Helper()
	width := eval[[]int](b, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`)
	if width[0] > width[1] {
		wide := eval[[]string](b, `[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + (e.id || ''))`)
		b.t.Errorf("%s: the page is %dpx wide in a %dpx window: it scrolls horizontally (widest: %v)", name, width[0], width[1], wide)
	}
	b.axe(name)
	b.mu.Lock()
	errs := b.console
	b.console = nil
	b.mu.Unlock()
	for _, e := range errs {
		b.t.Errorf("%s: JavaScript error: %s", name, e)
	}
	b.screenshot(name)
}

var axeSource = sync.OnceValues(func() ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "..", ".ci", "deps", "node_modules", "axe-core", "axe.min.js"))
})

// axe runs axe-core on the page and fails on serious or critical
// violations.
func (b *browser) axe(name string) {
	b.t.Helper()
	src, err := axeSource()
	if err != nil {
		if os.Getenv("CI") != "" {
			b.t.Fatalf("axe-core is missing: %v (run .ci/install-test-deps)", err)
		}
		b.t.Logf("%s: axe-core not run: %v (run .ci/install-test-deps)", name, err)
		return
	}
	if !eval[bool](b, `typeof axe !== 'undefined'`) {
		eval[chromedp.Void](b, string(src)+"\n;undefined")
	}
	type violation struct {
		ID     string   `json:"id"`
		Impact string   `json:"impact"`
		Help   string   `json:"help"`
		Nodes  []string `json:"nodes"`
	}
	vs := eval[[]violation](b, `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').slice(0, 200))})))`)
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: axe %s violation %s (%s): %s", name, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, "; "))
		} else {
			b.t.Logf("%s: axe %s violation %s (%s)", name, v.Impact, v.ID, v.Help)
		}
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	if *screenshots == "" {
		return
	}
	ctx, cancel := ctxTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// setInput sets an input's value as typing would, with its input and
// change events.
func (b *browser) setInput(id, value string) {
	b.t.Helper()
	b.do("set #"+id, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.getElementById(%q);
		el.value = %q;
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, id, value)))
}

// tab presses Tab until the element with id has the focus, as a keyboard
// user would reach it.
func (b *browser) tabTo(id string) {
	b.t.Helper()
	b.do("focus the page start", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.focus(); undefined`))
	var seen []string
	for range 150 {
		b.do("press Tab", chromedp.KeyEvent(kb.Tab))
		got := eval[string](b, `document.activeElement ? (document.activeElement.id || document.activeElement.getAttribute('data-key') || document.activeElement.textContent.slice(0, 30)) : ''`)
		if got == id {
			return
		}
		seen = append(seen, got)
	}
	b.t.Fatalf("Tab never reached #%s; the focus went through %q", id, seen)
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// browser is a headless chromium driven by chromedp, which records what the page logs as an
// error and every URL it requests.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	problems []string
	requests []string
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium found (apt-get install chromium, or set CHROMIUM)"
	if strict() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // as root in a container
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{}
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithListener(b.listen))
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	b.ctx = ctx
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return b
}

// listen runs in chromedp's event loop: it only records.
func (b *browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			b.problems = append(b.problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		b.problems = append(b.problems, "exception: "+ev.ExceptionDetails.Text+" "+ev.ExceptionDetails.URL)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			b.problems = append(b.problems, fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		b.requests = append(b.requests, ev.Request.URL)
	}
}

func (b *browser) requestsSoFar() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// problemsSoFar is what the page logged as errors, less what a change of the machine's network
// caused: docker stop and start (which some tests do to a chronyd) add and remove interfaces
// on the host chromium runs on, and chromium then fails the requests in flight with
// ERR_NETWORK_CHANGED, as it would for a laptop changing networks. Each such failure is
// dropped with the two errors htmx logs for a failed request (htmx:afterRequest and
// htmx:sendError), no more; every other error stays.
func (b *browser) problemsSoFar() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := 0
	for _, p := range b.problems {
		if strings.Contains(p, "net::ERR_NETWORK_CHANGED") {
			changed++
		}
	}
	excused := map[string]int{`htmx:afterRequest`: changed, `htmx:sendError`: changed}
	var out []string
	for _, p := range b.problems {
		if strings.Contains(p, "net::ERR_NETWORK_CHANGED") {
			continue
		}
		if ev, ok := htmxRequestError(p); ok && excused[ev] > 0 {
			excused[ev]--
			continue
		}
		out = append(out, p)
	}
	return out
}

// htmxRequestError is the event of a console error htmx logs for a failed request.
func htmxRequestError(p string) (string, bool) {
	for _, ev := range []string{`htmx:afterRequest`, `htmx:sendError`} {
		if strings.HasPrefix(p, `console.error: "`+ev+`,`) {
			return ev, true
		}
	}
	return "", false
}

func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition in the page until it is true.
func (b *browser) waitFor(t *testing.T, what, js string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatalf("waiting %v for %s: %v", timeout, what, err)
	}
	return time.Since(start)
}

// waitAfterClick polls a JavaScript condition across the navigation a click starts: while the
// new page has not replaced the old one, the condition's context is gone and is asked again.
func (b *browser) waitAfterClick(t *testing.T, what, js string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
		if err == nil {
			return time.Since(start)
		}
		// The page navigating away under the poll ends it with one of these: poll the new page.
		navigating := strings.Contains(err.Error(), "context") || strings.Contains(err.Error(), "navigated or closed")
		if time.Since(start) > timeout || !navigating {
			t.Fatalf("waiting %v for %s: %v", timeout, what, err)
		}
	}
}

// panelJS reads a panel as the page shows it: its fields by data-field (the value of <data>,
// the datetime of <time>, else the text), its table rows, its error (data-failed: its one line
// while chronyd does not answer, or its own error), whether it is loading, and whether its
// values are the last ones kept while chronyd does not answer.
const panelJS = `(function (id) {
  const p = document.getElementById('panel-' + id);
  if (!p) return null;
  const val = e => e.tagName === 'DATA' ? e.value : e.tagName === 'TIME' ? e.dateTime : e.textContent.trim();
  const fields = {};
  p.querySelectorAll('[data-field]').forEach(e => { if (!e.closest('.detail-row')) fields[e.dataset.field] = val(e); });
  const rows = Array.from(p.querySelectorAll('tbody tr:not(.detail-row)')).map(tr => {
    const r = {};
    tr.querySelectorAll('[data-field]').forEach(e => { r[e.dataset.field] = val(e); });
    return r;
  }).filter(r => Object.keys(r).length > 0);
  const err = p.dataset.failed ? p.querySelector('.panel-error, .host-down') : null;
  return {fields, rows, error: err ? err.textContent.trim() : '', loading: !!p.querySelector('.loading'),
          stale: p.classList.contains('is-stale'), body: p.querySelector('.panel-body').textContent.trim().length};
})`

type panelView struct {
	Fields  map[string]string   `json:"fields"`
	Rows    []map[string]string `json:"rows"`
	Error   string              `json:"error"`
	Loading bool                `json:"loading"`
	Stale   bool                `json:"stale"`
	Body    int                 `json:"body"`
}

func readPanel(t *testing.T, b *browser, id string) panelView {
	t.Helper()
	return eval[panelView](t, b, panelJS+"('"+id+"')")
}

var panelIDs = []string{"tracking", "sources", "sourcestats", "rtc"}

// allPanels is a JavaScript test over the four panels.
func allPanels(cond string) string {
	return `['tracking','sources','sourcestats','rtc'].every(id => { const p = document.getElementById('panel-' + id); return p && (` + cond + `); })`
}

// reload clicks a panel's reload button and waits until the panel has been replaced.
func reload(t *testing.T, b *browser, id string) {
	t.Helper()
	// Marked and clicked in one step: a refresh that replaces the panel between finding the
	// button and clicking it would leave a click on a node that is gone.
	eval[chromedp.Void](t, b, `(function () { const p = document.getElementById('panel-`+id+`'); p.dataset.e2eOld = '1'; p.querySelector('button.reload').click(); })()`)
	b.waitFor(t, id+" to reload", `!document.getElementById('panel-`+id+`').dataset.e2eOld`, 15*time.Second)
}

// setVisible makes the page believe it is hidden or visible again, as a switch of tabs does.
func setVisible(t *testing.T, b *browser, visible bool) {
	t.Helper()
	state := "hidden"
	if visible {
		state = "visible"
	}
	eval[chromedp.Void](t, b, `Object.defineProperty(document, 'visibilityState', {value: '`+state+`', configurable: true});
		document.dispatchEvent(new Event('visibilitychange'))`)
}

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/testcontainers/testcontainers-go"

	"github.com/second-hand/second-hand/pkg/chronylab"
)

// open loads the page through nginx and waits until the four panels have data.
func open(t *testing.T, b *browser, s *stack) {
	t.Helper()
	b.do(t, chromedp.Navigate(s.url))
	took := b.waitFor(t, "the four panels", allPanels(`p.querySelector('[data-age-ms]') && !p.querySelector('.loading')`), 30*time.Second)
	t.Logf("four panels populated %v after the page loaded", took.Round(time.Millisecond))
	for _, id := range panelIDs {
		if p := readPanel(t, b, id); p.Error != "" {
			t.Fatalf("%s panel shows an error: %s", id, p.Error)
		}
	}
}

// consistent reloads a panel in the browser between two chronyc reads in the monitored
// chronyd's container, until chronyd did not change in between, and compares.
func consistent(t *testing.T, b *browser, c testcontainers.Container, id string, volatile []int, compare func(p panelView, before, after [][]string) []string) {
	t.Helper()
	diffs := chronylab.Consistent(40,
		func() ([][]string, error) { return chronyc(t, c, id), nil },
		func() (panelView, error) { reload(t, b, id); return readPanel(t, b, id), nil },
		volatile, compare)
	if len(diffs) > 0 {
		t.Fatalf("%s panel in the browser never matched chronyc:\n%s", id, strings.Join(diffs, "\n"))
	}
}

// matchChronyc: the tracking and sources values the browser shows are chronyc's, run inside
// the container c of the chronyd the page shows.
func matchChronyc(t *testing.T, b *browser, c testcontainers.Container) {
	t.Helper()
	consistent(t, b, c, "tracking", chronylab.TrackingVolatile, func(p panelView, before, after [][]string) []string {
		return chronylab.CompareTracking(p.Fields, before[0], after[0])
	})
	consistent(t, b, c, "sources", chronylab.SourcesVolatile, func(p panelView, before, after [][]string) []string {
		return chronylab.CompareSources(p.Rows, before, after)
	})
}

// TestDashboardThroughNginx runs the whole stack over UDP and checks, in a real browser at
// http://<nginx>/chrony/: the panels populate and agree with chronyc; a reload button reloads
// its panel only; the panels follow chronyd stopping and coming back; the console stays clean
// and nothing is requested outside the page's origin. It saves a screenshot of the page.
func TestDashboardThroughNginx(t *testing.T) {
	s := startStack(t, stackOptions{})
	b := newBrowser(t, 1280, 1000)
	open(t, b, s)
	origin := strings.TrimSuffix(s.url, "chrony/")

	t.Run("values match chronyc", func(t *testing.T) { matchChronyc(t, b, s.chronyd) })

	t.Run("the diagnosis comes first, its state on the tab", func(t *testing.T) { checkDiagnosisFirst(t, b, "") })

	t.Run("screenshot", func(t *testing.T) {
		if os.Getenv("SECOND_HAND_SCREENSHOTS") != "" {
			// For the README: wait until the source has answered its last 8 polls.
			b.waitFor(t, "reach 377", `(document.querySelector('#panel-sources [data-field=reach]') || {}).value === '377'`, 2*time.Minute)
		}
		b.waitFor(t, "no panel loading", `!document.querySelector('.htmx-request')`, 10*time.Second)
		shot := func(name string) {
			png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			saveScreenshot(t, name, png)
		}
		shot("screenshot.png")
		colorScheme(t, b, "dark")
		shot("screenshot-dark.png")
		colorScheme(t, b, "light")
		b.do(t, chromedp.EmulateViewport(360, 900))
		shot("screenshot-360.png")
		b.do(t, chromedp.EmulateViewport(1280, 1000))
	})

	t.Run("reload button reloads its panel only", func(t *testing.T) {
		setVisible(t, b, false) // stops the periodic refresh, so only the click can cause a request
		b.waitFor(t, "requests in flight to end", `!document.querySelector('.htmx-request')`, 10*time.Second)
		eval[chromedp.Void](t, b, `window.e2ePage = 'still the same page';
			document.querySelectorAll('[data-panel]').forEach(p => p.dataset.e2eOld = '1')`)
		n := len(b.requestsSoFar())
		reload(t, b, "sources")
		if got := eval[string](t, b, `window.e2ePage || ''`); got != "still the same page" {
			t.Fatal("the page was loaded again")
		}
		for _, id := range []string{"tracking", "sourcestats", "rtc"} {
			if !eval[bool](t, b, `!!document.getElementById('panel-`+id+`').dataset.e2eOld`) {
				t.Errorf("%s was replaced by a click on the sources reload button", id)
			}
		}
		if got := b.requestsSoFar()[n:]; len(got) != 1 || !strings.HasSuffix(got[0], "/chrony/panels/sources?fresh=1") {
			t.Errorf("requests after the click = %v, want only panels/sources?fresh=1", got)
		}
		// Visible again: every panel reloads at once.
		setVisible(t, b, true)
		b.waitFor(t, "every panel to reload when the page is visible again", allPanels(`!p.dataset.e2eOld`), 5*time.Second)
	})

	t.Run("a source's detail opens, reloads and closes", func(t *testing.T) { checkSourceDetail(t, b) })

	t.Run("accessibility: axe, keyboard", func(t *testing.T) {
		audit(t, b, "the page of one host")
		checkKeyboard(t, b, map[string]string{"reload button": "button.reload", "range switch": "button.range",
			"source": "button.source-toggle", "label with a tooltip": ".has-tip[tabindex]"})
		checkTips(t, b, "panel-tracking")
		// Enter on a source opens its detail; with it and the history panel open, audit again.
		pressEnterOn(t, b, `#panel-sources button.source-toggle`)
		b.waitFor(t, "the detail opened with Enter", `!!document.querySelector('#panel-sources tr.detail-row:not([hidden]) .source-detail [data-field=verdict]')`, 15*time.Second)
		audit(t, b, "the page with a source's detail open")
		pressEnterOn(t, b, `#panel-sources button.source-toggle`)
		b.waitFor(t, "the detail closed with Enter", `!document.querySelector('#panel-sources tr.detail-row:not([hidden])')`, 5*time.Second)
	})

	t.Run("history", func(t *testing.T) { checkHistory(t, b) })

	// Read at a glance: the page's height with every panel present, and its stops of the
	// keyboard's (issue 18's targets: 2,000 px at 1280 px, 5,000 px at 360 px, 30 stops).
	t.Run("page height and tab stops", func(t *testing.T) {
		b.waitFor(t, "every panel loaded", `document.querySelectorAll('main [data-panel]').length >= 8 && !document.querySelector('main .loading')`, time.Minute)
		wide := eval[int](t, b, `document.documentElement.scrollHeight`)
		stops := tabStops(t, b)
		b.do(t, chromedp.EmulateViewport(360, 900))
		narrow := eval[int](t, b, `document.documentElement.scrollHeight`)
		b.do(t, chromedp.EmulateViewport(1280, 1000))
		t.Logf("page height %d px at 1280 px, %d px at 360 px; %d tab stops", wide, narrow, stops)
		if wide > 2000 || narrow > 5000 || stops > 30 {
			t.Errorf("page height %d px at 1280 px (target 2000), %d px at 360 px (target 5000), %d tab stops (target 30)", wide, narrow, stops)
		}
	})

	t.Run("chronyd stops and comes back", func(t *testing.T) {
		ctx := context.Background()
		stop := 5 * time.Second
		if err := s.chronyd.Stop(ctx, &stop); err != nil {
			t.Fatal(err)
		}
		// Each panel must show its error within one refresh plus the timeout of a request; the
		// bound here adds slack for a loaded machine, and the measured time is logged.
		bound := s.refresh + s.maxWait + 10*time.Second
		took := b.waitFor(t, "every panel's error", allPanels(`p.dataset.failed === 'not-answering'`), bound)
		t.Logf("every panel showed its error %v after chronyd stopped (refresh %v, timeout %v)", took.Round(time.Millisecond), s.refresh, s.maxWait)
		// One banner: the diagnosis; each panel keeps its last values, greyed, with their age
		// and one line of its own, no alert box.
		for _, id := range panelIDs {
			// Waited for, not read once: while htmx settles a swap, the old attributes stand.
			b.waitFor(t, id+" stale, with its values", `(function (p) { return p && p.dataset.failed === 'not-answering' && p.classList.contains('is-stale') && `+
				`!!p.querySelector('.stale-values [data-field]'); })(document.getElementById('panel-`+id+`'))`, bound)
			if p := readPanel(t, b, id); p.Body == 0 || p.Error == "" || len(p.Fields) < 2 {
				t.Errorf("%s with chronyd stopped: %+v", id, p)
			}
		}
		if n := eval[int](t, b, `document.querySelectorAll('main .panel-error').length`); n != 0 {
			t.Errorf("%d error boxes with chronyd stopped, want none but the diagnosis", n)
		}
		if f := readPanel(t, b, "tracking").Fields; f["stratum"] == "" || f["reference"] == "" {
			t.Errorf("the tracking panel lost its last values: %v", f)
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveScreenshot(t, "screenshot-down.png", png)
		// The error states pass the audit too, and screen readers were told, once.
		audit(t, b, "the page with every panel's error")
		if got := eval[string](t, b, `document.getElementById('announcer').textContent`); !strings.Contains(got, "chronyd") {
			t.Errorf("the announcer says %q, want a panel's error", got)
		}
		if got := eval[string](t, b, `document.querySelector('h1').textContent`); got != "second-hand" {
			t.Errorf("the page is gone: %q", got)
		}
		// The diagnosis says chronyd is silent, and so does the tab.
		checkDiagnosisFirst(t, b, "failing")
		if f := eval[string](t, b, `document.querySelector('#panel-diagnosis [data-finding]').dataset.finding`); f != "chronyd-unreachable" {
			t.Errorf("the first finding with chronyd stopped is %q", f)
		}
		if err := s.chronyd.Start(ctx); err != nil {
			t.Fatal(err)
		}
		took = b.waitFor(t, "every panel to recover", allPanels(`!p.dataset.failed && !p.classList.contains('is-stale') && p.querySelector('[data-age-ms]')`), time.Minute)
		t.Logf("every panel recovered %v after chronyd was started again", took.Round(time.Millisecond))
		b.waitFor(t, "the diagnosis to recover", `document.getElementById('panel-diagnosis').dataset.state !== 'failing' && !document.title.startsWith('✕')`, time.Minute)
	})

	t.Run("what happened shows the stop", func(t *testing.T) {
		// Once the record has the end of the silence, it is one event with its duration. The
		// panel lists the latest three: when chronyd's return brought more (synchronised again,
		// a reference chosen), the stop is in the list of all events, one click away.
		defer func() {
			if t.Failed() { // what the panel said instead ("busy", the latest three, an error)
				t.Logf("the events panel at the end:\n%s", eval[string](t, b, `(document.getElementById('panel-events') || {}).outerHTML || 'none'`))
			}
		}()
		took := b.waitFor(t, "the events panel to show chronyd not answering, and for how long", `(() => {
			if (document.querySelector('#panel-events .event-silent:not([data-open])')) return true;
			const all = document.querySelector('#panel-events:not(.htmx-request) a#events-all[hx-get$="all=1"]');
			if (all) all.click();
			return false;
		})()`, time.Minute)
		t.Logf("the events panel showed the stop %v after chronyd was back", took.Round(time.Millisecond))
		text := eval[string](t, b, `document.querySelector('#panel-events .event-silent:not([data-open])').textContent`)
		if !strings.Contains(text, "chronyd not answering for") {
			t.Errorf("event: %q", text)
		}
		// Its link shows the moment in the charts, in the history panel, with no page load.
		setVisible(t, b, false) // no refresh replaces the link while it is clicked
		defer setVisible(t, b, true)
		b.waitFor(t, "requests in flight to end", `!document.querySelector('.htmx-request')`, 10*time.Second)
		eval[chromedp.Void](t, b, `window.e2ePage = 'before the link'; document.getElementById('panel-history').dataset.e2eOld = '1'`)
		b.do(t, chromedp.Click(chromedp.CSS("#panel-events .event-silent:not([data-open]) a.show")))
		b.waitFor(t, "the history panel with the moment marked", `!document.getElementById('panel-history').dataset.e2eOld && !!document.querySelector('#panel-history .marker')`, 15*time.Second)
		if eval[string](t, b, `window.e2ePage || ''`) != "before the link" {
			t.Error("the page was loaded again")
		}
		if n := eval[int](t, b, `document.querySelectorAll('#panel-history rect.gap').length`); n == 0 {
			t.Error("the charts draw no gap for the stop")
		}
	})

	t.Run("clean console, same origin only", func(t *testing.T) {
		if p := b.problemsSoFar(); len(p) > 0 {
			t.Errorf("the browser logged errors:\n%s", strings.Join(p, "\n"))
		}
		reqs := b.requestsSoFar()
		if len(reqs) < 8 {
			t.Errorf("only %d requests recorded: %v", len(reqs), reqs)
		}
		for _, u := range reqs {
			if !strings.HasPrefix(u, origin+"chrony/") {
				t.Errorf("request outside the page's own origin and path: %s", u)
			}
		}
	})

	t.Run("narrow screen", func(t *testing.T) { checkNarrow(t, b) })
}

// checkDiagnosisFirst: the diagnosis is the page's first block, above tracking, and the tab
// carries its state: the title (the symbol and the word) and the icon; with want, once the
// state is that.
func checkDiagnosisFirst(t *testing.T, b *browser, want string) {
	t.Helper()
	cond := `!!document.querySelector('#panel-diagnosis [data-field=diagnosis-state]')`
	if want != "" {
		cond += ` && document.getElementById('panel-diagnosis').dataset.state === '` + want + `' && document.title.includes('` + map[string]string{"failing": "Failing", "warning": "Warning", "ok": "OK"}[want] + `')`
	}
	b.waitFor(t, "the diagnosis "+want, cond, time.Minute)
	if first := eval[string](t, b, `document.querySelector('main').firstElementChild.id`); first != "panel-diagnosis" {
		t.Errorf("the page's first block is %q", first)
	}
	if !eval[bool](t, b, `document.getElementById('panel-diagnosis').getBoundingClientRect().bottom <= document.getElementById('panel-tracking').getBoundingClientRect().top`) {
		t.Error("the diagnosis is not drawn above tracking")
	}
	state := eval[string](t, b, `document.getElementById('panel-diagnosis').dataset.state`)
	word := map[string]string{"ok": "✓ OK", "warning": "! Warning", "failing": "✕ Failing"}[state]
	if title := eval[string](t, b, `document.title`); word == "" || title != word+" · chronyd · second-hand" {
		t.Errorf("state %q, title %q", state, title)
	}
	if icon := eval[string](t, b, `document.getElementById('favicon').getAttribute('href')`); !strings.Contains(icon, "favicon-"+state+".") {
		t.Errorf("state %q, icon %q", state, icon)
	}
}

// TestDashboardOverSocket runs the stack with second-hand reading chronyd's Unix socket,
// shared through a volume, as chronyd's user.
func TestDashboardOverSocket(t *testing.T) {
	s := startStack(t, stackOptions{socket: true})
	b := newBrowser(t, 1280, 1000)
	open(t, b, s)
	if got := eval[string](t, b, `document.getElementById('chrony-endpoint').textContent`); got != "unix:///run/chrony/chronyd.sock" {
		t.Errorf("the page says it reads %q", got)
	}
	matchChronyc(t, b, s.chronyd)

	// On the socket a source's detail is whole: the selection, the last NTP packet and the
	// authentication, with no access note. Its picture is the README's.
	t.Run("detail over the socket", func(t *testing.T) {
		b.do(t, chromedp.Click(chromedp.CSS(`#panel-sources button.source-toggle`)))
		open := `document.querySelector('#panel-sources tr.detail-row:not([hidden]) .source-detail')`
		b.waitFor(t, "the source's detail", `(() => { const d = `+open+`; return !!d && !!d.querySelector('[data-field=verdict]'); })()`, 15*time.Second)
		for _, field := range []string{"ntp-remote", "ntp-stratum", "auth-mode"} {
			if !eval[bool](t, b, `!!`+open+`.querySelector('[data-field=`+field+`]')`) {
				t.Errorf("the detail over the socket has no %s", field)
			}
		}
		if eval[bool](t, b, `!!`+open+`.querySelector('[data-access=socket-only]')`) {
			t.Errorf("the detail over the socket says a report is socket-only:\n%s", eval[string](t, b, open+`.innerText`))
		}
		audit(t, b, "the page with a source's detail read on the socket")
		// Laid out whole: nothing overlaps or sticks out, at 1280 px and at 360 px.
		if len(layoutProblems(t, b, 1280)) == 0 {
			t.Logf("at 1280 px with the detail open: no overlap, no sideways scroll")
		}
		png, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSS(`#panel-sources`)))
		if err != nil {
			t.Fatal(err)
		}
		saveScreenshot(t, "screenshot-detail.png", png)
		checkNarrow(t, b)
	})

	if p := b.problemsSoFar(); len(p) > 0 {
		t.Errorf("the browser logged errors:\n%s", strings.Join(p, "\n"))
	}
	files := chronycLs(t, s.chronyd)
	if !strings.Contains(files, "second-hand.") {
		t.Errorf("no socket of second-hand's in /run/chrony: %s", files)
	}
}

func chronycLs(t *testing.T, c testcontainers.Container) string {
	t.Helper()
	_, r, err := c.Exec(context.Background(), []string{"ls", "-la", "/run/chrony"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// saveScreenshot writes a picture of the page to e2e/out/NAME, and to the directory
// SECOND_HAND_SCREENSHOTS when it is set (`just screenshot` sets it to docs/, for the README).
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	paths := []string{filepath.Join("out", name)}
	if dir := os.Getenv("SECOND_HAND_SCREENSHOTS"); dir != "" {
		paths = append(paths, filepath.Join(dir, name))
	}
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", p, len(png))
	}
}

// checkHistory: the history panel draws the record; a range button switches the range with no
// page load; pointing at a chart shows a column's time and value.
func checkHistory(t *testing.T, b *browser) {
	t.Helper()
	took := b.waitFor(t, "the offset chart with a line", `!!document.querySelector('#panel-history .chart-offset path.line[d^="M"]')`, time.Minute)
	t.Logf("the history panel drew the offset %v after asking", took.Round(time.Millisecond))
	// The periodic refresh stopped: the panel that comes next is the click's, not a refresh's
	// that would show the smallest range (1h here) by itself.
	setVisible(t, b, false)
	b.waitFor(t, "requests in flight to end", `!document.querySelector('.htmx-request')`, 10*time.Second)
	eval[chromedp.Void](t, b, `window.e2ePage = 'still the same page'; document.getElementById('panel-history').dataset.e2eOld = '1'`)
	b.do(t, chromedp.Click(chromedp.CSS(`#panel-history button.range[hx-get$="range=1h"]`)))
	b.waitFor(t, "the 1h range", `!document.getElementById('panel-history').dataset.e2eOld && `+
		`document.querySelector('#panel-history button.range[aria-pressed=true]').textContent === '1h'`, 15*time.Second)
	setVisible(t, b, true)
	if eval[string](t, b, `window.e2ePage || ''`) != "still the same page" {
		t.Fatal("switching the range loaded the page again")
	}
	if got := eval[string](t, b, `document.getElementById('panel-history').getAttribute('hx-get')`); got != "panels/history?range=1h" {
		t.Errorf("the panel refreshes %q, want its new range kept", got)
	}
	// The periodic refresh paused, so that the chart pointed at is not replaced meanwhile.
	setVisible(t, b, false)
	defer setVisible(t, b, true)
	b.waitFor(t, "requests in flight to end", `!document.querySelector('.htmx-request')`, 10*time.Second)
	// Point at the last column of the offset chart that has a sample: the line's last point
	// (the newest column may have none yet).
	type box struct{ X, Y, W, H float64 }
	r := eval[box](t, b, `(function () { const f = document.querySelector('#panel-history figure.chart-offset'), s = f.querySelector('svg.chart-svg');
		s.scrollIntoView({block: 'center'}); const r = s.getBoundingClientRect();
		let x = 0; const xs = Array.from((f.querySelector('path.line').getAttribute('d') || '').matchAll(/([MmLl])(-?[\d.]+)/g),
			m => (x = m[1] === 'M' || m[1] === 'L' ? Number(m[2]) : x + Number(m[2])));
		const last = Math.max(...xs), cols = Number(f.dataset.cols);
		return {X: r.left + (last + 0.5) / cols * r.width, Y: r.top, W: r.width, H: r.height}; })()`)
	b.do(t, chromedp.MouseEvent(chromedp.MouseMoved, r.X, r.Y+r.H/2))
	readout := eval[string](t, b, `document.querySelector('#panel-history .chart-offset .readout').textContent`)
	if !strings.Contains(readout, "UTC: offset") || !strings.Contains(readout, "max error ±") {
		t.Errorf("readout after pointing at the chart: %q", readout)
	}
	t.Logf("readout: %s", readout)
	// The readout sits by the pointer, over the plot, not under the chart.
	o := eval[box](t, b, `(function () { const r = document.querySelector('#panel-history figure.chart-offset .readout').getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
	if o.W == 0 || o.Y < r.Y || o.Y > r.Y+r.H || o.X > r.X+2 || o.X+o.W < r.X-2 {
		t.Errorf("the readout at %+v is not by the pointer at %.0f,%.0f over the plot", o, r.X, r.Y+r.H/2)
	}
	// With the keyboard: the chart takes the focus, and the arrows move the readout's column.
	b.do(t, chromedp.MouseEvent(chromedp.MouseMoved, 1, 1))
	b.do(t, chromedp.Focus(chromedp.CSS(`#panel-history figure.chart-offset svg.chart-svg`)), chromedp.KeyEvent(kb.Home))
	first := eval[string](t, b, `document.querySelector('#panel-history .chart-offset .readout.on').textContent`)
	b.do(t, chromedp.KeyEvent(kb.End))
	if last := eval[string](t, b, `document.querySelector('#panel-history .chart-offset .readout.on').textContent`); first == "" || last == first {
		t.Errorf("the arrow keys do not move the readout: %q then %q", first, last)
	}
	// The percentile tables are folded; the sources' chart has a switch per source.
	if eval[bool](t, b, `document.getElementById('history-stats').open`) {
		t.Error("the statistics tables are open by default")
	}
	if n := eval[int](t, b, `document.querySelectorAll('#panel-history .chart-sources .series-toggle').length`); n == 0 {
		t.Error("the sources' chart has no switches in its legend")
	}
}

// checkSourceDetail: clicking a source's name opens its detail under its row, the detail stays
// open when the sources panel refreshes, its reload button reloads it alone, and a second click
// on the name closes it; all without loading the page again.
func checkSourceDetail(t *testing.T, b *browser) {
	t.Helper()
	eval[chromedp.Void](t, b, `window.e2ePage = 'still the same page'`)
	toggle := `#panel-sources button.source-toggle`
	row := `document.getElementById(document.querySelector('` + toggle + `').getAttribute('aria-controls'))`
	b.do(t, chromedp.Click(chromedp.CSS(toggle)))
	b.waitFor(t, "the source's detail", `!`+row+`.hidden && !!`+row+`.querySelector('.source-detail [data-field=verdict]')`, 15*time.Second)
	if got := eval[string](t, b, `document.querySelector('`+toggle+`').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("aria-expanded = %q after opening", got)
	}
	verdict := eval[string](t, b, row+`.querySelector('[data-field=verdict]').textContent`)
	t.Logf("verdict: %s", verdict)

	// The sources panel refreshes around it: the detail stays, and so does its toggle's state.
	// The page's script brings the toggles up to date when htmx has settled the new panel; a
	// listener added after the script's runs after it.
	eval[chromedp.Void](t, b, `window.e2eSettled = false;
		document.body.addEventListener('htmx:afterSettle', function (e) { if (e.detail.elt.id === 'panel-sources') window.e2eSettled = true; });
		htmx.trigger(document.getElementById('panel-sources'), 'panel-refresh')`)
	b.waitFor(t, "the sources panel refreshed and settled", `window.e2eSettled`, 15*time.Second)
	if !eval[bool](t, b, `!`+row+`.hidden && !!`+row+`.querySelector('.source-detail')`) {
		t.Error("the detail closed when the sources panel refreshed")
	}
	if got := eval[string](t, b, `document.querySelector('`+toggle+`').getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("aria-expanded = %q after the panel refreshed", got)
	}

	// Its reload button reloads the detail only.
	n := len(b.requestsSoFar())
	eval[chromedp.Void](t, b, row+`.querySelector('.source-detail').dataset.e2eOld = '1'`)
	b.do(t, chromedp.Click(chromedp.CSS(`.source-detail button.reload`)))
	b.waitFor(t, "the detail reloaded", `!!`+row+`.querySelector('.source-detail') && !`+row+`.querySelector('.source-detail').dataset.e2eOld`, 15*time.Second)
	// (The panels and the detail go on refreshing on their schedule meanwhile: count the
	// reloads, which ask for fresh=1.)
	var reloads []string
	for _, r := range b.requestsSoFar()[n:] {
		if strings.HasSuffix(r, "fresh=1") {
			reloads = append(reloads, r)
		}
	}
	if len(reloads) != 1 || !strings.Contains(reloads[0], "/chrony/sources/") {
		t.Errorf("reloads after a click on the detail's reload button = %v, want one of chrony/sources/…&fresh=1", reloads)
	}

	// A second click on the name closes it.
	b.do(t, chromedp.Click(chromedp.CSS(toggle)))
	b.waitFor(t, "the detail closed", row+`.hidden && !`+row+`.querySelector('.source-detail')`, 5*time.Second)
	if got := eval[string](t, b, `window.e2ePage || ''`); got != "still the same page" {
		t.Fatal("the page was loaded again")
	}
}

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/testcontainers/testcontainers-go"

	"github.com/second-hand/second-hand/pkg/chronylab"
)

// rowJS reads an overview row as the page shows it: its fields, status and whether it shows an
// error.
const rowJS = `(function (host) {
  const r = document.getElementById('host-' + host);
  if (!r) return null;
  const val = e => e.tagName === 'DATA' ? e.value : e.tagName === 'TIME' ? e.dateTime : e.textContent.trim();
  const fields = {};
  r.querySelectorAll('[data-field]').forEach(e => { fields[e.dataset.field] = val(e); });
  const err = r.querySelector('[role=alert]');
  return {fields, rows: [], error: err ? err.textContent.trim() : '', loading: false, body: r.textContent.trim().length};
})`

func readRow(t *testing.T, b *browser, host string) panelView {
	t.Helper()
	return eval[panelView](t, b, rowJS+"('"+host+"')")
}

// reloadRow clicks a row's reload button and waits until the row has been replaced. The page
// clicks it itself: a refresh can replace the row between the driver finding the button and
// clicking it ("Could not find node").
func reloadRow(t *testing.T, b *browser, host string) {
	t.Helper()
	eval[chromedp.Void](t, b, `document.getElementById('host-`+host+`').dataset.e2eOld = '1'; document.querySelector('#host-`+host+` button.reload').click()`)
	b.waitFor(t, host+"'s row to reload", `!document.getElementById('host-`+host+`').dataset.e2eOld`, 15*time.Second)
}

// matchRow: a row of the overview agrees with chronyc's tracking and sources in c.
func matchRow(t *testing.T, b *browser, c testcontainers.Container, host string) {
	t.Helper()
	diffs := chronylab.Consistent(40,
		func() ([][]string, error) {
			rows := chronyc(t, c, "tracking")
			for _, s := range chronyc(t, c, "sources") {
				s[6] = "" // the age of the last sample moves by itself
				rows = append(rows, s)
			}
			return rows, nil
		},
		func() (panelView, error) { reloadRow(t, b, host); return readRow(t, b, host), nil },
		chronylab.TrackingVolatile,
		func(p panelView, before, after [][]string) []string {
			return chronylab.CompareSummary(p.Fields, before[0], after[0], before[1:])
		})
	if len(diffs) > 0 {
		t.Fatalf("%s's row in the browser never matched chronyc:\n%s", host, strings.Join(diffs, "\n"))
	}
}

// TestFleetThroughNginx: the stack with two monitored chronyd, as the compose file runs it. In
// chromium at /chrony/: the overview shows both rows and agrees with chronyc; a row's reload
// button reloads that row only, with no page load; a host's name opens its page, whose panels
// agree with chronyc; after docker stop of one chronyd, only its row and its panels show the
// error, and they recover after docker start.
func TestFleetThroughNginx(t *testing.T) {
	s := startStack(t, stackOptions{twoHosts: true})
	b := newBrowser(t, 1280, 1000)
	b.do(t, chromedp.Navigate(s.url))
	rowsOK := `['chronyd','chronyd2'].every(h => { const r = document.getElementById('host-' + h); return r && r.dataset.status === 'synchronised'; })`
	took := b.waitFor(t, "both rows", rowsOK, 30*time.Second)
	t.Logf("both rows populated %v after the overview loaded", took.Round(time.Millisecond))
	if got := eval[string](t, b, `document.getElementById('fleet-count').textContent`); got != "2 of 2 hosts synchronised" {
		t.Errorf("the header says %q", got)
	}
	origin := strings.TrimSuffix(s.url, "chrony/")

	t.Run("rows match chronyc", func(t *testing.T) {
		matchRow(t, b, s.chronyd, "chronyd")
		matchRow(t, b, s.chronyd2, "chronyd2")
	})

	t.Run("screenshot", func(t *testing.T) {
		b.waitFor(t, "no row loading", `!document.querySelector('.htmx-request')`, 10*time.Second)
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		saveScreenshot(t, "overview.png", png)
	})

	t.Run("accessibility: axe, keyboard", func(t *testing.T) {
		audit(t, b, "the fleet overview")
		checkKeyboard(t, b, map[string]string{"host link": "#fleet-rows a", "row reload button": "#fleet-rows button.reload"})
	})

	t.Run("a row's reload button reloads that row only", func(t *testing.T) {
		setVisible(t, b, false) // stops the periodic refresh, so only the click can cause a request
		b.waitFor(t, "requests in flight to end", `!document.querySelector('.htmx-request')`, 10*time.Second)
		eval[chromedp.Void](t, b, `window.e2ePage = 'still the same page'; document.getElementById('host-chronyd').dataset.e2eKeep = '1'`)
		n := len(b.requestsSoFar())
		reloadRow(t, b, "chronyd2")
		if got := eval[string](t, b, `window.e2ePage || ''`); got != "still the same page" {
			t.Fatal("the page was loaded again")
		}
		if !eval[bool](t, b, `!!document.getElementById('host-chronyd').dataset.e2eKeep`) {
			t.Error("the other row was replaced by a click on chronyd2's reload button")
		}
		if got := b.requestsSoFar()[n:]; len(got) != 1 || !strings.HasSuffix(got[0], "/chrony/hosts/chronyd2/summary?fresh=1") {
			t.Errorf("requests after the click = %v, want only hosts/chronyd2/summary?fresh=1", got)
		}
		setVisible(t, b, true)
	})

	t.Run("a row opens its host's page", func(t *testing.T) {
		b.do(t, chromedp.Click(chromedp.CSS(`#host-chronyd2 th a`)))
		b.waitAfterClick(t, "chronyd2's page", `location.pathname.endsWith('/chrony/hosts/chronyd2/') && !!document.getElementById('panel-tracking')`, 15*time.Second)
		b.waitFor(t, "its four panels", allPanels(`p.querySelector('[data-age-ms]') && !p.querySelector('.loading')`), 30*time.Second)
		matchChronyc(t, b, s.chronyd2)
		if got := eval[string](t, b, `document.querySelector('.hosts [aria-current]').textContent`); got != "chronyd2" {
			t.Errorf("the host links mark %q as this page", got)
		}
		// Back to the overview by its link.
		b.do(t, chromedp.Click(chromedp.CSS(`.hosts li:first-child a`)))
		b.waitAfterClick(t, "the overview", `location.pathname.endsWith('/chrony/') && !!document.getElementById('fleet-rows')`, 15*time.Second)
		b.waitFor(t, "both rows", rowsOK, 30*time.Second)
	})

	t.Run("one chronyd stops and comes back", func(t *testing.T) {
		ctx := context.Background()
		stop := 5 * time.Second
		if err := s.chronyd2.Stop(ctx, &stop); err != nil {
			t.Fatal(err)
		}
		bound := s.refresh + s.maxWait + 10*time.Second
		// The row is swapped in, then the page's script counts and sorts once htmx has settled.
		took := b.waitFor(t, "chronyd2's row to show its error, counted", `(document.getElementById('host-chronyd2') || {dataset: {}}).dataset.status === 'unreachable' && `+
			`document.getElementById('fleet-count').textContent === '1 of 2 hosts synchronised'`, bound)
		t.Logf("chronyd2's row showed its error %v after docker stop", took.Round(time.Millisecond))
		if r := readRow(t, b, "chronyd"); r.Error != "" || r.Fields["status"] != "synchronised" {
			t.Errorf("chronyd's row while chronyd2 is down: %+v", r)
		}
		if r := readRow(t, b, "chronyd2"); !strings.Contains(r.Error, "chronyd2") {
			t.Errorf("chronyd2's row does not say why: %+v", r)
		}
		if got := eval[string](t, b, `document.getElementById('fleet-count').textContent`); got != "1 of 2 hosts synchronised" {
			t.Errorf("the header says %q", got)
		}
		if got := eval[string](t, b, `document.querySelector('#fleet-rows tr').id`); got != "host-chronyd2" {
			t.Errorf("the first row is %s, want the unreachable host first", got)
		}
		// The tab says the worst: one host of two failing; the row says why.
		b.waitFor(t, "the title to count the failing host", `document.title === '✕ 1 of 2 failing · second-hand'`, 10*time.Second)
		if icon := eval[string](t, b, `document.getElementById('favicon').getAttribute('href')`); !strings.Contains(icon, "favicon-failing.") {
			t.Errorf("the icon with a failing host: %q", icon)
		}
		if why := eval[string](t, b, `document.querySelector('#host-chronyd2 [data-field=why]').value`); why != "chronyd-unreachable" {
			t.Errorf("chronyd2's row says why: %q", why)
		}
		// At 1280 px the columns fit the panel; at 360 px, the unreachable host's card says
		// why, whole.
		checkWideOverview(t, b)
		checkNarrowOverview(t, b)
		// Its page: every panel shows the error. The other host's page: none.
		for host, failing := range map[string]bool{"chronyd2": true, "chronyd": false} {
			b.do(t, chromedp.Navigate(s.url+"hosts/"+host+"/"))
			cond := `p.querySelector('[data-age-ms]') && !p.dataset.failed`
			if failing {
				cond = `p.dataset.failed === 'not-answering'`
			}
			b.waitFor(t, fmt.Sprintf("%s's panels (failing: %v)", host, failing), allPanels(cond), bound)
			if failing { // the page of a host that does not answer, at 360 px
				b.do(t, chromedp.EmulateViewport(360, 900))
				if len(layoutProblems(t, b, 360)) == 0 {
					t.Logf("chronyd2's page at 360 px, every panel failing: no sideways scroll, no overlap")
				}
				b.do(t, chromedp.EmulateViewport(1280, 1000))
			}
		}
		if err := s.chronyd2.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitSynchronised(t, s.chronyd2)
		b.do(t, chromedp.Navigate(s.url))
		took = b.waitFor(t, "both rows to recover", rowsOK, time.Minute)
		t.Logf("both rows synchronised %v after the overview was opened again", took.Round(time.Millisecond))
	})

	t.Run("clean console, same origin only", func(t *testing.T) {
		if p := b.problemsSoFar(); len(p) > 0 {
			t.Errorf("the browser logged errors:\n%s", strings.Join(p, "\n"))
		}
		for _, u := range b.requestsSoFar() {
			if !strings.HasPrefix(u, origin+"chrony/") {
				t.Errorf("request outside the page's own origin and path: %s", u)
			}
		}
	})
}

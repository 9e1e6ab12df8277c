package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// axe-core comes from npm, pinned by e2e/axe/package-lock.json (`just test` and `just e2e`
// run npm ci there); it is loaded into the page only by these tests, through the DevTools
// protocol, which the page's Content-Security-Policy does not govern.
var axeScript struct {
	once sync.Once
	src  string
	err  error
}

func axeSource(t *testing.T) string {
	t.Helper()
	axeScript.once.Do(func() {
		var b []byte
		b, axeScript.err = os.ReadFile(filepath.Join("axe", "node_modules", "axe-core", "axe.min.js"))
		axeScript.src = string(b)
	})
	if axeScript.err != nil {
		t.Fatalf("axe-core is not installed: %v (run: cd e2e/axe && npm ci)", axeScript.err)
	}
	return axeScript.src
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// colorScheme makes the page render as prefers-color-scheme says: light or dark.
func colorScheme(t *testing.T, b *browser, scheme string) {
	t.Helper()
	b.do(t, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
}

// audit runs axe-core's WCAG 2.1 A and AA rules on the page as it is, in the light and the
// dark scheme, and fails the test with every violation.
func audit(t *testing.T, b *browser, what string) {
	t.Helper()
	if !eval[bool](t, b, `typeof window.axe === 'object'`) {
		eval[chromedp.Void](t, b, axeSource(t))
	}
	for _, scheme := range []string{"light", "dark"} {
		colorScheme(t, b, scheme)
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]axeViolation](`axe.run(document, {
			runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
			resultTypes: ['violations']
		}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\s+/g, ' '))})))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("axe on %s (%s): %v", what, scheme, err)
		}
		for _, x := range v {
			t.Errorf("%s, %s scheme: %s (%s): %s\n  %s", what, scheme, x.ID, x.Impact, x.Help, strings.Join(x.Nodes, "\n  "))
		}
		if len(v) == 0 {
			t.Logf("axe: %s, %s scheme: 0 violations", what, scheme)
		}
	}
	colorScheme(t, b, "light")
}

// focusStop is what the keyboard's focus landed on.
type focusStop struct {
	Desc    string `json:"desc"`
	Outline string `json:"outline"`
}

// keyboardWalk presses Tab max times from the page's skip link and returns where the focus
// went, with the focused element's outline (its visible focus ring). Panels refresh meanwhile:
// the focus must stay where it was (htmx gives it back to the element with the same id).
func keyboardWalk(t *testing.T, b *browser, max int) []focusStop {
	t.Helper()
	// From the page's first stop, its skip link.
	eval[chromedp.Void](t, b, `window.scrollTo(0, 0); document.querySelector('a.skip').focus()`)
	var stops []focusStop
	for range max {
		b.do(t, chromedp.KeyEvent(kb.Tab))
		s := eval[focusStop](t, b, `(function () {
			const e = document.activeElement;
			if (!e || e === document.body) return {desc: '', outline: ''};
			const cs = getComputedStyle(e);
			const d = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '[' + (e.getAttribute('aria-label') || e.getAttribute('href') ||
				e.getAttribute('data-detail') || e.getAttribute('hx-get') || e.textContent.trim().slice(0, 40)) + ']';
			return {desc: d, outline: cs.outlineStyle + ' ' + cs.outlineWidth};
		})()`)
		if s.Desc == "" {
			continue
		}
		stops = append(stops, s)
	}
	return stops
}

// checkKeyboard walks the page with Tab: every element that matches one of wants (a CSS
// selector each) is reached, and each stop shows a focus ring.
func checkKeyboard(t *testing.T, b *browser, wants map[string]string) {
	t.Helper()
	total := eval[int](t, b, `document.querySelectorAll('a[href], button, [tabindex="0"]').length`)
	stops := keyboardWalk(t, b, total+20)
	reached := map[string]bool{}
	for _, s := range stops {
		reached[s.Desc] = true
		if strings.HasPrefix(s.Outline, "none") || strings.HasSuffix(s.Outline, " 0px") {
			t.Errorf("focus on %s shows no focus ring (outline %s)", s.Desc, s.Outline)
		}
	}
	// A control in a toolbar or a table whose items are one stop of the keyboard's
	// ([data-roving]: the arrows go from one to the next) is reached when one of its group is.
	type control struct {
		Desc  string   `json:"desc"`
		Group []string `json:"group"`
	}
	for what, sel := range wants {
		controls := eval[[]control](t, b, `(function () {
			const desc = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '[' + (e.getAttribute('aria-label') || e.getAttribute('href') ||
				e.getAttribute('data-detail') || e.getAttribute('hx-get') || e.textContent.trim().slice(0, 40)) + ']';
			return Array.from(document.querySelectorAll('`+sel+`')).filter(e => e.offsetParent !== null).map(e => {
				let bar = e.closest('[data-roving]');
				while (bar && !e.matches(bar.dataset.roving || 'button, a[href]')) bar = bar.parentElement && bar.parentElement.closest('[data-roving]');
				const group = bar ? Array.from(bar.querySelectorAll(bar.dataset.roving || 'button, a[href]')).map(desc) : [];
				return {desc: desc(e), group: group};
			});
		})()`)
		if len(controls) == 0 {
			t.Errorf("the page has no %s (%s)", what, sel)
		}
		for _, c := range controls {
			ok := reached[c.Desc]
			for _, d := range c.Group {
				ok = ok || reached[d]
			}
			if !ok {
				t.Errorf("%s %s is not reached with Tab", what, c.Desc)
			}
		}
	}
	if t.Failed() {
		for _, s := range stops {
			t.Logf("stop: %s (%s)", s.Desc, s.Outline)
		}
	}
	t.Logf("keyboard: %d stops with Tab (%d distinct), each with a focus ring", len(stops), len(reached))
}

// checkTips: a label's explanation shows when the label has the keyboard's focus (Tab from its
// panel's reload button reaches the panel's first label), the arrows go to the panel's next
// label and its tooltip, Escape hides it; and on hover. The page is hidden meanwhile, so that
// no refresh moves the focus.
func checkTips(t *testing.T, b *browser, panel string) {
	t.Helper()
	setVisible(t, b, false)
	defer setVisible(t, b, true)
	b.waitFor(t, "requests in flight to end", `!document.querySelector('.htmx-request')`, 10*time.Second)
	type tipState struct {
		Label   string `json:"label"`
		Shown   bool   `json:"shown"`
		Text    string `json:"text"`
		Panel   string `json:"panel"`
		Visible int    `json:"visible"`
	}
	state := func() tipState {
		return eval[tipState](t, b, `(function () {
			const e = document.activeElement;
			const tip = e && e.matches('.has-tip') ? e.querySelector(':scope > .tip') : null;
			const r = tip ? tip.getBoundingClientRect() : {width: 0, height: 0};
			const shown = Array.from(document.querySelectorAll('.has-tip > .tip')).filter(x => getComputedStyle(x).display !== 'none' && !x.classList.contains('inline'));
			return {label: e && e.matches('.has-tip') ? e.id : '', shown: !!tip && getComputedStyle(tip).display === 'block' && r.width > 20 && r.height > 10,
				text: tip ? tip.textContent : '', panel: e && e.closest('section') ? e.closest('section').id : '', visible: shown.length};
		})()`)
	}
	// The pointer away from every label: one resting on a label shows its tooltip too.
	b.do(t, chromedp.MouseEvent(chromedp.MouseMoved, 1, 1))
	b.do(t, chromedp.Focus(chromedp.CSS(`#`+panel+` button.reload`)), chromedp.KeyEvent(kb.Tab))
	first := state()
	if first.Label == "" || first.Panel != panel || !first.Shown || first.Visible != 1 {
		t.Fatalf("Tab after %s's reload button: %+v, want its first label with its tooltip shown, and only that one", panel, first)
	}
	b.do(t, chromedp.KeyEvent(kb.ArrowRight))
	next := state()
	if next.Label == "" || next.Label == first.Label || next.Panel != panel || !next.Shown || next.Visible != 1 {
		t.Errorf("ArrowRight from %s: %+v, want the panel's next label with its tooltip, and only that one", first.Label, next)
	}
	b.do(t, chromedp.KeyEvent(kb.Escape))
	if s := state(); s.Label != next.Label || s.Shown {
		t.Errorf("Escape on %s: %+v, want the tooltip hidden and the focus kept", next.Label, s)
	}
	// Shift+Tab leaves the panel's labels; Tab comes back to the one last focused.
	b.do(t, chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)), chromedp.KeyEvent(kb.Tab))
	if s := state(); s.Label != next.Label || !s.Shown {
		t.Errorf("Shift+Tab then Tab: %+v, want %s again, its tooltip shown", s, next.Label)
	}
	// Hover: the pointer over a label shows its tooltip.
	eval[chromedp.Void](t, b, `document.activeElement.blur()`)
	at := eval[[]float64](t, b, `(function () { const r = document.getElementById('`+first.Label+`').getBoundingClientRect(); return [r.left + 4, r.top + r.height / 2]; })()`)
	b.do(t, chromedp.MouseEvent(chromedp.MouseMoved, at[0], at[1]))
	hovered := eval[bool](t, b, `getComputedStyle(document.getElementById('`+first.Label+`').querySelector(':scope > .tip')).display === 'block'`)
	b.do(t, chromedp.MouseEvent(chromedp.MouseMoved, 1, 1))
	if !hovered {
		t.Errorf("the pointer over %s does not show its tooltip", first.Label)
	}
	if !t.Failed() {
		t.Logf("tooltips: %s on Tab (%q...), %s on ArrowRight, hidden by Escape, shown on hover", first.Label, first.Text[:min(len(first.Text), 40)], next.Label)
	}
}

// tabStops is how many distinct places Tab reaches on the page.
func tabStops(t *testing.T, b *browser) int {
	t.Helper()
	total := eval[int](t, b, `document.querySelectorAll('a[href], button, [tabindex="0"]').length`)
	seen := map[string]bool{}
	for _, s := range keyboardWalk(t, b, total+20) {
		seen[s.Desc] = true
	}
	return len(seen)
}

// pressEnterOn focuses the element matched by sel and presses Enter. It is focused by the
// page's own script, not by a node looked up first: a panel's refresh may replace the node in
// between, and htmx gives the focus back to the element with the same id.
func pressEnterOn(t *testing.T, b *browser, sel string) {
	t.Helper()
	if !eval[bool](t, b, `(function (e) { if (!e) return false; e.focus(); return document.activeElement === e; })(document.querySelector('`+sel+`'))`) {
		t.Fatalf("nothing to focus at %s", sel)
	}
	b.do(t, chromedp.KeyEvent(kb.Enter))
}

// checkNarrow: at 360 px nothing sticks out of the page (no sideways scroll), no two of the
// page's text boxes overlap (labels and their values, cells of a card), and each source is a
// card whose name, state, reach and offset lie within the screen.
func checkNarrow(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, chromedp.EmulateViewport(360, 900))
	defer b.do(t, chromedp.EmulateViewport(1280, 1000))
	problems := layoutProblems(t, b, 360)
	// The sources are cards: the table's head is not shown, and a row is as wide as the panel.
	if got := eval[string](t, b, `getComputedStyle(document.querySelector('.sources tbody tr')).display`); got != "grid" {
		t.Errorf("a source's row at 360 px is display %s, want a card (grid)", got)
	}
	if len(problems) == 0 {
		t.Logf("at 360 px: no sideways scroll, no overlap, every card within the screen")
	}
}

// checkNarrowOverview: at 360 px the overview is one card per host: no sideways scroll of the
// page or inside the hosts' card, each row a grid whose cells neither overlap, nor stick out of
// the screen, nor cut their text (an unreachable host's reason is read whole).
func checkNarrowOverview(t *testing.T, b *browser) {
	t.Helper()
	b.do(t, chromedp.EmulateViewport(360, 900))
	defer b.do(t, chromedp.EmulateViewport(1280, 1000))
	if problems := append(layoutProblems(t, b, 360), overviewProblems(t, b, 360)...); len(problems) == 0 {
		t.Logf("the overview at 360 px: each host a card, nothing cut, overlapping or scrolling sideways")
	}
}

// checkWideOverview: at 1280 px (every column) and at 1024 and 760 px (the host, its state, why,
// offset and maximum error) the overview's rows, grids of set column widths laid out one at a
// time, fit the panel: the table does not scroll sideways, and no cell overlaps another, sticks
// out or cuts its text.
func checkWideOverview(t *testing.T, b *browser) {
	t.Helper()
	defer b.do(t, chromedp.EmulateViewport(1280, 1000))
	for _, width := range []int{1280, 1024, 760} {
		b.do(t, chromedp.EmulateViewport(int64(width), 1000))
		if problems := append(layoutProblems(t, b, width), overviewProblems(t, b, width)...); len(problems) == 0 {
			t.Logf("the overview at %d px: its columns in the panel, nothing cut, overlapping or scrolling sideways", width)
		}
	}
}

// overviewProblems reports, as errors, what is wrong with the overview's rows at width: a
// table that scrolls sideways, a row that is not a grid, a cell that sticks out of the screen,
// cuts its text or overlaps another.
func overviewProblems(t *testing.T, b *browser, width int) []string {
	t.Helper()
	rows := eval[int](t, b, `document.querySelectorAll('#fleet-rows tr.host-row').length`)
	if rows == 0 {
		t.Fatal("no host row in the overview")
	}
	var problems []string
	for _, p := range eval[[]string](t, b, `(function () {
		const width = `+strconv.Itoa(width)+`;
		const out = [];
		const name = e => e.tagName.toLowerCase() + '.' + e.className + ' "' + e.textContent.trim().slice(0, 40) + '"';
		const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
		document.querySelectorAll('.table-wrap').forEach(w => {
			if (w.offsetParent !== null && w.scrollWidth > w.clientWidth + 1) out.push('a table in ' + ((w.closest('section') || {}).id || 'the page') + ' scrolls sideways: ' + w.scrollWidth + ' px in ' + w.clientWidth);
		});
		document.querySelectorAll('#fleet-rows tr').forEach(tr => {
			if (getComputedStyle(tr).display !== 'grid') out.push(tr.id + ' is display ' + getComputedStyle(tr).display + ', not a grid');
			const cells = Array.from(tr.querySelectorAll(':scope > th, :scope > td')).filter(e => e.offsetParent !== null)
				.map(e => ({e, r: e.getBoundingClientRect()})).filter(x => x.r.width > 0 && x.r.height > 0);
			for (let i = 0; i < cells.length; i++) {
				const x = cells[i];
				if (x.r.right > width + 0.5 || x.r.left < -0.5) out.push(tr.id + ': ' + name(x.e) + ' sticks out: ' + Math.round(x.r.left) + '..' + Math.round(x.r.right));
				if (x.e.scrollWidth > x.e.clientWidth + 1) out.push(tr.id + ': ' + name(x.e) + ' is cut: ' + x.e.scrollWidth + ' px of text in ' + x.e.clientWidth);
				for (let j = i + 1; j < cells.length; j++) if (hit(x.r, cells[j].r)) out.push(tr.id + ': ' + name(x.e) + ' overlaps ' + name(cells[j].e));
			}
		});
		return out;
	})()`) {
		t.Error(p)
		problems = append(problems, p)
	}
	return problems
}

// layoutProblems measures the page at the viewport's width: the page must not scroll sideways,
// nor the sources' and statistics' tables within their panels, the labels and values of detail tables
// and the cells of each source's row must not overlap, and none may stick out of the screen.
// Each problem is reported as an error and returned.
func layoutProblems(t *testing.T, b *browser, width int) []string {
	t.Helper()
	var problems []string
	if w := eval[int](t, b, `document.documentElement.scrollWidth`); w > width {
		widest := eval[string](t, b, `(function () { let w = '', m = 0; document.querySelectorAll('body *').forEach(e => {
			const r = e.getBoundingClientRect(); if (r.right > m && e.offsetParent !== null) { m = r.right;
			w = e.tagName.toLowerCase() + '.' + e.className + ' in ' + ((e.closest('section') || {}).id || 'the page'); } }); return Math.round(m) + ' px: ' + w; })()`)
		problems = append(problems, fmt.Sprintf("at %d px the page is %d px wide: it scrolls sideways (the widest element ends at %s)", width, w, widest))
	}
	problems = append(problems, eval[[]string](t, b, `(function () {
		const width = `+strconv.Itoa(width)+`;
		const out = [];
		const boxes = (root, sel) => Array.from(root.querySelectorAll(sel)).filter(e => e.offsetParent !== null)
			.map(e => ({e, r: e.getBoundingClientRect()})).filter(x => x.r.width > 0 && x.r.height > 0);
		const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
		const name = e => e.tagName.toLowerCase() + '.' + e.className + ' "' + e.textContent.trim().slice(0, 30) + '"';
		// The labels and values of detail tables, and the cells of each source's row or card.
		document.querySelectorAll('table.details tr, .sources tbody tr:not(.detail-row), .sourcestats tbody tr:not(.detail-row)').forEach(tr => {
			const cells = boxes(tr, ':scope > th, :scope > td');
			for (let i = 0; i < cells.length; i++) for (let j = i + 1; j < cells.length; j++)
				if (hit(cells[i].r, cells[j].r)) out.push(name(cells[i].e) + ' overlaps ' + name(cells[j].e));
		});
		// A detail's sections side by side do not run into each other.
		document.querySelectorAll('.detail-sections').forEach(g => {
			const parts = boxes(g, ':scope > *');
			for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++)
				if (hit(parts[i].r, parts[j].r)) out.push(name(parts[i].e) + ' overlaps ' + name(parts[j].e));
			boxes(g, 'th, td').forEach(x => {
				const sec = x.e.closest('.detail-section');
				if (sec) { const r = sec.getBoundingClientRect(); if (x.r.right > r.right + 0.5) out.push(name(x.e) + ' sticks out of its section'); }
			});
		});
		// The sources' and statistics' tables, where a detail opens, do not scroll sideways.
		document.querySelectorAll('#panel-sources .table-wrap, #panel-sourcestats .table-wrap').forEach(w => {
			if (w.offsetParent !== null && w.scrollWidth > w.clientWidth + 1) out.push('a table in ' + ((w.closest('section') || {}).id || 'the page') + ' scrolls sideways: ' + w.scrollWidth + ' px in ' + w.clientWidth);
		});
		// Every cell lies within the screen.
		boxes(document, '.sources td, .sourcestats td, table.details th, table.details td').forEach(x => {
			if (x.r.right > width + 0.5 || x.r.left < -0.5) out.push(name(x.e) + ' sticks out: ' + Math.round(x.r.left) + '..' + Math.round(x.r.right));
		});
		return out;
	})()`)...)
	for _, p := range problems {
		t.Error(p)
	}
	return problems
}

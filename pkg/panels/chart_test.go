package panels

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/store"
)

// chartView is a range of an hour with three charts: the offset (signed), a skew (cannot be
// negative) and the sources' offsets, three healthy a few µs apart with one spike, and a
// falseticker 150 ms away.
func chartView() history.View {
	from := time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)
	cols := func(f func(i int) float64) []history.Col {
		out := make([]history.Col, history.Columns)
		for i := range out {
			v := f(i)
			out[i] = history.Col{Has: true, Min: v, Max: v, Lo: v - 1e-6, Hi: v + 1e-6}
		}
		return out
	}
	healthy := func(name string, at float64) history.Series {
		c := cols(func(i int) float64 { return at + float64(i%5)*1e-7 })
		if name == "a" {
			c[100].Max = 40e-3 // one spike
		}
		return history.Series{Name: name, Key: name, Cols: c, Errors: true,
			Stats: history.Stats{N: history.Columns, Min: at, P1: at, P5: at, P50: at, P95: at + 4e-7, P99: at + 4e-7, Max: at + 4e-7}}
	}
	liar := history.Series{Name: "liar", Key: "192.0.2.9", Cols: cols(func(int) float64 { return -0.150 }), Errors: true, Hidden: true,
		Stats: history.Stats{N: history.Columns, Min: -0.150, P1: -0.150, P50: -0.150, P99: -0.150, Max: -0.150}}
	sources := history.Chart{ID: "sources", Title: "Sources' offsets", Unit: "s", Min: -0.16, Max: 0.05,
		Series: []history.Series{healthy("a", -3e-6), healthy("b", 2e-6), healthy("c", 5e-6), liar}}
	sources.Lo, sources.Hi, _ = sources.UsualScale(func(s history.Series) bool { return !s.Hidden })
	skew := history.Chart{ID: "skew", Title: "Skew", Unit: "ppm", NonNegative: true, Min: 0, Max: 0.5, Lo: 0, Hi: 0.5,
		Series: []history.Series{{Name: "skew", Cols: cols(func(i int) float64 { return 0.1 + float64(i%3)*0.1 }),
			Stats: history.Stats{N: history.Columns, Min: 0.1, P1: 0.1, P50: 0.2, P99: 0.3, Max: 0.3}}}}
	offset := history.Chart{ID: "offset", Title: "System time offset", Unit: "s", Min: -20e-6, Max: 20e-6, Lo: -20e-6, Hi: 20e-6,
		Series: []history.Series{{Name: "offset", Cols: cols(func(i int) float64 { return float64(i%7-3) * 4e-6 }),
			Stats: history.Stats{N: history.Columns, Min: -12e-6, P1: -12e-6, P50: 0, P99: 12e-6, Max: 12e-6}}}}
	return history.View{Host: "h", Range: history.Ranges[0], From: from, To: from.Add(time.Hour), Points: 100,
		Charts: []history.Chart{offset, skew, sources}}
}

func figure(t *testing.T, html, id string) string {
	t.Helper()
	_, after, ok := strings.Cut(html, `data-chart="`+id+`"`)
	if !ok {
		t.Fatalf("no chart %s in:\n%s", id, html)
	}
	fig, _, _ := strings.Cut(after, "</figure>")
	return fig
}

var axisText = regexp.MustCompile(`<text[^>]*>([^<]*)</text>`)

func axisLabels(fig, class string) []string {
	_, after, _ := strings.Cut(fig, `class="`+class+`"`)
	axis, _, _ := strings.Cut(after, "</svg>")
	var out []string
	for _, m := range axisText.FindAllStringSubmatch(axis, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestCharts: time ticks and value ticks with gridlines on every chart; the sources' chart on
// its usual scale, the falseticker hidden (its switch in the legend, off) and the spike marked
// at the edge; a quantity that cannot be negative printed with no sign; the statistics folded;
// and the full scale one click away.
func TestCharts(t *testing.T) {
	v := chartView()
	html := render(t, HistoryPanel(Result[HistoryData]{Data: HistoryData{View: v, Range: v.Range}, At: at, Now: now}))
	for _, id := range []string{"offset", "skew", "sources"} {
		fig := figure(t, html, id)
		if y, x := axisLabels(fig, "y-axis"), axisLabels(fig, "x-axis"); len(y) < 3 || len(x) < 3 {
			t.Errorf("%s: %d value ticks %v, %d time ticks %v; want 3 or more of each", id, len(y), y, len(x), x)
		}
		if !regexp.MustCompile(`class="grid" d="M0 \d+H\d+.*V1000`).MatchString(fig) {
			t.Errorf("%s: no gridlines across and down:\n%s", id, fig)
		}
	}
	if x := axisLabels(figure(t, html, "offset"), "x-axis"); x[0] != "11:10" {
		t.Errorf("time ticks of an hour from 11:00: %v, want every 10 minutes from 11:10", x)
	}
	for _, l := range axisLabels(figure(t, html, "skew"), "y-axis") {
		if strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-") {
			t.Errorf("the skew cannot be negative, yet its axis says %q", l)
		}
	}
	if y := strings.Join(axisLabels(figure(t, html, "offset"), "y-axis"), " "); !strings.Contains(y, "+") || !strings.Contains(y, "µs") {
		t.Errorf("the offset's axis: %q, want signed values in µs", y)
	}
	src := figure(t, html, "sources")
	if y := strings.Join(axisLabels(src, "y-axis"), " "); !strings.Contains(y, "µs") || strings.Contains(y, "ms") {
		t.Errorf("the sources' usual scale is not the healthy sources' µs: %q", y)
	}
	mustContain(t, src, `class="series s3 off"`, `aria-pressed="false"`, "(falseticker)", `class="series s0"`)
	if !strings.Contains(src, `class="beyond s0" d="M100 0h1v60h-1z"`) {
		t.Errorf("the spike beyond the scale is not marked at the top edge:\n%.2000s", src)
	}
	// The falseticker, all of it below the healthy sources' scale: one mark along the bottom.
	if !strings.Contains(src, `class="beyond s3" d="M0 940h480v60h-480z"`) {
		t.Errorf("the falseticker's run of columns beyond the scale is not one mark:\n%.2000s", src)
	}
	mustContain(t, html, `<details id="history-stats" class="stats-fold">`, `id="history-scale"`, `hx-get="panels/history?range=1h&amp;scale=full"`)
	mustNotContain(t, html, `<details id="history-stats" class="stats-fold" open`, "style=", "<script")

	full := render(t, HistoryPanel(Result[HistoryData]{Data: HistoryData{View: v, Range: v.Range, Full: true}, At: at, Now: now}))
	if y := strings.Join(axisLabels(figure(t, full, "sources"), "y-axis"), " "); !strings.Contains(y, "ms") {
		t.Errorf("the full scale does not hold the falseticker: %q", y)
	}
	mustContain(t, full, `aria-pressed="true"`)
}

// TestNoSelectStartsHidden: a source with the noselect option (chronyd's selection report says
// which) starts hidden like a falseticker, said in its switch.
func TestNoSelectStartsHidden(t *testing.T) {
	v := chartView()
	html := render(t, HistoryPanel(Result[HistoryData]{Data: HistoryData{View: v, Range: v.Range, NoSelect: map[string]bool{"b": true}}, At: at, Now: now}))
	mustContain(t, figure(t, html, "sources"), `class="series s1 off"`, "(noselect)")
}

// TestValueTicks: three to eight round ticks across any span.
func TestValueTicks(t *testing.T) {
	for _, tc := range [][2]float64{{-3.4e-6, 5.8e-6}, {0, 1}, {0, 9.9}, {-0.16, 0.05}, {1e-9, 1.2e-9}, {-1, 1}, {0, 0.00099}} {
		ticks := valueTicks(tc[0], tc[1])
		if len(ticks) < 3 || len(ticks) > 8 {
			t.Errorf("%g to %g: %d ticks %v", tc[0], tc[1], len(ticks), ticks)
		}
		for _, v := range ticks {
			if v < tc[0]-1e-15 || v > tc[1]+1e-15 {
				t.Errorf("%g to %g: tick %g outside", tc[0], tc[1], v)
			}
		}
	}
}

// TestLinePathJoinsOverSampling: columns narrower than the sampling leave one empty in two,
// which the line joins over; a longer hole, or a gap of chronyd's, breaks it.
func TestLinePathJoinsOverSampling(t *testing.T) {
	at := func(i ...int) []history.Col {
		cols := make([]history.Col, 20)
		for _, k := range i {
			cols[k] = history.Col{Has: true, Min: 1, Max: 1}
		}
		return cols
	}
	y := func(float64) int { return 5 }
	for _, tc := range []struct {
		name string
		cols []history.Col
		want string
	}{
		{"one empty in two", at(0, 2, 4), "M0 5l2 0l2 0"},
		{"level, column after column: one h", at(0, 1, 2, 3, 5), "M0 5h3l2 0"},
		{"a hole of 5", at(0, 6), "M0 5m6 0"},
		{"a gap", func() []history.Col { c := at(0, 2); c[1].Broken = true; return c }(), "M0 5m2 0"},
	} {
		if got := linePath(tc.cols, y, chartBridge); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := linePath(at(0, 19), y, 20); got != "M0 5l19 0" {
		t.Errorf("a sparkline joins over everything but a gap: %q", got)
	}
}

// TestLinePathJoinsAtTheNearerEnd: each column is drawn from its end nearer where the line
// stands, so that columns spanning the scale are joined along its edges, not by diagonals;
// every column's extremes are still the ends of its stroke.
func TestLinePathJoinsAtTheNearerEnd(t *testing.T) {
	y := func(v float64) int { return int(1000 - v) }
	cols := []history.Col{{Has: true, Min: 0, Max: 1000}, {Has: true, Min: 0, Max: 1000}, {Has: true, Min: 0, Max: 1000},
		{Has: true, Min: 400, Max: 600}, {Has: true, Min: 500, Max: 500}}
	if got, want := linePath(cols, y, chartBridge), "M0 0v1000h1v-1000h1v1000l1-400v-200l1 100"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// TestServingChartsAndApproximateStatistics: the serving charts (issue 20) are drawn like the
// clock's, in their own units (rates per second, shares in %, counts) with no sign, their
// statistics in those units; a range that reaches the summaries says its percentiles are
// approximate; every range, to 2 y, is a button, and the paths are written relative.
func TestServingChartsAndApproximateStatistics(t *testing.T) {
	v := chartView()
	v.Range = history.Ranges[len(history.Ranges)-1]
	v.To = v.From.Add(v.Range.D)
	cols := func(f func(i int) float64) []history.Col {
		out := make([]history.Col, history.Columns)
		for i := range out {
			out[i] = history.Col{Has: true, Min: f(i), Max: f(i)}
		}
		return out
	}
	approx := history.Stats{N: 9000, Min: 1.5, P1: 2, P5: 2.5, P50: 4.25, P95: 7, P99: 7.5, Max: 8, Mean: 4.5, StdDev: 1.25, Approx: true}
	served := history.Chart{ID: "served", Title: "NTP requests served", Unit: "/s", NonNegative: true, Min: 0, Max: 8.5, Lo: 1.5, Hi: 8,
		Series: []history.Series{{Name: "requests", Cols: cols(func(i int) float64 { return 2 + float64(i%12)/2 }), Stats: approx}}}
	shares := history.Chart{ID: "shares", Title: "Authenticated and interleaved requests", Unit: "%", NonNegative: true, Min: 0, Max: 50, Lo: 0, Hi: 50,
		Series: []history.Series{{Name: "authenticated", Cols: cols(func(i int) float64 { return float64(i % 50) }),
			Stats: history.Stats{N: 10, Min: 0, P1: 0, P50: 25, P99: 49, Max: 49, Mean: 24.5, StdDev: 14.4}}}}
	clients := history.Chart{ID: "clients", Title: "Clients", Unit: "", NonNegative: true, Min: 0, Max: 12, Lo: 0, Hi: 12,
		Series: []history.Series{{Name: "in the log", Cols: cols(func(i int) float64 { return float64(i % 12) }),
			Stats: history.Stats{N: 10, Min: 0, P1: 0, P50: 6, P99: 11, Max: 11, Mean: 5.5, StdDev: 3.5}}}}
	v.Charts = append(v.Charts, served, shares, clients)
	html := render(t, HistoryPanel(Result[HistoryData]{Data: HistoryData{View: v, Range: v.Range, Chosen: true}, At: at, Now: now}))
	for id, suffix := range map[string]string{"served": " /s", "shares": " %", "clients": ""} {
		labels := axisLabels(figure(t, html, id), "y-axis")
		if len(labels) < 3 {
			t.Errorf("%s: value ticks %v", id, labels)
		}
		for _, l := range labels {
			if !strings.HasSuffix(l, suffix) || strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-") ||
				suffix == "" && strings.ContainsAny(l, "sµ%p") {
				t.Errorf("%s: tick %q, want an unsigned number ending %q", id, l, suffix)
			}
		}
		mustContain(t, figure(t, html, id), `class="line s0"`)
	}
	mustContain(t, html, "NTP requests served over the range, per second; percentiles approximate, within 4.4 %",
		"Authenticated and interleaved requests over the range, in %<", "Clients over the range<",
		`id="range-90d"`, `id="range-1y"`, `id="range-2y"`, `aria-pressed="true" tabindex="0" hx-get="panels/history?range=2y"`)
	if regexp.MustCompile(`class="line s0"[^>]* d="M\d+ \d+[ML]`).MatchString(html) {
		t.Errorf("a line's path is written absolute after its first point")
	}
	for _, c := range []string{"Authenticated and interleaved requests over the range, in %", "Clients over the range"} {
		if strings.Contains(html, c+"; percentiles approximate") {
			t.Errorf("%q: said approximate with exact statistics", c)
		}
	}

	// Over UDP the serving history is not recorded: said in one line, pointing at the serving
	// time panel's fix rather than saying it again.
	mustNotContain(t, html, `data-field="serving-history"`)
	refused := &chrony.Error{Kind: chrony.KindNotAuthorised, Op: "server statistics", Addr: "udp://ntp.lan:323", Status: chrony.StatusUnauth}
	udp := render(t, HistoryPanel(Result[HistoryData]{Data: HistoryData{View: v, Range: v.Range, Status: history.Status{ServerErr: refused, Endpoint: "udp://ntp.lan:323"}}, At: at, Now: now}))
	mustContain(t, udp, `<p class="range-note access-line" data-access="socket-only" data-field="serving-history">`, "only on its Unix socket", `href="#panel-server"`)
	mustNotContain(t, udp, `role="alert"`, "To record it", "chrony.conf")
}

// TestTimeTicks: every range has three to six round ticks; beyond 42 days they are the first
// days of months, labelled with the year, never weekly ticks crowding a year's axis.
func TestTimeTicks(t *testing.T) {
	to := time.Date(2026, 12, 1, 16, 37, 0, 0, time.UTC)
	for _, r := range history.Ranges {
		ticks := timeTicks(to.Add(-r.D), to)
		if len(ticks) < 3 || len(ticks) > 7 {
			t.Errorf("%s: %d ticks %v", r.Name, len(ticks), ticks)
		}
		if r.D > 42*24*time.Hour {
			for _, tick := range ticks {
				if tick.Day() != 1 || tick.Hour() != 0 {
					t.Errorf("%s: tick %v is not the first of a month", r.Name, tick)
				}
			}
		}
	}
	v := history.View{From: to.Add(-365 * 24 * time.Hour), To: to}
	var labels []string
	for _, m := range axisText.FindAllStringSubmatch(render(t, xAxis(v, timeTicks(v.From, v.To))), -1) {
		labels = append(labels, m[1])
	}
	if want := []string{"Jan 2026", "Mar 2026", "May 2026", "Jul 2026", "Sep 2026", "Nov 2026"}; !slices.Equal(labels, want) {
		t.Errorf("1 y's time labels: %v, want %v", labels, want)
	}
}

// TestGapStretches: gaps that share or touch a column are one stretch on the chart, said with
// how many silences it holds and the last one's error; gaps apart stay apart.
func TestGapStretches(t *testing.T) {
	v := chartView() // an hour: a column is 7.5 s
	at := func(s float64) time.Time { return v.From.Add(time.Duration(s * float64(time.Second))) }
	v.Gaps = []store.Gap{
		{Start: at(0), End: at(20), Error: "e1"},
		{Start: at(21), End: at(22), Error: "e2"}, // the column the first ends in
		{Start: at(23), End: at(30), Error: "e3"}, // the next column: touching
		{Start: at(600), End: at(601), Error: "e4"},
	}
	got := gapStretches(v)
	want := []gapStretch{
		{0, 5, "chronyd not answering, 3 times here; the last: e3"},
		{80, 81, "chronyd not answering: e4"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("%+v, want %+v", got, want)
	}
}

// TestSolidRuns: two or more columns in a row that span the whole scale are one filled block,
// left out of the line; a single one stays in the line.
func TestSolidRuns(t *testing.T) {
	y := func(v float64) int { return int(1000 - v) }
	full, mid := history.Col{Has: true, Min: 0, Max: 1000}, history.Col{Has: true, Min: 500, Max: 500}
	line, solid := seriesPaths([]history.Col{mid, full, full, full, mid, full, mid}, y, chartBridge)
	if line != "M0 500m4 0l1-500v1000l1-500" || solid != "M1 0H3V1000H1z" {
		t.Errorf("line %q, solid %q", line, solid)
	}
}

// TestRangeClickReplacesARefresh: the range and scale buttons replace a refresh of the panel in
// flight rather than being dropped behind it (the click did nothing) or racing it (the old
// range came back).
func TestRangeClickReplacesARefresh(t *testing.T) {
	v := chartView()
	html := render(t, HistoryPanel(Result[HistoryData]{Data: HistoryData{View: v, Range: v.Range}, At: at, Now: now}))
	buttons := regexp.MustCompile(`<button id="(range-\w+|history-scale)"[^>]*>`).FindAllString(html, -1)
	if len(buttons) != len(history.Ranges)+1 {
		t.Fatalf("%d range and scale buttons, want %d", len(buttons), len(history.Ranges)+1)
	}
	for _, b := range buttons {
		if !strings.Contains(b, `hx-sync="closest section:replace"`) {
			t.Errorf("%s: want hx-sync closest section:replace", b)
		}
	}
}

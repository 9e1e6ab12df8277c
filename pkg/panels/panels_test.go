package panels

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	g "maragu.dev/gomponents"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
)

var (
	at  = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	now = at.Add(3 * time.Second)
)

func render(t *testing.T, n g.Node) string {
	t.Helper()
	var b strings.Builder
	if err := n.Render(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mustContain(t *testing.T, html string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(html, p) {
			t.Errorf("missing %q in:\n%s", p, html)
		}
	}
}

func mustNotContain(t *testing.T, html string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(html, p) {
			t.Errorf("unexpected %q in:\n%s", p, html)
		}
	}
}

func synced() chrony.Tracking {
	return chrony.Tracking{
		RefID: 0x7F000001, RefAddr: netip.MustParseAddr("127.0.0.1"), RefName: "time.lan", Stratum: 3,
		Leap: chrony.LeapNormal, RefTime: at.Add(-8 * time.Second), CorrectionSeconds: -12e-6,
		LastOffsetSeconds: 8.77e-7, RMSOffsetSeconds: 1.2e-6, FrequencyPPM: -3.5, ResidualFrequencyPPM: 0.001,
		SkewPPM: 0.2, RootDelaySeconds: 0.0123, RootDispersionSeconds: 0.0009, UpdateIntervalSeconds: 64.2,
	}
}

func TestTrackingPanel(t *testing.T) {
	html := render(t, TrackingPanel(Result[chrony.Tracking]{Data: synced(), At: at, Now: now}))
	mustContain(t, html,
		`class="metric health-good"`, "✓ ", ">Synchronised<",
		`data-field="system-time" value="1.2e-05">12.0 µs fast<`,
		`data-field="reference" value="time.lan">time.lan<`, `>127.0.0.1<`, "ref ID 7F000001",
		`data-field="stratum" value="3">3<`, ">Normal<", ">11 s ago<",
		`>3.500 ppm slow<`, `>+877 ns<`, `>12.3 ms<`, `>64 s<`,
		"updated 3 s ago", `hx-trigger="panel-refresh"`,
		// The maximum clock error, as the overview has it: |offset| + root dispersion + root delay / 2.
		`data-field="max-error" value="0.007062">7.06 ms<`)
	mustNotContain(t, html, "load,", `role="alert"`)
}

func TestTrackingPanelNotSynchronised(t *testing.T) {
	tr := chrony.Tracking{Leap: chrony.LeapUnsynchronised, RootDelaySeconds: 1, RootDispersionSeconds: 1}
	html := render(t, TrackingPanel(Result[chrony.Tracking]{Data: tr, At: at, Now: now}))
	mustContain(t, html, `class="metric health-bad"`, "✕ ", ">Not synchronised<", `data-field="ref-time" value="0">never<`,
		`data-field="last-update" value="never">never<`, `data-field="reference" value="">none<`)
}

func TestTrackingPanelLocalAndRefClock(t *testing.T) {
	html := render(t, TrackingPanel(Result[chrony.Tracking]{Data: chrony.Tracking{RefID: chrony.RefIDLocal, Stratum: 8, RefTime: at}, At: at, Now: now}))
	mustContain(t, html, ">LOCL<", "local clock", ">Local clock only<", `class="metric health-warn"`)
	html = render(t, TrackingPanel(Result[chrony.Tracking]{Data: chrony.Tracking{RefID: 0x47505300, Stratum: 1, RefTime: at}, At: at, Now: now}))
	mustContain(t, html, ">GPS<", "reference clock")
}

func TestOffsetHealthThresholds(t *testing.T) {
	for _, tc := range []struct {
		offset float64
		want   Health
	}{{-5e-3, Good}, {0.02, Warning}, {-0.2, Bad}} {
		tr := synced()
		tr.CorrectionSeconds = tc.offset
		html := render(t, offsetMetric(tr, nil, diagnose.DefaultThresholds()))
		mustContain(t, html, `class="metric health-`+string(tc.want)+`"`)
	}
}

func TestSourcesPanel(t *testing.T) {
	sources := []chrony.Source{
		{Name: "GPS", Mode: chrony.ModeRefClock, State: chrony.StateNonselectable, PollLog2: 4, LastSampleAgo: chrony.NeverSampled},
		{Name: "time.lan", Address: netip.MustParseAddr("192.0.2.10"), Mode: chrony.ModeServer, State: chrony.StateSelected,
			Stratum: 2, PollLog2: 6, Reach: 0o377, LastSampleAgo: 12 * time.Second,
			AdjustedOffsetSeconds: -4.8e-7, MeasuredOffsetSeconds: -7.34e-7, ErrorSeconds: 3.566e-6},
		{Name: "192.0.2.11", Address: netip.MustParseAddr("192.0.2.11"), Mode: chrony.ModePeer, State: chrony.StateJittery,
			PollLog2: -2, Reach: 0o17, LastSampleAgo: 3 * time.Minute},
	}
	html := render(t, SourcesPanel(Result[[]chrony.Source]{Data: sources, At: at, Now: now}))
	mustContain(t, html,
		`data-field="mode">#</span>`, "reference clock", `data-field="mode">^</span>`, `data-field="mode">=</span>`,
		`data-field="state">*</span>`, "selected", `data-field="state">~</span>`, "too variable",
		`value="time.lan">time.lan<`, `>192.0.2.10<`,
		`data-field="poll" value="6">64 s<`, `data-field="poll" value="-2">250 ms<`,
		`data-field="reach" value="377">377<`, `data-field="reach" value="17">17<`,
		"reach 17: 4 of the last 8 polls answered", ">12 s ago<", ">3 min ago<", ">never<",
		// One unit for the column, in its head; a source never sampled says so in words.
		"Last sample (ns)", `>-480<`, `>-734<`, `>3566<`, ">no sample yet<", "What do these mean?")
	mustNotContain(t, html, " us<", "us)")
	// 017: the four newest polls, on the right.
	if !strings.Contains(html, strings.Repeat(`<span class="bit off"></span>`, 4)+strings.Repeat(`<span class="bit on"></span>`, 4)) {
		t.Errorf("reach 017 is not drawn as 4 empty cells then 4 filled ones:\n%s", html)
	}
	// No duplicate address line when the name is the address.
	if strings.Count(html, ">192.0.2.11<") != 1 {
		t.Errorf("address shown twice for an unnamed source")
	}
}

func TestEmptyStates(t *testing.T) {
	mustContain(t, render(t, SourcesPanel(Result[[]chrony.Source]{At: at, Now: now})), "chronyd has no time sources")
	mustContain(t, render(t, SourceStatsPanel(Result[[]chrony.SourceStats]{At: at, Now: now})), "no time sources")
}

func TestSourceStatsPanel(t *testing.T) {
	html := render(t, SourceStatsPanel(Result[[]chrony.SourceStats]{Data: []chrony.SourceStats{{
		Name: "time.lan", Samples: 20, Runs: 13, SpanSeconds: 307, FrequencyPPM: -0.024, FrequencySkewPPM: 0.469,
		OffsetSeconds: -4e-9, StdDevSeconds: 2.83e-7,
	}}, At: at, Now: now}))
	mustContain(t, html, ">20<", ">13<", ">307 s<", ">-0.024 ppm<", ">0.469 ppm<", ">-4<", ">283<", "(ns)")
	// The standard deviation cannot be negative: no sign.
	mustNotContain(t, html, ">+283<")
}

func TestRTCPanel(t *testing.T) {
	// Not enabled (most hosts): one quiet line, no reload button.
	quiet := render(t, RTCPanel(Result[chrony.RTC]{At: at, Now: now}))
	mustContain(t, quiet, `data-field="rtc" value="disabled">not tracked<`, "rtcfile /var/lib/chrony/rtc", "is-quiet")
	mustNotContain(t, quiet, `class="reload"`)
	html := render(t, RTCPanel(Result[chrony.RTC]{Data: chrony.RTC{Enabled: true, RefTime: at, Samples: 10, Runs: 4,
		SpanSeconds: 3600, FastSeconds: -1.5, GainRatePPM: 12.25}, At: at, Now: now}))
	mustContain(t, html, ">1.50 s slow<", ">gains 12.250 ppm<", ">3600 s<", ">10<", ">4<", "2026-11-25 20:00:00.000")
}

// Source names come from DNS and chrony.conf: whatever they hold is shown as text.
func TestHostileNamesAreEscaped(t *testing.T) {
	evil := `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	html := render(t, SourcesPanel(Result[[]chrony.Source]{Data: []chrony.Source{{Name: evil, Mode: chrony.ModeServer}}, At: at, Now: now}))
	html += render(t, SourceStatsPanel(Result[[]chrony.SourceStats]{Data: []chrony.SourceStats{{Name: evil}}, At: at, Now: now}))
	tr := synced()
	tr.RefName = evil
	html += render(t, TrackingPanel(Result[chrony.Tracking]{Data: tr, At: at, Now: now}))
	html += render(t, errorBox(errors.New(evil), evil))
	mustNotContain(t, html, "<script>", "<img")
	mustContain(t, html, "&lt;script&gt;alert(1)&lt;/script&gt;")
}

// TestErrorVariant: a report that fails for its own reason (chronyd refuses it, or answers
// nonsense) is said in full in its panel, as an alert with the fix.
func TestErrorVariant(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{&chrony.Error{Kind: chrony.KindNotAuthorised, Op: "tracking", Addr: "udp://ntp.lan:323", Status: chrony.StatusUnauth},
			[]string{"refused the tracking request: 501 Not authorised", "cmdallow"}},
		{&chrony.Error{Kind: chrony.KindProtocol, Op: "tracking", Addr: "udp://127.0.0.1:123", Err: errors.New("truncated reply")},
			[]string{"Unexpected reply from udp://127.0.0.1:123", "truncated reply", "command port"}},
	} {
		html := render(t, TrackingPanel(Result[chrony.Tracking]{Err: tc.err, At: at, Now: now, Endpoint: "udp://127.0.0.1:323"}))
		mustContain(t, html, append(tc.want, `role="alert"`, "Fix: ", "failed 3 s ago", `data-failed="report"`)...)
		mustNotContain(t, html, "metrics", "host-down")
	}
}

// TestNotAnswering: chronyd not answering at all is the host's failure, said with its fix once,
// in the diagnosis block: each panel says in one line what its own request met, no alert and
// no fix; with no values read before, that is all it shows.
func TestNotAnswering(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&chrony.Error{Kind: chrony.KindUnreachable, Op: "tracking", Addr: "udp://127.0.0.1:323", Err: errors.New("connection refused")},
			"Not answering (connection refused): nothing read from it yet."},
		{&chrony.Error{Kind: chrony.KindPermission, Op: "tracking", Addr: "unix:///run/chrony/chronyd.sock", Err: errors.New("permission denied")},
			"Not answering (permission denied): nothing read from it yet."},
		{&chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://ntp.lan:323", Attempts: 3, Elapsed: 7 * time.Second},
			"chronyd at udp://ntp.lan:323 did not answer the tracking request (timed out after 7s, 3 attempts): nothing read from it yet."},
		{&chrony.Error{Kind: chrony.KindUnreachable, Op: "tracking", Addr: "auto"}, "chronyd is not answering at auto: nothing read from it yet."},
	} {
		html := render(t, TrackingPanel(Result[chrony.Tracking]{Err: tc.err, At: at, Now: now, Endpoint: "udp://127.0.0.1:323"}))
		mustContain(t, html, tc.want, `data-failed="not-answering"`, "failed 3 s ago")
		mustNotContain(t, html, `role="alert"`, "Fix: ", "stale-values", `data-field="stratum"`)
	}
}

// TestStaleValues: while chronyd does not answer, a panel keeps the last values read, greyed,
// with their age in its head and its one line.
func TestStaleValues(t *testing.T) {
	down := &chrony.Error{Kind: chrony.KindTimeout, Op: "sources", Addr: "udp://127.0.0.1:323", Attempts: 3, Elapsed: 7 * time.Second}
	read := now.Add(-70 * time.Second)
	src := []chrony.Source{{Name: "time.lan", Address: netip.MustParseAddr("192.0.2.10"), Mode: chrony.ModeServer, State: chrony.StateSelected,
		Stratum: 2, PollLog2: 6, Reach: 0o377, LastSampleAgo: 12 * time.Second, AdjustedOffsetSeconds: -4.8e-7}}
	html := render(t, SourcesPanel(Result[[]chrony.Source]{Data: src, Err: down, Stale: true, At: read, Now: now}))
	mustContain(t, html, "panel-sources is-stale", `data-failed="not-answering"`, `data-word="stale: read"`, "stale: read 70 s ago",
		"did not answer the sources request", ": showing the values read at 19:58:53 UTC (70 s ago).",
		`<div class="stale-values">`, `value="time.lan">time.lan<`)
	mustNotContain(t, html, `role="alert"`, "Fix: ", "nothing read")
	if strings.Index(html, "showing the values") > strings.Index(html, "stale-values") {
		t.Errorf("the line saying why the values are old is not above them:\n%s", html)
	}
}

var chrome = Chrome{Base: "./", Refresh: 10 * time.Second, Assets: AssetNames{Style: "s.css", Script: "a.js", HTMX: "h.js", Icon: "i.svg"}}

// TestHostPage: the page draws the loading shells it is given (the server's table of panels)
// in their order, after a header that says the sign convention once; every URL is relative.
func TestHostPage(t *testing.T) {
	shells := []g.Node{
		TrackingPanel(Result[chrony.Tracking]{Loading: true}),
		SourcesPanel(Result[[]chrony.Source]{Loading: true}),
	}
	html := render(t, HostPage(HostPageProps{Chrome: chrome, Host: "local", Endpoint: "auto", Panels: shells}))
	for _, id := range []string{"tracking", "sources"} {
		mustContain(t, html, `id="panel-`+id+`"`, `hx-get="panels/`+id+`"`, `hx-get="panels/`+id+`?fresh=1"`)
	}
	if strings.Index(html, `id="panel-tracking"`) > strings.Index(html, `id="panel-sources"`) {
		t.Error("the panels are not in the order given")
	}
	mustContain(t, html, `hx-trigger="load, panel-refresh"`, "Loading…", `data-refresh-ms="10000"`, "refresh 10 s",
		`data-field="convention"`, "+ means this clock is ahead",
		`&#34;includeIndicatorStyles&#34;:false`, `&#34;allowEval&#34;:false`, `href="./assets/s.css"`)
	// One host: no links to other hosts.
	mustNotContain(t, html, `class="hosts"`, "all hosts")
	// Every URL in the page is relative, so that it works under a proxy's sub-path.
	mustNotContain(t, html, `href="/`, `src="/`, `hx-get="/`, "http://", "https://", "style=")
}

func TestHostPageOfSeveral(t *testing.T) {
	c := chrome
	c.Base = "../../"
	html := render(t, HostPage(HostPageProps{Chrome: c, Host: "nas", Hosts: []string{"pi", "nas"}, Endpoint: "udp://nas:323"}))
	mustContain(t, html, `href="../../assets/s.css"`, `src="../../assets/h.js"`,
		`<a href="../../">all hosts</a>`, `<a href="../../hosts/pi/">pi</a>`, `<strong aria-current="page">nas</strong>`,
		"second-hand · nas")
	mustNotContain(t, html, `href="/`, `src="/`, `hx-get="/`)
}

func TestOverview(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	synced := chrony.Tracking{RefID: 0x0A000001, Stratum: 2, Leap: chrony.LeapNormal, RefTime: now.Add(-8 * time.Second),
		CorrectionSeconds: -12e-6, RootDelaySeconds: 2e-3, RootDispersionSeconds: 1e-3}
	worse := synced
	worse.CorrectionSeconds = -30e-3
	rows := []HostSummary{
		{Host: "b-good", Tracking: synced, Sources: []chrony.Source{{Reach: 0o377}, {Reach: 0}}, Now: now},
		{Host: "a-dead", TrackingErr: &chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://a:323", Attempts: 3}, Now: now},
		{Host: "c-worse", Tracking: worse, Now: now},
		{Host: "d-unsync", Tracking: chrony.Tracking{Leap: chrony.LeapUnsynchronised}, Now: now},
		{Host: "e-local", Tracking: chrony.Tracking{RefID: chrony.RefIDLocal, Stratum: 8}, Now: now},
		{Host: "a-good", Tracking: synced, Now: now},
		{Host: "f-new", Loading: true},
	}
	for i, r := range rows {
		if !r.Loading {
			rows[i].Diagnosis = diagnose.Diagnose(diagnose.Input{Host: r.Host, Now: now,
				Tracking: diagnose.Report[chrony.Tracking]{Val: r.Tracking, At: now, Err: r.TrackingErr},
				Sources:  diagnose.Read(r.Sources, now)})
		}
	}
	SortSummaries(rows)
	var order []string
	for _, r := range rows {
		order = append(order, r.Host+":"+r.State().String())
	}
	// Failing first, then warnings by maximum clock error, the unknown, and the rest.
	if got, want := strings.Join(order, " "), "a-dead:failing d-unsync:failing c-worse:warning b-good:warning e-local:warning f-new:unknown a-good:ok"; got != want {
		t.Errorf("order = %s, want %s", got, want)
	}
	html := render(t, Overview(OverviewProps{Chrome: chrome, Rows: rows}))
	mustContain(t, html, "checking 7 hosts", `id="host-a-dead"`, `hx-get="hosts/a-dead/summary"`,
		`hx-get="hosts/f-new/summary"`, `hx-trigger="load, panel-refresh"`, `href="hosts/b-good/"`, `hx-get="hosts/b-good/summary?fresh=1"`,
		"did not answer the tracking request", `data-field="sources-reachable" value="1"`, `data-field="sources-total" value="2"`,
		`data-field="max-error" value="0.002012"`, `data-rank="0"`, `data-status="not synchronised"`, `data-state="failing"`,
		`data-field="why" value="no-sources">Not synchronised: chronyd has no time sources.<`,
		`data-field="why" value="no-redundancy">Only one usable source`, "<title>✕ 2 of 7 failing · second-hand</title>",
		">Last clock update<",
		// An unsynchronised host's unknowns are labelled like values on a phone's card.
		`<td class="num c-offset" data-label="Offset"><span class="empty-value"><data data-field="system-time" value="">unknown</data>`)
	mustNotContain(t, html, ">Updated<")
	mustNotContain(t, html, `href="/`, `src="/`, `hx-get="/`, "style=")
	rows = slices.DeleteFunc(rows, func(r HostSummary) bool { return r.Loading })
	if html := render(t, Overview(OverviewProps{Chrome: chrome, Rows: rows})); !strings.Contains(html, "3 of 6 hosts synchronised") {
		t.Errorf("the header does not count the synchronised hosts:\n%s", html)
	}
}

func TestWaitingRowAsksForTheSameRead(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	html := render(t, SummaryRow(HostSummary{Host: "slow", Endpoint: "udp://slow:323", Waiting: true, WaitingSince: now.Add(-3 * time.Second),
		Now: now, Next: time.Second}))
	mustContain(t, html, `hx-get="hosts/slow/summary?since=1799999997000"`, "waiting for chronyd at udp://slow:323 (asked 3 s ago)",
		`data-next-ms="1000"`)
}

func TestNextRefresh(t *testing.T) {
	const r = 10 * time.Second
	base := time.Unix(1_800_000_000, 0) // a multiple of 10 s
	for _, tc := range []struct{ after, want time.Duration }{
		{0, r},                             // on the grid: the next point
		{3 * time.Second, 7 * time.Second}, // to the next point
		{9500 * time.Millisecond, 10500 * time.Millisecond}, // too close: the one after
	} {
		if got := NextRefresh(base.Add(tc.after), r); got != tc.want {
			t.Errorf("NextRefresh(%v past the grid) = %v, want %v", tc.after, got, tc.want)
		}
	}
}

// TestHistoryPanelsSayBusyAndNotScanned: a view that waited its turn too long is a notice to
// try again, not an error; events read only so far say where reading stopped.
func TestHistoryPanelsSayBusyAndNotScanned(t *testing.T) {
	for name, page := range map[string]string{
		"history": render(t, HistoryPanel(Result[HistoryData]{Data: HistoryData{Err: history.ErrBusy, Range: history.Ranges[4]}, At: at, Now: now})),
		"events":  render(t, EventsPanel(Result[EventsData]{Data: EventsData{Err: history.ErrBusy}, At: at, Now: now})),
	} {
		if !strings.Contains(page, `data-field="busy"`) || !strings.Contains(page, "try again") || strings.Contains(page, `role="alert"`) {
			t.Errorf("%s panel, busy:\n%s", name, page)
		}
	}
	stop := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	page := render(t, EventsPanel(Result[EventsData]{Data: EventsData{NotScannedBefore: stop,
		Events: []history.Event{{T: at, Kind: "lost", Bad: true, Text: "Synchronisation lost"}}}, At: at, Now: now}))
	if !strings.Contains(page, "Synchronisation lost") || !strings.Contains(page, "Older events not scanned: the record before 2026-11-20 12:00 UTC") {
		t.Errorf("events read so far:\n%s", page)
	}
}

package panels

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
)

// HostSummary is one host's row of the fleet overview: its tracking and sources reports, or why
// they could not be read.
type HostSummary struct {
	Host     string
	Endpoint string

	Tracking    chrony.Tracking
	TrackingErr error
	Sources     []chrony.Source
	SourcesErr  error
	At          time.Time // when tracking was read

	Now   time.Time
	Next  time.Duration  // when the page should ask again
	Trend *history.Trend // the last 24 hours of the system time offset; nil without history

	// InPage marks a row rendered in the overview page rather than as its fragment: it asks
	// for its fragment as soon as the page loads. Loading is such a row with nothing read yet.
	InPage  bool
	Loading bool
	// Diagnosis is the host's, from the same reads; Thresholds are its limits, for the
	// colours of its values.
	Diagnosis  diagnose.Diagnosis
	Thresholds diagnose.Thresholds
	// Waiting is a row whose chronyd has not answered yet; WaitingSince is when the row first
	// asked, which it asks again with (the read goes on meanwhile). Stale marks the reports of
	// a waiting row as the last ones read, shown until the new read ends.
	Waiting      bool
	WaitingSince time.Time
	Stale        bool

	// InPanel marks a row of a panel that reloads as a whole (the hosts from a time-series
	// engine): it asks for nothing itself and has no reload button of its own.
	InPanel bool
	// Counted rows have no sources report, only how many sources there are (Total) and how
	// many answered at least one of their last 8 polls (Reachable): a host known from the
	// series of a time-series engine.
	Counted          bool
	Reachable, Total int
}

// Status is a host's state in one word, as the overview ranks it: worst first.
type Status int

const (
	StatusUnreachable     Status = iota // chronyd did not answer tracking
	StatusNotSynchronised               // no reference
	StatusLocal                         // synchronised to its own local clock only
	StatusSynchronised
	StatusUnknown // not read yet
)

func (s Status) String() string {
	switch s {
	case StatusUnreachable:
		return "unreachable"
	case StatusNotSynchronised:
		return "not synchronised"
	case StatusLocal:
		return "local clock"
	case StatusSynchronised:
		return "synchronised"
	}
	return "checking"
}

// Status ranks the row: unreachable, then not synchronised, then its local clock only, then
// synchronised; the unknown last.
func (s HostSummary) Status() Status {
	switch {
	case s.Loading || (s.Waiting && !s.Stale):
		return StatusUnknown
	case s.TrackingErr != nil:
		return StatusUnreachable
	case !s.Tracking.Synchronised():
		return StatusNotSynchronised
	case s.Tracking.RefID == chrony.RefIDLocal:
		return StatusLocal
	}
	return StatusSynchronised
}

// State is the row's diagnosis state; unknown while nothing is read.
func (s HostSummary) State() diagnose.State {
	if s.Status() == StatusUnknown {
		return diagnose.Unknown
	}
	return s.Diagnosis.State
}

// errorBound is the maximum clock error that orders hosts of the same state; none for hosts
// that are not synchronised.
func (s HostSummary) errorBound() float64 {
	if st := s.Status(); st != StatusSynchronised && st != StatusLocal {
		return 0
	}
	return s.Tracking.MaxErrorSeconds()
}

// SortSummaries puts the worst first: by diagnosis state (failing, warning, unknown, ok), then
// by maximum clock error, largest first, then by name, so that equals keep a stable order. The
// page's script sorts the rows by the same keys as they update (data-rank, data-error,
// data-host).
func SortSummaries(rows []HostSummary) {
	slices.SortStableFunc(rows, func(a, b HostSummary) int {
		return cmp.Or(
			cmp.Compare(a.State().Rank(), b.State().Rank()),
			cmp.Compare(b.errorBound(), a.errorBound()),
			cmp.Compare(a.Host, b.Host),
		)
	})
}

// FleetTitle is the overview's tab title: the worst state, and how many hosts are in it.
func FleetTitle(states []diagnose.State) string {
	worst, n := diagnose.OK, 0
	for _, st := range states {
		switch {
		case st.Rank() < worst.Rank():
			worst, n = st, 1
		case st == worst:
			n++
		}
	}
	if worst == diagnose.Unknown {
		return "? checking " + strconv.Itoa(len(states)) + " hosts · second-hand"
	}
	return worst.Symbol() + " " + strconv.Itoa(n) + " of " + strconv.Itoa(len(states)) + " " + strings.ToLower(worst.Word()) + " · second-hand"
}

// OverviewProps is what the fleet overview needs.
type OverviewProps struct {
	Chrome
	Rows []HostSummary // in the order to show them first, usually loading shells
	// Engine is the address of the time-series engine whose hosts the overview shows too
	// (their panel loads itself); empty for none.
	Engine string
}

// Overview is the page of several hosts: a header with how many are synchronised, then one
// row per host, worst first, each row its own fragment.
func Overview(p OverviewProps) g.Node {
	synced := 0
	known := 0
	for _, r := range p.Rows {
		switch r.Status() {
		case StatusSynchronised:
			synced++
			known++
		case StatusUnknown:
		default:
			known++
		}
	}
	count := strconv.Itoa(synced) + " of " + strconv.Itoa(len(p.Rows)) + " hosts synchronised"
	switch {
	case p.Engine != "":
		count = "checking hosts…" // until the engine's have come
	case known < len(p.Rows):
		count = "checking " + strconv.Itoa(len(p.Rows)) + " hosts…"
	}
	states := make([]diagnose.State, len(p.Rows))
	for i, r := range p.Rows {
		states[i] = r.State()
	}
	title, worst := FleetTitle(states), diagnose.OK
	for _, st := range states {
		if st.Rank() < worst.Rank() {
			worst = st
		}
	}
	p.Chrome.State = worst
	return document(p.Chrome, title,
		Header(Class("top"),
			H1(g.Text("second-hand")),
			P(Class("fleet-count"), ID("fleet-count"), Aria("live", "polite"), g.Text(count)),
			refreshNote(p.Refresh),
		),
		nil,
		Main(ID("main"), Class("panels fleet"),
			g.If(len(p.Rows) > 0 || p.Engine == "", Section(Class("panel panel-fleet"), Aria("labelledby", "fleet-title"), tipsRoving,
				Header(Class("panel-head"), H2(ID("fleet-title"), g.Text("Hosts")),
					Span(Class("hint"), g.Text("worst first; a host's name opens its page"))),
				Div(Class("table-wrap"), TabIndex("0"), Aria("labelledby", "fleet-title"),
					Table(Class("fleet-table"),
						fleetHead,
						TBody(ID("fleet-rows"), g.Map(p.Rows, SummaryRow)),
					)),
				fleetLegend,
			)),
			g.If(p.Engine != "", EngineFleetPanel(Result[EngineFleetData]{Loading: true, Data: EngineFleetData{URL: p.Engine}})),
		),
	)
}

var fleetHead = static(THead(Tr(
	columnHead("fl-host", "Host", "The name second-hand knows the host by; opens its page", false),
	columnHead("fl-status", "Status", "Synchronised, coasting (its reference gives no samples), its local clock only, not synchronised, or chronyd unreachable", false),
	columnHead("fl-why", "Why", "The host's diagnosis: its first finding, or what was checked when all is well", false),
	columnHead("fl-offset", "Offset", "System time offset: how far the system clock is from NTP time now (+ fast, − slow)", true),
	columnHead("fl-max-error", "Max error", "|offset| + root dispersion + root delay / 2: how far the clock may be from true time", true),
	columnHead("fl-stratum", "Stratum", "Hops from a reference clock", true),
	columnHead("fl-reference", "Reference", "The source the clock follows", false),
	columnHead("fl-leap", "Leap", "Leap status", false),
	columnHead("fl-update", "Last clock update", "When chronyd last corrected the clock from its reference", true),
	columnHead("fl-sources", "Sources", "Sources that answered at least one of the last 8 polls, of all sources", true),
	columnHead("fl-trend", "Trend", "The system time offset over the recorded time, up to 24 hours", false),
	Th(Scope("col"), Span(Class("visually-hidden"), g.Text("Reload"))),
)))

var fleetLegend = legend("fleet",
	[2]string{"Order", "Failing hosts first, then those with a warning, then those not read yet, then the rest; among equals by maximum clock error, largest first."},
	[2]string{"Why", "The first finding of the host's diagnosis (its page lists them all, with their evidence and fix), or, when nothing is wrong, what was checked."},
	[2]string{"Max error", "The bound chronyc's documentation gives for how far the system clock may be from true time: the absolute system time offset plus the root dispersion plus half the root delay."},
	[2]string{"Sources", "How many of the host's sources answered at least one of their last 8 polls, of how many it has."},
)

// rowID is the element id of a host's row; host names need no escaping in ids.
func rowID(host string) string { return "host-" + host }

// SummaryRow is one host's row of the overview, and the fragment that replaces it: it loads
// itself, reloads on the page's refresh, and has its own reload button.
func SummaryRow(s HostSummary) g.Node {
	url := "hosts/" + s.Host + "/summary"
	next := s.Next
	if s.Waiting {
		url += "?since=" + strconv.FormatInt(s.WaitingSince.UnixMilli(), 10)
	}
	trigger := "panel-refresh"
	if s.InPage || s.Loading {
		trigger = "load, panel-refresh"
	}
	st := s.Status()
	state := s.State()
	if s.InPanel {
		return Tr(ID(rowID(s.Host)), Class("host-row status-"+statusClass(st)+" state-"+state.String()), Data("host", s.Host),
			Data("rank", strconv.Itoa(state.Rank())), Data("error", Raw(s.errorBound())), Data("status", st.String()),
			Data("state", state.String()),
			Th(Scope("row"), Class("name"), A(ID("link-"+s.Host), Href(HostURL("", s.Host)), textValue("host", s.Host, s.Host))),
			summaryCells(s, st),
			Td(Class("trend-cell"), g.Iff(s.Trend != nil, func() g.Node { return Trend(*s.Trend) })),
			Td(),
		)
	}
	return Tr(ID(rowID(s.Host)), Class("host-row status-"+statusClass(st)+" state-"+state.String()),
		Data("panel", "summary"), Data("host", s.Host),
		Data("rank", strconv.Itoa(state.Rank())), Data("error", Raw(s.errorBound())), Data("status", st.String()),
		Data("state", state.String()),
		g.If(next > 0, Data("next-ms", strconv.FormatInt(next.Milliseconds(), 10))),
		hx.Get(url), hx.Trigger(trigger), hx.Swap("outerHTML"), hx.Sync("this:drop"),
		Th(Scope("row"), Class("name"), A(ID("link-"+s.Host), Href(HostURL("", s.Host)), textValue("host", s.Host, s.Host))),
		summaryCells(s, st),
		Td(Class("trend-cell c-minor"), g.Iff(s.Trend != nil, func() g.Node { return g.Group{Trend(*s.Trend), Small(Class("trend-span"), g.Text(" "+s.Trend.Span()))} })),
		Td(Button(ID("reload-host-"+s.Host), Type("button"), Class("reload"), Aria("label", "Reload "+s.Host),
			hx.Get("hosts/"+s.Host+"/summary?fresh=1"), hx.Target("closest tr"), hx.Swap("outerHTML"),
			hx.Sync("closest tr:drop"), hx.Indicator("closest tr"),
			Span(Aria("hidden", "true"), g.Text("↻")))),
	)
}

func summaryCells(s HostSummary, st Status) g.Node {
	switch st {
	case StatusUnknown:
		word := "loading…"
		if s.Waiting {
			word = "waiting for chronyd at " + s.Endpoint + " (asked " + ago(s.Now.Sub(s.WaitingSince)) + ")"
		}
		return Td(ColSpan("9"), Class("pending"), textValue("status", "checking", word))
	case StatusUnreachable:
		x := diagnose.Explain(s.TrackingErr, s.Endpoint)
		return g.Group{
			Td(withHealth("status-cell", Bad),
				Span(Class("sym"), Aria("hidden", "true"), g.Text(Bad.Symbol()+" ")),
				textValue("status", "unreachable", "unreachable"),
				g.If(s.Stale, Small(Class("checking"), g.Text(" (asking again)")))),
			Td(ColSpan("8"), withHealth("why c-why", Bad), Role("alert"),
				textValue("why", diagnose.IDChronydUnreachable, x.Title),
				g.If(x.Fix != "", Small(Class("error-fix"), g.Text(" "+x.Fix)))),
		}
	}
	t := s.Tracking
	synced := st == StatusSynchronised || st == StatusLocal
	// The status in a word as the diagnosis judges it: a coasting host is not a green
	// "synchronised".
	word, tone := diagnose.Status(t, s.Diagnosis)
	statusHealth := health(tone)
	// Unknown, in the same cells as the values: labelled on a phone's card like them.
	dash := func(class, label, field string) g.Node {
		return Td(Class(class), Data("label", label), unknownValue(field, "unknown"))
	}
	cells := g.Group{
		Td(withHealth("status-cell", statusHealth),
			Span(Class("sym"), Aria("hidden", "true"), g.Text(statusHealth.Symbol()+" ")),
			textValue("status", st.String(), strings.ToLower(word))),
		whyCell(s.Diagnosis),
	}
	if synced {
		off := t.SystemTimeOffsetSeconds()
		bound := t.MaxErrorSeconds()
		cells = append(cells,
			Td(withHealth("num c-offset", health(diagnose.OffsetTone(off, true, s.Thresholds))), Data("label", "Offset"), value("system-time", off, Seconds(off, true))),
			Td(withHealth("num c-max-error", health(diagnose.MaxErrorTone(bound, s.Thresholds))), Data("label", "Max error"), value("max-error", bound, Seconds(bound, false))),
			Td(Class("num c-minor"), Data("label", "Stratum"), textValue("stratum", strconv.Itoa(t.Stratum), strconv.Itoa(t.Stratum))),
			Td(Class("ref c-minor"), Data("label", "Reference"), textValue("reference", t.Reference(), t.Reference())),
		)
	} else {
		cells = append(cells, dash("num c-offset", "Offset", "system-time"), dash("num c-max-error", "Max error", "max-error"),
			dash("num c-minor", "Stratum", "stratum"), Td(Class("ref c-minor"), Data("label", "Reference"), unknownValue("reference", "none")))
	}
	leap := health(diagnose.LeapTone(t.Leap))
	cells = append(cells,
		Td(withHealth("c-minor", leap), Data("label", "Leap"), textValue("leap", t.Leap.String(), t.Leap.String())),
		Td(Class("num c-minor"), Data("label", "Last clock update"), lastUpdateValue(t, s.Now)),
		Td(Class("num c-minor"), Data("label", "Sources"), reachableCell(s)),
	)
	return cells
}

// whyCell is the first finding of the host's diagnosis, or what was checked.
func whyCell(d diagnose.Diagnosis) g.Node {
	h := health(d.State.Tone())
	f, ok := d.First()
	id, text := "", d.Summary()
	if ok && f.Severity > diagnose.Info {
		id, text = f.ID, f.Text
	}
	return Td(withHealth("why c-why", h),
		Span(Class("sym"), Aria("hidden", "true"), g.Text(h.Symbol()+" ")),
		textValue("why", id, text))
}

// reachableCell is "x of y": sources that answered at least one of their last 8 polls.
func reachableCell(s HostSummary) g.Node {
	if s.SourcesErr != nil {
		x := diagnose.Explain(s.SourcesErr, s.Endpoint)
		return Span(Title(x.Title), textValue("sources-reachable", "", "?"))
	}
	reachable, total := s.Reachable, s.Total
	if !s.Counted {
		reachable, total = 0, len(s.Sources)
		for _, src := range s.Sources {
			if src.Reach != 0 {
				reachable++
			}
		}
	}
	h := Good
	switch {
	case reachable == 0:
		h = Bad
	case reachable < total:
		h = Neutral
	}
	return Span(withHealth("", h),
		textValue("sources-reachable", strconv.Itoa(reachable), strconv.Itoa(reachable)),
		g.Text(" of "),
		textValue("sources-total", strconv.Itoa(total), strconv.Itoa(total)))
}

func statusClass(s Status) string {
	switch s {
	case StatusUnreachable:
		return "unreachable"
	case StatusNotSynchronised:
		return "unsynchronised"
	case StatusLocal:
		return "local"
	case StatusSynchronised:
		return "synchronised"
	}
	return "unknown"
}

package panels

import (
	"cmp"
	"html"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
)

// Result is what a panel shows: a report read from chronyd, or why it could not be read.
type Result[T any] struct {
	Data     T
	Err      error
	At       time.Time // when the report was read
	Now      time.Time // when the panel is rendered; ages are Now - At
	Endpoint string    // the chronyd address, for error messages
	Loading  bool      // the page's first render: no report yet, the fragment is on its way
	// Stale marks Data as the last report read without error (at At), shown greyed with its
	// age because chronyd does not answer now (Err, diagnose.NotAnswering).
	Stale bool
	// Next is when the page should reload the panel (see NextRefresh); zero in the loading shell.
	Next time.Duration
	// Trend is the last 24 hours of the system time offset, for the tracking panel; nil
	// without history.
	Trend *history.Trend
	// Activity is chronyd's activity report, for the sources panel's head; nil when not read.
	Activity *chrony.Activity
	// Thresholds are the host's, for the colours of values; RefPollSeconds the polling
	// interval of the source the clock follows, for when the last clock update is late.
	Thresholds     diagnose.Thresholds
	RefPollSeconds float64
	// History is what the host's record knows, for since when a source has not answered.
	History diagnose.History
	// Diagnosis is the host's, for the tracking panel's status: the two judge alike.
	Diagnosis diagnose.Diagnosis
}

func (r Result[T]) meta() meta {
	return meta{err: r.Err, at: r.At, now: r.Now, endpoint: r.Endpoint, loading: r.Loading, next: r.Next, stale: r.Stale}
}

type meta struct {
	err      error
	at, now  time.Time
	endpoint string
	loading  bool
	stale    bool // the body is the last good read, shown greyed while chronyd does not answer
	next     time.Duration
	url      string // the panel's own address, when it is not panels/ID
	query    string // the panel's own query ("range=24h"), kept by its refresh and its reload
	controls g.Node // more of the panel's head: the history's range switch
	quiet    bool   // a panel with nothing to show, drawn in one line, with no reload button
	readFrom string // what the data was read from, for the age's title; chronyd when empty
	attrs    g.Node // more attributes of the panel's section
}

// NextRefresh is how long until a page should reload a panel: until the next multiple of the
// refresh interval on the server's clock. Every open page then asks at the same moments, and
// one read of chronyd serves them all, however many they are; a page that asked on its own
// rhythm would fall out of step with the others and cost chronyd a read of its own.
func NextRefresh(now time.Time, refresh time.Duration) time.Duration {
	next := refresh - time.Duration(now.UnixNano()%int64(refresh))
	if next < refresh/8 {
		next += refresh // too close to ask again: the data would not have changed
	}
	return next
}

// Health is how a value looks: good, warning, bad or neutral. It is always shown with a word
// or symbol as well as a colour.
type Health string

const (
	Good    Health = "good"
	Warning Health = "warn"
	Bad     Health = "bad"
	Neutral Health = "neutral"
)

// Symbol is the sign that goes with the colour, for those who cannot tell the colours apart.
func (h Health) Symbol() string {
	switch h {
	case Good:
		return "✓"
	case Warning:
		return "!"
	case Bad:
		return "✕"
	}
	return ""
}

// health is the colour of a tone judged by package diagnose.
func health(t diagnose.Tone) Health {
	switch t {
	case diagnose.Good:
		return Good
	case diagnose.Attention:
		return Warning
	case diagnose.Bad:
		return Bad
	}
	return Neutral
}

// withHealth is a class attribute: the element's own classes and its health's.
func withHealth(classes string, h Health) g.Node { return Class(classes + " health-" + string(h)) }

// panel is the frame every panel shares: a heading, the age of its data, a reload button and
// the body, or the error in place of the body. The section carries its own htmx request: it
// loads itself when the page loads, reloads on the page's refresh event, and is replaced whole
// by the fragment the server returns. While a request of the panel's is in flight, another
// (a refresh, a click on reload) is dropped rather than aborting the first: the answer on its
// way is as fresh, and an aborted request is an error in the browser's console.
//
// A chronyd that does not answer at all is the host's failure, said once in the diagnosis
// block; each panel then keeps its last values, greyed, with their age and one line saying so,
// and a panel with none yet says that in a line. An error of the panel's own report (one chronyd
// refuses, or gives only on its socket) is said in full in the panel.
func panel(spec Spec, m meta, body func() g.Node) g.Node {
	trigger := "panel-refresh"
	if m.loading {
		trigger = "load, panel-refresh"
	}
	url, reloadButton := "panels/"+spec.ID, spec.reloadButton()
	if m.url != "" {
		url, reloadButton = m.url, newReloadButton(spec, m.url+"?fresh=1")
	}
	if m.query != "" {
		url += "?" + m.query
		reloadButton = newReloadButton(spec, url+"&fresh=1")
	}
	down := !m.loading && m.err != nil && diagnose.NotAnswering(m.err)
	errKind := ""
	switch {
	case m.loading || m.err == nil:
	case down:
		errKind = "not-answering"
	default:
		errKind = "report"
	}
	classes := "panel panel-" + spec.ID
	if m.stale {
		classes += " is-stale"
	}
	if m.quiet {
		classes += " is-quiet"
	}
	return Section(ID("panel-"+spec.ID), Class(classes), Data("panel", spec.ID), Aria("labelledby", spec.ID+"-title"), tipsRoving,
		g.If(m.next > 0, Data("next-ms", strconv.FormatInt(m.next.Milliseconds(), 10))),
		g.If(errKind != "", Data("failed", errKind)),
		m.attrs,
		hx.Get(url), hx.Trigger(trigger), hx.Swap("outerHTML"), hx.Sync("this:drop"),
		Header(Class("panel-head"),
			spec.heading(),
			status(m),
			m.controls,
			g.If(!m.quiet, reloadButton),
		),
		Div(Class("panel-body"),
			g.Iff(m.loading, func() g.Node { return loadingLine }),
			g.Iff(down, func() g.Node { return downLine(m) }),
			g.Iff(m.stale, func() g.Node { return Div(Class("stale-values"), body()) }),
			g.Iff(!m.stale && !down && !m.loading && m.err != nil, func() g.Node { return errorBox(m.err, m.endpoint) }),
			g.Iff(!m.loading && m.err == nil, body),
		),
	)
}

var (
	loadingLine = static(P(Class("loading"), g.Text("Loading…")))
)

// downLine is a panel's compact inline error while chronyd does not answer at all: what its
// own request met, in one line, and then either the age of the last values it keeps (greyed
// under it) or that it has none. The host's failure, since when and the fix, is said once, in
// the diagnosis block; so this line is no alert of its own.
func downLine(m meta) g.Node {
	x := diagnose.Explain(m.err, m.endpoint)
	// The error's own words when they are short ("connection refused"); else its title ("chronyd
	// at ... did not answer in 7 s"), the paragraph that explains it being the banner's.
	what := x.Title
	if x.Detail != "" && len(x.Detail) <= 160 {
		what = "Not answering (" + x.Detail + ")"
	}
	kept := ": nothing read from it yet."
	if m.stale {
		kept = ": showing the values read at " + m.at.UTC().Format("15:04:05") + " UTC (" + diagnose.AgoPhrase(m.now.Sub(m.at)) + ")."
	}
	return P(Class("host-down"), Data("field", "not-answering"),
		Span(Class("sym"), Aria("hidden", "true"), g.Text(Bad.Symbol()+" ")),
		g.Text(what+kept))
}

// Spec is a panel of a host's page: its id (the element's id is panel-ID, its fragment's URL
// panels/ID), the title in its head, and the query parameters its fragment takes. The server's
// table of a host's panels pairs each with how its data is read; the page, the routes and the
// handlers go by that table.
type Spec struct {
	ID, Title string
	Query     []string
}

// The panels of a host's page.
var (
	DiagnosisSpec   = Spec{ID: "diagnosis", Title: "Diagnosis", Query: []string{"fresh"}}
	EventsSpec      = Spec{ID: "events", Title: "What happened", Query: []string{"fresh", "all"}}
	TrackingSpec    = Spec{ID: "tracking", Title: "Tracking", Query: []string{"fresh"}}
	SourcesSpec     = Spec{ID: "sources", Title: "Sources", Query: []string{"fresh"}}
	SourceStatsSpec = Spec{ID: "sourcestats", Title: "Source statistics", Query: []string{"fresh"}}
	ServerSpec      = Spec{ID: "server", Title: "Serving time", Query: []string{"fresh"}}
	RTCSpec         = Spec{ID: "rtc", Title: "RTC", Query: []string{"fresh"}}
	HistorySpec     = Spec{ID: "history", Title: "History", Query: []string{"fresh", "range", "at", "scale"}}
	// EngineSpec is the overview's block of the hosts known only from a time-series engine.
	EngineSpec = Spec{ID: "engine", Title: "From the Prometheus API", Query: []string{"fresh"}}
)

// The parts of a panel's head that never change, rendered once per panel.
var heads sync.Map // Spec.ID -> [2]g.Node: heading, reload button

func (s Spec) head() [2]g.Node {
	if h, ok := heads.Load(s.ID); ok {
		return h.([2]g.Node)
	}
	h := [2]g.Node{static(H2(ID(s.ID+"-title"), g.Text(s.Title))), static(newReloadButton(s, "panels/"+s.ID+"?fresh=1"))}
	heads.Store(s.ID, h)
	return h
}

func (s Spec) heading() g.Node      { return s.head()[0] }
func (s Spec) reloadButton() g.Node { return s.head()[1] }

func newReloadButton(s Spec, url string) g.Node {
	// An id, so that htmx gives the focus back to it when the panel is swapped.
	return Button(ID("reload-"+s.ID), Type("button"), Class("reload"), Aria("label", "Reload "+s.Title),
		hx.Get(url), hx.Target("closest section"), hx.Swap("outerHTML"),
		hx.Sync("closest section:drop"), hx.Indicator("closest section"),
		Span(Aria("hidden", "true"), g.Text("↻ ")), Span(Class("reload-word"), g.Text("Reload")))
}

// status says how old the panel's data is; the page's script keeps counting from there.
func status(m meta) g.Node {
	if m.loading {
		return Span(Class("age"), Aria("live", "polite"), g.Text("loading…"))
	}
	age := m.now.Sub(m.at)
	if age < 0 {
		age = 0
	}
	word := "updated"
	switch {
	case m.stale:
		word = "stale: read"
	case m.err != nil:
		word = "failed"
	}
	return Span(Class("age"), Data("age-ms", strconv.FormatInt(age.Milliseconds(), 10)), Data("word", word),
		Title("read from "+cmp.Or(m.readFrom, "chronyd")+" at "+m.at.UTC().Format("2006-01-02 15:04:05 MST")),
		g.Text(agePhrase(word, age)))
}

// value renders a number for people and for machines: <data value="raw">shown</data>. The
// field name lets tests and future exports find it.
func value(field string, raw float64, shown string) g.Node {
	return textValue(field, Raw(raw), shown)
}

// textValue is value for text. The panels hold dozens of values and are rendered at every
// refresh of every page, so it writes its element directly; both strings are escaped, as
// g.Text and attribute values are (field names are constants of this package).
func textValue(field, raw, shown string) g.Node {
	return g.NodeFunc(func(w io.Writer) error {
		_, err := io.WriteString(w, `<data data-field="`+field+`" value="`+html.EscapeString(raw)+`">`+html.EscapeString(shown)+`</data>`)
		return err
	})
}

// frame is a tree of constants rendered once around a hole, where each render puts its data:
// the labels and explanations of the panels are most of their markup, and the panels are
// rendered at every refresh of every open page.
type frame struct{ before, after g.Node }

// framed renders build's tree once, with the hole where its argument goes. Only constants may
// go into the tree; everything from chronyd goes into the hole, through g.Text.
func framed(build func(hole g.Node) g.Node) frame {
	const marker = "\x00hole\x00"
	before, after, ok := strings.Cut(renderString(build(g.Raw(marker))), marker)
	if !ok {
		panic("panels: a framed tree has no hole")
	}
	return frame{g.Raw(before), g.Raw(after)}
}

func (f frame) around(n ...g.Node) g.Node { return g.Group{f.before, g.Group(n), f.after} }

// metric is one box of a panel's headline: its label, what it means (a tooltip on the label)
// and how each health looks, made once; then its value at each render.
type metric map[Health]frame

func newMetric(id, label, help string) metric {
	m := metric{}
	for _, h := range []Health{Good, Warning, Bad, Neutral} {
		m[h] = framed(func(hole g.Node) g.Node {
			return Div(withHealth("metric", h),
				Dt(tipped("tip-"+id, g.Text(label), help)),
				Dd(Class("metric-value"),
					g.If(h.Symbol() != "", Span(Class("sym"), Aria("hidden", "true"), g.Text(h.Symbol()+" "))),
					hole))
		})
	}
	return m
}

func (m metric) show(h Health, v ...g.Node) g.Node { return m[h].around(v...) }

// detail is one fact of a panel's details: its name (with what it means in a tooltip) over its
// value, made once; then its value at each render.
type detail struct{ frame }

func newDetail(id, name, help string) detail {
	if id != "" {
		id = "tip-" + id
	}
	return detail{framed(func(hole g.Node) g.Node {
		return Div(Class("fact"), Dt(tipped(id, g.Text(name), help)), Dd(Class("num"), hole))
	})}
}

func (d detail) show(v g.Node) g.Node { return d.around(v) }

// tipped is a label with its explanation in a tooltip, shown when the label is pointed at and
// when it or anything in it has the keyboard's focus (CSS only: .has-tip). With an id, screen
// readers read the tooltip as the label's description (aria-describedby); without one (a part
// that can be on the page more than once, such as a source's detail) the explanation is text
// after the label, hidden from sight until shown.
//
// A label takes the keyboard's focus, one stop per panel (tipsRoving): the page's script lets
// Tab reach the first label of each panel and the arrows the others (tabindex -1 until then). A
// label with an id keeps the focus when its panel refreshes (htmx gives it back to the same id).
func tipped(id string, label g.Node, tip string) g.Node {
	if id == "" {
		return Span(Class("has-tip"), TabIndex("-1"), label, Span(Class("tip inline"), g.Text(" "+tip)))
	}
	return Span(ID(id+"-label"), Class("has-tip"), TabIndex("-1"), Aria("describedby", id), label,
		Span(ID(id), Class("tip"), Role("tooltip"), g.Text(tip)))
}

// tipsRoving makes a panel's labels with a tooltip one stop of the keyboard's (the page's script
// moves between the items a [data-roving] element names).
var tipsRoving = Data("roving", ".has-tip[tabindex]")

// columnHead is a table header with its explanation in a tooltip.
func columnHead(id, name, help string, numeric bool) g.Node {
	return Th(Scope("col"), g.If(numeric, Class("num")), tipped("tip-"+id, g.Text(name), help))
}

// legend is a panel's glossary, folded away. It holds no data, so it is rendered once.
// It keeps its id and its state (open or not) when its panel refreshes (hx-preserve).
func legend(panel string, items ...[2]string) g.Node {
	return static(Details(ID("legend-"+panel), Class("legend"), g.Attr("hx-preserve", "true"),
		Summary(g.Text("What do these mean?")),
		Dl(g.Map(items, func(it [2]string) g.Node {
			return Div(Dt(g.Text(it[0])), Dd(g.Text(it[1])))
		})),
	))
}

// static renders a tree that holds no data once, when the package loads, and returns the
// markup as a node: the panels are rendered at every refresh of every open page. Only trees
// built from constants may go through it; everything from chronyd goes through g.Text.
func static(n g.Node) g.Node { return g.Raw(renderString(n)) }

func renderString(n g.Node) string {
	var b strings.Builder
	if err := n.Render(&b); err != nil {
		panic("panels: rendering a static tree: " + err.Error())
	}
	return b.String()
}

func empty(text string) g.Node { return P(Class("empty"), g.Text(text)) }

// agePhrase is "updated 8 s ago", or "updated just now" (the page's script says the same).
func agePhrase(word string, age time.Duration) string { return word + " " + ago(age) }

// ago is "8 s ago", or "just now".
func ago(d time.Duration) string { return diagnose.AgoPhrase(d) }

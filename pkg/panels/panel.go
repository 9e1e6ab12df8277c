package panels

import (
	"cmp"
	"html"
	"io"
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

// Result is what a panel shows: a report read from chronyd, or why it could not be read.
type Result[T any] struct {
	Data     T
	Err      error
	At       time.Time // when the report was read
	Now      time.Time // when the panel is rendered; ages are Now - At
	Endpoint string    // the chronyd address, for error messages
	Loading  bool      // the page's first render: no report yet, the fragment is on its way
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
}

func (r Result[T]) meta() meta {
	return meta{err: r.Err, at: r.At, now: r.Now, endpoint: r.Endpoint, loading: r.Loading, next: r.Next}
}

type meta struct {
	err      error
	at, now  time.Time
	endpoint string
	loading  bool
	next     time.Duration
	url      string // the panel's own address, when it is not panels/ID
	query    string // the panel's own query ("range=24h"), kept by its refresh and its reload
	controls g.Node // more of the panel's head: the history's range switch
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
func panel(id string, m meta, body func() g.Node) g.Node {
	trigger := "panel-refresh"
	if m.loading {
		trigger = "load, panel-refresh"
	}
	url, reloadButton := "panels/"+id, reloadButtons[id]
	if m.url != "" {
		url, reloadButton = m.url, newReloadButton(id, m.url+"?fresh=1")
	}
	if m.query != "" {
		url += "?" + m.query
		reloadButton = newReloadButton(id, url+"&fresh=1")
	}
	return Section(ID("panel-"+id), Class("panel panel-"+id), Data("panel", id), Aria("labelledby", id+"-title"),
		g.If(m.next > 0, Data("next-ms", strconv.FormatInt(m.next.Milliseconds(), 10))),
		m.attrs,
		hx.Get(url), hx.Trigger(trigger), hx.Swap("outerHTML"), hx.Sync("this:drop"),
		Header(Class("panel-head"),
			headings[id],
			status(m),
			m.controls,
			reloadButton,
		),
		Div(Class("panel-body"),
			g.Iff(m.loading, func() g.Node { return P(Class("loading"), g.Text("Loading…")) }),
			g.Iff(!m.loading && m.err != nil, func() g.Node { return errorBox(m.err, m.endpoint) }),
			g.Iff(!m.loading && m.err == nil, body),
		),
	)
}

// The four panels' ids and titles, and the parts of their heads that never change.
var (
	panelTitles = map[string]string{"diagnosis": "Diagnosis", "tracking": "Tracking", "sources": "Sources", "sourcestats": "Source statistics", "rtc": "RTC",
		"history": "History", "events": "What happened", "server": "Serving time", "engine": "From the Prometheus API"}
	headings      = map[string]g.Node{}
	reloadButtons = map[string]g.Node{}
)

func init() {
	for id, title := range panelTitles {
		headings[id] = static(H2(ID(id+"-title"), g.Text(title)))
		reloadButtons[id] = static(newReloadButton(id, "panels/"+id+"?fresh=1"))
	}
}

func newReloadButton(id, url string) g.Node {
	// An id, so that htmx gives the focus back to it when the panel is swapped.
	return Button(ID("reload-"+id), Type("button"), Class("reload"), Aria("label", "Reload "+panelTitles[id]),
		hx.Get(url), hx.Target("closest section"), hx.Swap("outerHTML"),
		hx.Sync("closest section:drop"), hx.Indicator("closest section"),
		Span(Aria("hidden", "true"), g.Text("↻ ")), g.Text("Reload"))
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
	if m.err != nil {
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

// metric is one box of a panel's headline: its label, what it means and how each health looks,
// made once; then its value at each render.
type metric map[Health]frame

func newMetric(label, help string) metric {
	m := metric{}
	for _, h := range []Health{Good, Warning, Bad, Neutral} {
		m[h] = framed(func(hole g.Node) g.Node {
			return Div(withHealth("metric", h),
				Dt(g.Text(label)),
				Dd(Class("metric-value"),
					g.If(h.Symbol() != "", Span(Class("sym"), Aria("hidden", "true"), g.Text(h.Symbol()+" "))),
					hole),
				Dd(Class("metric-help"), g.Text(help)))
		})
	}
	return m
}

func (m metric) show(h Health, v ...g.Node) g.Node { return m[h].around(v...) }

// detail is one row of a panel's details table: its name and what it means, made once; then
// its value at each render.
type detail struct{ frame }

func newDetail(name, help string) detail {
	return detail{framed(func(hole g.Node) g.Node {
		return Tr(Th(Scope("row"), g.Text(name)), Td(Class("num"), hole), Td(Class("help"), g.Text(help)))
	})}
}

func (d detail) show(v g.Node) g.Node { return d.around(v) }

// columnHead is a table header with its explanation on hover and for screen readers.
func columnHead(name, help string, numeric bool) g.Node {
	return Th(Scope("col"), Title(help), g.If(numeric, Class("num")), g.Text(name))
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
func ago(d time.Duration) string {
	if d < time.Second {
		return "just now"
	}
	return Ago(d) + " ago"
}

package panels

import (
	"math"
	"strconv"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/engine"
	"github.com/second-hand/second-hand/pkg/history"
)

// EngineFleetData is the overview's panel of the hosts a time-series engine has chrony_up
// series of and second-hand does not read itself: one fragment for them all, worst first,
// however many they are (a fleet of a thousand is one request a refresh, not a thousand).
type EngineFleetData struct {
	URL       string // the engine's
	HostLabel string
	Rows      []HostSummary // worst first
	Polled    int           // hosts it has that second-hand reads itself: in the Hosts panel, live
}

// EngineFleetPanel is the hosts from the engine, with the engine's failure inline: the rows of
// the hosts second-hand reads itself carry on.
func EngineFleetPanel(r Result[EngineFleetData]) g.Node {
	m := r.meta()
	m.url = "engine/hosts"
	m.endpoint = r.Data.URL
	m.readFrom = "the Prometheus API"
	return panel("engine", m, func() g.Node { return engineFleetBody(r.Data) })
}

func engineFleetBody(d EngineFleetData) g.Node {
	also := ""
	switch {
	case d.Polled == 1:
		also = "; 1 more, which this second-hand reads itself, is under Hosts"
	case d.Polled > 1:
		also = "; " + strconv.Itoa(d.Polled) + " more, which this second-hand reads itself, are under Hosts"
	}
	hosts := strconv.Itoa(len(d.Rows)) + " hosts"
	if len(d.Rows) == 1 {
		hosts = "1 host"
	}
	return g.Group{
		P(Class("engine-note"), g.Text(hosts+" with chrony_up series in the last 24 h at "),
			Code(g.Text(d.URL)), g.Text(", named by their "), Code(g.Text(d.HostLabel)), g.Text(" label"+also+
				". Their Why judges their tracking; a host's page judges its sources too.")),
		g.If(len(d.Rows) == 0, empty("No host of its own here: every host with chrony_up series is one this second-hand reads itself, or there is none.")),
		g.If(len(d.Rows) > 0, Div(Class("table-wrap"), TabIndex("0"), Aria("labelledby", "engine-title"),
			Table(Class("fleet-table"), fleetHead, TBody(ID("engine-rows"), g.Map(d.Rows, SummaryRow))))),
	}
}

// EngineHostPageProps is what the page of a host known only from the engine needs.
type EngineHostPageProps struct {
	Chrome
	Host      engine.Host
	URL       string   // the engine's
	HostLabel string   // the label that names hosts
	Hosts     []string // the hosts second-hand reads itself, for the links to them
}

// EngineHostPage is a host second-hand knows only from a time-series engine: what its series
// carry (tracking, sources, source statistics, serving, history and events), each panel its
// own fragment as on any host's page, and what cannot be known from them and why.
func EngineHostPage(p EngineHostPageProps) g.Node {
	h := p.Host
	where := "the series of " + p.HostLabel + "=\"" + h.Label + "\""
	if h.Instance != "" {
		where += " (job " + h.Job + ", instance " + h.Instance + ")"
	}
	return document(p.Chrome, "second-hand · "+h.Name,
		Header(Class("top"),
			H1(A(Href(p.Base), g.Text("second-hand"))),
			P(Class("host-name"), Strong(g.Text(h.Name))),
			P(Class("where"), g.Text("from the Prometheus API at "), EndpointLabel(p.URL)),
			refreshNote(p.Refresh),
			hostNav(p.Base, h.Name, p.Hosts),
		),
		engineNote(p, where),
		Main(ID("main"), Class("panels"),
			DiagnosisPanel(Result[DiagnosisData]{Loading: true}),
			TrackingPanel(Result[chrony.Tracking]{Loading: true}),
			EngineSourcesPanel(Result[engine.HostReport]{Loading: true}),
			SourceStatsPanel(Result[[]chrony.SourceStats]{Loading: true}),
			ServerPanel(Result[ServerData]{Loading: true}),
			HistoryPanel(Result[HistoryData]{Loading: true}),
			EventsPanel(Result[EventsData]{Loading: true}),
		),
	)
}

// engineNote says, in the page's footer, where the values come from and what they cannot
// tell, and how to see the rest.
func engineNote(p EngineHostPageProps, where string) g.Node {
	item := func(what, why string) g.Node { return Li(Strong(g.Text(what+": ")), g.Text(why)) }
	return Details(ID("engine-note"), Class("access engine-access"),
		Summary(g.Text("Read from "+where+": what it cannot show")),
		Ul(
			item("How old", "every value is as old as the engine's last scrape of it; each panel says when that was."),
			item("A source's details", "its selection, its last NTP packet in full and its authentication come from chronyd's selectdata, ntpdata and authdata reports, which it gives only to a client that asks it; the series carry at most five numbers of the last packet (chrony_sources_peer_*)."),
			item("Reachability", "the series say how many of each source's last 8 polls were answered and whether the last one was, not which ones: the register is shown as a count."),
			item("Clients", "the list of the hosts chronyd serves comes from its clients report; no exporter exports it."),
			g.If(!p.Host.HasLeap, item("Leap status", "chrony_exporter does not export it: a host with a reference is shown as normal, one without as not synchronised.")),
			item("The RTC", "not shown for a host read from the series."),
		),
		P(Class("error-fix"), Strong(g.Text("To see all of it: ")),
			g.Text("second-hand does not reach this chronyd itself. Add it to a second-hand that can (--chrony "+p.Host.Name+"=udp://ADDRESS:323, with cmdallow for that host in chrony.conf), or run second-hand on the host.")),
	)
}

// EngineSourcesPanel lists a host's sources as its series have them: chronyc's columns, with
// the reachability as how many of the last 8 polls were answered, and the last packet's delay
// when the exporter reads ntpdata.
func EngineSourcesPanel(r Result[engine.HostReport]) g.Node {
	m := r.meta()
	if r.Data.Activity != nil {
		m.controls = activityNote(*r.Data.Activity)
	}
	return panel("sources", m, func() g.Node { return engineSourcesBody(r.Data) })
}

var engineSourcesHead = static(THead(Tr(
	columnHead("Mode", "^ server, = peer, # reference clock", false),
	columnHead("State", "* selected, + combined, - not combined, x falseticker, ~ too variable, ? unusable", false),
	columnHead("Name / address", "The name in chrony.conf and its address, as the series label them", false),
	columnHead("Stratum", "The source's distance from a reference clock", true),
	columnHead("Poll", "How often chronyd asks the source for the time", true),
	columnHead("Reach", "How many of the last 8 polls were answered, and whether the last one was (the series do not say which)", false),
	columnHead("Last", "How long ago the last sample was received, at the scrape", true),
	columnHead("Last sample", "Offset of the last sample, adjusted, ± error bound; positive means this clock is ahead of the source (chronyc's sign)", true),
	columnHead("Delay", "Round-trip delay of the last NTP packet (ntpdata), when the exporter reads chronyd's socket", true),
)))

func engineSourcesBody(r engine.HostReport) g.Node {
	if len(r.SourceList) == 0 {
		return empty("The series have no source of this host: chronyd has none, or its exporter does not export them.")
	}
	return Div(Class("table-wrap"), Table(Class("sources engine-sources"), engineSourcesHead, TBody(g.Map(r.SourceList, func(s engine.Source) g.Node {
		name := g.Group{textValue("name", s.Name, s.Name)}
		if s.Address != "" && s.Address != s.Name {
			name = append(name, Small(Class("addr"), g.Text(" "+s.Address)))
		}
		reach := strconv.Itoa(s.Answered) + " of 8"
		last := "last ✕"
		if s.LastAnswered {
			last = "last ✓"
		}
		h := Good
		switch {
		case s.Answered == 0:
			h = Bad
		case s.Answered < 8:
			h = Neutral
		}
		sample := g.Node(textValue("offset", "", "no sample yet"))
		age := g.Node(textValue("last", "", "–"))
		if s.Sampled {
			sample = g.Group{value("offset", s.OffsetSeconds, Seconds(s.OffsetSeconds, true)), g.Text(" ± "), value("error", s.ErrorSeconds, Seconds(s.ErrorSeconds, false))}
			age = value("last", s.LastSampleAgo.Seconds(), Ago(s.LastSampleAgo))
		}
		delay := g.Node(g.Text("–"))
		if s.Peer != nil {
			delay = value("peer-delay", s.Peer.DelaySeconds, Seconds(s.Peer.DelaySeconds, false))
		}
		return Tr(Class("state-"+stateClass(s.State)),
			Td(Class("sym-cell c-mode"), Data("label", "Mode"), Title(s.Mode.String()), Span(Class("sym"), Data("field", "mode"), g.Text(s.Mode.Symbol()))),
			Td(Class("sym-cell c-state"), Data("label", "State"), Title(s.State.String()), Span(Class("sym"), Data("field", "state"), g.Text(s.State.Symbol()))),
			Td(Class("name c-name"), name),
			Td(Class("num c-stratum"), Data("label", "Stratum"), textValue("stratum", strconv.Itoa(s.Stratum), strconv.Itoa(s.Stratum))),
			Td(Class("num c-poll"), Data("label", "Poll"), value("poll", math.Ldexp(1, s.PollLog2), Interval(math.Ldexp(1, s.PollLog2)))),
			Td(withHealth("c-reach", h), Data("label", "Reach"), textValue("reach-answered", strconv.Itoa(s.Answered), reach), g.Text(" · "+last)),
			Td(Class("num c-last"), Data("label", "Last"), age),
			Td(Class("num offset c-offset"), Data("label", "Last sample"), sample),
			Td(Class("num c-delay"), Data("label", "Delay"), delay),
		)
	}))))
}

// EngineHistoryNote is what the history panel says of a history read from an engine.
func engineHistoryNote(st history.Status) g.Node {
	return P(Class("range-note engine-note"), g.Text("From the Prometheus API at "), Code(g.Text(st.Engine)),
		g.Text(": each column from the least to the greatest value scraped in it, the statistics from every value scraped in the range."))
}

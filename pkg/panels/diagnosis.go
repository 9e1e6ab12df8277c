package panels

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

// DiagnosisData is what the diagnosis block shows: the host's diagnosis, and how the page
// names the host in its tab title.
type DiagnosisData struct {
	Diagnosis diagnose.Diagnosis
	// TitleName is the host as the tab title names it: its name among several, "chronyd"
	// alone.
	TitleName string
}

// HostTitle is a host page's tab title: its diagnosis state first.
func HostTitle(st diagnose.State, name string) string {
	if st == diagnose.Unknown {
		return "second-hand · " + name
	}
	return st.Symbol() + " " + st.Word() + " · " + name + " · second-hand"
}

// DiagnosisPanel is the first block of a host's page: the state in large words, then each
// finding with its evidence, since when, the fix and links to what shows it; for a healthy
// host what was checked; and what could not be checked. It carries the page's tab title and
// state (data-title, data-state), which the page's script puts on the tab and its icon.
func DiagnosisPanel(r Result[DiagnosisData]) g.Node {
	m := r.meta()
	d := r.Data.Diagnosis
	if !m.loading {
		m.attrs = g.Group{Data("state", d.State.String()), Data("title", HostTitle(d.State, r.Data.TitleName))}
	}
	return panel(DiagnosisSpec, m, func() g.Node { return diagnosisBody(d, r.Now) })
}

// diagnosisBody: the state in large words with the first finding as its headline, that
// finding's evidence, since when, fix and links under it; then the other findings; what was
// checked; what could not be.
func diagnosisBody(d diagnose.Diagnosis, now time.Time) g.Node {
	h := health(d.State.Tone())
	first, lead := d.First()
	lead = lead && first.Severity > diagnose.Info
	rest := d.Findings
	if lead {
		rest = rest[1:]
	}
	return g.Group{
		Div(withHealth("diagnosis-state", h), g.If(d.State == diagnose.Failing, Role("alert")),
			P(Class("state-word"),
				Span(Class("sym"), Aria("hidden", "true"), g.Text(h.Symbol()+" ")),
				textValue("diagnosis-state", d.State.String(), d.State.Word())),
			g.Iff(lead, func() g.Node {
				return Div(Class("lead"), ID("finding-"+first.ID), Data("finding", first.ID), Data("severity", first.Severity.String()),
					P(Class("headline"), Data("field", "headline"), g.Text(first.Text)),
					findingParts(first, now))
			}),
			g.If(!lead, P(Class("headline"), Data("field", "headline"), g.Text(d.Summary()))),
		),
		g.If(len(rest) > 0, g.Group{
			g.If(lead, H3(Class("also"), g.Text("Also"))),
			Ol(Class("findings"), g.Map(rest, func(f diagnose.Finding) g.Node { return findingItem(f, now) })),
		}),
		g.If(len(d.Checked) > 0, P(Class("checked"), Data("field", "checked"), Strong(g.Text("Checked: ")), g.Text(d.Summary()+"."))),
		g.If(len(d.Unchecked) > 0, uncheckedNote(d.Unchecked)),
	}
}

// The headline finding shows everything; each of the others is one line, its since when,
// evidence, fix and links folded under it (kept open across refreshes when opened).

// uncheckedNote lists what could not be checked, folded: its summary names them, its body
// says why and how to read them.
func uncheckedNote(us []diagnose.Unchecked) g.Node {
	whats := make([]string, len(us))
	for i, u := range us {
		whats[i] = u.What
	}
	return Details(ID("diagnosis-unchecked"), Class("unchecked"), Data("field", "unchecked"),
		Summary(Strong(g.Text("Not checked: ")), g.Text(strings.Join(whats, "; "))),
		Ul(g.Map(us, func(u diagnose.Unchecked) g.Node {
			return Li(Data("unchecked", u.What), g.Text(u.What+": "+u.Why+"."))
		})),
		g.Iff(socketOnly(us) != "", func() g.Node {
			return P(Class("error-fix"), Strong(g.Text("To check them: ")), g.Text(socketOnly(us)))
		}),
	)
}

// socketOnly is the fix of the socket-only reports not read, said once.
func socketOnly(us []diagnose.Unchecked) string {
	for _, u := range us {
		if u.SocketOnly {
			return diagnose.SocketFix("REPORT")
		}
	}
	return ""
}

func findingItem(f diagnose.Finding, now time.Time) g.Node {
	h := health(f.Severity.Tone())
	return Li(withHealth("finding", h), ID("finding-"+f.ID), Data("finding", f.ID), Data("severity", f.Severity.String()),
		Details(ID("more-"+f.ID), Class("finding-more"),
			Summary(Class("finding-text"),
				Span(Class("sym"), Aria("hidden", "true"), g.Text(orDot(h.Symbol())+" ")),
				Span(Class("visually-hidden"), g.Text(f.Severity.String()+": ")),
				g.Text(f.Text)),
			findingParts(f, now)),
	)
}

// findingParts are a finding's since when, evidence, fix and links.
func findingParts(f diagnose.Finding, now time.Time) g.Node {
	since := f.Since.Phrase(now)
	return g.Group{
		g.If(since != "", P(Class("finding-since"), Data("field", "since"), g.If(f.Since.Known(), Data("at", strconv.FormatInt(f.Since.At.UnixMilli(), 10))),
			g.If(f.Since.From != "" && !f.Since.AtLeast, Title("from "+f.Since.From)), g.Text(upperFirst(since)+"."))),
		g.If(len(f.Evidence) > 0, Dl(Class("evidence"), g.Map(f.Evidence, func(e diagnose.Evidence) g.Node {
			raw := e.Value
			if e.Number != nil {
				raw = Raw(*e.Number)
			}
			return Div(Dt(g.Text(e.Label)), Dd(textValue("evidence", raw, e.Value)))
		}))),
		g.If(f.Fix != "", P(Class("finding-fix"), Strong(g.Text("Fix: ")), g.Text(f.Fix))),
		g.If(len(f.Links) > 0, P(Class("finding-links"), g.Map(f.Links, findingLink))),
	}
}

// findingLink opens a source's detail under its row of the sources panel (the page's script
// does it; the link alone goes to the row), or shows a moment in the history's charts.
func findingLink(l diagnose.Link) g.Node {
	if l.Source != "" {
		id := DetailID("sources", l.Source)
		return A(Class("finding-link"), Href("#toggle-sources-"+id[len("detail-sources-"):]), Data("open-detail", id),
			g.Text(l.Label+": why it is or is not used"))
	}
	at := strconv.FormatInt(l.At.UnixMilli(), 10)
	return A(Class("finding-link"), Href("#panel-history"), hx.Get("panels/history?range=1h&at="+url.QueryEscape(at)), hx.Target("#panel-history"),
		hx.Swap("outerHTML"), g.Text("show "+l.Label))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

package panels

import (
	"strconv"
	"time"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// PageProps is what the page needs. Asset URLs are relative, like every URL in the page, so
// that it works at / and behind a proxy under any sub-path.
type PageProps struct {
	Endpoint  string        // the chronyd address in use
	Refresh   time.Duration // how often the panels reload
	StyleURL  string
	ScriptURL string
	HTMXURL   string
	IconURL   string
}

// htmxConfig keeps htmx within a strict Content-Security-Policy: no injected <style>, no eval,
// no inline scripts, requests only to this origin, no history snapshots.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,` +
	`"selfRequestsOnly":true,"historyEnabled":false}`

// Page is the dashboard: a header saying which chronyd it watches, then the four panels, each
// loading itself.
func Page(p PageProps) g.Node {
	refresh := Interval(p.Refresh.Seconds())
	return Doctype(HTML(Lang("en"),
		Head(
			Meta(Charset("utf-8")),
			Meta(Name("viewport"), Content("width=device-width, initial-scale=1")),
			Meta(Name("color-scheme"), Content("light dark")),
			Meta(Name("htmx-config"), Content(htmxConfig)),
			TitleEl(g.Text("second-hand · chronyd")),
			Link(Rel("icon"), Type("image/svg+xml"), Href(p.IconURL)),
			Link(Rel("stylesheet"), Href(p.StyleURL)),
			Script(Src(p.HTMXURL), Defer()),
			Script(Src(p.ScriptURL), Defer()),
		),
		Body(Data("refresh-ms", strconv.FormatInt(p.Refresh.Milliseconds(), 10)),
			Header(Class("top"),
				H1(g.Text("second-hand")),
				P(Class("where"), g.Text("chronyd at "), EndpointLabel(p.Endpoint)),
				P(Class("refresh"), Title("Each panel reloads this often while the page is visible"), g.Text("refresh "+refresh)),
			),
			Main(Class("panels"),
				TrackingPanel(Result[chrony.Tracking]{Loading: true}),
				SourcesPanel(Result[[]chrony.Source]{Loading: true}),
				SourceStatsPanel(Result[[]chrony.SourceStats]{Loading: true}),
				RTCPanel(Result[chrony.RTC]{Loading: true}),
			),
			Footer(Class("foot"),
				P(g.Text("Read-only: second-hand only asks chronyd for reports and never changes it. Values and symbols are chronyc's; hover a heading for its meaning."))),
		),
	))
}

// EndpointLabel names the chronyd address in the page header. Fragments send it again out of
// band, so that an "auto" address shows what it resolved to.
func EndpointLabel(endpoint string) g.Node {
	return Code(ID("chrony-endpoint"), g.Text(endpoint))
}

// EndpointUpdate is EndpointLabel marked for htmx's out-of-band swap, sent with a fragment.
func EndpointUpdate(endpoint string) g.Node {
	return Code(ID("chrony-endpoint"), g.Attr("hx-swap-oob", "true"), g.Text(endpoint))
}

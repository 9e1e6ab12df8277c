package panels

import (
	"strconv"
	"time"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

// Chrome is what every page shares: the way back to the root, the refresh interval and the
// assets. Every URL in a page is relative, so that it works at / and behind a proxy under any
// sub-path; Base is the relative path from the page to the root ("" at the root, "../../" on
// hosts/NAME/).
type Chrome struct {
	Base    string
	Refresh time.Duration
	Assets  AssetNames
	// State is the page's worst diagnosis as last known (Unknown, the zero value, for none),
	// for its first title and favicon; the page's script changes them as the diagnoses arrive.
	State diagnose.State
	// Notify: notifications are sent (--notify), and a host's page and the overview say in
	// their footer how the last one went (NotifyNote).
	Notify bool
}

// AssetNames are the content-hashed file names the server serves under assets/.
type AssetNames struct {
	Style, Script, HTMX, Icon string
	// StateIcons are the favicons of each diagnosis state, by its metric value.
	StateIcons [4]string
}

// icon is the favicon of the page's state: one of a few drawn in advance.
func (c Chrome) icon() string {
	if c.State != diagnose.Unknown && c.Assets.StateIcons[c.State.Metric()] != "" {
		return c.Assets.StateIcons[c.State.Metric()]
	}
	return c.Assets.Icon
}

func (c Chrome) asset(name string) string { return c.Base + "assets/" + name }

// htmxConfig keeps htmx within a strict Content-Security-Policy: no injected <style>, no eval,
// no inline scripts, requests only to this origin, no history snapshots.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,` +
	`"selfRequestsOnly":true,"historyEnabled":false}`

// document is the frame of every page: head, a header, the page's own content and the
// footer (with note, a host page's access note).
func document(c Chrome, title string, header g.Node, note g.Node, content ...g.Node) g.Node {
	return Doctype(HTML(Lang("en"),
		Head(
			Meta(Charset("utf-8")),
			Meta(Name("viewport"), Content("width=device-width, initial-scale=1")),
			Meta(Name("color-scheme"), Content("light dark")),
			Meta(Name("htmx-config"), Content(htmxConfig)),
			TitleEl(g.Text(title)),
			Link(ID("favicon"), Rel("icon"), Type("image/svg+xml"), Href(c.asset(c.icon()))),
			Link(Rel("stylesheet"), Href(c.asset(c.Assets.Style))),
			Script(Src(c.asset(c.Assets.HTMX)), Defer()),
			Script(Src(c.asset(c.Assets.Script)), Defer()),
		),
		Body(Data("refresh-ms", strconv.FormatInt(c.Refresh.Milliseconds(), 10)),
			// The favicons of the diagnosis states, for the page's script to switch between.
			g.Map([]diagnose.State{diagnose.OK, diagnose.Warning, diagnose.Failing, diagnose.Unknown}, func(st diagnose.State) g.Node {
				return g.If(c.Assets.StateIcons[st.Metric()] != "", Data("icon-"+st.String(), c.asset(c.Assets.StateIcons[st.Metric()])))
			}),
			// What the page's script tells screen readers: a panel failing or back, the
			// clock's status changing.
			Div(ID("announcer"), Class("visually-hidden"), Role("status"), Aria("live", "polite")),
			A(Class("skip"), Href("#main"), g.Text("Skip to the panels")),
			header,
			g.Group(content),
			Footer(Class("foot"),
				P(g.Text("Read-only: second-hand only asks chronyd for reports and never changes it. Values and symbols are chronyc's; point at a label for its meaning, or open a panel's legend.")),
				note,
				g.If(c.Notify, notifyLoader())),
		),
	))
}

func refreshNote(refresh time.Duration) g.Node {
	return P(Class("refresh"), Title("Each panel reloads this often while the page is visible"),
		g.Text("refresh "+Interval(refresh.Seconds())))
}

// HostPageProps is what a host's page needs.
type HostPageProps struct {
	Chrome
	Host     string   // the host's name
	Hosts    []string // every configured host, for the links to the others; empty with one host
	Endpoint string   // the chronyd address in use
	// Panels are the loading shells of the host's panels, in the page's order (the server's
	// table of them): each loads itself.
	Panels []g.Node
}

// TitleName is how the tab title names the host: by its name among several, as "chronyd"
// alone.
func (p HostPageProps) TitleName() string {
	if len(p.Hosts) > 1 {
		return p.Host
	}
	return "chronyd"
}

// HostPage is one host's dashboard: a header saying which chronyd it watches and the page's
// sign convention, then its panels, each loading itself. With several hosts it links back to
// the overview and to the other hosts.
func HostPage(p HostPageProps) g.Node {
	fleet := len(p.Hosts) > 1
	return document(p.Chrome, HostTitle(p.Chrome.State, p.TitleName()),
		Header(Class("top"),
			H1(g.Text("second-hand")),
			g.If(fleet, P(Class("host-name"), Strong(g.Text(p.Host)))),
			P(Class("where"), g.Text("chronyd at "), EndpointLabel(p.Endpoint)),
			refreshNote(p.Refresh),
			convention,
			g.If(fleet, hostNav(p.Base, p.Host, p.Hosts)),
		),
		accessLoader(),
		Main(ID("main"), Class("panels"), g.Group(p.Panels)),
	)
}

// convention is the page's one sign convention of offsets, said once: the panels' values and
// the charts follow it.
var convention = static(P(Class("convention"), Data("field", "convention"), Strong(g.Text("Offsets: ")), g.Text(diagnose.SignConvention+".")))

// hostNav links the overview and every host, the current one marked.
func hostNav(base, current string, hosts []string) g.Node {
	return Nav(Class("hosts"), Aria("label", "Hosts"),
		Ul(
			Li(A(Href(base), g.Text("all hosts"))),
			g.Map(hosts, func(h string) g.Node {
				if h == current {
					return Li(Strong(Aria("current", "page"), g.Text(h)))
				}
				return Li(A(Href(HostURL(base, h)), g.Text(h)))
			}),
		))
}

// HostURL is the relative URL of a host's page from a page whose way to the root is base.
// Names are restricted to characters that need no escaping (monitor.ValidateName).
func HostURL(base, host string) string { return base + "hosts/" + host + "/" }

// EndpointLabel names the chronyd address in the page header. Fragments send it again out of
// band, so that an "auto" address shows what it resolved to.
func EndpointLabel(endpoint string) g.Node {
	return Code(ID("chrony-endpoint"), g.Text(endpoint))
}

// EndpointUpdate is EndpointLabel marked for htmx's out-of-band swap, sent with a fragment.
func EndpointUpdate(endpoint string) g.Node {
	return Code(ID("chrony-endpoint"), g.Attr("hx-swap-oob", "true"), g.Text(endpoint))
}

// NotFoundProps is what the page for an unknown address needs.
type NotFoundProps struct {
	Chrome
	Title, Text string
	Hosts       []string // the configured hosts, listed when there are several
}

// NotFound is the page for an address second-hand does not serve, or a host it does not know:
// it says so and lists where to go instead.
func NotFound(p NotFoundProps) g.Node {
	return document(p.Chrome, p.Title+" · second-hand",
		Header(Class("top"), H1(A(Href(p.Base), g.Text("second-hand")))),
		nil,
		Main(ID("main"), Class("message"),
			H2(g.Text(p.Title)),
			P(g.Text(p.Text)),
			g.If(len(p.Hosts) > 1, g.Group{
				P(g.Text("The hosts this second-hand watches:")),
				Ul(Class("host-list"), g.Map(p.Hosts, func(h string) g.Node {
					return Li(A(Href(HostURL(p.Base, h)), g.Text(h)))
				})),
			}),
			P(A(Href(p.Base), g.Text("Back to the dashboard"))),
		),
	)
}

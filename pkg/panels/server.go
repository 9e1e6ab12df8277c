package panels

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
)

// ServerData is what chronyd says of the time it serves: its server statistics (with the read
// before, for rates) and the clients it has served.
type ServerData struct {
	Stats    chrony.ServerStats
	StatsErr error
	// Prev is the statistics read before Stats, at PrevAt; HavePrev is false until two reads.
	Prev     chrony.ServerStats
	PrevAt   time.Time
	HavePrev bool

	Clients    []chrony.ClientAccess
	ClientsErr error
}

// TopClients is how many clients the panel lists, the most active first.
const TopClients = 50

// ServerPanel shows chronyd as a server: packets per second and in all, and its most active
// clients. A chronyd that serves no one says so in one line.
func ServerPanel(r Result[ServerData]) g.Node {
	m := r.meta()
	if !diagnose.NotAnswering(m.err) {
		m.err = nil // each part has its own error
	}
	m.quiet = !r.Loading && m.err == nil && r.Data.StatsErr == nil && idle(r.Data)
	return panel(ServerSpec, m, func() g.Node { return serverBody(r) })
}

// idle: chronyd serves no one (no NTP request answered, no NTS-KE, no client in its log).
func idle(d ServerData) bool {
	return d.Stats.NTPPackets == 0 && d.Stats.NTSKEAccepted == 0 && len(d.Clients) == 0
}

var (
	srvNTP       = newMetric("srv-ntp", "NTP requests", "NTP requests chronyd answered, per second over the last refresh, and in all since it started.")
	srvNTPDrop   = newMetric("srv-ntp-drop", "NTP dropped", "NTP requests dropped by rate limiting (ratelimit), per second and in all.")
	srvCmd       = newMetric("srv-cmd", "Command requests", "Requests on the command port and socket (chronyc, second-hand), per second and in all.")
	srvCmdDrop   = newMetric("srv-cmd-drop", "Commands dropped", "Command requests dropped by rate limiting, in all.")
	srvNKE       = newMetric("srv-nke", "NTS-KE", "NTS key exchange connections accepted, and dropped, in all (chrony 4.0 and later).")
	srvAuth      = newMetric("srv-auth", "Authenticated", "NTP requests that were authenticated (NTS or a symmetric key), in all.")
	srvInterl    = newMetric("srv-interleaved", "Interleaved", "NTP requests in interleaved mode, in all, and the timestamps held for them (chrony 4.1 and later).")
	srvStamps    = newMetric("srv-stamps", "Timestamps", "Where the receive timestamps of NTP requests were taken: the kernel's or the network card's share (chrony 4.5 and later).")
	serverLegend = legend("server",
		[2]string{"Rates", "The difference between the last two reads of chronyd's counters, divided by the time between them."},
		[2]string{"Clients", "chronyd's clients log: each host that sent it NTP requests, most requests first. Int is the average interval between its requests; chronyd keeps the log in limited memory (clientloglimit)."},
	)
	serverIdle = static(P(Class("quiet-line"), Data("field", "server-idle"),
		g.Text("serves no NTP clients: it has answered no NTP request since it started. "),
		tipped("tip-allow", g.Text("To serve time…"), "Add an allow line to chrony.conf (allow 192.168.1.0/24) for the clients that may ask.")))
)

func serverBody(r Result[ServerData]) g.Node {
	d := r.Data
	if d.StatsErr != nil {
		return sectionError(d.StatsErr, r.Endpoint)
	}
	s := d.Stats
	if idle(d) {
		return serverIdle
	}
	var secs float64
	if d.HavePrev {
		secs = r.At.Sub(d.PrevAt).Seconds()
	}
	rate := func(cur, prev uint64) string {
		if secs <= 0 || cur < prev {
			return "–/s"
		}
		return strconv.FormatFloat(float64(cur-prev)/secs, 'f', 1, 64) + "/s"
	}
	n := func(field string, v uint64) g.Node { s := strconv.FormatUint(v, 10); return textValue(field, s, s) }
	// A rate, with the count since chronyd started: "1.0/s (441 in all)".
	rateAll := func(field string, cur, prev uint64) g.Node {
		return g.Group{g.Text(rate(cur, prev) + " ("), n(field, cur), g.Text(" in all)")}
	}
	share := func(part, of uint64) string {
		if of == 0 {
			return "–"
		}
		return strconv.FormatFloat(100*float64(part)/float64(of), 'f', 1, 64) + " %"
	}
	rx := s.DaemonRX + s.KernelRX + s.HardwareRX
	return g.Group{
		Dl(Class("metrics"),
			srvNTP.show(Neutral, rateAll("server-ntp", s.NTPPackets, d.Prev.NTPPackets)),
			srvNTPDrop.show(dropHealth(s.NTPDropped), rateAll("server-ntp-drops", s.NTPDropped, d.Prev.NTPDropped)),
			srvCmd.show(Neutral, rateAll("server-cmd", s.CommandPackets, d.Prev.CommandPackets)),
			srvCmdDrop.show(dropHealth(s.CommandDropped), n("server-cmd-drops", s.CommandDropped)),
			g.If(s.Version >= 2, g.Group{
				srvNKE.show(Neutral, n("server-nke", s.NTSKEAccepted), g.Text(" · dropped "), n("server-nke-drops", s.NTSKEDropped)),
				srvAuth.show(Neutral, n("server-auth", s.AuthenticatedNTP)),
			}),
			g.If(s.Version >= 3, srvInterl.show(Neutral, n("server-interleaved", s.InterleavedNTP), g.Text(" requests ("),
				n("server-timestamps", s.TimestampsHeld), g.Text(" timestamps held)"))),
			g.If(s.Version >= 4, srvStamps.show(Neutral, g.Text("kernel "+share(s.KernelRX, rx)+" · card "+share(s.HardwareRX, rx)))),
		),
		clientsTable(d, r.Endpoint, r.Now),
		serverLegend,
	}
}

func dropHealth(n uint64) Health { return health(diagnose.DropTone(n)) }

// clientsHead is the clients table's head, with the units of its interval and age columns.
func clientsHead(interval diagnose.Unit) g.Node {
	return THead(Tr(clientsHeadStart,
		columnHead("cl-int", "Int ("+interval.Name+")", "The average interval between its requests", true),
		columnHead("cl-last", "Last", "How long ago its last NTP request came", true)))
}

var clientsHeadStart = static(g.Group{
	columnHead("cl-client", "Client", "The host's address", false),
	columnHead("cl-ntp", "NTP", "NTP requests answered", true),
	columnHead("cl-dropped", "Dropped", "NTP requests dropped by rate limiting", true),
})

func clientsTable(d ServerData, endpoint string, now time.Time) g.Node {
	if d.ClientsErr != nil {
		return Div(Class("clients"), H3(g.Text("Clients")), sectionError(d.ClientsErr, endpoint))
	}
	clients := slices.Clone(d.Clients)
	slices.SortStableFunc(clients, func(a, b chrony.ClientAccess) int { return cmp.Compare(b.NTPHits, a.NTPHits) })
	shown := clients[:min(len(clients), TopClients)]
	caption := strconv.Itoa(len(shown)) + " most active of " + strconv.Itoa(len(clients)) + " clients"
	if len(clients) <= TopClients {
		caption = plural(len(clients), "client", "clients")
	}
	var intervals []float64
	for _, c := range shown {
		if c.HasNTPInterval {
			intervals = append(intervals, math.Ldexp(1, c.NTPIntervalLog2))
		}
	}
	iu := diagnose.ColumnUnit(intervals...)
	return Div(Class("clients"), H3(g.Text("Clients")),
		g.If(len(clients) == 0, P(Class("empty"), g.Text("No client in chronyd's log."))),
		g.If(len(clients) > 0, Div(Class("table-wrap"), Table(Class("clients-table"), Caption(g.Text(caption)), clientsHead(iu),
			TBody(g.Map(shown, func(c chrony.ClientAccess) g.Node {
				last := "never"
				lastRaw := "4294967295"
				if c.LastNTPAgo != chrony.NeverSampled {
					last, lastRaw = ago(c.LastNTPAgo), strconv.FormatInt(int64(c.LastNTPAgo/time.Second), 10)
				}
				interval, intervalRaw := "–", "-"
				if c.HasNTPInterval {
					interval, intervalRaw = iu.Number(math.Ldexp(1, c.NTPIntervalLog2), false), strconv.Itoa(c.NTPIntervalLog2)
				}
				a := addrString(c.Address)
				u := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
				return Tr(Td(textValue("client", a, a)), Td(Class("num"), textValue("client-ntp", u(c.NTPHits), u(c.NTPHits))),
					Td(Class("num"), textValue("client-drops", u(c.NTPDrops), u(c.NTPDrops))),
					Td(Class("num"), textValue("client-interval", intervalRaw, interval)),
					Td(Class("num"), textValue("client-last", lastRaw, last)))
			}))))),
	)
}

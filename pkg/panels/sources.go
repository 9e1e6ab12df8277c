package panels

import (
	"math/bits"
	"strconv"
	"sync"
	"time"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
)

// SourcesPanel lists the time sources chronyd knows, as `chronyc sources` does, with each
// symbol explained.
func SourcesPanel(r Result[[]chrony.Source]) g.Node {
	m := r.meta()
	if r.Activity != nil {
		m.controls = activityNote(*r.Activity)
	}
	return panel(SourcesSpec, m, func() g.Node { return sourcesBody(r.Data, r.History, r.At) })
}

// activityNote is chronyd's activity report in the sources panel's head: how many sources
// it polls, has set offline, is bursting, or has not resolved.
func activityNote(a chrony.Activity) g.Node {
	part := func(field string, n int, word string) g.Node {
		return g.Group{textValue(field, strconv.Itoa(n), strconv.Itoa(n)), g.Text(" " + word)}
	}
	return P(Class("activity"), Title("chronyd's activity report: sources it polls (online), has set offline, is sending a burst to, or whose names are not resolved yet"),
		part("activity-online", a.Online, "online"), g.Text(" · "), part("activity-offline", a.Offline, "offline"),
		g.If(a.BurstOnline+a.BurstOffline > 0, g.Group{g.Text(" · "), part("activity-burst-online", a.BurstOnline, "burst online"),
			g.Text(" · "), part("activity-burst-offline", a.BurstOffline, "burst offline")}),
		g.If(a.Unresolved > 0, g.Group{g.Text(" · "), part("activity-unresolved", a.Unresolved, "unresolved")}),
	)
}

// sourcesHead is the table's head; the last column's unit is that of its values, one for all.
// It is rendered once per unit.
func sourcesHead(u diagnose.Unit) g.Node {
	if h, ok := sourcesHeads.Load(u.Name); ok {
		return h.(g.Node)
	}
	h := static(THead(Tr(
		columnHead("src-mode", "Mode", "^ server, = peer, # reference clock", false),
		columnHead("src-state", "State", "* selected, + combined, - not combined, x falseticker, ~ too variable, ? unusable", false),
		columnHead("src-name", "Name / address", "The name in chrony.conf and the address it resolved to; opens the source's detail", false),
		columnHead("src-stratum", "Stratum", "The source's distance from a reference clock", true),
		columnHead("src-poll", "Poll", "How often chronyd asks the source for the time", true),
		columnHead("src-reach", "Reach", "The last 8 polls, newest on the right: filled when answered; chronyc prints them as an octal number", false),
		columnHead("src-last", "Last", "How long ago the last sample was received", true),
		columnHead("src-offset", "Last sample ("+u.Name+")", "Offset of the last sample: adjusted [as measured] ± error bound, in "+u.Name+" (+ this clock ahead of the source)", true),
	)))
	sourcesHeads.Store(u.Name, h)
	return h
}

var sourcesHeads sync.Map // unit name -> g.Node

var sourcesLegend = legend("sources",
	[2]string{"Mode ^ = #", "^ a server chronyd polls, = a symmetric peer, # a local reference clock (GPS, PPS)."},
	[2]string{"State * + - x ~ ?", "* the source the clock is synchronised to; + combined with it; - acceptable but not combined; x a falseticker, in disagreement with the others; ~ too variable; ? unusable: unreachable, noselect, or not enough samples yet."},
	[2]string{"Poll", "The polling interval, 2 to the power chronyd keeps (chronyc's Poll column): 6 is 64 s, -2 is 250 ms."},
	[2]string{"Reach", "Whether each of the last 8 polls was answered, newest on the right, and the same 8 bits as chronyc's octal number: 377 is all 8, 0 is none."},
	[2]string{"Last sample", "The offset of the newest sample, adjusted for frequency changes since; in brackets, as measured; after ±, the error bound of the measurement. + means this clock is ahead of the source. One unit for the column, in its head."},
)

func sourcesBody(sources []chrony.Source, h diagnose.History, at time.Time) g.Node {
	if len(sources) == 0 {
		return empty("chronyd has no time sources. Add server, pool, peer or refclock lines to chrony.conf.")
	}
	var vals []float64
	for _, s := range sources {
		if s.Sampled() {
			vals = append(vals, s.AdjustedOffsetSeconds, s.MeasuredOffsetSeconds, s.ErrorSeconds)
		}
	}
	u := diagnose.ColumnUnit(vals...)
	return g.Group{
		Div(Class("table-wrap"), Table(Class("sources"), Data("roving", "button.source-toggle"), Aria("describedby", "sources-keys"),
			sourcesHead(u), TBody(g.Map(indices(len(sources)), func(i int) g.Node {
				s := sources[i]
				key := sourceKey(s)
				return g.Group{sourceRow(s, h, at, u, firstToggle(sources, i)), detailRow("sources", key, 8)}
			})))),
		sourcesKeys,
		sourcesLegend,
	}
}

// The parts of a source's row that depend only on its mode or state are rendered once per
// mode and state, and the cells' frames once: the sources panel is rendered at every refresh
// of every open page.
var (
	modeCells  sync.Map // chrony.SourceMode -> g.Node
	stateParts sync.Map // chrony.SourceState -> [2]g.Node: the row's frame before its cells, the state cell

	stratumCell = framed(func(hole g.Node) g.Node { return Td(Class("num c-stratum"), Data("label", "Stratum"), hole) })
	reachCell   = framed(func(hole g.Node) g.Node { return Td(Class("c-reach"), Data("label", "Reach"), hole) })
	nameCell    = framed(func(hole g.Node) g.Node { return Td(Class("name c-name"), hole) })
	addrFrame   = framed(func(hole g.Node) g.Node { return Small(Class("addr"), hole) })
	unresolved  = static(Small(Class("addr"), Title("chronyd could not resolve this name (yet); it keeps trying"), g.Text("name not resolved")))
	unreachable = framed(func(hole g.Node) g.Node { return Small(Class("unreach"), hole) })
	pollCells   sync.Map // int -> frame, for the polling intervals chronyd uses
)

// pollCell is the frame of the poll column's cell, whose title is the interval's log2.
func pollCell(log2 int) frame {
	if f, ok := pollCells.Load(log2); ok {
		return f.(frame)
	}
	f := framed(func(hole g.Node) g.Node {
		return Td(Class("num c-poll"), Data("label", "Poll"), Title("log2 "+strconv.Itoa(log2)), hole)
	})
	if log2 >= -32 && log2 <= 32 { // chronyd's range, and a bound on what is kept
		pollCells.Store(log2, f)
	}
	return f
}

func modeCell(m chrony.SourceMode) g.Node {
	if n, ok := modeCells.Load(m); ok {
		return n.(g.Node)
	}
	n := static(Td(Class("sym-cell c-mode"), Data("label", "Mode"), Title(m.String()),
		Span(Class("sym"), Data("field", "mode"), g.Text(m.Symbol())), Span(Class("word"), g.Text(" "+m.String()))))
	if m < 8 { // chronyd's modes; an unknown one from a damaged reply is not kept
		modeCells.Store(m, n)
	}
	return n
}

// rowStart is the opening of a source's row and its state cell.
func rowStart(s chrony.Source) [2]g.Node {
	if p, ok := stateParts.Load(s.State); ok {
		return p.([2]g.Node)
	}
	row := framed(func(hole g.Node) g.Node { return Tr(Class("state-"+stateClass(s.State)), hole) })
	p := [2]g.Node{row.before, static(Td(withHealth("sym-cell c-state", stateHealth(s)), Data("label", "State"), Title(s.State.String()),
		Span(Class("sym"), Data("field", "state"), g.Text(s.State.Symbol())), Span(Class("word"), g.Text(" "+s.State.String()))))}
	if s.State < 8 { // chronyd's states; an unknown one from a damaged reply is not kept
		stateParts.Store(s.State, p)
	}
	return p
}

var rowEnd = g.Raw("</tr>")

// offsetFrames are the frames of the last sample's cell, by unit: its label on a phone's card
// names the unit.
var offsetFrames sync.Map // unit name -> frame

func offsetFrame(u diagnose.Unit) frame {
	if f, ok := offsetFrames.Load(u.Name); ok {
		return f.(frame)
	}
	f := framed(func(hole g.Node) g.Node {
		return Td(Class("num offset c-offset"), Data("label", "Last sample ("+u.Name+")"), hole)
	})
	offsetFrames.Store(u.Name, f)
	return f
}

// firstToggle: source i's is the first toggle of the table (the one Tab reaches).
func firstToggle(sources []chrony.Source, i int) bool {
	for k := range i {
		if hasDetail(sourceKey(sources[k])) {
			return false
		}
	}
	return hasDetail(sourceKey(sources[i]))
}

var sourcesKeys = static(P(ID("sources-keys"), Class("visually-hidden"),
	g.Text("A source's name opens its detail under its row; the arrow keys go from one source's name to the next.")))

func sourceRow(s chrony.Source, h diagnose.History, at time.Time, u diagnose.Unit, first bool) g.Node {
	name := s.Name
	addr := ""
	if s.Address.IsValid() && s.Address.String() != name {
		addr = s.Address.String()
	}
	start := rowStart(s)
	return g.Group{start[0], modeCell(s.Mode), start[1],
		nameCell.around(detailToggle("sources", sourceKey(s), textValue("name", s.Name, name), first),
			g.Iff(addr != "", func() g.Node { return addrFrame.around(textValue("address", addr, addr)) }),
			g.If(s.Unresolved, unresolved)),
		stratumCell.around(sourceStratum(s)),
		pollCell(s.PollLog2).around(textValue("poll", strconv.Itoa(s.PollLog2), Interval(s.Poll().Seconds()))),
		reachCell.around(reach(s.Reach)),
		lastCell.around(lastSample(s.LastSampleAgo)),
		offsetFrame(u).around(offsetCell(s, h, at, u)),
		rowEnd,
	}
}

// offsetCell is a source's last sample, "no sample yet" when chronyd has none (where chronyc
// prints zeros), and for an unreachable source since when, as far as chronyd's report and
// the history say.
func offsetCell(s chrony.Source, h diagnose.History, at time.Time, u diagnose.Unit) g.Node {
	if !s.Sampled() {
		if s.Reach == 0 {
			return unreachable.around(textValue("no-sample", "no sample yet", diagnose.UnreachableBrief(s, h, at)))
		}
		return noSample
	}
	return g.Group{
		value("adjusted-offset", s.AdjustedOffsetSeconds, u.Number(s.AdjustedOffsetSeconds, true)),
		g.Text(" ["), value("measured-offset", s.MeasuredOffsetSeconds, u.Number(s.MeasuredOffsetSeconds, true)), g.Text("]"),
		g.Text(" ± "), value("error", s.ErrorSeconds, u.Number(s.ErrorSeconds, false)),
		g.Iff(s.Reach == 0, func() g.Node {
			return g.Group{g.Text(" "), unreachable.around(g.Text(diagnose.UnreachableBrief(s, h, at)))}
		}),
	}
}

var noSample = static(Span(Class("empty-value"), Data("field", "no-sample"), g.Text("no sample yet")))

// sourceStratum is the source's stratum, unknown while it has given none (chronyd reports 0).
func sourceStratum(s chrony.Source) g.Node {
	if !s.StratumKnown() {
		return unknownStratum
	}
	return textValue("stratum", strconv.Itoa(s.Stratum), strconv.Itoa(s.Stratum))
}

var unknownStratum = static(Span(Class("empty-value"), textValue("stratum", "", "unknown")))

// sourceKey is the source in its detail's URL; empty for an unresolved source.
func sourceKey(s chrony.Source) string {
	if s.Unresolved {
		return ""
	}
	if s.Address.IsValid() {
		return s.Address.String()
	}
	return s.Name
}

// lastSample is how long ago: an age is read as one, "12 s ago", "3 min ago", not in a
// column's unit (a 12 s age is not "0 min").
func lastSample(d time.Duration) g.Node {
	if d == chrony.NeverSampled {
		return Span(Class("empty-value"), textValue("last-sample", "never", "never"))
	}
	return value("last-sample", d.Seconds(), ago(d))
}

var lastCell = framed(func(hole g.Node) g.Node { return Td(Class("num c-last"), Data("label", "Last"), hole) })

// reachCells holds the drawing of each of the 256 values of the register, made once.
var reachCells = func() (cells [256]g.Node) {
	for r := range cells {
		cells[r] = static(drawReach(uint8(r)))
	}
	return cells
}()

// reach draws the reachability register as 8 cells, oldest poll on the left, newest on the
// right, with chronyc's octal number beside them.
func reach(r uint8) g.Node { return reachCells[r] }

func drawReach(r uint8) g.Node {
	octal := strconv.FormatUint(uint64(r), 8)
	h := health(diagnose.ReachTone(r))
	cells := make([]g.Node, 8)
	for i := range 8 {
		on := r&(1<<(7-i)) != 0
		cls := "bit off"
		if on {
			cls = "bit on"
		}
		cells[i] = Span(Class(cls))
	}
	label := "reach " + octal + ": " + strconv.Itoa(bits.OnesCount8(r)) + " of the last 8 polls answered"
	return Span(withHealth("reach", h), Title(label),
		Span(Class("bits"), Role("img"), Aria("label", label), g.Group(cells)),
		g.Text(" "), textValue("reach", octal, octal))
}

func stateHealth(s chrony.Source) Health { return health(diagnose.SourceTone(s.State)) }

func stateClass(s chrony.SourceState) string {
	switch s {
	case chrony.StateSelected:
		return "selected"
	case chrony.StateSelectable:
		return "combined"
	case chrony.StateUnselected:
		return "unselected"
	case chrony.StateFalseticker:
		return "falseticker"
	case chrony.StateJittery:
		return "jittery"
	}
	return "unusable"
}

package panels

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/store"
)

// HistoryData is what the history panel shows: a host's record over a range, drawn, and the
// state of the store.
type HistoryData struct {
	View   history.View
	Status history.Status
	Range  history.Range
	Err    error // the record could not be read
}

// HistoryPanel draws a host's history over one of the ranges, switched without a page load:
// the system time offset in its error band, frequency, skew, RMS offset, root delay and
// dispersion, each source's offsets and reachability, with ntpviz's statistics under each.
// Everything is drawn here as SVG; the page's script only shows a point's value on hover.
func HistoryPanel(r Result[HistoryData]) g.Node {
	m := r.meta()
	rng := r.Data.Range
	if rng.Name == "" {
		rng = history.DefaultRange
	}
	m.query = "range=" + rng.Name
	m.controls = rangeSwitch(rng, r.Data.View.At, r.Data.Status.Engine != "")
	return panel("history", m, func() g.Node { return historyBody(r.Data) })
}

// rangeSwitch is the range buttons, each reloading the panel with its range (the same for
// the store, whose summaries reach years, and an engine), and the CSV of the range shown,
// except for history read from an engine (it exports its own).
func rangeSwitch(current history.Range, at time.Time, engine bool) g.Node {
	return g.Group{
		Div(Class("ranges"), Role("group"), Aria("label", "Range"),
			g.Map(history.Ranges, func(r history.Range) g.Node {
				return Button(ID("range-"+r.Name), Type("button"), Class("range"), Aria("pressed", strconv.FormatBool(r.Name == current.Name && at.IsZero())),
					hx.Get("panels/history?range="+r.Name), hx.Target("closest section"), hx.Swap("outerHTML"),
					hx.Sync("closest section:drop"), g.Text(r.Name))
			})),
		g.If(!engine, A(ID("csv-history"), Class("csv"), Href("history.csv?range="+current.Name), g.Attr("download", ""), Title("The record of this range, as CSV"), g.Text("CSV"))),
	}
}

func historyBody(d HistoryData) g.Node {
	st := d.Status
	var notices []g.Node
	if st.Off {
		return empty("History is off: second-hand was started with --sample 0. Start it with --sample 16s (the default) to record.")
	}
	if st.Engine != "" {
		notices = append(notices, engineHistoryNote(st))
	}
	if st.Notice != "" {
		notices = append(notices, P(Class("notice health-warn"), Role("status"), g.Text(st.Notice)))
	}
	if st.Damaged != nil {
		// Said once, here: the record's reads and the recorder's writes fail with the same
		// words until the restart.
		return g.Group(append(notices, damagedStore(st)))
	}
	if st.Err != nil {
		text := "History cannot be recorded: " + st.Err.Error()
		if st.Dropped > 0 {
			text += " " + strconv.Itoa(st.Dropped) + " records read meanwhile could not be kept."
		}
		notices = append(notices, Div(Class("panel-error health-bad"), Role("alert"),
			P(Class("error-title"), g.Text(text)),
			P(Class("error-fix"), Strong(g.Text("Meanwhile: ")), g.Text("the live panels carry on; what was recorded before is kept."))))
	}
	if errors.Is(d.Err, history.ErrBusy) {
		return g.Group(append(notices, busy()))
	}
	if d.Err != nil {
		notices = append(notices, Div(Class("panel-error health-bad"), Role("alert"), P(Class("error-title"), g.Text("The history cannot be read: "+d.Err.Error()))))
		return g.Group(notices)
	}
	v := d.View
	if v.Points == 0 && st.Engine != "" {
		return g.Group(append(notices, empty("The engine has no series of this host's clock in the last "+d.Range.Name+".")))
	}
	if v.Points == 0 {
		return g.Group(append(notices, damageNote(v.Damaged), empty("Nothing recorded in the last "+d.Range.Name+" yet: second-hand records every sample from now on, "+
			"and `second-hand import` reads chronyd's own statistics logs for the time before.")))
	}
	return g.Group{
		g.Group(notices),
		damageNote(v.Damaged),
		P(Class("range-note"), g.Text(utc(v.From)+" to "+utc(v.To)+", "+Interval(v.Range.D.Seconds()/history.Columns)+" per column"),
			g.If(!v.At.IsZero(), g.Group{g.Text(", marked at "), Time(DateTime(v.At.UTC().Format(time.RFC3339)), g.Text(utc(v.At)))})),
		g.Map(v.Charts, func(c history.Chart) g.Node { return chart(v, c) }),
		servingNote(st),
	}
}

// servingNote says why a host's serving history is not recorded when chronyd refuses its
// server statistics (a socket-only report), as the other socket-only parts do.
func servingNote(st history.Status) g.Node {
	if st.ServerErr == nil || !diagnose.IsSocketOnly(st.ServerErr) {
		return nil
	}
	x := diagnose.Explain(st.ServerErr, st.Endpoint)
	return Div(Class("access-note"), Data("access", "socket-only"), Data("field", "serving-history"),
		P(g.Text("Serving history (NTP requests, drops, NTS-KE, clients over time) is not recorded: "+x.Title+".")),
		P(Class("error-fix"), Strong(g.Text("To record it: ")), g.Text(x.Fix)))
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// The drawing's coordinates: one unit per column across, chartH units down, stretched to the
// page's width by CSS.
const chartH = 1000

// chart draws one chart with its axis labels, a readout for the page's script, and its
// statistics table.
func chart(v history.View, c history.Chart) g.Node {
	if len(c.Series) == 0 && len(c.Strips) == 0 {
		return nil
	}
	if c.ID == "reach" {
		return reachChart(v, c)
	}
	y := func(val float64) int {
		if c.Max == c.Min {
			return chartH / 2
		}
		p := (c.Max - val) / (c.Max - c.Min) * chartH
		return int(math.Round(math.Min(math.Max(p, 0), chartH)))
	}
	var shapes []g.Node
	for _, gap := range v.Gaps {
		x0, x1 := column(v, gap.Start), column(v, gap.End)+1
		shapes = append(shapes, g.El("rect", Class("gap"), g.Attr("x", strconv.Itoa(x0)), g.Attr("y", "0"),
			g.Attr("width", strconv.Itoa(max(x1-x0, 1))), g.Attr("height", strconv.Itoa(chartH)),
			g.El("title", g.Text("chronyd not answering: "+gap.Error))))
	}
	shapes = append(shapes, damagedStretches(v)...)
	if c.Band != nil {
		shapes = append(shapes, g.El("path", Class("band"), g.Attr("d", bandPath(c.Band, y))))
	}
	if c.Min < 0 && c.Max > 0 {
		shapes = append(shapes, g.El("path", Class("zero"), g.Attr("d", "M0 "+strconv.Itoa(y(0))+"H"+strconv.Itoa(history.Columns))))
	}
	for i, s := range c.Series {
		if s.Cols == nil {
			continue
		}
		if s.Errors {
			shapes = append(shapes, g.El("path", Class("errbars s"+strconv.Itoa(i%8)), g.Attr("d", errorPath(s.Cols, y))))
		}
		shapes = append(shapes, g.El("path", Class("line s"+strconv.Itoa(i%8)), Data("name", s.Name), g.Attr("d", linePath(s.Cols, y))))
	}
	if !v.At.IsZero() {
		x := strconv.Itoa(column(v, v.At))
		shapes = append(shapes, g.El("path", Class("marker"), g.Attr("d", "M"+x+" 0V"+strconv.Itoa(chartH))))
	}
	label := c.Title + ", " + utc(v.From) + " to " + utc(v.To)
	return Figure(Class("chart chart-"+c.ID), Data("chart", c.ID), Data("unit", c.Unit),
		Data("from", strconv.FormatInt(v.From.UnixMilli(), 10)), Data("to", strconv.FormatInt(v.To.UnixMilli(), 10)),
		Data("min", Raw(c.Min)), Data("max", Raw(c.Max)), Data("cols", strconv.Itoa(history.Columns)), Data("h", strconv.Itoa(chartH)),
		FigCaption(Strong(g.Text(c.Title)), Small(g.Text(" "+c.Help))),
		Div(Class("plot"),
			Div(Class("y-labels"), Aria("hidden", "true"),
				Span(g.Text(axisValue(c.Max, c))), Span(g.Text(axisValue(c.Min, c)))),
			g.El("svg", Class("chart-svg"), g.Attr("viewBox", "0 0 "+strconv.Itoa(history.Columns)+" "+strconv.Itoa(chartH)),
				g.Attr("preserveAspectRatio", "none"), Role("img"), Aria("label", label), TabIndex("0"),
				g.El("title", g.Text(label)), g.Group(shapes),
				g.El("path", Class("cursor"), g.Attr("d", "M0 0V"+strconv.Itoa(chartH)))),
		),
		Div(Class("x-labels"), Aria("hidden", "true"), Span(g.Text(utc(v.From))), Span(g.Text(utc(v.To)))),
		g.El("output", Class("readout"), Aria("live", "polite"), g.Text("Point at the chart, or focus it and use the arrow keys, for a column's values.")),
		legendOf(c),
		statsTable(c),
	)
}

// column is the chart column of t.
func column(v history.View, t time.Time) int {
	span := v.To.Sub(v.From)
	if span <= 0 {
		return 0
	}
	i := int(t.Sub(v.From) * history.Columns / span)
	return min(max(i, 0), history.Columns-1)
}

// linePath draws a series' columns as one zigzag from each column's greatest value to its
// least, joined to the next column, broken where a column is empty or a gap falls in it.
func linePath(cols []history.Col, y func(float64) int) string {
	var p pathWriter
	open := false
	for i, c := range cols {
		if !c.Has || c.Broken {
			open = false
			if !c.Has {
				continue
			}
		}
		if open {
			p.lineTo(i, y(c.Max))
		} else {
			p.moveTo(i, y(c.Max))
		}
		if lo := y(c.Min); lo != y(c.Max) {
			p.vertTo(lo)
		}
		open = !c.Broken
	}
	return p.String()
}

// errorPath draws each column's error bar: from its lowest bound to its highest.
func errorPath(cols []history.Col, y func(float64) int) string {
	var p pathWriter
	for i, c := range cols {
		if c.Has {
			p.moveTo(i, y(c.Hi))
			p.vertTo(y(c.Lo))
		}
	}
	return p.String()
}

// bandPath draws ±the maximum clock error around zero, as one shape per run of columns.
func bandPath(cols []history.Col, y func(float64) int) string {
	var p pathWriter
	for i := 0; i < len(cols); {
		if !cols[i].Has {
			i++
			continue
		}
		j := i
		for j < len(cols) && cols[j].Has && (j == i || !cols[j].Broken) {
			j++
		}
		p.moveTo(i, y(cols[i].Max))
		for k := i; k < j; k++ {
			p.lineTo(k+1, y(cols[k].Max))
		}
		for k := j - 1; k >= i; k-- {
			p.lineTo(k+1, y(-cols[k].Max))
		}
		p.lineTo(i, y(-cols[i].Max))
		p.close()
		i = j
	}
	return p.String()
}

// pathWriter writes an SVG path with its first point absolute and every other relative to the
// one before: most steps of a chart are one column across and a few units up or down, so a
// month's or a year's charts are a third smaller than with absolute points. The page's script
// (columnsOf) reads both.
type pathWriter struct {
	b            strings.Builder
	x, y, x0, y0 int
	started      bool
}

func (p *pathWriter) point(abs, rel byte, x, y int) {
	if !p.started {
		p.b.WriteByte(abs)
		p.b.WriteString(strconv.Itoa(x) + " " + strconv.Itoa(y))
		p.started = true
	} else {
		p.b.WriteByte(rel)
		p.b.WriteString(strconv.Itoa(x - p.x))
		if y-p.y >= 0 {
			p.b.WriteByte(' ')
		}
		p.b.WriteString(strconv.Itoa(y - p.y))
	}
	p.x, p.y = x, y
}

// moveTo starts a subpath at (x, y).
func (p *pathWriter) moveTo(x, y int) {
	p.point('M', 'm', x, y)
	p.x0, p.y0 = x, y
}

// lineTo draws to (x, y).
func (p *pathWriter) lineTo(x, y int) { p.point('L', 'l', x, y) }

// vertTo draws straight up or down to y.
func (p *pathWriter) vertTo(y int) {
	p.b.WriteString("v" + strconv.Itoa(y-p.y))
	p.y = y
}

// close closes the subpath: the point is its start again.
func (p *pathWriter) close() {
	p.b.WriteByte('z')
	p.x, p.y = p.x0, p.y0
}

func (p *pathWriter) String() string { return p.b.String() }

// reachChart draws a strip per source: each column full (answered all of its last 8 polls),
// half (some) or empty (none).
func reachChart(v history.View, c history.Chart) g.Node {
	return Figure(Class("chart chart-reach"), Data("chart", c.ID),
		FigCaption(Strong(g.Text(c.Title)), Small(g.Text(" "+c.Help))),
		Dl(Class("strips"), g.Map(c.Strips, func(s history.Strip) g.Node {
			var paths [3]strings.Builder
			for i := 0; i < len(s.Cells); {
				if !s.Cells[i].Has {
					i++
					continue
				}
				j := i
				for j < len(s.Cells) && s.Cells[j].Has && s.Cells[j].Level == s.Cells[i].Level {
					j++
				}
				paths[s.Cells[i].Level].WriteString("M" + strconv.Itoa(i) + " 0h" + strconv.Itoa(j-i) + "v10h-" + strconv.Itoa(j-i) + "z")
				i = j
			}
			return Div(Dt(g.Text(s.Name)), Dd(
				g.El("svg", Class("strip"), g.Attr("viewBox", "0 0 "+strconv.Itoa(history.Columns)+" 10"), g.Attr("preserveAspectRatio", "none"),
					Role("img"), Aria("label", s.Name+": reachability from "+utc(v.From)+" to "+utc(v.To)),
					g.El("path", Class("reach-none"), g.Attr("d", paths[0].String())),
					g.El("path", Class("reach-some"), g.Attr("d", paths[1].String())),
					g.El("path", Class("reach-all"), g.Attr("d", paths[2].String())))))
		})),
		P(Class("strip-legend"), Span(Class("key reach-all"), Aria("hidden", "true")), g.Text(" all of the last 8 polls answered "),
			Span(Class("key reach-some"), Aria("hidden", "true")), g.Text(" some "),
			Span(Class("key reach-none"), Aria("hidden", "true")), g.Text(" none")),
	)
}

// legendOf names a chart's series by their colour, when it has several.
func legendOf(c history.Chart) g.Node {
	var named []g.Node
	for i, s := range c.Series {
		if s.Cols == nil {
			continue
		}
		named = append(named, Li(Span(Class("key s"+strconv.Itoa(i%8)), Aria("hidden", "true")), g.Text(" "+s.Name)))
	}
	if len(named) < 2 && c.Band == nil {
		return nil
	}
	if c.Band != nil {
		named = append(named, Li(Span(Class("key band"), Aria("hidden", "true")), g.Text(" ± max error")))
	}
	return Ul(Class("chart-legend"), g.Group(named))
}

// statsTable is ntpviz's table for each series: extremes, percentiles, mean, deviation.
func statsTable(c history.Chart) g.Node {
	format := func(v float64) string { return axisValue(v, c) }
	caption := c.Title + " over the range"
	for _, s := range c.Series {
		if s.Stats.Approx {
			caption += approxNote
			break
		}
	}
	return Div(Class("table-wrap"), TabIndex("0"), Aria("label", c.Title+" statistics"),
		Table(Class("stats"),
			Caption(g.Text(caption)),
			statsHead,
			TBody(g.Map(c.Series, func(s history.Series) g.Node {
				st := s.Stats
				if st.N == 0 {
					return Tr(Th(Scope("row"), g.Text(s.Name)), Td(ColSpan("10"), g.Text("no values")))
				}
				cell := func(field string, v float64) g.Node { return Td(Class("num"), value(field, v, format(v))) }
				return Tr(Th(Scope("row"), g.Text(s.Name)),
					cell("min", st.Min), cell("p1", st.P1), cell("p5", st.P5), cell("p50", st.P50), cell("p95", st.P95),
					cell("p99", st.P99), cell("max", st.Max), cell("mean", st.Mean), cell("sd", st.StdDev),
					Td(Class("num"), textValue("n", strconv.Itoa(st.N), strconv.Itoa(st.N))))
			})),
		))
}

var statsHead = static(THead(Tr(
	Th(Scope("col"), g.Text("Series")),
	columnHead("Min", "The least value", true), columnHead("1%", "1st percentile", true), columnHead("5%", "5th percentile", true),
	columnHead("Median", "50th percentile", true), columnHead("95%", "95th percentile", true), columnHead("99%", "99th percentile", true),
	columnHead("Max", "The greatest value", true), columnHead("Mean", "The average", true),
	columnHead("Std dev", "Standard deviation", true), columnHead("Values", "How many values the range holds", true),
)))

// approxNote is what a statistics table says when its range reaches into the rollups.
var approxNote = fmt.Sprintf("; percentiles approximate, within %.1f %%: merged from the 5-minute and hourly summaries "+
	"(count, min, max, mean and std dev exact)", 100*store.HistError)

// axisValue prints a value of a chart: with its sign where the chart has negative values.
func axisValue(v float64, c history.Chart) string {
	signed := c.Min < 0
	switch c.Unit {
	case "ppm":
		return PPM(v, signed)
	case "/s":
		return strconv.FormatFloat(v, 'g', 3, 64) + " /s"
	case "%":
		return strconv.FormatFloat(v, 'f', 1, 64) + " %"
	case "":
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return Seconds(v, signed)
}

// Trend is a small drawing of a host's last 24 hours of system time offset: a sparkline, in
// the tracking panel and the overview's rows.
func Trend(t history.Trend) g.Node {
	if len(t.Cols) == 0 {
		return nil
	}
	y := func(v float64) int {
		if t.Max == t.Min {
			return 10
		}
		return int(math.Round((t.Max - v) / (t.Max - t.Min) * 20))
	}
	label := "System time offset over the last 24 h: from " + Seconds(t.Min, true) + " to " + Seconds(t.Max, true)
	return g.El("svg", Class("trend"), g.Attr("viewBox", "0 0 "+strconv.Itoa(len(t.Cols))+" 20"), g.Attr("preserveAspectRatio", "none"),
		Role("img"), Aria("label", label), g.El("title", g.Text(label)),
		g.El("path", Class("line"), g.Attr("d", linePath(t.Cols, y))))
}

// damagedStretches draws the stretches of the record the store could not read.
func damagedStretches(v history.View) []g.Node {
	var out []g.Node
	for _, d := range v.Damaged {
		x0, x1 := column(v, d.Start), column(v, d.End)+1
		out = append(out, g.El("rect", Class("damaged"), g.Attr("x", strconv.Itoa(x0)), g.Attr("y", "0"),
			g.Attr("width", strconv.Itoa(max(x1-x0, 1))), g.Attr("height", strconv.Itoa(chartH)),
			g.El("title", g.Text("damaged in the store, not drawn: the "+d.Series+" from "+utc(d.Start)+" to "+utc(d.End)))))
	}
	return out
}

// damageNote says which stretches of the record were skipped because the store could not read
// them.
func damageNote(ds []store.Damage) g.Node {
	if len(ds) == 0 {
		return nil
	}
	var parts []string
	for i, d := range ds {
		if i == 5 {
			parts = append(parts, strconv.Itoa(len(ds)-5)+" more")
			break
		}
		parts = append(parts, "the "+d.Series+" from "+utc(d.Start)+" to "+utc(d.End))
	}
	return P(Class("notice health-warn"), Role("status"), Data("field", "damaged"),
		g.Text("Part of the record is damaged in the store and is not drawn (the shaded stretches): "+strings.Join(parts, "; ")+
			". The rest is drawn; second-hand's log names each damaged chunk."))
}

// damagedStore is the history panel's one notice of a store SQLite found damaged while it was
// open, with the fix.
func damagedStore(st history.Status) g.Node {
	return Div(Class("panel-error health-bad"), Role("alert"), Data("field", "store-damaged"),
		P(Class("error-title"), g.Text("The history store is damaged: SQLite says “"+damageWords(st.Damaged)+"” reading "+st.Path+".")),
		P(Class("error-fix"), Strong(g.Text("Fix: ")), g.Text("restart second-hand. It moves the damaged file aside, untouched "+
			"(history.db.damaged-DATE, to recover what it can with sqlite3's .recover), and starts a new one. Meanwhile the live panels carry on.")))
}

// damageWords is SQLite's message, without the path and the wrapping of who was reading.
func damageWords(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

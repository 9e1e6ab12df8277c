package panels

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
)

// The history's charts, drawn by the server as SVG: no script draws them, and none is inline.
// Each chart is three drawings side by side: its y axis' labels, the plot (one unit per column
// across, chartH units down, stretched to the page's width, with gridlines at the ticks), and
// under it the time axis' labels. The labels are placed in percent of their drawing's size, so
// that they keep their shape when the plot stretches. The page's script only shows a column's
// values where the pointer or the keyboard's focus is.

// The drawing's coordinates: one unit per column across, chartH units down.
const chartH = 1000

// chartBridge is how many empty columns in a row a chart's line joins over (see linePath).
const chartBridge = 3

// scale is the values a chart shows, bottom to top.
type scale struct{ lo, hi float64 }

// chartOptions are how the charts are drawn: to the full scale or the usual one, which series
// start hidden, which chart has the keyboard's stop.
type chartOptions struct {
	full     bool
	first    bool            // this chart is the charts' stop of the keyboard's
	noselect map[string]bool // sources with the noselect option, by key: hidden like falsetickers
}

// hidden is whether a series starts hidden, and why.
func (o chartOptions) hidden(s history.Series) (bool, string) {
	switch {
	case s.Hidden:
		return true, "falseticker"
	case o.noselect[s.Key] && s.Key != "":
		return true, "noselect"
	}
	return false, ""
}

// scaleOf is the chart's usual scale (its 1st to 99th percentile, of the series shown), or
// with full all its values.
func scaleOf(c history.Chart, o chartOptions) scale {
	sc := scale{c.Lo, c.Hi}
	if c.ID == "sources" {
		if lo, hi, ok := c.UsualScale(func(s history.Series) bool { h, _ := o.hidden(s); return !h }); ok {
			sc = scale{lo, hi}
		}
	}
	if o.full || !(sc.hi > sc.lo) {
		sc = scale{c.Min, c.Max}
	}
	return sc
}

// y is the drawing's row of a value, clamped to the plot.
func (sc scale) y(val float64) int {
	if sc.hi == sc.lo {
		return chartH / 2
	}
	p := (sc.hi - val) / (sc.hi - sc.lo) * chartH
	return int(math.Round(math.Min(math.Max(p, 0), chartH)))
}

// percent is where a value lies from the top, in percent of the plot's height.
func (sc scale) percent(val float64) float64 { return (sc.hi - val) / (sc.hi - sc.lo) * 100 }

// chart draws one chart: its title (its help in a tooltip), its axes with ticks and gridlines,
// its series (a hidden one drawn but off until shown from the legend), the marks of values
// beyond the scale, and a readout for the page's script.
func chart(v history.View, c history.Chart, o chartOptions) g.Node {
	if len(c.Series) == 0 && len(c.Strips) == 0 {
		return nil
	}
	if c.ID == "reach" {
		return reachChart(v, c)
	}
	sc := scaleOf(c, o)
	var shapes []g.Node
	for _, gap := range gapStretches(v) {
		shapes = append(shapes, g.El("rect", Class("gap"), g.Attr("x", strconv.Itoa(gap.x0)), g.Attr("y", "0"),
			g.Attr("width", strconv.Itoa(max(gap.x1-gap.x0, 1))), g.Attr("height", strconv.Itoa(chartH)),
			g.El("title", g.Text(gap.title))))
	}
	shapes = append(shapes, damagedStretches(v)...)
	yticks := valueTicks(sc.lo, sc.hi)
	xticks := timeTicks(v.From, v.To)
	shapes = append(shapes, g.El("path", Class("grid"), g.Attr("d", gridPath(v, sc, yticks, xticks))))
	if c.Band != nil {
		shapes = append(shapes, g.El("path", Class("band"), g.Attr("d", bandPath(c.Band, sc.y))))
	}
	if sc.lo < 0 && sc.hi > 0 {
		shapes = append(shapes, g.El("path", Class("zero"), g.Attr("d", "M0 "+strconv.Itoa(sc.y(0))+"H"+strconv.Itoa(history.Columns))))
	}
	for i, s := range c.Series {
		if s.Cols == nil {
			continue
		}
		k := strconv.Itoa(i % 8)
		line, solid := seriesPaths(s.Cols, sc.y, chartBridge)
		cls := "series s" + k
		if hidden, _ := o.hidden(s); hidden {
			cls += " off"
		}
		shapes = append(shapes, g.El("g", Class(cls), Data("series", strconv.Itoa(i)),
			g.If(s.Errors, g.El("path", Class("errbars s"+k), g.Attr("d", errorPath(s.Cols, sc.y)))),
			g.El("path", Class("line s"+k), Data("name", s.Name), g.Attr("d", line)),
			g.If(solid != "", g.El("path", Class("beyond solid s"+k), g.Attr("d", solid))),
			g.El("path", Class("beyond s"+k), g.Attr("d", beyondPath(s.Cols, sc)))))
	}
	if !v.At.IsZero() {
		x := strconv.Itoa(column(v, v.At))
		shapes = append(shapes, g.El("path", Class("marker"), g.Attr("d", "M"+x+" 0V"+strconv.Itoa(chartH))))
	}
	label := c.Title + ", " + utc(v.From) + " to " + utc(v.To)
	tabindex := "-1" // the charts are one stop of the keyboard's: arrows up and down go from one to the next
	if o.first {
		tabindex = "0"
	}
	signed := !c.NonNegative && sc.lo < 0
	return Figure(Class("chart chart-"+c.ID), Data("chart", c.ID), Data("unit", c.Unit),
		Data("from", strconv.FormatInt(v.From.UnixMilli(), 10)), Data("to", strconv.FormatInt(v.To.UnixMilli(), 10)),
		Data("min", Raw(sc.lo)), Data("max", Raw(sc.hi)), Data("cols", strconv.Itoa(history.Columns)), Data("h", strconv.Itoa(chartH)),
		g.If(signed, Data("signed", "true")),
		FigCaption(tipped("tip-chart-"+c.ID, Strong(g.Text(c.Title)), c.Help)),
		Div(Class("plot"),
			yAxis(c, sc, yticks, signed),
			Div(Class("plot-area"),
				g.El("svg", Class("chart-svg"), g.Attr("viewBox", "0 0 "+strconv.Itoa(history.Columns)+" "+strconv.Itoa(chartH)),
					g.Attr("preserveAspectRatio", "none"), Role("img"), Aria("label", label), Aria("describedby", "charts-hint"), TabIndex(tabindex),
					g.El("title", g.Text(label)), g.Group(shapes),
					g.El("path", Class("cursor"), g.Attr("d", "M0 0V"+strconv.Itoa(chartH)))),
				g.El("output", Class("readout"), Aria("live", "polite")),
			),
			xAxis(v, xticks),
		),
		legendOf(c, o),
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

// valueTicks are round values across [lo, hi]: 1, 2 or 5 times a power of ten apart, the
// coarsest such step that gives three of them or more (so at most eight).
func valueTicks(lo, hi float64) []float64 {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return nil
	}
	pow := math.Pow(10, math.Floor(math.Log10(hi-lo)))
	var out []float64
	for _, step := range []float64{5 * pow, 2 * pow, pow, pow / 2, pow / 5, pow / 10} {
		out = out[:0]
		for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
			if math.Abs(v) < step*1e-9 {
				v = 0
			}
			out = append(out, v)
		}
		if len(out) >= 3 {
			break
		}
	}
	return out
}

// timeSteps are the steps time ticks are made of.
var timeSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 2 * 24 * time.Hour, 5 * 24 * time.Hour, 7 * 24 * time.Hour}

// timeTicks are round times across [from, to] (UTC): whole minutes, hours or days, four to
// seven of them.
func timeTicks(from, to time.Time) []time.Time {
	span := to.Sub(from)
	if span <= 0 {
		return nil
	}
	if span/timeSteps[len(timeSteps)-1] > 6 {
		return monthTicks(from, to)
	}
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s <= 6 {
			step = s
			break
		}
	}
	var out []time.Time
	for t := from.UTC().Truncate(step); !t.After(to); t = t.Add(step) {
		if t.After(from) {
			out = append(out, t)
		}
	}
	return out
}

// monthTicks are the first days of months across [from, to] (UTC), every 1, 2, 3, 4, 6 or 12
// months, at most six of them: a long range's ticks (90 d, 1 y, 2 y) are months, not weeks.
func monthTicks(from, to time.Time) []time.Time {
	from, to = from.UTC(), to.UTC()
	months := (to.Year()-from.Year())*12 + int(to.Month()-from.Month()) + 1
	every := 12
	for _, m := range []int{1, 2, 3, 4, 6, 12} {
		if months/m <= 6 {
			every = m
			break
		}
	}
	var out []time.Time
	for t := time.Date(from.Year(), 1, 1, 0, 0, 0, 0, time.UTC); !t.After(to); t = t.AddDate(0, every, 0) {
		if t.After(from) {
			out = append(out, t)
		}
	}
	return out
}

// gridPath draws the gridlines at the ticks, across and down the plot.
func gridPath(v history.View, sc scale, yticks []float64, xticks []time.Time) string {
	var b strings.Builder
	for _, t := range yticks {
		b.WriteString("M0 " + strconv.Itoa(sc.y(t)) + "H" + strconv.Itoa(history.Columns))
	}
	span := v.To.Sub(v.From)
	for _, t := range xticks {
		x := float64(t.Sub(v.From)) / float64(span) * history.Columns
		b.WriteString("M" + strconv.FormatFloat(x, 'f', 1, 64) + " 0V" + strconv.Itoa(chartH))
	}
	return b.String()
}

// yAxis labels the ticks of the values, in one unit.
func yAxis(c history.Chart, sc scale, ticks []float64, signed bool) g.Node {
	label := axisFormatter(c, ticks, signed)
	return g.El("svg", Class("y-axis"), Aria("hidden", "true"), g.Attr("overflow", "visible"),
		g.Map(ticks, func(t float64) g.Node {
			return g.El("text", g.Attr("x", "100%"), g.Attr("y", f1(sc.percent(t))+"%"), g.Attr("dy", "0.35em"), g.Attr("text-anchor", "end"),
				g.Text(label(t)))
		}))
}

// axisFormatter prints a chart's values in one unit for all (the ticks' unit for seconds; ppm,
// rates (/s), shares (%) and counts with the decimals the step needs), signed where the chart
// can be negative.
func axisFormatter(c history.Chart, ticks []float64, signed bool) func(float64) string {
	if c.Unit != "s" {
		decimals := 3
		if len(ticks) > 1 {
			step := math.Abs(ticks[1] - ticks[0])
			decimals = min(max(int(math.Ceil(-math.Log10(step)+0.001)), 0), 3)
		}
		suffix := ""
		if c.Unit != "" {
			suffix = " " + c.Unit
		}
		return func(v float64) string {
			s := strconv.FormatFloat(v, 'f', decimals, 64)
			if signed && v > 0 {
				s = "+" + s
			}
			if strings.Trim(s, "+-0.") == "" {
				s = "0"
			}
			return s + suffix
		}
	}
	u := diagnose.ColumnUnit(ticks...)
	if len(ticks) > 1 {
		// Decimals for the step, not the smallest tick.
		step := math.Abs(ticks[1]-ticks[0]) * u.Scale
		u.Decimals = min(max(int(math.Ceil(-math.Log10(step)+0.001)), 0), 2)
	}
	return func(v float64) string {
		if math.Abs(v)*u.Scale < 0.5*math.Pow10(-u.Decimals) {
			return "0"
		}
		return u.Format(v, signed)
	}
}

// xAxis labels the time ticks: the time of day within two days, the date beyond.
func xAxis(v history.View, ticks []time.Time) g.Node {
	span := v.To.Sub(v.From)
	layout := "15:04"
	switch {
	case span/timeSteps[len(timeSteps)-1] > 6: // month ticks
		layout = "Jan 2006"
	case span > 48*time.Hour:
		layout = "Jan 2"
	}
	return g.El("svg", Class("x-axis"), Aria("hidden", "true"), g.Attr("overflow", "visible"),
		g.Map(indices(len(ticks)), func(i int) g.Node {
			t := ticks[i]
			x := float64(t.Sub(v.From)) / float64(span) * 100
			anchor := "middle"
			switch {
			case x < 4:
				anchor = "start"
			case x > 96:
				anchor = "end"
			}
			return g.El("text", g.If(i%2 == 1, Class("odd")), g.Attr("x", f1(x)+"%"), g.Attr("y", "1em"), g.Attr("text-anchor", anchor),
				g.Text(t.UTC().Format(layout)))
		}))
}

// gapStretch is where the chart shows chronyd not answering: columns x0 to x1 (excluded).
type gapStretch struct {
	x0, x1 int
	title  string
}

// gapStretches are the view's gaps as the chart draws them: gaps that share or touch a column
// are one stretch, said with its number of silences and the last one's error (each restart of
// second-hand while chronyd is down begins a gap of its own, and every error names its own
// local port: a dozen charts repeated each).
func gapStretches(v history.View) []gapStretch {
	var out []gapStretch
	n := 0
	for _, gap := range v.Gaps {
		x0, x1 := column(v, gap.Start), column(v, gap.End)+1
		if k := len(out) - 1; k >= 0 && x0 <= out[k].x1 {
			n++
			out[k].x1 = max(out[k].x1, x1)
			out[k].title = fmt.Sprintf("chronyd not answering, %d times here; the last: %s", n, gap.Error)
			continue
		}
		n = 1
		out = append(out, gapStretch{x0: x0, x1: x1, title: "chronyd not answering: " + gap.Error})
	}
	return out
}

// linePath draws a series' columns as one line down each column from its greatest value to
// its least or up from its least to its greatest, whichever end is nearer where the line
// stands, joined to the next column with values, broken where a gap falls (chronyd not
// answering) or where more than bridge columns in a row are empty: columns narrower than the
// sampling (an hour's are 7.5 s, samples come every 16 s) leave one empty in two, which is no
// hole in the record.
//
// The nearer end first: a long range's columns often span the whole scale, and a line that
// went down each and back up to the next one's top drew a diagonal the plot's height across
// every column (a year's fragment held 100 KB of them); joined at the nearer end, the line
// runs along the columns' edges, and its steps are short.
func linePath(cols []history.Col, y func(float64) int, bridge int) string {
	return drawLine(cols, y, bridge, nil)
}

// seriesPaths draws a chart's series: its line (linePath) and, apart, each run of two or more
// columns that span the whole scale as one filled block (solid), which the line leaves out. A
// year's columns of a noisy series all span its 1st to 99th percentile: drawn in the line,
// 480 of them were 4.5 KB a series; as a block, a few bytes. The page's script reads both.
func seriesPaths(cols []history.Col, y func(float64) int, bridge int) (line, solid string) {
	full := make([]bool, len(cols))
	isFull := func(c history.Col) bool { return c.Has && !c.Broken && y(c.Max) == 0 && y(c.Min) == chartH }
	var b strings.Builder
	for i := 0; i < len(cols); {
		j := i
		for j < len(cols) && isFull(cols[j]) {
			j++
		}
		if j-i >= 2 {
			for k := i; k < j; k++ {
				full[k] = true
			}
			b.WriteString("M" + strconv.Itoa(i) + " 0H" + strconv.Itoa(j-1) + "V" + strconv.Itoa(chartH) + "H" + strconv.Itoa(i) + "z")
		}
		i = max(j, i+1)
	}
	return drawLine(cols, y, bridge, full), b.String()
}

// drawLine is linePath, leaving out the columns skip marks (the line stops before them and
// starts again after).
func drawLine(cols []history.Col, y func(float64) int, bridge int, skip []bool) string {
	var p pathWriter
	open, last := false, -1
	for i, c := range cols {
		if c.Broken || skip != nil && skip[i] {
			open = false
		}
		if !c.Has || skip != nil && skip[i] {
			continue
		}
		if i-last-1 > bridge {
			open = false
		}
		first, second := y(c.Max), y(c.Min)
		if open && abs(second-p.y) < abs(first-p.y) {
			first, second = second, first
		}
		if open {
			p.lineTo(i, first)
		} else {
			p.moveTo(i, first)
		}
		if second != first {
			p.vertTo(second)
		}
		open, last = !c.Broken, i
	}
	return p.String()
}

func abs(v int) int { return max(v, -v) }

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

// beyondPath marks the columns with values beyond the scale, at the edge they are beyond: a
// short stroke at the top or the bottom.
//
// A run of such columns is one shape (a long range's columns of many samples are often all
// beyond the percentiles' scale: a mark per column made a year's fragment 35 KB larger).
func beyondPath(cols []history.Col, sc scale) string {
	var b strings.Builder
	for _, edge := range []struct {
		y      int
		beyond func(history.Col) bool
	}{
		{0, func(c history.Col) bool { return c.Max > sc.hi }},
		{chartH - 60, func(c history.Col) bool { return c.Min < sc.lo }},
	} {
		for i := 0; i < len(cols); {
			if !cols[i].Has || !edge.beyond(cols[i]) {
				i++
				continue
			}
			j := i + 1
			for j < len(cols) && cols[j].Has && edge.beyond(cols[j]) {
				j++
			}
			b.WriteString("M" + strconv.Itoa(i) + " " + strconv.Itoa(edge.y) + "h" + strconv.Itoa(j-i) + "v60h-" + strconv.Itoa(j-i) + "z")
			i = j
		}
	}
	return b.String()
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
//
// A step of one column across at the same height is h1, and a row of them one h (the script
// reads h as passing over every column between): a steady series is mostly that.
type pathWriter struct {
	b            strings.Builder
	x, y, x0, y0 int
	started      bool
	across       int // columns of a level run not yet written
}

// flush writes the level run pending.
func (p *pathWriter) flush() {
	if p.across > 0 {
		p.b.WriteString("h" + strconv.Itoa(p.across))
		p.across = 0
	}
}

func (p *pathWriter) point(abs, rel byte, x, y int) {
	if rel == 'l' && p.started && x-p.x == 1 && y == p.y {
		p.across++
		p.x = x
		return
	}
	p.flush()
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
	p.flush()
	p.b.WriteString("v" + strconv.Itoa(y-p.y))
	p.y = y
}

// close closes the subpath: the point is its start again.
func (p *pathWriter) close() {
	p.flush()
	p.b.WriteByte('z')
	p.x, p.y = p.x0, p.y0
}

func (p *pathWriter) String() string {
	p.flush()
	return p.b.String()
}

// reachChart draws a strip per source: each column full (answered all of its last 8 polls),
// half (some) or empty (none).
func reachChart(v history.View, c history.Chart) g.Node {
	return Figure(Class("chart chart-reach"), Data("chart", c.ID),
		FigCaption(tipped("tip-chart-"+c.ID, Strong(g.Text(c.Title)), c.Help)),
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

// legendOf names a chart's series by their colour, when it has several. The sources' chart's
// legend is a row of switches, one per source, that show or hide its offsets (those chronyd
// does not use start hidden); the page's script works them, and they are one stop of the
// keyboard's (arrows go from one to the next).
func legendOf(c history.Chart, o chartOptions) g.Node {
	if c.ID == "sources" {
		var items []g.Node
		first := true
		for i, s := range c.Series {
			if s.Cols == nil {
				continue
			}
			tabindex := "-1"
			if first {
				tabindex, first = "0", false
			}
			k := strconv.Itoa(i % 8)
			hidden, why := o.hidden(s)
			items = append(items, Button(Type("button"), Class("series-toggle"), Data("series", strconv.Itoa(i)), Data("name", s.Name), TabIndex(tabindex),
				Aria("pressed", strconv.FormatBool(!hidden)),
				Span(Class("key s"+k), Aria("hidden", "true")), g.Text(" "+s.Name),
				g.If(hidden, Span(Class("hidden-why"), g.Text(" ("+why+")")))))
		}
		return Div(Class("chart-legend series-toggles"), Role("toolbar"), Aria("label", "Sources shown"), Data("roving", ""), g.Group(items))
	}
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

// statsTables are ntpviz's tables, one per chart, in one fold: the extremes, percentiles,
// mean and deviation of each series, each table in one unit.
func statsTables(v history.View) g.Node {
	var tables []g.Node
	for _, c := range v.Charts {
		if len(c.Series) == 0 || c.ID == "reach" {
			continue
		}
		tables = append(tables, statsTable(c))
	}
	if len(tables) == 0 {
		return nil
	}
	return Details(ID("history-stats"), Class("stats-fold"),
		Summary(g.Text("Statistics of each series: extremes, percentiles, mean, standard deviation")),
		statsKey, g.Group(tables))
}

// statsTable is ntpviz's table for each series of a chart, in one unit for the table.
func statsTable(c history.Chart) g.Node {
	var all []float64
	for _, s := range c.Series {
		if st := s.Stats; st.N > 0 {
			all = append(all, st.Min, st.P1, st.P5, st.P50, st.P95, st.P99, st.Max, st.Mean, st.StdDev)
		}
	}
	signed := !c.NonNegative && c.Min < 0
	in, format := statsUnit(c.Unit)
	if c.Unit == "s" {
		u := diagnose.ColumnUnit(all...)
		in, format = "in "+u.Name, u.Number
	}
	caption := c.Title + " over the range"
	if in != "" {
		caption += ", " + in
	}
	for _, s := range c.Series {
		if s.Stats.Approx {
			caption += approxNote
			break
		}
	}
	return Div(Class("table-wrap"), TabIndex("0"), Aria("label", c.Title+" statistics"),
		Table(Class("stats"), Data("chart", c.ID),
			Caption(g.Text(caption)),
			statsHead,
			TBody(g.Map(c.Series, func(s history.Series) g.Node {
				st := s.Stats
				if st.N == 0 {
					return Tr(Th(Scope("row"), g.Text(s.Name)), Td(ColSpan("10"), g.Text("no values")))
				}
				cell := func(field string, v float64, signed bool) g.Node {
					return Td(Class("num"), value(field, v, format(v, signed)))
				}
				return Tr(Th(Scope("row"), g.Text(s.Name)),
					cell("min", st.Min, signed), cell("p1", st.P1, signed), cell("p5", st.P5, signed), cell("p50", st.P50, signed), cell("p95", st.P95, signed),
					cell("p99", st.P99, signed), cell("max", st.Max, signed), cell("mean", st.Mean, signed), cell("sd", st.StdDev, false),
					Td(Class("num"), textValue("n", strconv.Itoa(st.N), strconv.Itoa(st.N))))
			})),
		))
}

// statsUnit is how a statistics table of a chart's unit (other than seconds, which take the
// table's own unit) says its unit in the caption and prints its numbers: ppm as everywhere,
// rates with three significant figures or so, shares to a tenth of a percent, counts whole
// (their means and deviations to a tenth).
func statsUnit(unit string) (string, func(float64, bool) string) {
	signedText := func(s string, v float64, signed bool) string {
		if signed && v > 0 {
			return "+" + s
		}
		return s
	}
	switch unit {
	case "ppm":
		return "in ppm", func(v float64, signed bool) string { return strings.TrimSuffix(PPM(v, signed), " ppm") }
	case "/s":
		return "per second", func(v float64, signed bool) string {
			decimals := 3
			switch a := math.Abs(v); {
			case a >= 99.95:
				decimals = 0
			case a >= 9.995:
				decimals = 1
			case a >= 0.9995:
				decimals = 2
			}
			return signedText(strconv.FormatFloat(v, 'f', decimals, 64), v, signed)
		}
	case "%":
		return "in %", func(v float64, signed bool) string { return signedText(strconv.FormatFloat(v, 'f', 1, 64), v, signed) }
	case "":
		return "", func(v float64, signed bool) string {
			decimals := 0
			if v != math.Trunc(v) {
				decimals = 1
			}
			return signedText(strconv.FormatFloat(v, 'f', decimals, 64), v, signed)
		}
	}
	return "in " + unit, func(v float64, signed bool) string { return signedText(strconv.FormatFloat(v, 'g', 4, 64), v, signed) }
}

// statsHead is every statistics table's head; what its columns mean is said once, above the
// tables (statsKey), not in a tooltip repeated in each of a dozen tables.
var statsHead = static(THead(Tr(
	Th(Scope("col"), g.Text("Series")),
	numHead("Min"), numHead("1%"), numHead("5%"), numHead("Median"), numHead("95%"), numHead("99%"),
	numHead("Max"), numHead("Mean"), numHead("Std dev"), numHead("Values"),
)))

func numHead(name string) g.Node { return Th(Scope("col"), Class("num"), g.Text(name)) }

var statsKey = static(P(Class("stats-key"), g.Text("Over the range shown: the least and greatest values; the 1st, 5th, 50th (median), "+
	"95th and 99th percentiles (the values that 1, 5, 50, 95 and 99 % of the values are below); the mean; "+
	"the standard deviation; how many values the range holds.")))

// Trend is a small drawing of a host's recent system time offset: a sparkline over what is
// recorded of the last 24 hours, in the tracking panel and the overview's rows. It says its
// span (history.Trend.Span).
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
	label := "System time offset over the " + t.Span() + ": from " + Seconds(t.Min, true) + " to " + Seconds(t.Max, true)
	return g.El("svg", Class("trend"), g.Attr("viewBox", "0 0 "+strconv.Itoa(len(t.Cols))+" 20"), g.Attr("preserveAspectRatio", "none"),
		Role("img"), Aria("label", label), g.El("title", g.Text(label)),
		g.El("path", Class("line"), g.Attr("d", linePath(t.Cols, y, len(t.Cols)))))
}

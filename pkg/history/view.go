package history

import (
	"context"
	"math"
	"math/bits"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

// Range is a span of history the page offers.
type Range struct {
	Name string // as in the URL: 1h, 6h, 24h, 7d, 30d
	D    time.Duration
}

// Ranges are the spans the history panel switches between.
var Ranges = []Range{
	{"1h", time.Hour}, {"6h", 6 * time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour},
}

// DefaultRange is the history panel's range until another is chosen.
var DefaultRange = Ranges[2]

// ParseRange finds a range by name.
func ParseRange(name string) (Range, bool) {
	for _, r := range Ranges {
		if r.Name == name {
			return r, true
		}
	}
	return Range{}, false
}

// Columns is how many columns a chart has: each shows the least and the greatest value that
// fell in it, so a spike of one sample in 30 days is drawn as high as it was.
const Columns = 480

// View is a host's history over a range, ready to draw.
type View struct {
	Host     string
	Range    Range
	From, To time.Time
	At       time.Time // a moment marked in the charts (an event's); zero for none
	Charts   []Chart
	Gaps     []store.Gap
	Points   int // records in the range
}

// Chart is one chart: series drawn in columns over [From, To], and their statistics.
type Chart struct {
	ID, Title, Help string
	Unit            string // "s" or "ppm"
	Min, Max        float64
	Symmetric       bool // drawn around zero
	Series          []Series
	Band            []Col   // the maximum clock error, drawn as ±bound around zero
	Strips          []Strip // reachability, one strip per source
}

// Series is one line of a chart.
type Series struct {
	Name   string
	Cols   []Col
	Stats  Stats
	Errors bool // columns carry error bars (Lo, Hi)
}

// Col is one column of a series.
type Col struct {
	Has      bool
	Min, Max float64
	Lo, Hi   float64 // the extent of the error bars, when the series has them
	Broken   bool    // a gap (chronyd not answering) falls in this column: the line stops
}

// Strip is a source's reachability over the range: per column, the worst register seen.
type Strip struct {
	Name  string
	Cells []ReachCell
}

// ReachCell is how much of its last 8 polls a source answered in a column: 0 none, 1 some,
// 2 all; Has is false where nothing is known.
type ReachCell struct {
	Has   bool
	Level int
}

type viewKey struct {
	host    string
	rng     string
	to      int64 // the window's end, to the column
	at      int64
	version int64
}

// View reads host's history for rng ending now (or centred on at, when at is set and not
// within the last half range) and builds its charts. Views are kept until new data comes or the
// window moves by a column, so that many viewers cost one computation.
func (s *Service) View(ctx context.Context, host string, rng Range, at, now time.Time) (View, error) {
	col := rng.D / Columns
	to := now
	if !at.IsZero() && at.Before(now.Add(-rng.D/2)) {
		to = at.Add(rng.D / 2)
	}
	to = to.Truncate(col).Add(col)
	key := viewKey{host: host, rng: rng.Name, to: to.UnixMilli(), at: at.UnixMilli(), version: s.version(host)}
	s.mu.Lock()
	if v, ok := s.views[key]; ok {
		s.mu.Unlock()
		return v, nil
	}
	s.mu.Unlock()
	from := to.Add(-rng.D)
	h, err := s.Range(ctx, host, from, to)
	if err != nil {
		return View{}, err
	}
	v := BuildView(h, rng, at)
	s.mu.Lock()
	if len(s.views) > 256 {
		clear(s.views)
	}
	s.views[key] = v
	s.mu.Unlock()
	return v, nil
}

// BuildView turns a record into charts.
func BuildView(h store.History, rng Range, at time.Time) View {
	v := View{Host: h.Host, Range: rng, From: h.From, To: h.To, At: at, Gaps: h.Gaps}
	v.Points = len(h.Samples) + len(h.Updates)
	for _, src := range h.Sources {
		v.Points += len(src.Points)
	}
	g := grid{from: h.From.UnixMilli(), to: h.To.UnixMilli(), gaps: h.Gaps}

	// The system time offset, in the band of the maximum clock error.
	var off, bound []pt
	var delay, disp []pt
	for _, s := range h.Samples {
		t := s.T.UnixMilli()
		off = append(off, pt{t: t, v: s.OffsetSeconds})
		bound = append(bound, pt{t: t, v: s.MaxErrorSeconds()})
		delay = append(delay, pt{t: t, v: s.RootDelaySeconds})
		disp = append(disp, pt{t: t, v: s.RootDispersionSeconds})
	}
	offCols := g.columns(off, false)
	band := g.columns(bound, false)
	offset := Chart{ID: "offset", Title: "System time offset", Unit: "s", Symmetric: true,
		Help:   "How far the system clock was from NTP time at each sample (positive: ahead), inside the band of the maximum clock error: |offset| + root dispersion + root delay / 2.",
		Series: []Series{{Name: "offset", Cols: offCols, Stats: statsOf(off)}, {Name: "max error", Stats: statsOf(bound)}},
		Band:   band}
	// The scale keeps every offset whole; the band is drawn to the 99th percentile of its
	// bound at most, so that the start of chronyd (a bound of seconds) does not flatten the
	// rest.
	lim := math.Max(absMax(offCols), offset.Series[1].Stats.P99)
	offset.Min, offset.Max = -lim, lim
	v.Charts = append(v.Charts, offset)

	var freq, skew, rms []pt
	for _, u := range h.Updates {
		t := u.T.UnixMilli()
		freq = append(freq, pt{t: t, v: u.FrequencyPPM})
		skew = append(skew, pt{t: t, v: u.SkewPPM})
		if !math.IsNaN(u.RMSOffsetSeconds) {
			rms = append(rms, pt{t: t, v: u.RMSOffsetSeconds})
		}
	}
	v.Charts = append(v.Charts,
		lineChart(g, "frequency", "Frequency", "ppm", "How fast the system clock would run without chronyd's correction, at each clock update (positive: fast).",
			[]string{"frequency"}, freq),
		lineChart(g, "skew", "Skew", "ppm", "The error bound of that frequency, at each clock update.", []string{"skew"}, skew),
		lineChart(g, "rms", "RMS offset", "s", "The long-term average of the offset, at each clock update.", []string{"RMS offset"}, rms),
		lineChart(g, "root", "Root delay and dispersion", "s", "The network delay and the error accumulated up to the stratum-1 clock, at each sample.",
			[]string{"root delay", "root dispersion"}, delay, disp),
	)

	// Each source's samples with their error bars, and its reachability.
	sources := Chart{ID: "sources", Title: "Sources' offsets", Unit: "s",
		Help: "Each sample of each source as measured, with its error bound (positive: this clock is ahead of the source)."}
	reach := Chart{ID: "reach", Title: "Sources' reachability",
		Help: "For each source, whether it answered all (full), some (half) or none (empty) of its last 8 polls."}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, src := range h.Sources {
		var samples []pt
		for _, p := range src.Points {
			if p.NewSample {
				samples = append(samples, pt{t: p.T.UnixMilli(), v: p.OffsetSeconds, lo: p.OffsetSeconds - p.ErrorSeconds, hi: p.OffsetSeconds + p.ErrorSeconds})
			}
		}
		name := sourceLabel(src.Source)
		if len(samples) > 0 {
			cols := g.columns(samples, true)
			for _, c := range cols {
				if c.Has {
					lo, hi = math.Min(lo, c.Min), math.Max(hi, c.Max)
				}
			}
			sources.Series = append(sources.Series, Series{Name: name, Cols: cols, Stats: statsOf(samples), Errors: true})
		}
		if strip, ok := g.reach(src.Points); ok {
			reach.Strips = append(reach.Strips, Strip{Name: name, Cells: strip})
		}
	}
	if len(sources.Series) > 0 {
		// As for the band: every sample whole, error bars to a sensible extent.
		var errs []float64
		for _, s := range sources.Series {
			for _, c := range s.Cols {
				if c.Has {
					errs = append(errs, c.Hi-c.Max, c.Min-c.Lo)
				}
			}
		}
		e := quantile(errs, 0.95)
		sources.Min, sources.Max = pad(lo-e, hi+e)
	}
	v.Charts = append(v.Charts, sources, reach)
	return v
}

func sourceLabel(s store.Source) string {
	if s.Address == "" || s.Address == s.Name {
		return s.Name
	}
	return s.Name + " (" + s.Address + ")"
}

func lineChart(g grid, id, title, unit, help string, names []string, data ...[]pt) Chart {
	c := Chart{ID: id, Title: title, Unit: unit, Help: help}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, d := range data {
		cols := g.columns(d, false)
		for _, col := range cols {
			if col.Has {
				lo, hi = math.Min(lo, col.Min), math.Max(hi, col.Max)
			}
		}
		c.Series = append(c.Series, Series{Name: names[i], Cols: cols, Stats: statsOf(d)})
	}
	c.Min, c.Max = pad(lo, hi)
	return c
}

// pad widens [lo, hi] by a twentieth on each side, and makes a flat line a band.
func pad(lo, hi float64) (float64, float64) {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return -1, 1
	}
	d := (hi - lo) / 20
	if d == 0 {
		d = math.Max(math.Abs(hi)/10, 1e-9)
	}
	return lo - d, hi + d
}

func absMax(cols []Col) float64 {
	m := 0.0
	for _, c := range cols {
		if c.Has {
			m = math.Max(m, math.Max(math.Abs(c.Min), math.Abs(c.Max)))
		}
	}
	if m == 0 {
		return 1e-9
	}
	return m * 1.05
}

// pt is a value at a time (Unix ms), with an error interval when it has one.
type pt struct {
	t      int64
	v      float64
	lo, hi float64
}

// grid maps times to n columns (Columns when n is 0) and knows the gaps.
type grid struct {
	from, to int64
	gaps     []store.Gap
	n        int
}

func (g grid) cols() int {
	if g.n == 0 {
		return Columns
	}
	return g.n
}

func (g grid) col(t int64) int {
	if g.to <= g.from {
		return 0
	}
	i := int((t - g.from) * int64(g.cols()) / (g.to - g.from))
	return min(max(i, 0), g.cols()-1)
}

// columns reduces points to the least and greatest value of each column: never by skipping
// points, so that every spike stays.
func (g grid) columns(pts []pt, errs bool) []Col {
	cols := make([]Col, g.cols())
	for _, p := range pts {
		if math.IsNaN(p.v) {
			continue
		}
		c := &cols[g.col(p.t)]
		if !c.Has {
			*c = Col{Has: true, Min: p.v, Max: p.v, Lo: p.v, Hi: p.v}
		}
		c.Min, c.Max = math.Min(c.Min, p.v), math.Max(c.Max, p.v)
		if errs {
			c.Lo, c.Hi = math.Min(c.Lo, p.lo), math.Max(c.Hi, p.hi)
		}
	}
	for _, gap := range g.gaps {
		for i := g.col(gap.Start.UnixMilli()); i <= g.col(gap.End.UnixMilli()); i++ {
			cols[i].Broken = true
		}
	}
	return cols
}

// reach gives each column the worst register a source had in it: the register it had
// entering the column, and every one recorded in it. Points whose state is not known
// (imported logs) say nothing.
func (g grid) reach(points []store.SourcePoint) ([]ReachCell, bool) {
	cells := make([]ReachCell, Columns)
	any := false
	level := -1
	i := 0
	for c := 0; c < Columns; c++ {
		end := g.from + int64(c+1)*(g.to-g.from)/Columns
		worst := level
		for ; i < len(points) && points[i].T.UnixMilli() < end; i++ {
			if points[i].NoStatus {
				continue
			}
			l := reachLevel(points[i].Reach)
			level = l
			if worst < 0 || l < worst {
				worst = l
			}
		}
		if worst >= 0 && points[0].T.UnixMilli() < end {
			cells[c] = ReachCell{Has: true, Level: worst}
			any = true
		}
	}
	return cells, any
}

func reachLevel(r uint8) int {
	switch {
	case r == 0xff:
		return 2
	case bits.OnesCount8(r) == 0:
		return 0
	}
	return 1
}

// Trend is a host's last 24 hours of system time offset in a few columns: a sparkline.
type Trend struct {
	Cols     []Col
	Min, Max float64
}

// TrendColumns is how many columns a trend has: a quarter of an hour each.
const TrendColumns = 96

type trendKey struct {
	host    string
	to      int64
	version int64
}

// Trend is host's sparkline for the 24 hours to now, kept until new data comes or a column
// passes. ok is false when there is nothing to draw.
func (s *Service) Trend(ctx context.Context, host string, now time.Time) (Trend, bool) {
	if s.cfg.Sample <= 0 {
		return Trend{}, false
	}
	col := 24 * time.Hour / TrendColumns
	to := now.Truncate(col).Add(col)
	key := trendKey{host, to.UnixMilli(), s.version(host)}
	s.mu.Lock()
	t, ok := s.trends[key]
	s.mu.Unlock()
	if ok {
		return t, len(t.Cols) > 0
	}
	h, err := s.Range(ctx, host, to.Add(-24*time.Hour), to)
	if err != nil || len(h.Samples) == 0 {
		return Trend{}, false
	}
	var pts []pt
	for _, sm := range h.Samples {
		pts = append(pts, pt{t: sm.T.UnixMilli(), v: sm.OffsetSeconds})
	}
	g := grid{from: h.From.UnixMilli(), to: h.To.UnixMilli(), gaps: h.Gaps, n: TrendColumns}
	t.Cols = g.columns(pts, false)
	lim := absMax(t.Cols)
	t.Min, t.Max = -lim, lim
	s.mu.Lock()
	if len(s.trends) > 1024 {
		clear(s.trends)
	}
	s.trends[key] = t
	s.mu.Unlock()
	return t, true
}

type eventsKey struct {
	host    string
	version int64
	day     int64
}

// Events is what happened to host over the retention (30 days by default), newest first, kept
// until new data comes.
func (s *Service) Events(ctx context.Context, host string, now time.Time) ([]Event, error) {
	key := eventsKey{host, s.version(host), now.Truncate(time.Hour).Unix()}
	s.mu.Lock()
	ev, ok := s.events[key]
	s.mu.Unlock()
	if ok {
		return ev, nil
	}
	h, err := s.Range(ctx, host, now.Add(-s.cfg.Retention), now)
	if err != nil {
		return nil, err
	}
	ev = Events(h)
	s.mu.Lock()
	if len(s.events) > 256 {
		clear(s.events)
	}
	s.events[key] = ev
	s.mu.Unlock()
	return ev, nil
}

package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"time"
	"unsafe"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/store"
)

// Range is a span of history the page offers.
type Range struct {
	Name string // as in the URL: 1h, 6h, 24h, 7d, 30d, 90d, 1y, 2y
	D    time.Duration
}

// Ranges are the spans the history panel switches between.
var Ranges = []Range{
	{"1h", time.Hour}, {"6h", 6 * time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour},
	// From the rollups (rolled.go) beyond the raw records' 7 days.
	{"90d", 90 * 24 * time.Hour}, {"1y", 365 * 24 * time.Hour}, {"2y", 730 * 24 * time.Hour},
}

// DefaultRange is the history panel's range until another is chosen, when nothing says how much
// is recorded (see Service.DefaultRange).
var DefaultRange = Ranges[2]

// longestOpening is the longest range the history opens on by itself: the longer ones (90 d
// to 2 y, from the summaries, a year's view a tenth of a second or more to draw cold) are one
// click away.
var longestOpening = Ranges[4]

// RangeFor is the smallest range that holds what was recorded since start, up to 30 days (the
// default range when start is zero: nothing is known of the record).
func RangeFor(start, now time.Time) Range {
	if start.IsZero() {
		return DefaultRange
	}
	for _, r := range Ranges {
		if now.Sub(start) <= r.D || r == longestOpening {
			return r
		}
	}
	return longestOpening
}

// DefaultRange is the history panel's range for host until another is chosen: the smallest that
// holds the host's record, so that a fresh install does not open on a sliver at the right of
// 24 hours.
func (s *Service) DefaultRange(host string, now time.Time) Range {
	h := s.Moments(host)
	if !h.Known {
		return DefaultRange
	}
	return RangeFor(h.Start, now)
}

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
	Damaged  []store.Damage // stretches of the record the store could not read, skipped
	Points   int            // records in the range
}

// Chart is one chart: series drawn in columns over [From, To], and their statistics.
type Chart struct {
	ID, Title, Help string
	Unit            string // "s" or "ppm"
	// Min and Max hold every value drawn (the full scale); Lo and Hi the 1st to the 99th
	// percentile of the series shown by default (the usual scale), so that one spike or a
	// falseticker a second away does not flatten the rest: values beyond are marked at the
	// edge.
	Min, Max  float64
	Lo, Hi    float64
	Symmetric bool // drawn around zero
	// NonNegative quantities (a skew, a delay, an error bound) are printed without a sign.
	NonNegative bool
	Series      []Series
	Band        []Col   // the maximum clock error, drawn as ±bound around zero
	Strips      []Strip // reachability, one strip per source
}

// Series is one line of a chart.
type Series struct {
	Name   string
	Cols   []Col
	Stats  Stats
	Errors bool // columns carry error bars (Lo, Hi)
	// Hidden series are left out of the chart until shown (from its legend): a source chronyd
	// marked a falseticker at its last point in the range, whose offsets would flatten the
	// others' (the page hides the noselect sources too, which only chronyd's selection report
	// tells).
	Hidden bool
	// Key is the source's, for a series of a source: its address, or a reference clock's name.
	Key string
	// ErrP50 is the median half-width of its error bars, for the usual scale.
	ErrP50 float64
}

// UsualScale is a chart's scale from the 1st to the 99th percentile of the series shown, with
// their usual error bars, padded; ok is false when no series with values is shown.
func (c Chart) UsualScale(shown func(Series) bool) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	var e float64
	for _, s := range c.Series {
		if s.Stats.N == 0 || !shown(s) {
			continue
		}
		lo, hi, e = math.Min(lo, s.Stats.P1), math.Max(hi, s.Stats.P99), math.Max(e, s.ErrP50)
	}
	if math.IsInf(lo, 0) {
		return 0, 0, false
	}
	lo, hi = pad(lo-e, hi+e)
	if c.NonNegative {
		lo = math.Max(lo, 0)
	}
	return lo, hi, true
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

// viewKey is what a view shows: a host's range, live (at 0) or around a moment.
type viewKey struct {
	host string
	rng  string
	at   int64
}

// View reads host's history for rng ending now (or centred on at, when at is set and not
// within the last half range) and builds its charts. A view is kept until new data comes or
// the window moves by a column, so that many viewers cost one computation; viewers asking at
// once share it, and at most one a core is computed at a time (ErrBusy for a request whose
// budget ends first).
func (s *Service) View(ctx context.Context, host string, rng Range, at, now time.Time) (View, error) {
	st, err := s.openStore()
	if err != nil {
		return View{}, err
	}
	to := window(rng, at, now)
	key, version := viewKey{host: host, rng: rng.Name, at: at.UnixMilli()}, s.version(host)
	stm := stamp{version: version, to: to.UnixMilli()}
	if v, ok := s.views.get(key, stm); ok {
		return v, nil
	}
	return heavy(ctx, s, fmt.Sprintf("view %s %s %d %d %d", host, rng.Name, key.at, stm.to, version), func(ctx context.Context) (View, error) {
		from := to.Add(-rng.D)
		b := newBuilder(host, from, to, rng, at)
		walkFrom := from
		if raw := s.rawFrom(st, host, from, now); from.Before(raw) {
			// Beyond the raw records: the rollups (rolled.go).
			if err := s.fillRollupsCached(ctx, b, st, host, from, raw, now); err != nil {
				return View{}, err
			}
			walkFrom = raw
		}
		if err := b.walk(func(v store.Visitor) error { return st.Walk(ctx, host, walkFrom, to, v) }); err != nil {
			return View{}, err
		}
		v := b.view()
		s.views.put(key, stm, v, v.size())
		return v, nil
	})
}

// window is the end of a view of rng asked at now (centred on at, when at is set and not
// within the last half range): the end of now's column, so that a view is the same for a column.
func window(rng Range, at, now time.Time) (to time.Time) {
	col := rng.D / Columns
	to = now
	if !at.IsZero() && at.Before(now.Add(-rng.D/2)) {
		to = at.Add(rng.D / 2)
	}
	return to.Truncate(col).Add(col)
}

// size is about how many bytes a view holds, for the cache's bound.
func (v View) size() int64 {
	n := int64(unsafe.Sizeof(v)) + int64(len(v.Gaps))*int64(unsafe.Sizeof(store.Gap{}))
	for _, g := range v.Gaps {
		n += int64(len(g.Error))
	}
	for _, d := range v.Damaged {
		n += int64(unsafe.Sizeof(d)) + int64(len(d.Series))
	}
	for _, c := range v.Charts {
		n += int64(unsafe.Sizeof(c)) + int64(len(c.Band))*int64(unsafe.Sizeof(Col{}))
		for _, sr := range c.Series {
			n += int64(unsafe.Sizeof(sr)) + int64(len(sr.Cols))*int64(unsafe.Sizeof(Col{})) + int64(len(sr.Name))
		}
		for _, sp := range c.Strips {
			n += int64(unsafe.Sizeof(sp)) + int64(len(sp.Cells))*int64(unsafe.Sizeof(ReachCell{})) + int64(len(sp.Name))
		}
	}
	return n
}

// BuildView turns a record read whole into charts.
func BuildView(h store.History, rng Range, at time.Time) View {
	b := newBuilder(h.Host, h.From, h.To, rng, at)
	b.walk(func(v store.Visitor) error {
		store.WalkHistory(h, v)
		return nil
	})
	return b.view()
}

// builder reduces a record, as it is read, to the columns and values its charts need: a month
// of a host is a few hundred thousand records, never held decoded all at once.
type builder struct {
	view0 View
	g     *grid
	mu    sync.Mutex // the gaps and the count of records, from the two walks

	off, bound, delay, disp acc
	freq, skew, rms         acc
	sources                 []*sourceAcc
	bySource                map[store.Source]*sourceAcc
	serving                 *serving
	rolledN                 int // values summarised in the rollups drawn
}

type sourceAcc struct {
	src     store.Source
	name    string
	samples acc
	reach   reachAcc
	state   uint8 // its state in the sources report at its last point in the range
	known   bool  // state is known
}

func newBuilder(host string, from, to time.Time, rng Range, at time.Time) *builder {
	b := &builder{view0: View{Host: host, Range: rng, From: from, To: to, At: at}, g: newGrid(from, to, Columns),
		bySource: map[store.Source]*sourceAcc{}, serving: newServing()}
	for _, a := range []*acc{&b.off, &b.bound, &b.delay, &b.disp, &b.freq, &b.skew, &b.rms} {
		a.cols = make([]Col, Columns)
	}
	return b
}

// visitor is what reads the clock's records: samples, clock updates, gaps.
func (b *builder) visitor() store.Visitor {
	n := 0
	return store.Visitor{
		Sample: func(s store.Sample) {
			c := b.g.col(s.T.UnixMilli())
			n++
			b.off.add(c, s.OffsetSeconds)
			b.bound.add(c, s.MaxErrorSeconds())
			b.delay.add(c, s.RootDelaySeconds)
			b.disp.add(c, s.RootDispersionSeconds)
		},
		Update: func(u store.Update) {
			c := b.g.col(u.T.UnixMilli())
			n++
			b.freq.add(c, u.FrequencyPPM)
			b.skew.add(c, u.SkewPPM)
			b.rms.add(c, u.RMSOffsetSeconds)
		},
		Server: func(r store.ServerSample) {
			n++
			b.serving.add(b.g.col(r.T.UnixMilli()), r)
		},
		Gap: func(gap store.Gap) {
			b.mu.Lock()
			b.view0.Gaps = append(b.view0.Gaps, gap)
			b.view0.Points += n
			n = 0
			b.mu.Unlock()
		},
		End:     func() { b.count(&n) },
		Damaged: b.damaged,
	}
}

func (b *builder) damaged(d store.Damage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.view0.Damaged = append(b.view0.Damaged, d)
}

// sourceVisitor is what reads the sources' points; it may run beside visitor.
func (b *builder) sourceVisitor() store.Visitor {
	n := 0
	return store.Visitor{
		Source: func(src store.Source, p store.SourcePoint) {
			n++
			sa := b.source(src)
			c := b.g.col(p.T.UnixMilli())
			if p.NewSample {
				sa.samples.addErr(c, p.OffsetSeconds, p.OffsetSeconds-p.ErrorSeconds, p.OffsetSeconds+p.ErrorSeconds)
			}
			if !p.NoStatus {
				sa.reach.add(c, reachLevel(p.Reach))
				sa.state, sa.known = p.State, true
			}
		},
		End:           func() { b.count(&n) },
		Damaged:       b.damaged,
		NoSourceStats: true,
	}
}

// source is src's series, made when first met: the rollups' sources come first, then the
// raw records', each kind in the store's order.
func (b *builder) source(src store.Source) *sourceAcc {
	if sa, ok := b.bySource[src]; ok {
		return sa
	}
	sa := &sourceAcc{src: src, name: sourceLabel(src), samples: acc{cols: make([]Col, Columns), errs: true},
		reach: reachAcc{cells: make([]ReachCell, Columns), level: -1, last: -1}}
	b.sources = append(b.sources, sa)
	b.bySource[src] = sa
	return sa
}

func (b *builder) count(n *int) {
	b.mu.Lock()
	b.view0.Points += *n
	*n = 0
	b.mu.Unlock()
}

// walk reads the record in two walks at once, the clock's and the sources'.
func (b *builder) walk(walk func(store.Visitor) error) error {
	var wg sync.WaitGroup
	var err1, err2 error
	wg.Add(1)
	go func() { defer wg.Done(); err2 = walk(b.sourceVisitor()) }()
	err1 = walk(b.visitor())
	wg.Wait()
	return errors.Join(err1, err2)
}

// view makes the charts of what was read.
func (b *builder) view() View {
	v := b.view0
	all := []*acc{&b.off, &b.bound, &b.delay, &b.disp, &b.freq, &b.skew, &b.rms}
	for _, sa := range b.sources {
		all = append(all, &sa.samples)
	}
	all = append(all, b.serving.accs()...)
	v.Points += b.rolledN
	broken := func(start, end time.Time) {
		for i := b.g.col(start.UnixMilli()); i <= b.g.col(end.UnixMilli()); i++ {
			for _, a := range all {
				a.cols[i].Broken = true
			}
		}
	}
	for _, gap := range v.Gaps {
		broken(gap.Start, gap.End)
	}
	for _, d := range v.Damaged {
		broken(d.Start, d.End)
	}
	// The statistics of each series, on both cores.
	stats := make([]Stats, len(all))
	var wg sync.WaitGroup
	next := make(chan int, len(all))
	for i := range all {
		next <- i
	}
	close(next)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				stats[i] = all[i].stats()
			}
		}()
	}
	wg.Wait()
	statsOfAcc := map[*acc]Stats{}
	for i, a := range all {
		statsOfAcc[a] = stats[i]
	}
	part := func(a *acc) Part { return Part{Cols: a.cols, Stats: statsOfAcc[a]} }
	p := Parts{Offset: part(&b.off), MaxError: part(&b.bound), Frequency: part(&b.freq), Skew: part(&b.skew), RMSOffset: part(&b.rms),
		RootDelay: part(&b.delay), RootDispersion: part(&b.disp)}
	p.Column = b.view0.Range.D / Columns
	for _, sa := range b.sources {
		sp := SourcePart{Name: sa.name, Key: sa.src.Address, Falseticker: sa.known && chrony.SourceState(sa.state) == chrony.StateFalseticker}
		if sp.Key == "" {
			sp.Key = sa.src.Name
		}
		if sa.samples.has() {
			sp.Samples = part(&sa.samples)
		}
		sp.Reach, _ = sa.reach.finish()
		p.Sources = append(p.Sources, sp)
	}
	v.Charts = append(Charts(p), b.serving.charts(part)...)
	for _, a := range all {
		a.release()
	}
	return v
}

// Parts are what a view's charts are drawn from, wherever the history is read (the store, or
// a time-series engine): each series' columns and its statistics over the range.
type Parts struct {
	Offset, MaxError, Frequency, Skew, RMSOffset, RootDelay, RootDispersion Part
	Sources                                                                 []SourcePart
	// Column is how long a column spans: the sources' error bars are drawn where it is under
	// 4 hours (ranges to 30 days).
	Column time.Duration
}

// Part is one series: its columns (nil when it has no values) and its statistics.
type Part struct {
	Cols  []Col
	Stats Stats
}

// SourcePart is one source: its samples' offsets with their error bars (Lo, Hi), and its
// reachability (nil when not known).
type SourcePart struct {
	Name    string
	Samples Part
	Reach   []ReachCell
	// Key is the source's address, or a reference clock's name: the page's key of it.
	Key string
	// Falseticker: chronyd marked it so at its last point in the range; its offsets start
	// hidden, so that they do not flatten the others'.
	Falseticker bool
}

// Charts draws the charts of a view from its parts: the offset in the band of the maximum
// clock error, frequency, skew, RMS offset, root delay and dispersion, the sources' offsets,
// their reachability.
func Charts(p Parts) []Chart {
	// The system time offset, in the band of the maximum clock error. The usual scale holds
	// the offsets' 1st to 99th percentile, around zero; the band is clipped to it (a bound of
	// seconds at chronyd's start would flatten the rest), the full scale holds everything.
	offset := Chart{ID: "offset", Title: "System time offset", Unit: "s", Symmetric: true,
		Help:   "How far the system clock was from NTP time at each sample (positive: ahead), inside the band of the maximum clock error: |offset| + root dispersion + root delay / 2.",
		Series: []Series{{Name: "offset", Cols: p.Offset.Cols, Stats: p.Offset.Stats}, {Name: "max error", Stats: p.MaxError.Stats}},
		Band:   p.MaxError.Cols}
	lim := math.Max(absMax(p.Offset.Cols), p.MaxError.Stats.P99)
	offset.Min, offset.Max = -lim, lim
	st := p.Offset.Stats
	usual := math.Max(math.Abs(st.P1), math.Abs(st.P99)) * 1.1
	if st.N == 0 || usual <= 0 {
		usual = lim
	}
	offset.Lo, offset.Hi = -usual, usual
	charts := []Chart{offset,
		lineChart("frequency", "Frequency", "ppm", "How fast the system clock would run without chronyd's correction, at each clock update (positive: fast).",
			false, []string{"frequency"}, p.Frequency),
		lineChart("skew", "Skew", "ppm", "The error bound of that frequency, at each clock update.", true, []string{"skew"}, p.Skew),
		lineChart("rms", "RMS offset", "s", "The long-term average of the offset, at each clock update.", true, []string{"RMS offset"}, p.RMSOffset),
		lineChart("root", "Root delay and dispersion", "s", "The network delay and the error accumulated up to the stratum-1 clock, at each sample.",
			true, []string{"root delay", "root dispersion"}, p.RootDelay, p.RootDispersion),
	}

	// Each source's samples with their error bars, and its reachability. The usual scale holds
	// the 1st to 99th percentile of the sources chronyd uses, with their usual error bars; the
	// others are hidden until shown, and marked at the edge when beyond it.
	sources := Chart{ID: "sources", Title: "Sources' offsets", Unit: "s",
		Help: "Each sample of each source as measured, with its error bound; over 90 days and more, each column's line spans its samples, without error bars. Sources chronyd does not use (falsetickers, noselect) are hidden until shown from the legend."}
	reach := Chart{ID: "reach", Title: "Sources' reachability",
		Help: "For each source, whether it answered all (full), some (half) or none (empty) of its last 8 polls."}
	lo, hi := math.Inf(1), math.Inf(-1)
	var errs []float64
	// Error bars where a column spans less than 4 hours (to 30 days): beyond, a column's line
	// spans hundreds of samples, and the bars would double the fragment; the scales then leave
	// room for none.
	bars := p.Column < 4*time.Hour
	for _, sp := range p.Sources {
		if sp.Samples.Cols != nil {
			var own []float64
			for _, c := range sp.Samples.Cols {
				if c.Has {
					lo, hi = math.Min(lo, c.Min), math.Max(hi, c.Max)
					if bars {
						errs = append(errs, c.Hi-c.Max, c.Min-c.Lo)
						own = append(own, c.Hi-c.Max, c.Min-c.Lo)
					}
				}
			}
			key := sp.Key
			if key == "" {
				key = sp.Name
			}
			sources.Series = append(sources.Series, Series{Name: sp.Name, Key: key, Cols: sp.Samples.Cols, Stats: sp.Samples.Stats,
				Errors: bars, Hidden: sp.Falseticker, ErrP50: quantile(own, 0.5)})
		}
		if sp.Reach != nil {
			reach.Strips = append(reach.Strips, Strip{Name: sp.Name, Cells: sp.Reach})
		}
	}
	if len(sources.Series) > 0 {
		e := quantile(errs, 0.95)
		sources.Min, sources.Max = pad(lo-e, hi+e)
		sources.Lo, sources.Hi = sources.Min, sources.Max
		if l, h, ok := sources.UsualScale(func(s Series) bool { return !s.Hidden }); ok {
			sources.Lo, sources.Hi = l, h
		}
	}
	return append(charts, sources, reach)
}

// acc gathers a series: its columns, and every value for its statistics.
type acc struct {
	cols []Col
	vals []float32 // for the statistics: see statsOf
	errs bool
	roll *rolled // what the rollups gave, where the range reaches them
}

func (a *acc) add(col int, v float64) { a.addErr(col, v, v, v) }

// addErr counts a value and its error interval in column col; it is called for every record of
// a month, so it is kept to comparisons (NaN, a value not known, is left out first).
func (a *acc) addErr(col int, v, lo, hi float64) {
	if v != v {
		return
	}
	if a.vals == nil {
		a.vals = (*valsPool.Get().(*[]float32))[:0]
	}
	a.vals = append(a.vals, float32(v))
	c := &a.cols[col]
	if !c.Has {
		*c = Col{Has: true, Min: v, Max: v, Lo: lo, Hi: hi}
		return
	}
	if v < c.Min {
		c.Min = v
	}
	if v > c.Max {
		c.Max = v
	}
	if a.errs {
		if lo < c.Lo {
			c.Lo = lo
		}
		if hi > c.Hi {
			c.Hi = hi
		}
	}
}

// valsPool keeps the slices that gather a series' values for its statistics: a month of a
// series is a few hundred thousand of them, needed only while a view is made.
var valsPool = sync.Pool{New: func() any { s := make([]float32, 0, 4096); return &s }}

// release gives the values back to the pool once the statistics are made.
func (a *acc) release() {
	if a.vals != nil {
		vals := a.vals[:0]
		valsPool.Put(&vals)
		a.vals = nil
	}
}

// reachAcc gives each column the worst register a source had in it: the one it had entering
// the column (it is recorded when it changes), and every one recorded in it.
type reachAcc struct {
	cells []ReachCell
	level int // the register's level since the last point; -1 before any
	last  int // the column of the last point; -1 before any
}

func (r *reachAcc) add(col, level int) {
	if r.last >= 0 {
		for c := r.last + 1; c < col; c++ {
			r.cells[c] = ReachCell{Has: true, Level: r.level}
		}
		if col != r.last {
			r.cells[col] = ReachCell{Has: true, Level: r.level}
		}
	}
	if c := &r.cells[col]; !c.Has || level < c.Level {
		*c = ReachCell{Has: true, Level: level}
	}
	r.level, r.last = level, col
}

// finish carries the last register to the end of the range.
func (r *reachAcc) finish() ([]ReachCell, bool) {
	if r.last < 0 {
		return nil, false
	}
	for c := r.last + 1; c < len(r.cells); c++ {
		r.cells[c] = ReachCell{Has: true, Level: r.level}
	}
	return r.cells, true
}

func sourceLabel(s store.Source) string {
	if s.Address == "" || s.Address == s.Name {
		return s.Name
	}
	return s.Name + " (" + s.Address + ")"
}

// lineChart is a chart of series, its full scale all their values, its usual scale their 1st
// to 99th percentile; a quantity that cannot be negative keeps its scale at zero or above.
func lineChart(id, title, unit, help string, nonNegative bool, names []string, series ...Part) Chart {
	c := Chart{ID: id, Title: title, Unit: unit, Help: help, NonNegative: nonNegative}
	lo, hi := math.Inf(1), math.Inf(-1)
	plo, phi := math.Inf(1), math.Inf(-1)
	for i, p := range series {
		for _, col := range p.Cols {
			if col.Has {
				lo, hi = math.Min(lo, col.Min), math.Max(hi, col.Max)
			}
		}
		if st := p.Stats; st.N > 0 {
			plo, phi = math.Min(plo, st.P1), math.Max(phi, st.P99)
		}
		c.Series = append(c.Series, Series{Name: names[i], Cols: p.Cols, Stats: p.Stats})
	}
	c.Min, c.Max = pad(lo, hi)
	c.Lo, c.Hi = pad(plo, phi)
	if nonNegative {
		c.Min, c.Lo = math.Max(c.Min, 0), math.Max(c.Lo, 0)
	}
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

// grid maps times to n columns (Columns when n is 0) and knows the gaps.
type grid struct {
	from, to int64
	n        int
	scale    float64 // columns per millisecond
}

func newGrid(from, to time.Time, n int) *grid {
	g := &grid{from: from.UnixMilli(), to: to.UnixMilli(), n: n}
	if g.to > g.from {
		g.scale = float64(n) / float64(g.to-g.from)
	}
	return g
}

// col is the column of t (Unix ms); it is asked for every record of a month.
func (g *grid) col(t int64) int {
	i := int(float64(t-g.from) * g.scale)
	if i < 0 {
		return 0
	}
	if i >= g.n {
		return g.n - 1
	}
	return i
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

// Trend is a host's system time offset in a few columns, over the last 24 hours or what was
// recorded of them: a sparkline.
type Trend struct {
	Cols     []Col
	Min, Max float64
	From, To time.Time // what the columns span: from the record's start, at most 24 hours back
}

// Span says what the trend spans: "last 14 min", "last 24 h" (what an engine's trend, which
// does not say, always spans).
func (t Trend) Span() string {
	if t.From.IsZero() {
		return "last 24 h"
	}
	return "last " + diagnose.Ago(t.To.Sub(t.From))
}

// TrendColumns is how many columns a trend has: a quarter of an hour each.
const TrendColumns = 96

// TrendOf is the sparkline of columns of the system time offset, on a scale around zero.
func TrendOf(cols []Col) Trend {
	lim := absMax(cols)
	return Trend{Cols: cols, Min: -lim, Max: lim}
}

// Trend is host's sparkline for the 24 hours to now, or from the start of its record when that
// is later (a fresh install's first minutes are drawn across the whole sparkline, not as a tick
// at its end), kept until new data comes or a column passes. ok is false when there is nothing
// to draw.
func (s *Service) Trend(ctx context.Context, host string, now time.Time) (Trend, bool) {
	st, err := s.openStore()
	if err != nil {
		return Trend{}, false
	}
	span := 24 * time.Hour
	if h := s.Moments(host); h.Known && !h.Start.IsZero() && now.Sub(h.Start) < span {
		// The columns span what is recorded, a minute at least, in steps of a column's time.
		span = max(now.Sub(h.Start), time.Minute)
		span = (span + time.Minute - 1).Truncate(time.Minute)
	}
	col := span / TrendColumns
	to := now.Truncate(col).Add(col)
	version := s.version(host)
	stm := stamp{version: version, to: to.UnixMilli(), span: int64(span)}
	if t, ok := s.trends.get(host, stm); ok {
		return t, len(t.Cols) > 0
	}
	t, err := light(ctx, s, fmt.Sprintf("trend %s %d %d %d", host, stm.to, version, span), func(ctx context.Context) (Trend, error) {
		from := to.Add(-span)
		g := newGrid(from, to, TrendColumns)
		a := acc{cols: make([]Col, TrendColumns)}
		var gaps []store.Gap
		err := st.Walk(ctx, host, from, to, store.Visitor{
			Sample: func(sm store.Sample) { a.add(g.col(sm.T.UnixMilli()), sm.OffsetSeconds) },
			Gap:    func(gap store.Gap) { gaps = append(gaps, gap) },
		})
		if err != nil {
			return Trend{}, err
		}
		t := Trend{From: from, To: now}
		if len(a.vals) > 0 {
			for _, gap := range gaps {
				for i := g.col(gap.Start.UnixMilli()); i <= g.col(gap.End.UnixMilli()); i++ {
					a.cols[i].Broken = true
				}
			}
			t = TrendOf(a.cols)
			t.From, t.To = from, now
			a.release()
		}
		s.trends.put(host, stm, t, int64(unsafe.Sizeof(t))+int64(len(t.Cols))*int64(unsafe.Sizeof(Col{})))
		return t, nil
	})
	return t, err == nil && len(t.Cols) > 0
}

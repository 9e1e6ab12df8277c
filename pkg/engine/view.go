package engine

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/store"
)

// History reads hosts' history from the engine: a history.Reader for hosts second-hand
// knows by the engine's host label.
type History struct {
	e *Engine
	// label is the host label's value of a host second-hand names otherwise (the engine's
	// names made safe for a URL); a name not in it is its own label value.
	label func(name string) string
}

var _ history.Reader = (*History)(nil)

// History is the history of the hosts, read from the engine; label maps second-hand's name of
// a host to the host label's value (nil: Engine.Label).
func (e *Engine) History(label func(name string) string) *History {
	if label == nil {
		label = e.Label
	}
	return &History{e: e, label: label}
}

// Status says where the history comes from.
func (h *History) Status(string) history.Status { return history.Status{Engine: h.e.cfg.URL} }

// Views is how many queries a view takes, whatever the number of sources: the clock's columns,
// the sources' columns, and the statistics in two (a query's length is bounded: 16 KB by
// default in VictoriaMetrics).
const Views = 4

// View is host's history over rng: columns of min..max (min_over_time and max_over_time with
// the column's width as step and window), gaps where chrony_up was 0, and each series'
// statistics from every raw point of the range (quantile_over_time and its kin).
func (h *History) View(ctx context.Context, host string, rng history.Range, at, now time.Time) (history.View, error) {
	col := rng.D / history.Columns
	to := now
	if !at.IsZero() && at.Before(now.Add(-rng.D/2)) {
		to = at.Add(rng.D / 2)
	}
	to = to.Truncate(col).Add(col)
	from := to.Add(-rng.D)
	key := fmt.Sprintf("view|%s|%s|%d|%d", host, rng.Name, to.UnixMilli(), at.UnixMilli())
	ttl := min(max(col, h.e.cfg.Reuse), ViewReuse)
	return shared(ctx, h.e, key, ttl, func(ctx context.Context) (history.View, error) {
		return h.view(ctx, h.label(host), host, rng, from, to, at)
	})
}

// The clock's series, by the name of their part in the queries.
var clockSeries = []struct{ part, metric string }{
	{"sys", mSystemTime}, {"maxerr", mMaxError}, {"freq", mFrequency}, {"skew", mSkew},
	{"rms", mRMSOffset}, {"delay", mRootDelay}, {"disp", mRootDisp},
}

// A statistic of a series over the range: its name in the query's tag, and how it is asked
// of sel over the window w, grouped by (one series per host, and per source).
type statPart struct {
	name string
	fn   func(by, sel, w string) string
}

// statParts are the statistics asked of each series. The percentiles are asked one by one in
// PromQL; VictoriaMetrics' quantiles_over_time gives the five from one sort of the values (a
// month of a series is 43,200 of them at a scrape a minute).
func statParts(dialect int32) []statPart {
	over := func(fn string) statPart {
		return statPart{fn, func(by, sel, w string) string { return "max " + by + " (" + fn + "_over_time(" + sel + "[" + w + "]))" }}
	}
	// The least and the greatest come from the columns, whose windows make up the range.
	parts := []statPart{over("avg"), over("stddev"), over("count")}
	if dialect == dialectMetricsQL {
		// VictoriaMetrics' aggr_over_time gives the mean, the spread and the count from one
		// read of the values (a series each, named by its rollup label), not three.
		return []statPart{{"agg", func(by, sel, w string) string {
			return "max " + strings.Replace(by, ")", ",rollup)", 1) +
				` (aggr_over_time(("avg_over_time","stddev_over_time","count_over_time"),` + sel + "[" + w + "]))"
		}}, {"q", func(by, sel, w string) string {
			return "max " + strings.Replace(by, ")", ","+quantileLabel+")", 1) +
				` (quantiles_over_time("` + quantileLabel + `",` + strings.Join(quantiles, ",") + "," + sel + "[" + w + "]))"
		}}}
	}
	for _, q := range quantiles {
		parts = append(parts, statPart{"q" + strings.TrimPrefix(q, "0."), func(by, sel, w string) string {
			return "max " + by + " (quantile_over_time(" + q + "," + sel + "[" + w + "]))"
		}})
	}
	return parts
}

// The percentiles the statistics have, and the label VictoriaMetrics' quantiles_over_time
// names each by.
var quantiles = []string{"0.01", "0.05", "0.5", "0.95", "0.99"}

const quantileLabel = "sh_q"

func (h *History) view(ctx context.Context, label, host string, rng history.Range, from, to, at time.Time) (history.View, error) {
	e := h.e
	col := rng.D / history.Columns
	w := dur(col)
	r := v1.Range{Start: from.Add(col), End: to, Step: col}

	// The clock's columns, and chrony_up's.
	var clockQ []string
	for _, s := range clockSeries {
		sel := e.sel(s.metric, label)
		clockQ = append(clockQ,
			tagged(s.part+"_min", "min "+e.by()+" (min_over_time("+sel+"["+w+"]))"),
			tagged(s.part+"_max", "max "+e.by()+" (max_over_time("+sel+"["+w+"]))"))
	}
	clockQ = append(clockQ, tagged("up_min", "min "+e.by()+" (min_over_time("+e.sel(mUp, label)+"["+w+"]))"))

	// The sources' columns: offsets, error bars, whether sampled, reachability.
	src := e.by(lSourceAddress, lSourceName)
	srcQ := []string{
		tagged("off_min", "min "+src+" (min_over_time("+e.sel(mSrcOffset, label)+"["+w+"]))"),
		tagged("off_max", "max "+src+" (max_over_time("+e.sel(mSrcOffset, label)+"["+w+"]))"),
		tagged("err_max", "max "+src+" (max_over_time("+e.sel(mSrcError, label)+"["+w+"]))"),
		tagged("age_min", "min "+src+" (min_over_time("+e.sel(mSrcAge, label)+"["+w+"]))"),
		tagged("reach_min", "min "+src+" (min_over_time("+e.sel(mSrcReach, label)+"["+w+"]))"),
	}

	// The statistics over the range, from every value in it: the clock's series in two
	// queries (each is bounded in length: 16 KB by default in VictoriaMetrics), the sources'
	// offsets with the second.
	dialect, err := e.dialectOf(ctx)
	if err != nil {
		return history.View{}, err
	}
	rw := dur(rng.D)
	asked := statParts(dialect)
	var statsA, statsB []string
	for _, s := range clockSeries {
		for _, st := range asked {
			part := tagged(s.part+"_"+st.name, st.fn(e.by(), e.sel(s.metric, label), rw))
			if s.part == "sys" || s.part == "maxerr" || s.part == "delay" || s.part == "disp" {
				statsA = append(statsA, part)
			} else {
				statsB = append(statsB, part)
			}
		}
	}
	for _, st := range asked {
		statsB = append(statsB, tagged("src_"+st.name, st.fn(src, e.sel(mSrcOffset, label), rw)))
	}

	var clock, sources model.Matrix
	var sa, sb model.Vector
	var errs [4]error
	var wg sync.WaitGroup
	wg.Go(func() { clock, errs[0] = e.ranged(ctx, or(clockQ...), r) })
	wg.Go(func() { sources, errs[1] = e.ranged(ctx, or(srcQ...), r) })
	wg.Go(func() { sa, errs[2] = e.instant(ctx, or(statsA...), to) })
	sb, errs[3] = e.instant(ctx, or(statsB...), to)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return history.View{}, err
		}
	}
	all := append(sa, sb...)
	// chrony_exporter has no maximum error of its own: its statistics are those of the bound
	// computed from the system time, root delay and dispersion, at the columns' resolution, in
	// one more query, asked only then.
	if !hasPart(all, "maxerr") && hasPart(all, "sys") {
		maxErrExpr := "(abs(" + e.sel(mSystemTime, label) + ")+" + e.sel(mRootDisp, label) + "+" + e.sel(mRootDelay, label) + "/2)"
		var parts []string
		for _, st := range asked {
			parts = append(parts, tagged("maxerr_"+st.name, st.fn(e.by(), maxErrExpr, rw+":"+w)))
		}
		more, err := e.instant(ctx, or(parts...), to)
		if err != nil {
			return history.View{}, err
		}
		all = append(all, more...)
	}
	stats := statsOf(all, lSourceAddress, lSourceName)

	v := history.View{Host: host, Range: rng, From: from, To: to, At: at}
	g := grid{from: from, col: col}
	cols := g.parts(clock)
	p := history.Parts{Column: col}
	offMin, offMax := cols["sys_max"], cols["sys_min"] // the offset is the system time's opposite
	p.Offset = history.Part{Cols: joinCols(offMin, offMax, func(lo, hi float64) (float64, float64) { return -lo, -hi }), Stats: negate(stats.get("sys", ""))}
	p.MaxError = history.Part{Cols: joinCols(cols["maxerr_min"], cols["maxerr_max"], nil), Stats: stats.get("maxerr", "")}
	if p.MaxError.Cols == nil && p.Offset.Cols != nil {
		p.MaxError.Cols = boundCols(p.Offset.Cols, cols["delay_max"], cols["disp_max"])
	}
	p.Frequency = history.Part{Cols: joinCols(cols["freq_min"], cols["freq_max"], nil), Stats: stats.get("freq", "")}
	p.Skew = history.Part{Cols: joinCols(cols["skew_min"], cols["skew_max"], nil), Stats: stats.get("skew", "")}
	p.RMSOffset = history.Part{Cols: joinCols(cols["rms_min"], cols["rms_max"], nil), Stats: stats.get("rms", "")}
	p.RootDelay = history.Part{Cols: joinCols(cols["delay_min"], cols["delay_max"], nil), Stats: stats.get("delay", "")}
	p.RootDispersion = history.Part{Cols: joinCols(cols["disp_min"], cols["disp_max"], nil), Stats: stats.get("disp", "")}
	p.Sources = g.sources(sources, stats)
	for _, part := range []*history.Part{&p.Offset, &p.MaxError, &p.Frequency, &p.Skew, &p.RMSOffset, &p.RootDelay, &p.RootDispersion} {
		extremes(part)
	}
	for i := range p.Sources {
		extremes(&p.Sources[i].Samples)
	}
	v.Points = p.Offset.Stats.N
	for _, sp := range p.Sources {
		v.Points += sp.Samples.Stats.N
	}

	// Gaps: the columns where chronyd did not answer a scrape.
	if up := cols["up_min"]; up != nil {
		for i := 0; i < len(up); i++ {
			if !up[i].Has || up[i].Min != 0 {
				continue
			}
			j := i
			for j+1 < len(up) && up[j+1].Has && up[j+1].Min == 0 {
				j++
			}
			v.Gaps = append(v.Gaps, store.Gap{Start: g.start(i), End: g.start(j + 1),
				Error: "chronyd did not answer its exporter's scrapes (chrony_up 0)"})
			i = j
		}
	}
	for _, gap := range v.Gaps {
		for _, part := range []*history.Part{&p.Offset, &p.MaxError, &p.Frequency, &p.Skew, &p.RMSOffset, &p.RootDelay, &p.RootDispersion} {
			breakCols(part.Cols, g, gap)
		}
		for i := range p.Sources {
			breakCols(p.Sources[i].Samples.Cols, g, gap)
		}
	}
	v.Charts = history.Charts(p)
	return v, nil
}

// grid maps the points of a range query to the columns of a view: a point at t is the
// column that ends at t (its window is (t - step, t]).
type grid struct {
	from time.Time
	col  time.Duration
}

func (g grid) index(t model.Time) int {
	i := int(t.Time().Sub(g.from)/g.col) - 1
	return min(max(i, 0), history.Columns-1)
}

func (g grid) start(i int) time.Time { return g.from.Add(time.Duration(i) * g.col) }

// parts are the series of a query, by their tag, each as columns holding one value (Min).
func (g grid) parts(m model.Matrix) map[string][]history.Col {
	out := map[string][]history.Col{}
	for _, s := range m {
		out[string(s.Metric[tag])] = g.columns(s.Values)
	}
	return out
}

func (g grid) columns(points []model.SamplePair) []history.Col {
	cols := make([]history.Col, history.Columns)
	for _, p := range points {
		if v, ok := valid(p.Value); ok {
			cols[g.index(p.Timestamp)] = history.Col{Has: true, Min: v, Max: v, Lo: v, Hi: v}
		}
	}
	return cols
}

// joinCols makes one series' columns from the columns of its least and its greatest values,
// through f when set (the offset's are the system time's, negated); nil when it has none.
func joinCols(lo, hi []history.Col, f func(lo, hi float64) (float64, float64)) []history.Col {
	if lo == nil || hi == nil {
		return nil
	}
	out := make([]history.Col, len(lo))
	for i := range lo {
		if !lo[i].Has || !hi[i].Has {
			continue
		}
		a, b := lo[i].Min, hi[i].Min
		if f != nil {
			a, b = f(a, b)
		}
		out[i] = history.Col{Has: true, Min: a, Max: b, Lo: a, Hi: b}
	}
	return out
}

// extremes sets a part's least and greatest values from its columns: each holds the least
// and the greatest of its window, and the windows make up the range.
func extremes(p *history.Part) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range p.Cols {
		if c.Has {
			lo, hi = math.Min(lo, c.Min), math.Max(hi, c.Max)
		}
	}
	if p.Stats.N > 0 && !math.IsInf(lo, 0) {
		p.Stats.Min, p.Stats.Max = lo, hi
	}
}

// boundCols is the maximum clock error where the series have none of their own
// (chrony_exporter's): per column, the greatest |offset| plus the greatest root dispersion
// plus half the greatest root delay, a bound on the greatest of the samples'.
func boundCols(offset, delay, disp []history.Col) []history.Col {
	out := make([]history.Col, len(offset))
	for i, c := range offset {
		if !c.Has || delay == nil || disp == nil || !delay[i].Has || !disp[i].Has {
			continue
		}
		v := math.Max(math.Abs(c.Min), math.Abs(c.Max)) + disp[i].Min + delay[i].Min/2
		out[i] = history.Col{Has: true, Min: v, Max: v, Lo: v, Hi: v}
	}
	return out
}

func breakCols(cols []history.Col, g grid, gap store.Gap) {
	if cols == nil {
		return
	}
	first := int(gap.Start.Sub(g.from) / g.col)
	last := int(gap.End.Sub(g.from)/g.col) - 1
	for i := max(first, 0); i <= min(last, len(cols)-1); i++ {
		cols[i].Broken = true
	}
}

// sources are the sources' parts: for each source with a sample in the range, its offsets
// with error bars (the greatest margin of the column on each side), and its reachability,
// in the order of their names.
func (g grid) sources(m model.Matrix, stats statsByPart) []history.SourcePart {
	type acc struct {
		src                            store.Source
		offMin, offMax, errMax, ageMin []history.Col
		reach                          []history.Col
	}
	bySource := map[store.Source]*acc{}
	for _, s := range m {
		src := store.Source{Name: string(s.Metric[lSourceName]), Address: string(s.Metric[lSourceAddress])}
		a := bySource[src]
		if a == nil {
			a = &acc{src: src}
			bySource[src] = a
		}
		cols := g.columns(s.Values)
		switch s.Metric[tag] {
		case "off_min":
			a.offMin = cols
		case "off_max":
			a.offMax = cols
		case "err_max":
			a.errMax = cols
		case "age_min":
			a.ageMin = cols
		case "reach_min":
			a.reach = cols
		}
	}
	var out []history.SourcePart
	for _, a := range bySource {
		sp := history.SourcePart{Name: history.SourceName(a.src)}
		if a.offMin != nil && a.offMax != nil {
			cols := make([]history.Col, history.Columns)
			any := false
			for i := range cols {
				// A column has a sample when the source had one then: chrony_exporter says
				// "never" with an age of 2^32 - 1, second-hand by leaving the age out.
				sampled := a.ageMin != nil && a.ageMin[i].Has && a.ageMin[i].Min < neverSampled
				if !a.offMin[i].Has || !a.offMax[i].Has || !sampled {
					continue
				}
				margin := 0.0
				if a.errMax != nil && a.errMax[i].Has {
					margin = a.errMax[i].Min
				}
				lo, hi := a.offMin[i].Min, a.offMax[i].Min
				cols[i] = history.Col{Has: true, Min: lo, Max: hi, Lo: lo - margin, Hi: hi + margin}
				any = true
			}
			if any {
				sp.Samples = history.Part{Cols: cols, Stats: stats.get("src", a.src.Address+"\x00"+a.src.Name)}
			}
		}
		if a.reach != nil {
			sp.Reach = make([]history.ReachCell, history.Columns)
			for i, c := range a.reach {
				if c.Has {
					sp.Reach[i] = history.ReachCell{Has: true, Level: reachLevel(c.Min)}
				}
			}
		}
		if sp.Samples.Cols != nil || sp.Reach != nil {
			out = append(out, sp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// reachLevel is how much of its last 8 polls a source answered, from the ratio of them: 2 all,
// 1 some, 0 none.
func reachLevel(ratio float64) int {
	switch {
	case ratio >= 1-1e-9:
		return 2
	case ratio <= 1e-9:
		return 0
	}
	return 1
}

// hasPart reports whether vec has a statistic of series (a part tagged series_...).
func hasPart(vec model.Vector, series string) bool {
	for _, s := range vec {
		if strings.HasPrefix(string(s.Metric[tag]), series+"_") {
			return true
		}
	}
	return false
}

// statsByPart are the statistics of a query's series by their part ("sys") and, for the
// sources, their address and name.
type statsByPart map[string]*history.Stats

func statsOf(vec model.Vector, labels ...string) statsByPart {
	out := statsByPart{}
	for _, s := range vec {
		// The statistic is the last part of the tag: sys_q01, src_n.
		t := string(s.Metric[tag])
		i := strings.LastIndexByte(t, '_')
		if i < 0 {
			continue
		}
		name, stat := t[:i], t[i+1:]
		var key []string
		for _, l := range labels {
			key = append(key, string(s.Metric[model.LabelName(l)]))
		}
		k := name + "|" + strings.Join(key, "\x00")
		st := out[k]
		if st == nil {
			st = &history.Stats{}
			out[k] = st
		}
		v, ok := valid(s.Value)
		if !ok {
			continue
		}
		switch stat { // VictoriaMetrics' one series per rollup or percentile, named by a label
		case "agg": // aggr_over_time: "avg_over_time" is avg
			stat = strings.TrimSuffix(string(s.Metric["rollup"]), "_over_time")
		case "q": // quantiles_over_time: "0.01" is q01
			stat = "q" + strings.TrimPrefix(string(s.Metric[quantileLabel]), "0.")
		}
		switch stat {
		case "q01":
			st.P1 = v
		case "q05":
			st.P5 = v
		case "q5":
			st.P50 = v
		case "q95":
			st.P95 = v
		case "q99":
			st.P99 = v
		case "min":
			st.Min = v
		case "max":
			st.Max = v
		case "avg":
			st.Mean = v
		case "stddev":
			st.StdDev = v
		case "count":
			st.N = int(v)
		}
	}
	return out
}

// get is the statistics of a part; key is a source's address and name joined by a NUL, ""
// for the clock's parts (which have no source labels).
func (s statsByPart) get(part, key string) history.Stats {
	if key == "" {
		key = "\x00"
	}
	if st := s[part+"|"+key]; st != nil {
		return *st
	}
	return history.Stats{}
}

// negate is the statistics of the opposite series: the offset's, from the system time's.
func negate(s history.Stats) history.Stats {
	return history.Stats{N: s.N, Min: -s.Max, P1: -s.P99, P5: -s.P95, P50: -s.P50, P95: -s.P5, P99: -s.P1, Max: -s.Min,
		Mean: -s.Mean, StdDev: s.StdDev}
}

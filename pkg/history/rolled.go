package history

import (
	"context"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/second-hand/second-hand/pkg/store"
)

// A view reaches back beyond the raw records (kept --retention-raw, 7 days by default) into the
// store's rollups: the part of its range up to the end of the summarised days is drawn from
// the summaries of 5 minutes (or of 1 hour where a column spans four hours
// or more, or where the 5-minute ones are no longer kept), the rest from the raw records. Each
// column still shows the least and the greatest value that fell in it; the statistics merge
// the summaries' counts, means and spreads (exact) and their histograms (percentiles within
// store.HistError).

// rolled is what an acc gathers from the rollups, for its statistics.
type rolled struct {
	sum  store.Summary
	hist store.Hist
}

// addSummary draws an interval's summary in column col and counts it in the statistics (the
// histogram apart: a day's comes whole, see fillRollups).
func (a *acc) addSummary(col int, s store.Summary) {
	if s.N == 0 {
		return
	}
	if a.roll == nil {
		a.roll = &rolled{sum: store.Summary{Level: -1}}
	}
	a.roll.sum.Merge(s)
	lo, hi := s.Min, s.Max
	if a.errs {
		lo, hi = s.Lo, s.Hi
	}
	c := &a.cols[col]
	if !c.Has {
		*c = Col{Has: true, Min: s.Min, Max: s.Max, Lo: lo, Hi: hi}
		return
	}
	c.Min, c.Max = math.Min(c.Min, s.Min), math.Max(c.Max, s.Max)
	if a.errs {
		c.Lo, c.Hi = math.Min(c.Lo, lo), math.Max(c.Hi, hi)
	}
}

// has reports whether the series has any value, raw or summarised.
func (a *acc) has() bool { return len(a.vals) > 0 || a.roll != nil && a.roll.sum.N > 0 }

// stats are the series' statistics: exact from the raw values alone; merged with the
// summaries' (percentiles from the histograms) when the range reaches into the rollups.
func (a *acc) stats() Stats {
	if a.roll == nil {
		return statsOf(a.vals)
	}
	r := a.roll
	for _, v := range a.vals {
		f := float64(v)
		r.sum.Merge(store.Summary{N: 1, Min: f, Max: f, Mean: f, Lo: f, Hi: f, Level: -1})
		r.hist.Add(f)
	}
	sm := r.sum
	s := Stats{N: sm.N, Min: sm.Min, Max: sm.Max, Mean: sm.Mean, StdDev: sm.StdDev(), Approx: true}
	n := r.hist.N()
	if n == 0 {
		return s
	}
	p := func(q float64) float64 {
		return math.Min(math.Max(r.hist.Rank(uint64(rank(int(n), q))), sm.Min), sm.Max)
	}
	s.P1, s.P5, s.P50, s.P95, s.P99 = p(0.01), p(0.05), p(0.50), p(0.95), p(0.99)
	return s
}

// rawFrom is where a view of host from from at now reads the raw records from: a range that
// starts within the raw records' retention (its first whole day) is read raw, exactly; one
// that starts before reads the summaries up to the end of the summarised days, and the raw
// records (a day or so) after. Zero when the whole range is read raw.
func (s *Service) rawFrom(st *store.Store, host string, from, now time.Time) time.Time {
	done := st.RolledUntil(host)
	if done.IsZero() || !from.Before(now.Add(-s.cfg.Retention.Raw).Truncate(24*time.Hour).Add(24*time.Hour)) {
		return time.Time{}
	}
	return done
}

// fillRollups draws [from, until) of host's record from the rollups, in the builder's columns
// and statistics.
func (b *builder) fillRollups(ctx context.Context, st *store.Store, host string, from, until, now time.Time, keep store.Retention) error {
	// 5-minute summaries unless a column spans four hours; where they are no longer kept, the
	// hourly ones.
	cut := until
	if b.view0.Range.D/Columns < 4*time.Hour {
		cut = now.Add(-keep.FiveMin).Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	parts := []struct {
		level    int
		from, to time.Time
	}{{store.Level1h, from, minTime(cut, until)}, {store.Level5m, maxTime(cut, from), until}}
	for _, p := range parts {
		if !p.from.Before(p.to) {
			continue
		}
		partial := !p.from.Equal(p.from.Truncate(24 * time.Hour))
		err := st.WalkRollups(ctx, host, p.level, p.from, p.to, false, func(k store.MetricKey, r store.RollupDay) {
			a, sa := b.rolledAcc(k)
			if a == nil {
				return
			}
			whole := !r.Day.Before(p.from) && !r.Day.Add(24*time.Hour).After(p.to)
			for i := range r.Len() {
				t, sm := r.Bucket(i)
				if t.Before(p.from) || !t.Before(p.to) {
					continue
				}
				col := b.g.col(t.UnixMilli())
				a.addSummary(col, sm)
				b.rolledN += sm.N
				if sa != nil && sm.Level >= 0 {
					sa.reach.add(col, int(sm.Level))
				}
			}
			if whole && a.roll != nil {
				a.roll.hist.AddEncoded(r.DayHist())
			}
		})
		if err != nil {
			return err
		}
		if !partial {
			continue
		}
		// The first day is in the range in part: its intervals' histograms, those in range.
		err = st.WalkRollups(ctx, host, p.level, p.from, p.from, true, func(k store.MetricKey, r store.RollupDay) {
			a, _ := b.rolledAcc(k)
			if a == nil || a.roll == nil || !r.Day.Equal(p.from.Truncate(24*time.Hour)) {
				return
			}
			r.BucketHists(func(i int, h []byte) {
				if t, _ := r.Bucket(i); !t.Before(p.from) && t.Before(p.to) {
					a.roll.hist.AddEncoded(h)
				}
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rolledPart is what a view drew from the rollups, kept for the next computation of the same
// view: the summaries change once a day, the raw records at every sample, so a view of a year
// reads the year once and the raw day after it at each refresh.
type rolledPart struct {
	accs    []acc // the clock's and the serving series', in builder.fixedAccs' order
	sources []sourceAcc
	n       int
}

// rolledKey is the rollups' part of a view: host, range, and where it starts and ends.
type rolledKey struct {
	host     string
	rng      string
	from, to int64
}

// fixedAccs are the builder's series other than the sources'.
func (b *builder) fixedAccs() []*acc {
	return append([]*acc{&b.off, &b.bound, &b.delay, &b.disp, &b.freq, &b.skew, &b.rms}, b.serving.accs()...)
}

// snapshot copies what the rollups gave, before the raw records are added.
func (b *builder) snapshot() *rolledPart {
	p := &rolledPart{n: b.rolledN}
	for _, a := range b.fixedAccs() {
		p.accs = append(p.accs, a.clone())
	}
	for _, sa := range b.sources {
		c := *sa
		c.samples = sa.samples.clone()
		c.reach.cells = append([]ReachCell(nil), sa.reach.cells...)
		p.sources = append(p.sources, c)
	}
	return p
}

// restore starts the builder from a snapshot (copied again: the raw records are added to it).
func (b *builder) restore(p *rolledPart) {
	for i, a := range b.fixedAccs() {
		*a = p.accs[i].clone()
	}
	for _, sa := range p.sources {
		c := b.source(sa.src)
		c.samples = sa.samples.clone()
		c.reach = sa.reach
		c.reach.cells = append([]ReachCell(nil), sa.reach.cells...)
	}
	b.rolledN = p.n
}

// clone is a copy of a's columns and summaries (its raw values are none yet).
func (a *acc) clone() acc {
	c := acc{cols: append([]Col(nil), a.cols...), errs: a.errs}
	if a.roll != nil {
		r := *a.roll
		c.roll = &r
	}
	return c
}

// size is about how many bytes a part holds, for its cache's bound.
func (p *rolledPart) size() int64 {
	n := int64(unsafe.Sizeof(*p))
	for _, a := range p.accs {
		n += int64(len(a.cols))*int64(unsafe.Sizeof(Col{})) + int64(unsafe.Sizeof(rolled{}))
	}
	for _, sa := range p.sources {
		n += int64(len(sa.samples.cols))*int64(unsafe.Sizeof(Col{})) + int64(unsafe.Sizeof(rolled{})) + int64(len(sa.reach.cells))*int64(unsafe.Sizeof(ReachCell{}))
	}
	return n
}

// fillRollupsCached is fillRollups, from the cache when the same part was drawn from the same
// summaries before (by the warmer, warm.go, or an earlier view).
func (s *Service) fillRollupsCached(ctx context.Context, b *builder, st *store.Store, host string, from, until, now time.Time) error {
	p, err := s.rolledPartOf(ctx, st, host, b.view0.Range, from, until, now, false)
	if err != nil {
		return err
	}
	b.restore(p)
	return nil
}

// partHook, when set (by tests), is called as a part starts being drawn.
var partHook func(ctx context.Context)

// rolledPartOf is what a view of rng from from draws from host's summaries up to until: from
// the cache, or computed once for every caller asking at the same time (the flight's key names
// the summaries' generation). A view's computation asks it from its own slot; the warmer
// (warm) from the slot it took, in its own goroutine (lead), so that Close waits for it and
// cancels it.
func (s *Service) rolledPartOf(ctx context.Context, st *store.Store, host string, rng Range, from, until, now time.Time, lead bool) (*rolledPart, error) {
	key := rolledKey{host: host, rng: rng.Name, from: from.UnixMilli(), to: until.UnixMilli()}
	stm := stamp{version: st.RollupGeneration(host)}
	if p, ok := s.rolledParts.get(key, stm); ok {
		return p, nil
	}
	flight := partFlight(key, stm)
	compute := func(ctx context.Context) (*rolledPart, error) {
		s.partsComputed.Add(1)
		s.partsRunning.Add(1)
		defer s.partsRunning.Add(-1)
		// One drawing of a flight at a time (the flight sees to it): the warmer waits on it.
		done := make(chan struct{})
		s.drawing.Store(flight, done)
		defer func() {
			s.drawing.Delete(flight)
			close(done)
		}()
		if partHook != nil {
			partHook(ctx)
		}
		b := newBuilder(host, from, from.Add(rng.D), rng, time.Time{})
		if err := b.fillRollups(ctx, st, host, from, until, now, s.cfg.Retention); err != nil {
			return nil, err
		}
		p := b.snapshot()
		s.rolledParts.put(key, stm, p, p.size())
		return p, nil
	}
	if !lead {
		return light(ctx, s, flight, compute)
	}
	v, err, _ := s.flights.Do(flight, func() (any, error) { return compute(ctx) })
	if err != nil {
		return nil, err
	}
	return v.(*rolledPart), nil
}

// partFlight names the flight that draws the part key from the summaries' generation stm.
func partFlight(key rolledKey, stm stamp) string {
	return fmt.Sprintf("rolled %s %s %d %d %d", key.host, key.rng, key.from, key.to, stm.version)
}

// rolledAcc is the acc a metric is drawn in (and its source's, for a source's offsets); nil
// for a metric the charts do not draw.
func (b *builder) rolledAcc(k store.MetricKey) (*acc, *sourceAcc) {
	switch k.Name {
	case store.MetricOffset:
		return &b.off, nil
	case store.MetricMaxError:
		return &b.bound, nil
	case store.MetricRootDelay:
		return &b.delay, nil
	case store.MetricRootDispersion:
		return &b.disp, nil
	case store.MetricFrequency:
		return &b.freq, nil
	case store.MetricSkew:
		return &b.skew, nil
	case store.MetricRMSOffset:
		return &b.rms, nil
	case store.MetricSource:
		sa := b.source(k.Source)
		return &sa.samples, sa
	}
	if a := b.serving.acc(k.Name); a != nil {
		return a, nil
	}
	return nil, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

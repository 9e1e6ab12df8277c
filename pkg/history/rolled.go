package history

import (
	"context"
	"math"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

// A view reaches back beyond the raw records (kept --retention-raw, 7 days by default) into the
// store's rollups: the part of its range before a day boundary where the raw records surely
// begin is drawn from the summaries of 5 minutes (or of 1 hour where a column spans four hours
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

// rawFrom is where a view of host at now reads the raw records from: the first whole day the
// raw records surely hold, or the end of the summarised days if that is earlier. Zero when
// nothing is summarised: every part of a range is read raw.
func (s *Service) rawFrom(st *store.Store, host string, now time.Time) time.Time {
	done := st.RolledUntil(host)
	if done.IsZero() {
		return time.Time{}
	}
	b := now.Add(-s.cfg.Retention.Raw).Truncate(24 * time.Hour).Add(24 * time.Hour)
	if done.Before(b) {
		return done
	}
	return b
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

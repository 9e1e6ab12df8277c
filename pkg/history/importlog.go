package history

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylog"
	"github.com/second-hand/second-hand/pkg/store"
)

// FileReport is what importing one log did.
type FileReport struct {
	Path     string
	Kind     chronylog.Kind
	Lines    int // records read
	Problems []chronylog.Problem
}

// Import reads chronyd's statistics logs (tracking.log, measurements.log, statistics.log,
// and rotated copies of them) into host's history in st, so that history starts before
// second-hand was installed. Records already in the store are not added again. A line that
// cannot be read is reported and skipped.
//
// Give the three logs of a period together: a line of statistics.log is joined to the
// measurement of the same source in the same second, when measurements.log is imported with it.
func Import(ctx context.Context, st *store.Store, host string, paths []string) ([]FileReport, error) {
	var reports []FileReport
	var tracking []chronylog.Tracking
	var meas []chronylog.Measurement
	var stats []chronylog.Statistic
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return reports, err
		}
		log, err := chronylog.Parse(f, path)
		f.Close()
		if err != nil {
			return reports, fmt.Errorf("%s: %w", path, err)
		}
		reports = append(reports, FileReport{Path: path, Kind: log.Kind, Lines: log.Lines(), Problems: log.Problems})
		tracking = append(tracking, log.Tracking...)
		meas = append(meas, log.Measurements...)
		stats = append(stats, log.Statistics...)
	}

	// The logs name a source by its address; second-hand's record, by its configured name too.
	names := map[string]store.Source{}
	for _, s := range st.Sources(host) {
		if s.Address != "" {
			names[s.Address] = s
		}
	}
	source := func(addr string) store.Source {
		if s, ok := names[addr]; ok {
			return s
		}
		if isIP(addr) {
			return store.Source{Name: addr, Address: addr}
		}
		return store.Source{Name: addr} // a reference clock's ID
	}

	// The logs' times are to the second, and chronyd may write several lines of one kind in a
	// second (it polls several times a second in a lab): the n-th line of a second is taken n
	// milliseconds into it, so that none is lost and a second import gives the same times.
	tracking = spread(tracking, func(t *chronylog.Tracking) *time.Time { return &t.T }, func(*chronylog.Tracking) string { return "" })
	meas = spread(meas, func(m *chronylog.Measurement) *time.Time { return &m.T }, func(m *chronylog.Measurement) string { return m.Address })
	stats = spread(stats, func(s *chronylog.Statistic) *time.Time { return &s.T }, func(s *chronylog.Statistic) string { return s.Source })

	var b store.Batch
	var prev time.Time
	for _, t := range tracking {
		interval := math.NaN()
		if !prev.IsZero() {
			interval = t.T.Sub(prev).Seconds()
		}
		prev = t.T
		b.Updates = append(b.Updates, store.Update{T: t.T, OffsetSeconds: t.OffsetSeconds, FrequencyPPM: t.FrequencyPPM,
			ResidualFrequencyPPM: math.NaN(), SkewPPM: t.SkewPPM, RMSOffsetSeconds: math.NaN(), RootDelaySeconds: t.RootDelaySeconds,
			RootDispersionSeconds: t.RootDispersionSeconds, UpdateIntervalSeconds: interval, Stratum: t.Stratum, Leap: leapOf(t.Leap),
			Reference: t.Reference})
		// The remaining correction is what chronyd still had to apply: the clock's offset then.
		b.Samples = append(b.Samples, store.Sample{T: t.T, OffsetSeconds: -t.RemainingCorrection, RootDelaySeconds: t.RootDelaySeconds,
			RootDispersionSeconds: t.RootDispersionSeconds, State: stateOf(t)})
	}

	type key struct {
		src store.Source
		t   int64
	}
	points := map[key]*store.SourcePoint{}
	var order []key
	for _, m := range meas {
		k := key{source(m.Address), m.T.UnixMilli()}
		if _, dup := points[k]; dup {
			continue
		}
		// measurements.log has NTP's offset (positive: this clock is slow); sources' offsets are
		// the other way round. The error bound is chronyd's for a sample: half the delay plus
		// the dispersion, the source's root values included.
		points[k] = &store.SourcePoint{T: m.T, NewSample: true, NoStatus: true, OffsetSeconds: -m.OffsetSeconds,
			ErrorSeconds: (m.PeerDelaySeconds+m.RootDelaySeconds)/2 + m.PeerDispersionSeconds + m.RootDispersionSeconds,
			Stratum:      m.Stratum, PollLog2: m.LocalPoll}
		order = append(order, k)
	}
	for _, s := range stats {
		k := key{source(s.Source), s.T.UnixMilli()}
		p, ok := points[k]
		if !ok {
			p = &store.SourcePoint{T: s.T, NoStatus: true}
			points[k] = p
			order = append(order, k)
		}
		p.HasStats, p.Samples, p.Runs = true, s.Samples, s.Runs
		p.FrequencyPPM, p.SkewPPM, p.EstOffsetSeconds, p.StdDevSeconds = s.FrequencyPPM, s.SkewPPM, s.EstOffsetSeconds, s.StdDevSeconds
	}
	for _, k := range order {
		b.Sources = append(b.Sources, store.SourceRecord{Source: k.src, Point: *points[k]})
	}
	if err := st.Append(ctx, host, b); err != nil {
		return reports, err
	}
	if err := st.Compact(ctx, time.Now()); err != nil {
		return reports, err
	}
	return reports, nil
}

func leapOf(c byte) uint8 {
	switch c {
	case 'N':
		return 0
	case '+':
		return 1
	case '-':
		return 2
	}
	return 3
}

func stateOf(t chronylog.Tracking) store.SyncState {
	switch {
	case t.Leap == '?' || t.Stratum == 0 || t.Reference == "0.0.0.0":
		return store.Unsynchronised
	case t.Reference == "LOCL" || t.Reference == "127.127.1.1":
		return store.LocalClock
	}
	return store.Synchronised
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// spread gives the lines of one second and one source (of a file) distinct times: the n-th one
// of a second n milliseconds into it.
func spread[T any](lines []T, at func(*T) *time.Time, of func(*T) string) []T {
	type second struct {
		source string
		t      int64
	}
	seen := map[second]int{}
	for i := range lines {
		t := at(&lines[i])
		k := second{of(&lines[i]), t.Unix()}
		*t = t.Add(time.Duration(seen[k]) * time.Millisecond)
		seen[k]++
	}
	return lines
}

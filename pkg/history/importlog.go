package history

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylog"
	"github.com/second-hand/second-hand/pkg/store"
)

// FileReport is what importing one log did.
type FileReport struct {
	Path     string
	Kind     chronylog.Kind
	Lines    int                 // records read
	Problems []chronylog.Problem // the first MaxProblems lines skipped
	Skipped  int                 // every line skipped
}

// MaxProblems is how many of a file's skipped lines a report lists; the rest are counted.
const MaxProblems = 100

// importBatch is how many records an import writes at a time: the memory it holds.
const importBatch = 20000

// Import reads chronyd's statistics logs (tracking.log, measurements.log, statistics.log,
// and rotated copies of them) into host's history in st, so that history starts before
// second-hand was installed. Records already in the store are not added again. A line that
// cannot be read is reported and skipped.
//
// The logs are read as they are written, a line at a time, and written to the store in
// batches, so that the memory an import takes does not grow with the logs: the files of each
// kind in time order (rotated copies included), measurements.log and statistics.log side by
// side. Give the three logs of a period together: a line of statistics.log is joined to the
// measurement of the same source in the same second.
//
// Afterwards the store is compacted and the pages it freed (a second import of the same logs
// writes everything again before compaction drops it) are given back: the file stays the size
// of what it holds.
//
// The days imported are then summarised (store.Rollup) for the levels keep keeps, so that a
// year of logs is a year's view at once; the raw records beyond keep.Raw are left for the
// upkeep of the second-hand that records (which may keep them longer) to remove.
//
// progress, when not nil, is called after each batch written with the records written so far.
func Import(ctx context.Context, st *store.Store, host string, paths []string, keep store.Retention, progress func(records int)) ([]FileReport, error) {
	var logs []*logFile
	defer func() {
		for _, l := range logs {
			l.f.Close()
		}
	}()
	for _, path := range paths {
		l, err := openLog(path)
		if err != nil {
			return reports(logs), err
		}
		logs = append(logs, l)
	}
	byKind := map[chronylog.Kind][]*logFile{}
	for _, l := range logs {
		if l.err != nil {
			return reports(logs), l.err
		}
		byKind[l.report.Kind] = append(byKind[l.report.Kind], l)
	}
	w := &importWriter{ctx: ctx, st: st, host: host, names: map[string]store.Source{}, progress: progress}
	// The logs name a source by its address; second-hand's record, by its configured name too.
	for _, s := range st.Sources(host) {
		if s.Address != "" {
			w.names[s.Address] = s
		}
	}
	if err := w.tracking(chain(byKind[chronylog.TrackingLog])); err != nil {
		return reports(logs), err
	}
	if err := w.sources(chain(byKind[chronylog.MeasurementsLog]), chain(byKind[chronylog.StatisticsLog])); err != nil {
		return reports(logs), err
	}
	if err := w.flush(); err != nil {
		return reports(logs), err
	}
	if err := st.Compact(ctx, time.Now()); err != nil {
		return reports(logs), err
	}
	if err := st.RollupHost(ctx, host, time.Now(), keep); err != nil {
		return reports(logs), err
	}
	return reports(logs), st.Reclaim(ctx)
}

func reports(logs []*logFile) []FileReport {
	out := make([]FileReport, len(logs))
	for i, l := range logs {
		out[i] = *l.report
	}
	return out
}

// logFile is one log being read, with the record read next (peeked) and the lines of each
// second seen so far (for spread).
type logFile struct {
	f      *os.File
	r      *chronylog.Reader
	report *FileReport
	next   chronylog.Record
	have   bool  // next holds a record
	err    error // the read failed (not a line: the file)

	second int64          // the second of the last record
	seen   map[string]int // records of that second, by source
}

func openLog(path string) (*logFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	l := &logFile{f: f, r: chronylog.NewReader(f, path), report: &FileReport{Path: path}}
	l.r.Problem = func(p chronylog.Problem) {
		l.report.Skipped++
		if len(l.report.Problems) < MaxProblems {
			l.report.Problems = append(l.report.Problems, p)
		}
	}
	l.advance()
	l.report.Kind = l.r.Kind()
	return l, nil
}

// advance reads the next record, if any.
func (l *logFile) advance() {
	rec, err := l.r.Next()
	l.have = err == nil
	if err != nil && !errors.Is(err, io.EOF) {
		l.err = fmt.Errorf("%s: %w", l.report.Path, err)
	}
	if !l.have {
		return
	}
	l.report.Lines++
	l.next = rec
	// The logs' times are to the second, and chronyd may write several lines of one kind in a
	// second (it polls several times a second in a lab): the n-th line of a second is taken n
	// milliseconds into it, so that none is lost and a second import gives the same times.
	t, src := recordTime(&l.next)
	if sec := t.Unix(); sec != l.second || l.seen == nil {
		l.second, l.seen = sec, map[string]int{}
	}
	*t = t.Add(time.Duration(l.seen[src]) * time.Millisecond)
	l.seen[src]++
}

// recordTime is where a record's time is, and the source it is of ("" for tracking.log).
func recordTime(r *chronylog.Record) (*time.Time, string) {
	switch r.Kind {
	case chronylog.MeasurementsLog:
		return &r.Measurement.T, r.Measurement.Address
	case chronylog.StatisticsLog:
		return &r.Statistic.T, r.Statistic.Source
	}
	return &r.Tracking.T, ""
}

// chain reads the files of one kind one after another, in the time order of their first
// records (a log and its rotated copies).
func chain(files []*logFile) func() (chronylog.Record, bool, error) {
	slices.SortStableFunc(files, func(a, b *logFile) int {
		ta, _ := recordTime(&a.next)
		tb, _ := recordTime(&b.next)
		return cmp.Compare(ta.UnixNano(), tb.UnixNano())
	})
	return func() (chronylog.Record, bool, error) {
		for len(files) > 0 {
			l := files[0]
			if l.err != nil {
				return chronylog.Record{}, false, l.err
			}
			if l.have {
				rec := l.next
				l.advance()
				return rec, true, nil
			}
			files = files[1:]
		}
		return chronylog.Record{}, false, nil
	}
}

// importWriter gathers records into batches and writes each when it is full.
type importWriter struct {
	ctx   context.Context
	st    *store.Store
	host  string
	names map[string]store.Source
	b     store.Batch
	n     int // records in b
	done  int // records written

	progress func(records int)
}

func (w *importWriter) add(n int) error {
	w.n += n
	if w.n < importBatch {
		return nil
	}
	return w.flush()
}

func (w *importWriter) flush() error {
	if err := w.st.Append(w.ctx, w.host, w.b); err != nil {
		return err
	}
	w.b, w.done, w.n = store.Batch{}, w.done+w.n, 0
	if w.progress != nil {
		w.progress(w.done)
	}
	return w.ctx.Err()
}

// tracking imports tracking.log: a clock update and a sample of the system clock a line.
func (w *importWriter) tracking(next func() (chronylog.Record, bool, error)) error {
	var prev time.Time
	for {
		rec, ok, err := next()
		if err != nil || !ok {
			return err
		}
		t := rec.Tracking
		interval := math.NaN()
		if !prev.IsZero() {
			interval = t.T.Sub(prev).Seconds()
		}
		prev = t.T
		w.b.Updates = append(w.b.Updates, store.Update{T: t.T, OffsetSeconds: t.OffsetSeconds, FrequencyPPM: t.FrequencyPPM,
			ResidualFrequencyPPM: math.NaN(), SkewPPM: t.SkewPPM, RMSOffsetSeconds: math.NaN(), RootDelaySeconds: t.RootDelaySeconds,
			RootDispersionSeconds: t.RootDispersionSeconds, UpdateIntervalSeconds: interval, Stratum: t.Stratum, Leap: leapOf(t.Leap),
			Reference: t.Reference})
		// The remaining correction is what chronyd still had to apply: the clock's offset then.
		w.b.Samples = append(w.b.Samples, store.Sample{T: t.T, OffsetSeconds: -t.RemainingCorrection, RootDelaySeconds: t.RootDelaySeconds,
			RootDispersionSeconds: t.RootDispersionSeconds, State: stateOf(t)})
		if err := w.add(2); err != nil {
			return err
		}
	}
}

// sources imports measurements.log and statistics.log side by side, in time order: a point of
// a source for each measurement, with the statistics of the same source and time when there
// are some, and a point of statistics alone otherwise.
func (w *importWriter) sources(meas, stats func() (chronylog.Record, bool, error)) error {
	type key struct {
		src store.Source
		t   int64
	}
	points := map[key]*store.SourcePoint{}
	var order []key
	second := int64(math.MinInt64)
	// The points of one second are joined, then written.
	emit := func() error {
		for _, k := range order {
			w.b.Sources = append(w.b.Sources, store.SourceRecord{Source: k.src, Point: *points[k]})
		}
		n := len(order)
		clear(points)
		order = order[:0]
		return w.add(n)
	}
	var m, s chronylog.Record
	haveM, haveS := false, false
	var err error
	if m, haveM, err = meas(); err != nil {
		return err
	}
	if s, haveS, err = stats(); err != nil {
		return err
	}
	for haveM || haveS {
		useM := haveM && (!haveS || !s.Statistic.T.Before(m.Measurement.T))
		t := s.Statistic.T
		if useM {
			t = m.Measurement.T
		}
		if t.Unix() != second {
			if err := emit(); err != nil {
				return err
			}
			second = t.Unix()
		}
		if useM {
			mr := m.Measurement
			k := key{w.source(mr.Address), mr.T.UnixMilli()}
			if _, dup := points[k]; !dup {
				// measurements.log has NTP's offset (positive: this clock is slow); sources'
				// offsets are the other way round. The error bound is chronyd's for a sample:
				// half the delay plus the dispersion, the source's root values included.
				points[k] = &store.SourcePoint{T: mr.T, NewSample: true, NoStatus: true, OffsetSeconds: -mr.OffsetSeconds,
					ErrorSeconds: (mr.PeerDelaySeconds+mr.RootDelaySeconds)/2 + mr.PeerDispersionSeconds + mr.RootDispersionSeconds,
					Stratum:      mr.Stratum, PollLog2: mr.LocalPoll}
				order = append(order, k)
			}
			if m, haveM, err = meas(); err != nil {
				return err
			}
			continue
		}
		sr := s.Statistic
		k := key{w.source(sr.Source), sr.T.UnixMilli()}
		p, ok := points[k]
		if !ok {
			p = &store.SourcePoint{T: sr.T, NoStatus: true}
			points[k] = p
			order = append(order, k)
		}
		p.HasStats, p.Samples, p.Runs = true, sr.Samples, sr.Runs
		p.FrequencyPPM, p.SkewPPM, p.EstOffsetSeconds, p.StdDevSeconds = sr.FrequencyPPM, sr.SkewPPM, sr.EstOffsetSeconds, sr.StdDevSeconds
		if s, haveS, err = stats(); err != nil {
			return err
		}
	}
	return emit()
}

// source is the source a log names by its address: as second-hand's record knows it, or by its
// address (an IP address), or as a reference clock (its ID).
func (w *importWriter) source(addr string) store.Source {
	if s, ok := w.names[addr]; ok {
		return s
	}
	if isIP(addr) {
		return store.Source{Name: addr, Address: addr}
	}
	return store.Source{Name: addr}
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

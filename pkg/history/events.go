package history

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
	"unsafe"

	"github.com/second-hand/second-hand/pkg/store"
)

// Event is something that happened, derived from the record.
type Event struct {
	T, End time.Time // End is set for what lasted (chronyd not answering)
	Kind   string    // for the page's symbol and colour: lost, regained, reference, stratum, leap, unreachable, reachable, falseticker, jittery, step, restart, silent
	Bad    bool      // worth a look
	Text   string
}

// EventLog is what happened to a host, newest first, and how far back the record was read.
type EventLog struct {
	Events []Event
	// NotScannedBefore, when set, is where reading stopped: the record before it was not read
	// this time (a big store takes longer than a request may), and its events are not listed.
	// Zero when the whole retention was read.
	NotScannedBefore time.Time
}

// StepThreshold is the smallest clock update counted as a step: chronyd's usual makestep
// threshold.
const StepThreshold = 1.0

// Events derives from a record what happened, newest first: synchronisation lost and
// regained, the reference or the stratum changed, a leap second announced or cleared, a source
// unreachable or reachable again, marked falseticker or too variable, the clock stepped,
// chronyd restarted, chronyd not answering.
func Events(h store.History) []Event {
	f := &eventFinder{}
	store.WalkHistory(h, f.visitor(nil))
	out := f.out
	for _, g := range h.Gaps {
		before, after := map[store.Source]store.SourcePoint{}, map[store.Source]store.SourcePoint{}
		for _, src := range h.Sources {
			for _, p := range src.Points {
				if p.HasStats {
					aroundGap(g, src.Source, p, before, after)
				}
			}
		}
		out = append(out, gapEvents(g, before, after)...)
	}
	newestFirst(out)
	return out
}

// The events of the store are found window by window, newest first, so that the newest are
// found first and the reading can stop when it has taken long enough: a store of millions of
// records takes longer to read than a request may wait. A window is read once and kept while
// it cannot change (see windowSettles); what happened between two windows is found from the
// last records of the older and the first of the newer.
const (
	// eventsWindowSpan is how much of the record one window holds.
	eventsWindowSpan = 6 * time.Hour
	// eventsScanBudget is how long one request reads windows, after the newest.
	eventsScanBudget = 2 * time.Second
	// windowSettles is how far back the recorder writes: the time of a source's last sample
	// can be an hour old; a window that ended before is kept.
	windowSettles = time.Hour
	// gapLookaround is how far around a gap a source's statistics are read to tell whether
	// chronyd restarted during it.
	gapLookaround = 2 * time.Hour
)

// Events is what happened to host over the retention (30 days by default), newest first, kept
// until new data comes. It reads the record newest first for eventsScanBudget at most (the
// newest window always), and says where it stopped; the windows read are kept, so the next
// request reads further back.
func (s *Service) Events(ctx context.Context, host string, now time.Time) (EventLog, error) {
	st, err := s.openStore()
	if err != nil {
		return EventLog{}, err
	}
	version := s.version(host)
	stm := stamp{version: version, to: now.Truncate(time.Minute).UnixMilli()}
	if l, ok := s.events.get(host, stm); ok {
		return l, nil
	}
	return heavy(ctx, s, fmt.Sprintf("events %s %d %d", host, stm.to, version), func(ctx context.Context) (EventLog, error) {
		l, err := s.scanEvents(ctx, st, host, now)
		if err == nil && l.NotScannedBefore.IsZero() {
			s.events.put(host, stm, l, l.size())
		}
		return l, err
	})
}

// scanEvents reads the windows of host's record newest first until the retention's start, or
// until eventsScanBudget has passed (after the newest window), and then the gaps of what was
// read.
func (s *Service) scanEvents(ctx context.Context, st *store.Store, host string, now time.Time) (EventLog, error) {
	from := now.Add(-s.cfg.Retention.Raw)
	budget := s.eventsBudget
	if budget == 0 {
		budget = eventsScanBudget
	}
	scanCtx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var l EventLog
	var after seriesEnds // the first records of the windows read so far
	for b := now; b.After(from); {
		a := b.Add(-time.Millisecond).Truncate(eventsWindowSpan)
		if a.Before(from) {
			a = from
		}
		wctx := scanCtx
		if b.Equal(now) {
			wctx = ctx // the newest window is always read
		}
		w, err := s.eventsWindow(wctx, st, host, a, b, now)
		if err != nil {
			if wctx == scanCtx && scanCtx.Err() != nil && ctx.Err() == nil {
				l.NotScannedBefore = b
				break
			}
			return EventLog{}, err
		}
		l.Events = append(l.Events, w.events...)
		l.Events = append(l.Events, betweenWindows(w.last, after)...)
		after.before(w.first)
		b = a
	}
	gapsFrom := from
	if !l.NotScannedBefore.IsZero() {
		gapsFrom = l.NotScannedBefore
	}
	gaps, err := s.gapEvents(ctx, st, host, gapsFrom, now)
	if err != nil {
		return EventLog{}, err
	}
	l.Events = append(l.Events, gaps...)
	newestFirst(l.Events)
	return l, nil
}

// windowKey is one window of a host's record.
type windowKey struct {
	host string
	from int64
}

// eventsWindow is what one window of the record says: the events between its records, and the
// first and last record of each series, for the events between it and its neighbours.
type eventsWindow struct {
	events      []Event
	first, last seriesEnds
}

// eventsWindow reads the window [from, to) of host's record, or takes it from the cache when it
// was read whole and nothing has been written into it since.
func (s *Service) eventsWindow(ctx context.Context, st *store.Store, host string, from, to, now time.Time) (*eventsWindow, error) {
	key := windowKey{host: host, from: from.UnixMilli()}
	settled := to.Sub(from) == eventsWindowSpan && !to.After(now.Add(-windowSettles))
	stm := stamp{version: s.rewritten(host), to: to.UnixMilli()}
	if settled {
		if w, ok := s.windows.get(key, stm); ok {
			return w, nil
		}
	}
	w := &eventsWindow{}
	f := &eventFinder{}
	v := f.visitor(w)
	if err := st.Walk(ctx, host, from, to.Add(-time.Millisecond), v); err != nil {
		return nil, err
	}
	w.events = f.out
	if settled {
		s.windows.put(key, stm, w, w.size())
	}
	return w, nil
}

func (w *eventsWindow) size() int64 {
	n := int64(unsafe.Sizeof(*w)) + int64(len(w.first.points)+len(w.last.points))*int64(unsafe.Sizeof(store.SourcePoint{})+64)
	for _, e := range w.events {
		n += int64(unsafe.Sizeof(e)) + int64(len(e.Text))
	}
	return n
}

func (l EventLog) size() int64 {
	n := int64(unsafe.Sizeof(l))
	for _, e := range l.Events {
		n += int64(unsafe.Sizeof(e)) + int64(len(e.Text))
	}
	return n
}

// seriesEnds is one record of each series at an end of a window: a sample, a clock update, and
// each source's point that has a state.
type seriesEnds struct {
	sample *store.Sample
	update *store.Update
	points map[store.Source]store.SourcePoint
}

// before takes the records of older as the first of the windows read, for those it has.
func (e *seriesEnds) before(older seriesEnds) {
	if older.sample != nil {
		e.sample = older.sample
	}
	if older.update != nil {
		e.update = older.update
	}
	for src, p := range older.points {
		if e.points == nil {
			e.points = map[store.Source]store.SourcePoint{}
		}
		e.points[src] = p
	}
}

// betweenWindows is what happened between the last records of a window and the first of the
// windows after it.
func betweenWindows(last, next seriesEnds) []Event {
	f := &eventFinder{}
	if last.sample != nil && next.sample != nil {
		f.samplePair(*last.sample, *next.sample)
	}
	if last.update != nil && next.update != nil {
		f.updatePair(*last.update, *next.update)
	}
	for src, p := range last.points {
		if n, ok := next.points[src]; ok {
			f.pointPair(src, p, n)
		}
	}
	return f.out
}

// gapEvents are the times chronyd did not answer from from to now, and whether it restarted
// during each: what the sources' statistics say around it.
func (s *Service) gapEvents(ctx context.Context, st *store.Store, host string, from, to time.Time) ([]Event, error) {
	var gaps []store.Gap
	if err := st.Walk(ctx, host, from, to, store.Visitor{Gap: func(g store.Gap) { gaps = append(gaps, g) }}); err != nil {
		return nil, err
	}
	var out []Event
	// The newest first, as many as the panel lists.
	slices.Reverse(gaps)
	for i, g := range gaps {
		if i >= maxGapChecks {
			out = append(out, gapEvents(g, nil, nil)...)
			continue
		}
		before, after := map[store.Source]store.SourcePoint{}, map[store.Source]store.SourcePoint{}
		each := store.Visitor{Source: func(src store.Source, p store.SourcePoint) {
			if p.HasStats {
				aroundGap(g, src, p, before, after)
			}
		}}
		if err := st.Walk(ctx, host, g.Start.Add(-gapLookaround), g.Start, each); err != nil {
			return nil, err
		}
		if err := st.Walk(ctx, host, g.End, g.End.Add(gapLookaround), each); err != nil {
			return nil, err
		}
		out = append(out, gapEvents(g, before, after)...)
	}
	return out, nil
}

// maxGapChecks is how many gaps (the newest) are checked for a restart of chronyd.
const maxGapChecks = 100

// aroundGap keeps a source's point if it is the last with statistics before the gap, or the
// first after it; points come in time order.
func aroundGap(g store.Gap, src store.Source, p store.SourcePoint, before, after map[store.Source]store.SourcePoint) {
	if !p.T.After(g.Start) {
		before[src] = p
	} else if _, seen := after[src]; !seen && !p.T.Before(g.End) {
		after[src] = p
	}
}

// gapEvents is a gap's event, and a restart of chronyd when every source with statistics
// before the gap has fewer samples after it.
func gapEvents(g store.Gap, before, after map[store.Source]store.SourcePoint) []Event {
	out := []Event{{T: g.Start, End: g.End, Kind: "silent", Bad: true,
		Text: fmt.Sprintf("chronyd not answering from %s to %s (%s): %s", clock(g.Start), clock(g.End), g.End.Sub(g.Start).Round(time.Second), g.Error)}}
	seen, not := 0, false
	for src, b := range before {
		a, ok := after[src]
		if !ok || b.Samples < 2 {
			continue
		}
		if a.Samples >= b.Samples {
			not = true
		} else {
			seen++
		}
	}
	if !not && seen > 0 {
		out = append(out, Event{T: g.End, Kind: "restart", Text: "chronyd restarted: every source's statistics started over"})
	}
	return out
}

func newestFirst(ev []Event) {
	slices.SortStableFunc(ev, func(a, b Event) int { return b.T.Compare(a.T) })
}

// eventFinder finds events in records given in time order: the samples, the updates, and each
// source's points, one source after another. It keeps only the last record of each.
type eventFinder struct {
	out []Event

	prevSample *store.Sample
	prevUpdate *store.Update
	src        store.Source
	prevPoint  *store.SourcePoint
	haveSrc    bool
}

// visitor reads records into the finder, and into w the first and last record of each series
// when w is not nil.
func (f *eventFinder) visitor(w *eventsWindow) store.Visitor {
	ends := func(first, last *seriesEnds, src store.Source, p store.SourcePoint) {
		if first.points == nil {
			first.points, last.points = map[store.Source]store.SourcePoint{}, map[store.Source]store.SourcePoint{}
		}
		if _, ok := first.points[src]; !ok {
			first.points[src] = p
		}
		last.points[src] = p
	}
	return store.Visitor{
		Sample: func(r store.Sample) {
			if w != nil {
				if w.first.sample == nil {
					w.first.sample = &r
				}
				w.last.sample = &r
			}
			if f.prevSample != nil {
				f.samplePair(*f.prevSample, r)
			}
			f.prevSample = &r
		},
		Update: func(u store.Update) {
			if w != nil {
				if w.first.update == nil {
					w.first.update = &u
				}
				w.last.update = &u
			}
			f.step(u)
			if f.prevUpdate != nil {
				f.updatePair(*f.prevUpdate, u)
			}
			f.prevUpdate = &u
		},
		Source: func(src store.Source, p store.SourcePoint) {
			if !f.haveSrc || src != f.src {
				f.src, f.haveSrc, f.prevPoint = src, true, nil
			}
			if p.NoStatus {
				return
			}
			if w != nil {
				ends(&w.first, &w.last, src, p)
			}
			if f.prevPoint != nil {
				f.pointPair(src, *f.prevPoint, p)
			}
			f.prevPoint = &p
		},
		NoSourceStats: true,
	}
}

func (f *eventFinder) add(e Event) { f.out = append(f.out, e) }

// samplePair is what changed from one sample to the next.
func (f *eventFinder) samplePair(prev, r store.Sample) {
	switch {
	case prev.State != store.Unsynchronised && r.State == store.Unsynchronised:
		f.add(Event{T: r.T, Kind: "lost", Bad: true, Text: "Synchronisation lost"})
	case prev.State == store.Unsynchronised && r.State != store.Unsynchronised:
		f.add(Event{T: r.T, Kind: "regained", Text: "Synchronisation regained"})
	}
}

// step is a clock update that stepped the clock.
func (f *eventFinder) step(u store.Update) {
	if math.Abs(u.OffsetSeconds) >= StepThreshold {
		f.add(Event{T: u.T, Kind: "step", Bad: true, Text: fmt.Sprintf("Clock corrected by %s at once (a step)", signedSeconds(-u.OffsetSeconds))})
	}
}

// updatePair is what changed from one clock update to the next.
func (f *eventFinder) updatePair(prev, u store.Update) {
	if u.UpdateIntervalSeconds == 0 && prev.UpdateIntervalSeconds != 0 {
		f.add(Event{T: u.T, Kind: "restart", Text: "chronyd restarted (its first clock update since it started)"})
	}
	switch {
	case u.Reference != prev.Reference && u.Reference != "" && prev.Reference != "":
		f.add(Event{T: u.T, Kind: "reference", Text: fmt.Sprintf("Reference changed from %s (stratum %d) to %s (stratum %d)",
			prev.Reference, prev.Stratum, u.Reference, u.Stratum)})
	case u.Stratum != prev.Stratum && u.Reference == prev.Reference && u.Stratum != 0 && prev.Stratum != 0:
		f.add(Event{T: u.T, Kind: "stratum", Text: fmt.Sprintf("Stratum changed from %d to %d", prev.Stratum, u.Stratum)})
	}
	switch {
	case prev.Leap == 0 && (u.Leap == 1 || u.Leap == 2):
		what := "inserted"
		if u.Leap == 2 {
			what = "deleted"
		}
		f.add(Event{T: u.T, Kind: "leap", Text: "Leap second announced: a second is to be " + what + " at the end of the day (UTC)"})
	case (prev.Leap == 1 || prev.Leap == 2) && u.Leap == 0:
		f.add(Event{T: u.T, Kind: "leap", Text: "Leap second announcement cleared"})
	}
}

// pointPair is what changed from one point of a source, with its state, to the next.
func (f *eventFinder) pointPair(src store.Source, prev, p store.SourcePoint) {
	name := sourceLabel(src)
	switch {
	case prev.Reach != 0 && p.Reach == 0:
		f.add(Event{T: p.T, Kind: "unreachable", Bad: true, Text: name + " became unreachable (none of its last 8 polls answered)"})
	case prev.Reach == 0 && p.Reach != 0:
		f.add(Event{T: p.T, Kind: "reachable", Text: name + " is reachable again"})
	}
	if p.State != prev.State {
		switch p.State {
		case 2:
			f.add(Event{T: p.T, Kind: "falseticker", Bad: true, Text: name + " marked a falseticker: its time disagrees with the majority"})
		case 3:
			f.add(Event{T: p.T, Kind: "jittery", Bad: true, Text: name + " marked too variable to be used"})
		}
	}
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func signedSeconds(v float64) string {
	if v >= 0 {
		return fmt.Sprintf("+%.3f s", v)
	}
	return fmt.Sprintf("%.3f s", v)
}

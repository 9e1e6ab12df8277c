package history

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

// Event is something that happened, derived from the record.
type Event struct {
	T, End time.Time // End is set for what lasted (chronyd not answering)
	Kind   string    // for the page's symbol and colour: lost, regained, reference, stratum, leap, unreachable, reachable, falseticker, jittery, step, restart, silent
	Bad    bool      // worth a look
	Text   string
}

// StepThreshold is the smallest clock update counted as a step: chronyd's usual makestep
// threshold.
const StepThreshold = 1.0

// Events derives from a record what happened, newest first: synchronisation lost and
// regained, the reference or the stratum changed, a leap second announced or cleared, a source
// unreachable or reachable again, marked falseticker or too variable, the clock stepped,
// chronyd restarted, chronyd not answering.
func Events(h store.History) []Event {
	f := newEventFinder(h.Gaps)
	for _, r := range h.Samples {
		f.sample(r)
	}
	for _, u := range h.Updates {
		f.update(u)
	}
	for _, src := range h.Sources {
		for _, p := range src.Points {
			f.source(src.Source, p)
		}
	}
	return f.events()
}

// walkEvents finds the events of host from the store without holding its record in memory: a
// month of a host is tens of megabytes, its events a few kilobytes. The gaps are read first,
// as whether chronyd restarted across one depends on the source points around it.
func walkEvents(ctx context.Context, s *Service, host string, from, to time.Time) ([]Event, error) {
	var gaps []store.Gap
	if err := s.walk(ctx, host, from, to, store.Visitor{Gap: func(g store.Gap) { gaps = append(gaps, g) }}); err != nil {
		return nil, err
	}
	f := newEventFinder(gaps)
	err := s.walk(ctx, host, from, to, store.Visitor{Sample: f.sample, Update: f.update, Source: f.source})
	if err != nil {
		return nil, err
	}
	return f.events(), nil
}

// eventFinder finds events in records given in time order: the samples, the updates, and each
// source's points, one source after another. It keeps only the last record of each.
type eventFinder struct {
	out []Event

	prevSample *store.Sample
	prevUpdate *store.Update

	src       store.Source
	prevPoint *store.SourcePoint
	haveSrc   bool

	gaps []gapCheck
}

// gapCheck finds whether chronyd restarted across a gap: every source with statistics before
// the gap has fewer samples after it.
type gapCheck struct {
	gap           store.Gap
	before, after *store.SourcePoint // of the current source
	seen          int                // sources that started over
	not           bool               // a source that did not
}

func newEventFinder(gaps []store.Gap) *eventFinder {
	f := &eventFinder{}
	for _, g := range gaps {
		f.gaps = append(f.gaps, gapCheck{gap: g})
	}
	return f
}

func (f *eventFinder) add(e Event) { f.out = append(f.out, e) }

func (f *eventFinder) sample(r store.Sample) {
	if prev := f.prevSample; prev != nil {
		switch {
		case prev.State != store.Unsynchronised && r.State == store.Unsynchronised:
			f.add(Event{T: r.T, Kind: "lost", Bad: true, Text: "Synchronisation lost"})
		case prev.State == store.Unsynchronised && r.State != store.Unsynchronised:
			f.add(Event{T: r.T, Kind: "regained", Text: "Synchronisation regained"})
		}
	}
	f.prevSample = &r
}

func (f *eventFinder) update(u store.Update) {
	if math.Abs(u.OffsetSeconds) >= StepThreshold {
		f.add(Event{T: u.T, Kind: "step", Bad: true, Text: fmt.Sprintf("Clock corrected by %s at once (a step)", signedSeconds(-u.OffsetSeconds))})
	}
	prev := f.prevUpdate
	f.prevUpdate = &u
	if prev == nil {
		return
	}
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

func (f *eventFinder) source(src store.Source, p store.SourcePoint) {
	if !f.haveSrc || src != f.src {
		f.endSource()
		f.src, f.haveSrc, f.prevPoint = src, true, nil
	}
	if p.HasStats {
		for i := range f.gaps {
			g := &f.gaps[i]
			// A source's sample taken after the gap began came after chronyd answered again,
			// whatever its own time (it can be a second before the read that ended the gap).
			if !p.T.After(g.gap.Start) {
				g.before = &p
			} else if g.after == nil {
				g.after = &p
			}
		}
	}
	if p.NoStatus {
		return
	}
	if prev := f.prevPoint; prev != nil {
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
	f.prevPoint = &p
}

// endSource settles what the source just ended says of each gap.
func (f *eventFinder) endSource() {
	for i := range f.gaps {
		g := &f.gaps[i]
		if g.before != nil && g.after != nil && g.before.Samples >= 2 {
			if g.after.Samples >= g.before.Samples {
				g.not = true
			} else {
				g.seen++
			}
		}
		g.before, g.after = nil, nil
	}
}

// events are the events found, newest first.
func (f *eventFinder) events() []Event {
	f.endSource()
	for _, g := range f.gaps {
		f.add(Event{T: g.gap.Start, End: g.gap.End, Kind: "silent", Bad: true,
			Text: fmt.Sprintf("chronyd not answering from %s to %s (%s): %s", clock(g.gap.Start), clock(g.gap.End), g.gap.End.Sub(g.gap.Start).Round(time.Second), g.gap.Error)})
		if !g.not && g.seen > 0 {
			f.add(Event{T: g.gap.End, Kind: "restart", Text: "chronyd restarted: every source's statistics started over"})
		}
	}
	slices.SortStableFunc(f.out, func(a, b Event) int { return b.T.Compare(a.T) })
	return f.out
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func signedSeconds(v float64) string {
	if v >= 0 {
		return fmt.Sprintf("+%.3f s", v)
	}
	return fmt.Sprintf("%.3f s", v)
}

package history

import (
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
	var out []Event
	add := func(e Event) { out = append(out, e) }

	for i := 1; i < len(h.Samples); i++ {
		prev, cur := h.Samples[i-1].State, h.Samples[i].State
		switch {
		case prev != store.Unsynchronised && cur == store.Unsynchronised:
			add(Event{T: h.Samples[i].T, Kind: "lost", Bad: true, Text: "Synchronisation lost"})
		case prev == store.Unsynchronised && cur != store.Unsynchronised:
			add(Event{T: h.Samples[i].T, Kind: "regained", Text: "Synchronisation regained"})
		}
	}

	for i, u := range h.Updates {
		if math.Abs(u.OffsetSeconds) >= StepThreshold {
			add(Event{T: u.T, Kind: "step", Bad: true, Text: fmt.Sprintf("Clock corrected by %s at once (a step)", signedSeconds(-u.OffsetSeconds))})
		}
		if i == 0 {
			continue
		}
		prev := h.Updates[i-1]
		if u.UpdateIntervalSeconds == 0 && prev.UpdateIntervalSeconds != 0 {
			add(Event{T: u.T, Kind: "restart", Text: "chronyd restarted (its first clock update since it started)"})
		}
		switch {
		case u.Reference != prev.Reference && u.Reference != "" && prev.Reference != "":
			add(Event{T: u.T, Kind: "reference", Text: fmt.Sprintf("Reference changed from %s (stratum %d) to %s (stratum %d)",
				prev.Reference, prev.Stratum, u.Reference, u.Stratum)})
		case u.Stratum != prev.Stratum && u.Reference == prev.Reference && u.Stratum != 0 && prev.Stratum != 0:
			add(Event{T: u.T, Kind: "stratum", Text: fmt.Sprintf("Stratum changed from %d to %d", prev.Stratum, u.Stratum)})
		}
		switch {
		case prev.Leap == 0 && (u.Leap == 1 || u.Leap == 2):
			what := "inserted"
			if u.Leap == 2 {
				what = "deleted"
			}
			add(Event{T: u.T, Kind: "leap", Text: "Leap second announced: a second is to be " + what + " at the end of the day (UTC)"})
		case (prev.Leap == 1 || prev.Leap == 2) && u.Leap == 0:
			add(Event{T: u.T, Kind: "leap", Text: "Leap second announcement cleared"})
		}
	}

	for _, src := range h.Sources {
		name := sourceLabel(src.Source)
		var prev *store.SourcePoint
		for i := range src.Points {
			p := &src.Points[i]
			if p.NoStatus {
				continue
			}
			if prev != nil {
				switch {
				case prev.Reach != 0 && p.Reach == 0:
					add(Event{T: p.T, Kind: "unreachable", Bad: true, Text: name + " became unreachable (none of its last 8 polls answered)"})
				case prev.Reach == 0 && p.Reach != 0:
					add(Event{T: p.T, Kind: "reachable", Text: name + " is reachable again"})
				}
				if p.State != prev.State {
					switch p.State {
					case 2:
						add(Event{T: p.T, Kind: "falseticker", Bad: true, Text: name + " marked a falseticker: its time disagrees with the majority"})
					case 3:
						add(Event{T: p.T, Kind: "jittery", Bad: true, Text: name + " marked too variable to be used"})
					}
				}
			}
			prev = p
		}
	}

	for _, g := range h.Gaps {
		add(Event{T: g.Start, End: g.End, Kind: "silent", Bad: true,
			Text: fmt.Sprintf("chronyd not answering from %s to %s (%s): %s", clock(g.Start), clock(g.End), g.End.Sub(g.Start).Round(time.Second), g.Error)})
		if restartedAcross(h, g) {
			add(Event{T: g.End, Kind: "restart", Text: "chronyd restarted: every source's statistics started over"})
		}
	}

	slices.SortStableFunc(out, func(a, b Event) int { return b.T.Compare(a.T) })
	return out
}

// restartedAcross reports whether every source with statistics before the gap has fewer
// samples after it: chronyd started over.
func restartedAcross(h store.History, g store.Gap) bool {
	seen := 0
	for _, src := range h.Sources {
		var before, after *store.SourcePoint
		for i := range src.Points {
			p := &src.Points[i]
			if !p.HasStats {
				continue
			}
			if !p.T.After(g.Start) {
				before = p
			} else if !p.T.Before(g.End) && after == nil {
				after = p
			}
		}
		if before == nil || after == nil || before.Samples < 2 {
			continue
		}
		if after.Samples >= before.Samples {
			return false
		}
		seen++
	}
	return seen > 0
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func signedSeconds(v float64) string {
	if v >= 0 {
		return fmt.Sprintf("+%.3f s", v)
	}
	return fmt.Sprintf("%.3f s", v)
}

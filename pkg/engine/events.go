package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/store"
)

// What the events are read from: the last day at a fine step, the month before at a coarse
// one, so that a recent event's time is known to the step and a query never asks for more than
// 8,640 points per series (Prometheus allows 11,000).
const (
	EventsRecent     = 24 * time.Hour
	EventsRecentStep = 10 * time.Second
	EventsWindow     = 30 * 24 * time.Hour
	EventsStep       = 5 * time.Minute
)

// Events is what happened to host over the last 30 days, newest first, derived from changes
// in its series: chrony_up (chronyd not answering), the reference and stratum, the leap status
// and synchronisation, each source's reachability and state. They are found by the same rules
// as in this second-hand's own record (history.Events), from what the series say at each step.
func (h *History) Events(ctx context.Context, host string, now time.Time) (history.EventLog, error) {
	rec, err := h.record(ctx, host, now)
	if err != nil {
		return history.EventLog{}, err
	}
	return history.EventLog{Events: history.Events(rec)}, nil
}

// record is host's record as the series' changes make it (see Events), shared by its events
// and its diagnosis' moments.
func (h *History) record(ctx context.Context, host string, now time.Time) (store.History, error) {
	end := now.Truncate(EventsRecentStep).Add(EventsRecentStep)
	// The panels of a page ask one after another: one may be past the step's end the other
	// read to. The record of the step before, read within the reuse window, is theirs too
	// (it ends at most a step earlier), so a page's events and diagnosis ask the engine once.
	if rec, ok := fresh[store.History](h.e, eventsKey(host, end.Add(-EventsRecentStep))); ok {
		return rec, nil
	}
	return shared(ctx, h.e, eventsKey(host, end), h.e.cfg.Reuse, func(ctx context.Context) (store.History, error) {
		return h.events(ctx, h.label(host), end)
	})
}

func eventsKey(host string, end time.Time) string {
	return fmt.Sprintf("events|%s|%d", host, end.UnixMilli())
}

// EventQueries is how many queries the events take.
const EventQueries = 2

func (h *History) events(ctx context.Context, label string, end time.Time) (store.History, error) {
	recentStart := end.Add(-EventsRecent)
	older := v1.Range{Start: end.Add(-EventsWindow).Truncate(EventsStep), End: recentStart.Truncate(EventsStep).Add(EventsStep), Step: EventsStep}
	recent := v1.Range{Start: recentStart, End: end, Step: EventsRecentStep}
	var a, b model.Matrix
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() { a, errA = h.e.ranged(ctx, h.eventsQuery(label, EventsStep), older) })
	b, errB = h.e.ranged(ctx, h.eventsQuery(label, EventsRecentStep), recent)
	wg.Wait()
	if errA != nil {
		return store.History{}, errA
	}
	if errB != nil {
		return store.History{}, errB
	}
	// One timeline: the month before from the coarse query, the last day from the fine one.
	tl := newTimeline()
	tl.add(a, func(t time.Time) bool { return t.Before(recentStart) }, EventsStep)
	tl.add(b, func(time.Time) bool { return true }, EventsRecentStep)
	return tl.history(), nil
}

// eventsQuery asks, per step, what the events are made of: whether chronyd answered every
// scrape (the least chrony_up), the stratum, leap status and reference at the step's end, and
// each source's least reachability and its state.
func (h *History) eventsQuery(label string, step time.Duration) string {
	e, w := h.e, dur(step)
	last := func(part, metric string, by string) string {
		return tagged(part, "max "+by+" (last_over_time("+e.sel(metric, label)+"["+w+"]))")
	}
	return or(
		tagged("up", "min "+e.by()+" (min_over_time("+e.sel(mUp, label)+"["+w+"]))"),
		last("stratum", mStratum, e.by()),
		last("leap", mLeap, e.by()),
		last("ref", mInfo, e.by("tracking_name", "tracking_address", "tracking_refid")),
		tagged("reach", "min "+e.by(lSourceAddress, lSourceName)+" (min_over_time("+e.sel(mSrcReach, label)+"["+w+"]))"),
		last("state", mSrcState, e.by(lSourceAddress, lSourceName, lSourceState)),
	)
}

// timeline is a host's state at each step, from the series of the events' queries.
type timeline struct {
	steps map[int64]*step // by the step's end, Unix ms
	width map[int64]time.Duration
}

type step struct {
	up, stratum, leap *float64
	refs              []model.Metric // the references seen in the step (usually one)
	reach             map[store.Source]float64
	states            map[store.Source][]string
}

func newTimeline() *timeline {
	return &timeline{steps: map[int64]*step{}, width: map[int64]time.Duration{}}
}

func (tl *timeline) at(t model.Time, width time.Duration) *step {
	k := int64(t)
	s := tl.steps[k]
	if s == nil {
		s = &step{reach: map[store.Source]float64{}, states: map[store.Source][]string{}}
		tl.steps[k] = s
		tl.width[k] = width
	}
	return s
}

// add puts the points of m whose time keep accepts in the timeline.
func (tl *timeline) add(m model.Matrix, keep func(time.Time) bool, width time.Duration) {
	for _, series := range m {
		src := store.Source{Name: string(series.Metric[lSourceName]), Address: string(series.Metric[lSourceAddress])}
		if src.Address == src.Name {
			src.Address = "" // a reference clock, named by its letters
		}
		for _, p := range series.Values {
			if !keep(p.Timestamp.Time()) {
				continue
			}
			v, ok := valid(p.Value)
			if !ok {
				continue
			}
			s := tl.at(p.Timestamp, width)
			switch series.Metric[tag] {
			case "up":
				s.up = &v
			case "stratum":
				s.stratum = &v
			case "leap":
				s.leap = &v
			case "ref":
				s.refs = append(s.refs, series.Metric)
			case "reach":
				s.reach[src] = v
			case "state":
				s.states[src] = append(s.states[src], string(series.Metric[lSourceState]))
			}
		}
	}
}

// stateCodes are chronyd's selection states by chrony_exporter's names of them.
var stateCodes = map[string]uint8{"sync": uint8(chrony.StateSelected), "unreach": uint8(chrony.StateNonselectable),
	"falseticker": uint8(chrony.StateFalseticker), "jittery": uint8(chrony.StateJittery),
	"candidate": uint8(chrony.StateSelectable), "outlier": uint8(chrony.StateUnselected)}

// history is the timeline as the records history.Events reads: a sample where the
// synchronisation changes, an update where the reference, stratum or leap status do, a
// source's point where its reachability or state do, and a gap for each run of steps where
// chronyd did not answer.
func (tl *timeline) history() store.History {
	keys := make([]int64, 0, len(tl.steps))
	for k := range tl.steps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var h store.History
	if len(keys) > 0 {
		h.From, h.To = time.UnixMilli(keys[0]).UTC(), time.UnixMilli(keys[len(keys)-1]).UTC()
	}
	var lastSample store.Sample
	var lastUpdate store.Update
	points := map[store.Source][]store.SourcePoint{}
	var gap *store.Gap
	ref := ""
	for _, k := range keys {
		s, t := tl.steps[k], time.UnixMilli(k).UTC()
		if s.up != nil && *s.up == 0 {
			if gap == nil {
				gap = &store.Gap{Start: t.Add(-tl.width[k]), Error: "chronyd did not answer its exporter's scrapes (chrony_up 0)"}
			}
			gap.End = t
		} else if s.up != nil && gap != nil {
			h.Gaps = append(h.Gaps, *gap)
			gap = nil
		}
		if s.stratum == nil && len(s.refs) == 0 {
			continue // nothing known of the clock at this step (chronyd not answering, or no scrape)
		}
		// The reference at the step's end: the one that is not the last step's, when there
		// are two (it changed within the step).
		refID, name := "", ""
		for _, m := range s.refs {
			n := string(m[model.LabelName("tracking_name")])
			if n == "" {
				n = string(m[model.LabelName("tracking_address")])
			}
			if refID == "" || n != ref {
				refID, name = string(m[model.LabelName("tracking_refid")]), n
			}
		}
		ref = name
		id, _ := strconv.ParseUint(refID, 16, 32)
		u := store.Update{T: t, Reference: name, RefID: uint32(id), UpdateIntervalSeconds: 1}
		if s.stratum != nil {
			u.Stratum = int(*s.stratum)
		}
		if s.leap != nil {
			u.Leap = uint8(*s.leap)
		}
		state := store.Synchronised
		switch {
		case id == 0 || u.Leap == uint8(chrony.LeapUnsynchronised):
			state = store.Unsynchronised
			u.Leap, u.Reference = uint8(chrony.LeapUnsynchronised), ""
		case uint32(id) == chrony.RefIDLocal:
			state = store.LocalClock
		}
		if len(h.Samples) == 0 || lastSample.State != state {
			lastSample = store.Sample{T: t, State: state}
			h.Samples = append(h.Samples, lastSample)
		}
		if len(h.Updates) == 0 || lastUpdate.Reference != u.Reference || lastUpdate.Stratum != u.Stratum || lastUpdate.Leap != u.Leap {
			lastUpdate = u
			h.Updates = append(h.Updates, u)
		}
		for src, ratio := range s.reach {
			p := store.SourcePoint{T: t, Reach: 0, State: uint8(chrony.StateNonselectable)}
			if ratio > 0 {
				p.Reach = 1 // answered some of its last 8 polls; which ones the series do not say
			}
			if states := s.states[src]; len(states) > 0 {
				p.State = stateCodes[states[len(states)-1]]
				// Two states in a step: the one that is not the last point's.
				if prev := points[src]; len(prev) > 0 {
					for _, st := range states {
						if stateCodes[st] != prev[len(prev)-1].State {
							p.State = stateCodes[st]
						}
					}
				}
			} else if prev := points[src]; len(prev) > 0 {
				p.State = prev[len(prev)-1].State
			}
			prev := points[src]
			if len(prev) == 0 || (prev[len(prev)-1].Reach == 0) != (p.Reach == 0) || prev[len(prev)-1].State != p.State {
				points[src] = append(prev, p)
			}
		}
	}
	if gap != nil {
		h.Gaps = append(h.Gaps, *gap)
	}
	srcs := make([]store.Source, 0, len(points))
	for src := range points {
		srcs = append(srcs, src)
	}
	sort.Slice(srcs, func(i, j int) bool { return history.SourceName(srcs[i]) < history.SourceName(srcs[j]) })
	for _, src := range srcs {
		h.Sources = append(h.Sources, store.SourceHistory{Source: src, Points: points[src]})
	}
	return h
}

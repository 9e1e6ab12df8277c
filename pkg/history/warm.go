package history

import (
	"context"
	"slices"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

// The long views (90d, 1y, 2y) draw most of their range from the summaries (rolled.go); the
// summaries' part is kept, but it must be drawn again whenever the summaries change (the day's
// rollup, the oldest day expired) and whenever the view's window moves by a column (every 4.5 h
// for 90d, 18.25 h for 1y, 36.5 h for 2y). Drawn by a request, that is 40 ms (90d) to 360 ms
// (2y) on a two-year store: so the warmer draws them in the background instead, at start,
// after each upkeep pass, and a little before each column starts, through the same flight
// and slots as a request (one asking meanwhile waits for it rather than drawing its own).

// warmRanges are the views whose summaries' part is drawn ahead, the most costly to draw first
// (2y then 1y; 90d last, whose cold draw is within 50 ms on a quiet machine).
var warmRanges = []string{"2y", "1y", "90d"}

// warmAhead is how long before its column starts a view's part is drawn.
const warmAhead = 5 * time.Minute

// warmShare is the part of the summaries' cache the warmer fills at most: the rest is for what
// requests draw (the 30d view's 5-minute summaries, views around a moment). A host's three
// parts, with 8 sources and serving statistics, are 2.7 MB (the bench's part longterm): 6 MB
// is every part of one host, of two all but one 90d, of three their 2y and 1y; with more
// hosts, those of the first.
const warmShare = rolledCacheBytes * 3 / 4

// Warm draws the summaries' part of hosts' long views as a request at now would ask it (and
// of the next column's, when it starts within warmAhead), each in one of the heavy slots, the
// parts already kept skipped, until the parts drawn pass warmShare. It returns when they are
// drawn or ctx ends.
func (s *Service) Warm(ctx context.Context, now time.Time, hosts ...string) {
	st, err := s.openStore()
	if err != nil {
		return
	}
	// A young store's hosts have no summaries yet (the upkeep only notes where their first
	// day starts): their parts would be empty, not worth a slot the panels may be waiting for.
	hosts = slices.DeleteFunc(slices.Clone(hosts), func(host string) bool { return len(st.Metrics(host)) == 0 })
	var held int64
	for _, name := range warmRanges {
		rng, _ := ParseRange(name)
		for _, host := range hosts {
			var last time.Time
			for _, at := range []time.Time{now, now.Add(warmAhead)} {
				to := window(rng, time.Time{}, at)
				if to.Equal(last) {
					continue
				}
				last = to
				from := to.Add(-rng.D)
				until := s.rawFrom(st, host, from, at)
				if !from.Before(until) {
					continue
				}
				p, err := s.warmPart(ctx, st, host, rng, from, until, at)
				if err != nil {
					if ctx.Err() == nil {
						s.log.Warn("history: drawing a long view ahead", "host", host, "range", name, "error", err)
					}
					return
				}
				held += p.size()
				if held+p.size() > warmShare {
					return // another as big would not fit
				}
			}
		}
	}
}

// warmPart draws one part in a heavy slot, unless it is kept. When a request is drawing it
// already (in its own slot), the warmer waits for that drawing holding no slot: on two cores,
// a slot taken only to wait would leave none for the events and history panels.
func (s *Service) warmPart(ctx context.Context, st *store.Store, host string, rng Range, from, until, now time.Time) (*rolledPart, error) {
	key := rolledKey{host: host, rng: rng.Name, from: from.UnixMilli(), to: until.UnixMilli()}
	stm := stamp{version: st.RollupGeneration(host)}
	if p, ok := s.rolledParts.get(key, stm); ok {
		return p, nil
	}
	if done, ok := s.drawing.Load(partFlight(key, stm)); ok {
		s.warmWaits.Add(1)
		select {
		case <-done.(chan struct{}):
		case <-ctx.Done():
		}
		s.warmWaits.Add(-1)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p, ok := s.rolledParts.get(key, stm); ok {
			return p, nil
		}
		// That drawing failed (its request's budget ended): the warmer draws it.
	}
	if err := s.slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	defer s.slots.Release(1)
	return s.rolledPartOf(ctx, st, host, rng, from, until, now, true)
}

// nextWarm is when the next column of a warmed range starts, less warmAhead.
func nextWarm(now time.Time) time.Time {
	var next time.Time
	for _, name := range warmRanges {
		rng, _ := ParseRange(name)
		// The end of the column warmAhead from now: that column was drawn at now if it is
		// the next one.
		t := window(rng, time.Time{}, now.Add(warmAhead)).Add(-warmAhead)
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// warmer draws the long views' parts of hosts once seeded is closed (the moments are read: each
// holds a slot while it works, and one at a time leaves the panels one on two cores), whenever
// kick says an upkeep pass is done, and before each column starts, until ctx ends.
func (s *Service) warmer(ctx context.Context, hosts []string, seeded, kick <-chan struct{}) {
	s.seedWaits.Add(1)
	select {
	case <-seeded:
	case <-ctx.Done():
	}
	s.seedWaits.Add(-1)
	for ctx.Err() == nil {
		passes := s.passes.Load()
		s.Warm(ctx, time.Now(), hosts...)
		s.warmedAfter.Store(passes)
		timer := time.NewTimer(time.Until(nextWarm(time.Now())))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

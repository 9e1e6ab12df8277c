package history

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// serviceWith is a history service over a store holding days of the host "h" with eight
// sources, ending at end.
func serviceWith(t *testing.T, end time.Time, days int) (*Service, *store.Store) {
	t.Helper()
	s := Open(Config{Dir: t.TempDir(), Sample: 16 * time.Second, Retention: store.Retention{Raw: 30 * 24 * time.Hour}})
	t.Cleanup(func() { s.Close() })
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	if days > 0 {
		if err := storetest.FillHistory(context.Background(), st, "h", end, days, 8); err != nil {
			t.Fatal(err)
		}
	}
	return s, st
}

// waitFor polls cond until it holds; the test's own timeout ends a wait that never does.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		runtime.Gosched()
	}
}

// holdSlots takes every slot of heavy work, as that many views being computed would.
func holdSlots(t *testing.T, s *Service) (release func()) {
	t.Helper()
	n := int64(runtime.GOMAXPROCS(0))
	if err := s.slots.Acquire(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	return func() { s.slots.Release(n) }
}

// TestIdenticalViewsAreComputedOnce: 20 requests for the same view at once wait for one
// computation and get its result.
func TestIdenticalViewsAreComputedOnce(t *testing.T) {
	end := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s, _ := serviceWith(t, end, 2)
	release := holdSlots(t, s) // so that the computation waits until all 20 have asked
	views := make([]View, 20)
	var wg sync.WaitGroup
	for i := range views {
		wg.Go(func() {
			ctx, cancel := chrony.WithBudget(context.Background(), time.Hour)
			defer cancel()
			var err error
			if views[i], err = s.View(ctx, "h", Ranges[2], time.Time{}, end); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, "20 requests to wait for the view", func() bool { return s.heavyStats.joined.Load() == 20 })
	release()
	wg.Wait()
	if n := s.heavyStats.computed.Load(); n != 1 {
		t.Errorf("20 identical requests at once: %d computations, want 1", n)
	}
	for i, v := range views {
		if v.Points == 0 || v.Points != views[0].Points {
			t.Errorf("request %d: a view of %d records, the first %d", i, v.Points, views[0].Points)
		}
	}
}

// TestViewsWaitTheirTurnThenSayBusy: while every slot is taken, 20 different views (around
// 20 moments) wait until their budget ends and answer ErrBusy; none is computed meanwhile. Once
// a slot is free, a view is computed.
func TestViewsWaitTheirTurnThenSayBusy(t *testing.T) {
	end := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s, _ := serviceWith(t, end, 2)
	release := holdSlots(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			ctx, cancel := chrony.WithBudget(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, errs[i] = s.View(ctx, "h", Ranges[2], end.Add(-time.Duration(24+i)*time.Hour), end)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrBusy) {
			t.Errorf("view %d while every slot is taken: %v, want ErrBusy", i, err)
		}
	}
	if n := s.heavyStats.computed.Load(); n != 0 {
		t.Errorf("%d views computed while every slot was taken", n)
	}
	release()
	if v, err := s.View(context.Background(), "h", Ranges[2], time.Time{}, end); err != nil || v.Points == 0 {
		t.Errorf("with a slot free: %d records, %v", v.Points, err)
	}
}

// TestPollingKeepsTheCacheSmall: one viewer polls the last hour while a sample is recorded
// before each poll (a new version of the data) and the window moves on: the cache keeps one
// view and one trend, not one per version.
func TestPollingKeepsTheCacheSmall(t *testing.T) {
	end := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s, _ := serviceWith(t, end, 1)
	ctx := context.Background()
	for i := range 60 {
		now := end.Add(time.Duration(i) * 2 * time.Second)
		if err := s.Append(ctx, "h", store.Batch{Samples: []store.Sample{{T: now, OffsetSeconds: 1e-6, State: store.Synchronised}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.View(ctx, "h", Ranges[0], time.Time{}, now); err != nil {
			t.Fatal(err)
		}
		s.Trend(ctx, "h", now)
	}
	entries, bytes := s.CacheUsage()
	if entries != 2 || bytes > viewCacheBytes+trendCacheBytes {
		t.Errorf("after 60 polls of new data: %d entries, %d bytes in the cache; want the view and the trend", entries, bytes)
	}
}

// TestCacheIsBoundedByBytes: entries for many keys (views around many moments) stay within the
// bound, the least recently used going first; a newer stamp replaces its key's entry.
func TestCacheIsBoundedByBytes(t *testing.T) {
	c := newCache[int, string](1000)
	for i := range 100 {
		c.put(i, stamp{}, "v", 100)
		if i == 50 {
			c.get(45, stamp{}) // used again: kept over older ones
		}
	}
	if n, b := c.usage(); n != 10 || b != 1000 {
		t.Errorf("%d entries, %d bytes; want 10 and 1000", n, b)
	}
	if _, ok := c.get(99, stamp{}); !ok {
		t.Error("the newest entry is gone")
	}
	if _, ok := c.get(0, stamp{}); ok {
		t.Error("the oldest entry is kept")
	}
	c.put(99, stamp{version: 1}, "newer", 100)
	if _, ok := c.get(99, stamp{}); ok {
		t.Error("an entry of an older version answers")
	}
	if v, ok := c.get(99, stamp{version: 1}); !ok || v != "newer" {
		t.Errorf("the newer version: %q %v", v, ok)
	}
	if n, _ := c.usage(); n != 10 {
		t.Errorf("%d entries after a newer version of one, want 10", n)
	}
	c.put(-1, stamp{}, "too big", 1001)
	if _, ok := c.get(-1, stamp{}); ok {
		t.Error("an entry larger than the bound is kept")
	}
}

// eventsStore writes, over four days, records whose changes fall on both sides of the windows'
// edges: synchronisation lost and regained, references, leap seconds, a step, sources going
// unreachable and back, and gaps (one across an edge, one a restart of chronyd).
func eventsStore(t *testing.T, st *store.Store, end time.Time) {
	t.Helper()
	start := end.Add(-4 * 24 * time.Hour)
	var b store.Batch
	nas, gps := store.Source{Name: "nas", Address: "192.168.1.10"}, store.Source{Name: "GPS"}
	for i, t := 0, start; t.Before(end); i, t = i+1, t.Add(15*time.Minute) {
		state := store.Synchronised
		if i%7 == 3 {
			state = store.Unsynchronised
		}
		b.Samples = append(b.Samples, store.Sample{T: t, State: state})
		ref := []string{"nas", "pi"}[i/5%2]
		b.Updates = append(b.Updates, store.Update{T: t.Add(time.Second), Reference: ref, Stratum: 2 + i/11%2, Leap: uint8(i / 13 % 2),
			OffsetSeconds: float64(i%17) / 8, UpdateIntervalSeconds: float64(64 * (i % 19))})
		b.Sources = append(b.Sources, store.SourceRecord{Source: nas, Point: store.SourcePoint{T: t.Add(2 * time.Second), Reach: uint8(255 * (i / 3 % 2)),
			State: uint8(i / 4 % 4), HasStats: true, Samples: 8 + i%5}})
		if i%9 == 0 {
			b.Sources = append(b.Sources, store.SourceRecord{Source: gps, Point: store.SourcePoint{T: t.Add(3 * time.Second), Reach: uint8(i / 9 % 2), State: 1}})
		}
	}
	edge := end.Truncate(eventsWindowSpan).Add(-2 * eventsWindowSpan)
	b.Gaps = []store.Gap{{Start: edge.Add(-20 * time.Minute), End: edge.Add(40 * time.Minute), Error: "across an edge"},
		{Start: start.Add(30 * time.Hour), End: start.Add(31 * time.Hour), Error: "a restart"}}
	if err := st.Append(context.Background(), "h", b); err != nil {
		t.Fatal(err)
	}
}

func eventKeys(ev []Event) []string {
	var out []string
	for _, e := range ev {
		out = append(out, e.T.UTC().Format(time.DateTime)+" "+e.Kind+" "+e.Text)
	}
	slices.Sort(out)
	return out
}

// TestEventsByWindowsAreTheWholeRecords: the events read window by window, newest first, are
// the events of the record read whole, those between two windows included.
func TestEventsByWindowsAreTheWholeRecords(t *testing.T) {
	end := time.Date(2026, 11, 30, 14, 20, 0, 0, time.UTC)
	s, st := serviceWith(t, end, 0)
	eventsStore(t, st, end)
	// Time enough to read every window however busy the machine: the default budget (2 s)
	// runs out under the race detector on a loaded machine, and what is tested here is how
	// windows join, not the budget (TestEventsStopWhenTheirTimeIsUp tests that).
	s.eventsBudget = time.Hour
	l, err := s.Events(context.Background(), "h", end)
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.Range(context.Background(), "h", end.Add(-s.cfg.Retention.Raw), end)
	if err != nil {
		t.Fatal(err)
	}
	got, want := eventKeys(l.Events), eventKeys(Events(h))
	if !l.NotScannedBefore.IsZero() {
		t.Errorf("stopped reading at %v", l.NotScannedBefore)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%d events by windows, %d from the record whole; only by windows:\n%s\nonly whole:\n%s", len(got), len(want),
			strings.Join(missing(got, want), "\n"), strings.Join(missing(want, got), "\n"))
	}
	kinds := map[string]int{}
	for _, e := range l.Events {
		kinds[e.Kind]++
	}
	for _, k := range []string{"lost", "regained", "reference", "stratum", "leap", "step", "unreachable", "reachable", "falseticker", "jittery", "restart", "silent"} {
		if kinds[k] == 0 {
			t.Errorf("no %s event: %v", k, kinds)
		}
	}
	if !slices.IsSortedFunc(l.Events, func(a, b Event) int { return b.T.Compare(a.T) }) {
		t.Error("events not newest first")
	}
}

func missing(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// TestEventsStopWhenTheirTimeIsUp: with no time to read beyond the newest window, the events
// are that window's and the log says where reading stopped; the windows read are kept, so a
// request with time reads the rest, and then says nothing was left unread.
func TestEventsStopWhenTheirTimeIsUp(t *testing.T) {
	end := time.Date(2026, 11, 30, 14, 20, 0, 0, time.UTC)
	s, st := serviceWith(t, end, 0)
	eventsStore(t, st, end)
	s.eventsBudget = time.Nanosecond
	l, err := s.Events(context.Background(), "h", end)
	if err != nil {
		t.Fatal(err)
	}
	newest := end.Truncate(eventsWindowSpan)
	if !l.NotScannedBefore.Equal(newest) {
		t.Errorf("stopped at %v, want the newest window's start %v", l.NotScannedBefore, newest)
	}
	for _, e := range l.Events {
		if e.T.Before(newest.Add(-time.Hour)) {
			t.Errorf("an event from before the window read: %v %s", e.T, e.Text)
		}
	}
	s.eventsBudget = time.Hour // time enough, however busy the machine (the default is 2 s)
	l, err = s.Events(context.Background(), "h", end)
	if err != nil || !l.NotScannedBefore.IsZero() {
		t.Errorf("with time to read: stopped at %v, %v", l.NotScannedBefore, err)
	}
	if n, _ := s.windows.usage(); n < 4*24/6-2 {
		t.Errorf("%d windows kept, want the settled ones of four days", n)
	}
}

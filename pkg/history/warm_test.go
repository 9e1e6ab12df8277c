package history

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// warmService is a service whose store holds three days of host h before now, not yet
// summarised, and a fleet of h (a fake chronyd) to Start it with.
func warmService(t *testing.T) (*Service, *monitor.Fleet) {
	t.Helper()
	keep := store.Retention{Raw: 24 * time.Hour, FiveMin: 90 * 24 * time.Hour, Hour: 730 * 24 * time.Hour}
	s := Open(Config{Dir: t.TempDir(), Sample: time.Second, Retention: keep})
	t.Cleanup(func() { s.Close() })
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := storetest.Generate(now.Add(-3*24*time.Hour), now.Add(-time.Minute), storetest.Options{Sources: 1},
		func(b store.Batch) error { return st.Append(context.Background(), "h", b) }); err != nil {
		t.Fatal(err)
	}
	if !st.RolledUntil("h").IsZero() {
		t.Fatal("summarised before the upkeep")
	}
	return s, replayFleet(t)
}

// replayFleet is a fleet of one host, "h", whose chronyd is a fake on loopback that replays
// captured replies.
func replayFleet(t *testing.T) *monitor.Fleet {
	t.Helper()
	fake, err := chronytest.NewUDP(chronytest.Replay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fake.Close() })
	addr, err := chrony.ParseAddress(fake.Addr)
	if err != nil {
		t.Fatal(err)
	}
	client, err := chrony.New(addr, chrony.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := monitor.NewFleet([]monitor.Host{{Name: "h", Reporter: client}}, monitor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fleet.Close() })
	return fleet
}

// TestUpkeepDrawsTheLongViewsAhead: the upkeep at start summarises the days that are over
// (the summaries change); the warmer then draws the long views' summaries' part, so that a
// request for the 1y view reads no summary: it is served the part the warmer drew, the same
// as one drawn for it.
func TestUpkeepDrawsTheLongViewsAhead(t *testing.T) {
	s, fleet := warmService(t)
	ctx := context.Background()
	s.Start(ctx, fleet)
	waitFor(t, "a round of the warmer after the upkeep's first pass", func() bool { return s.warmedAfter.Load() >= 1 })
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	if st.RolledUntil("h").IsZero() || st.RollupGeneration("h") == 0 {
		t.Fatal("the upkeep summarised nothing")
	}
	drawn := s.partsComputed.Load()
	if drawn == 0 {
		t.Fatal("the warmer drew no part")
	}
	rng, _ := ParseRange("1y")
	now := time.Now()
	v, err := s.View(ctx, "h", rng, time.Time{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.partsComputed.Load(); n != drawn {
		t.Errorf("the 1y view after the upkeep drew %d parts from the summaries, want none", n-drawn)
	}
	off := chartOf(t, v, "offset").Series[0].Stats
	if !off.Approx || off.N < 2*24*3600/16 {
		t.Errorf("the 1y view's offset: %d values (approximate %v), want the summarised days'", off.N, off.Approx)
	}
	// The part the warmer drew is the one a request draws.
	from := window(rng, time.Time{}, now).Add(-rng.D)
	until := s.rawFrom(st, "h", from, now)
	kept, ok := s.rolledParts.get(rolledKey{host: "h", rng: "1y", from: from.UnixMilli(), to: until.UnixMilli()}, stamp{version: st.RollupGeneration("h")})
	if !ok {
		t.Fatal("the 1y part is not kept")
	}
	b := newBuilder("h", from, from.Add(rng.D), rng, time.Time{})
	if err := b.fillRollups(ctx, st, "h", from, until, now, s.cfg.Retention); err != nil {
		t.Fatal(err)
	}
	if fresh := b.snapshot(); !reflect.DeepEqual(kept, fresh) {
		t.Error("the part the warmer drew differs from one drawn for a request")
	}
	for _, name := range warmRanges {
		r, _ := ParseRange(name)
		from := window(r, time.Time{}, now).Add(-r.D)
		if _, ok := s.rolledParts.get(rolledKey{host: "h", rng: name, from: from.UnixMilli(), to: s.rawFrom(st, "h", from, now).UnixMilli()}, stamp{version: st.RollupGeneration("h")}); !ok {
			t.Errorf("%s: no part kept", name)
		}
	}
}

// TestCloseWaitsForTheWarmer: Close while the warmer draws a part cancels it and waits for it:
// the store stays open while the part is drawn; when Close returns, none is, and the store is
// closed.
func TestCloseWaitsForTheWarmer(t *testing.T) {
	s, fleet := warmService(t)
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	st.MaintainOnce(context.Background(), time.Now(), s.cfg.Retention)
	if st.RolledUntil("h").IsZero() {
		t.Fatal("the upkeep summarised nothing")
	}
	entered := make(chan struct{}, 1)
	var closedUnder atomic.Bool // the store was closed while a part was being drawn
	partHook = func(ctx context.Context) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done() // the part is drawn until Close cancels it
		s.mu.Lock()
		closedUnder.Store(closedUnder.Load() || s.st == nil)
		s.mu.Unlock()
	}
	t.Cleanup(func() { partHook = nil })
	s.Start(context.Background(), fleet)
	<-entered // the warmer is drawing a part
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if closedUnder.Load() {
		t.Error("Close closed the store under a part being drawn")
	}
	if n := s.partsRunning.Load(); n != 0 {
		t.Errorf("%d parts still being drawn after Close", n)
	}
	if _, err := s.openStore(); err == nil {
		t.Error("the store is open after Close")
	}
}

// TestWarmerWaitsForARequestsDrawingWithoutASlot: when a request's view is drawing the part
// the warmer comes to, the warmer waits for that drawing holding no slot of its own, so the
// other slot stays free for the events and history panels (on two cores, a slot taken to wait
// would leave them none); it then has the part the request drew, drawn once.
func TestWarmerWaitsForARequestsDrawingWithoutASlot(t *testing.T) {
	s, _ := warmService(t)
	s.slots = semaphore.NewWeighted(2) // two cores, whatever runs the test
	ctx := context.Background()
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	st.MaintainOnce(ctx, time.Now(), s.cfg.Retention)
	if st.RolledUntil("h").IsZero() {
		t.Fatal("the upkeep summarised nothing")
	}
	entered, release := make(chan struct{}), make(chan struct{})
	partHook = func(ctx context.Context) {
		close(entered) // only the request draws: a second drawing would panic here
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	t.Cleanup(func() { partHook = nil })
	rng, _ := ParseRange("1y")
	now := time.Now()
	viewed := make(chan error, 1)
	go func() {
		_, err := s.View(ctx, "h", rng, time.Time{}, now)
		viewed <- err
	}()
	<-entered // the request draws the 1y part, in its slot
	from := window(rng, time.Time{}, now).Add(-rng.D)
	until := s.rawFrom(st, "h", from, now)
	type result struct {
		p   *rolledPart
		err error
	}
	warmed := make(chan result, 1)
	go func() {
		p, err := s.warmPart(ctx, st, "h", rng, from, until, now)
		warmed <- result{p, err}
	}()
	slotFree := func() bool {
		if !s.slots.TryAcquire(1) {
			return false
		}
		s.slots.Release(1)
		return true
	}
	waitFor(t, "the warmer to wait for the request's drawing, or to take a slot", func() bool {
		return s.warmWaits.Load() == 1 || !slotFree()
	})
	if !slotFree() {
		t.Error("the warmer holds a slot while it waits for the request's drawing: none left for the panels")
	}
	close(release)
	if err := <-viewed; err != nil {
		t.Fatal(err)
	}
	r := <-warmed
	if r.err != nil {
		t.Fatal(r.err)
	}
	kept, ok := s.rolledParts.get(rolledKey{host: "h", rng: "1y", from: from.UnixMilli(), to: until.UnixMilli()}, stamp{version: st.RollupGeneration("h")})
	if !ok || r.p != kept {
		t.Error("the warmer did not get the part the request drew")
	}
	if n := s.partsComputed.Load(); n != 1 {
		t.Errorf("the part was drawn %d times, want once", n)
	}
}

// TestWarmerLeavesAYoungStore: a store of minutes, no day over, has no summaries (the upkeep
// only notes where the host's first day starts): the warmer draws nothing there, so it takes
// no slot from the panels for parts that would be empty, at start and after every pass.
func TestWarmerLeavesAYoungStore(t *testing.T) {
	_, fleet := warmService(t) // its fleet of h; the store is another
	s := Open(Config{Dir: t.TempDir(), Sample: time.Second})
	t.Cleanup(func() { s.Close() })
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := storetest.Generate(now.Add(-10*time.Minute), now, storetest.Options{Sources: 1},
		func(b store.Batch) error { return st.Append(context.Background(), "h", b) }); err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background(), fleet)
	waitFor(t, "a round of the warmer after the upkeep's first pass", func() bool { return s.warmedAfter.Load() >= 1 })
	if st.RolledUntil("h").IsZero() {
		t.Fatal("the upkeep did not note where h's record starts: the case is not the one tested")
	}
	if n := s.partsComputed.Load(); n != 0 {
		t.Errorf("the warmer drew %d parts of a store of minutes, want none", n)
	}
}

// TestWarmerWaitsForTheMoments: at start the moments of each host are read, each in a slot;
// the warmer draws only once they are read, so that the two never hold both slots of two
// cores and the events panel is answered meanwhile (not "busy").
func TestWarmerWaitsForTheMoments(t *testing.T) {
	s, fleet := warmService(t)
	s.slots = semaphore.NewWeighted(2) // two cores, whatever runs the test
	ctx := context.Background()
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	st.MaintainOnce(ctx, time.Now(), s.cfg.Retention) // summarised: the warmer has parts to draw at once
	seeding, release := make(chan struct{}, 1), make(chan struct{})
	seedHook = func(ctx context.Context) {
		select {
		case seeding <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	var drew atomic.Bool
	partHook = func(ctx context.Context) {
		drew.Store(true)
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	defer func() { seedHook, partHook = nil, nil }()
	s.Start(ctx, fleet)
	<-seeding // h's moments are being read, in a slot
	waitFor(t, "the warmer to wait for the moments, or to draw", func() bool { return s.seedWaits.Load() == 1 || drew.Load() })
	if drew.Load() {
		t.Error("the warmer draws while the moments are read: both slots held by background work")
	}
	ectx, cancel := context.WithTimeout(ctx, time.Minute) // a request's budget: ErrBusy when no slot came
	defer cancel()
	if _, err := s.Events(ectx, "h", time.Now()); err != nil {
		t.Errorf("the events panel while the moments are read: %v", err)
	}
	close(release)
	waitFor(t, "a round of the warmer once the moments are read", func() bool { return s.partsComputed.Load() > 0 && s.partsRunning.Load() == 0 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

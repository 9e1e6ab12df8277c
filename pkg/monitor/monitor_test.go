package monitor

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/monitor/monitortest"
)

// fakeReporter answers each report with its function, counting the calls. A nil function
// answers with the zero report.
type fakeReporter struct {
	monitortest.NoSocketReports
	tracking    func(context.Context) (chrony.Tracking, error)
	numSources  func(context.Context) (int, error)
	sources     func(context.Context, int) ([]chrony.Source, error)
	sourceStats func(context.Context, int) ([]chrony.SourceStats, error)

	calls sync.Map // method name -> *atomic.Int64
}

var _ Reporter = (*fakeReporter)(nil)

func (f *fakeReporter) count(method string) {
	c, _ := f.calls.LoadOrStore(method, new(atomic.Int64))
	c.(*atomic.Int64).Add(1)
}

func (f *fakeReporter) n(method string) int64 {
	c, ok := f.calls.Load(method)
	if !ok {
		return 0
	}
	return c.(*atomic.Int64).Load()
}

func (f *fakeReporter) Tracking(ctx context.Context) (chrony.Tracking, error) {
	f.count("Tracking")
	if f.tracking == nil {
		return chrony.Tracking{Stratum: 3}, nil
	}
	return f.tracking(ctx)
}

func (f *fakeReporter) NumSources(ctx context.Context) (int, error) {
	f.count("NumSources")
	if f.numSources == nil {
		return 4, nil
	}
	return f.numSources(ctx)
}

func (f *fakeReporter) SourcesN(ctx context.Context, n int) ([]chrony.Source, error) {
	f.count("SourcesN")
	if f.sources == nil {
		return make([]chrony.Source, n), nil
	}
	return f.sources(ctx, n)
}

func (f *fakeReporter) SourceStatsN(ctx context.Context, n int) ([]chrony.SourceStats, error) {
	f.count("SourceStatsN")
	if f.sourceStats == nil {
		return make([]chrony.SourceStats, n), nil
	}
	return f.sourceStats(ctx, n)
}

func (f *fakeReporter) RTC(context.Context) (chrony.RTC, error) {
	f.count("RTC")
	return chrony.RTC{}, nil
}

func (f *fakeReporter) Endpoint() string { return "udp://fake:323" }
func (f *fakeReporter) Close() error     { return nil }

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// blocked makes a report that waits until release is closed, and says on started each time
// it begins.
func blocked(started chan<- struct{}, release <-chan struct{}, err error) func(context.Context) (chrony.Tracking, error) {
	return func(context.Context) (chrony.Tracking, error) {
		started <- struct{}{}
		<-release
		return chrony.Tracking{Stratum: 2}, err
	}
}

// eventually polls cond until it holds; the test's own timeout ends a wait that never does.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (e *entry[T]) waiters() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.waiting
}

// TestSharesConcurrentReads: 20 callers arrive while chronyd is being read; all of them get
// that one read. The read is held until the other 19 are waiting for it.
func TestSharesConcurrentReads(t *testing.T) {
	started, release := make(chan struct{}, 20), make(chan struct{})
	f := &fakeReporter{tracking: blocked(started, release, nil)}
	m := New("h", f, Config{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tr, _, err := m.Tracking(context.Background(), Want{}); err != nil || tr.Stratum != 2 {
				t.Errorf("Tracking = %+v, %v", tr, err)
			}
		}()
	}
	<-started
	eventually(t, "19 callers to wait for the read", func() bool { return m.tracking.waiters() == 19 })
	close(release)
	wg.Wait()
	if n := f.n("Tracking"); n != 1 {
		t.Errorf("20 concurrent callers caused %d reads, want 1", n)
	}
	if s := m.Stats(); s.Reads.Load() != 1 || s.Shared.Load() != 19 {
		t.Errorf("stats: %d reads, %d shared; want 1 and 19", s.Reads.Load(), s.Shared.Load())
	}
}

func TestReusesForTheWindow(t *testing.T) {
	f := &fakeReporter{}
	clock := newClock()
	m := New("h", f, Config{Reuse: 5 * time.Second, Now: clock.now})
	ctx := context.Background()
	_, at1, _ := m.Tracking(ctx, Want{})
	clock.add(4 * time.Second)
	_, at2, _ := m.Tracking(ctx, Want{})
	if n := f.n("Tracking"); n != 1 || at2 != at1 {
		t.Errorf("within the window: %d reads, read at %v then %v; want 1 read, reused", n, at1, at2)
	}
	clock.add(2 * time.Second)
	if _, at3, _ := m.Tracking(ctx, Want{}); f.n("Tracking") != 2 || !at3.After(at1) {
		t.Errorf("after the window: %d reads, want 2", f.n("Tracking"))
	}
}

// TestFreshReadsAreLimitedToOneASecond: the reload button skips the reuse window, but however
// many press it, chronyd is read at most once a second for that report.
func TestFreshReadsAreLimitedToOneASecond(t *testing.T) {
	f := &fakeReporter{}
	clock := newClock()
	m := New("h", f, Config{Reuse: time.Hour, Now: clock.now})
	ctx := context.Background()
	m.Tracking(ctx, Want{})
	clock.add(2 * time.Second)
	for range 50 {
		m.Tracking(ctx, Want{Fresh: true})
	}
	if n := f.n("Tracking"); n != 2 {
		t.Errorf("50 fresh reads in one instant: %d reads of chronyd, want 2 (the first read and one fresh)", n)
	}
	clock.add(999 * time.Millisecond)
	m.Tracking(ctx, Want{Fresh: true})
	if n := f.n("Tracking"); n != 2 {
		t.Errorf("a fresh read 999 ms after the last: %d reads, want still 2", n)
	}
	clock.add(2 * time.Millisecond)
	m.Tracking(ctx, Want{Fresh: true})
	if n := f.n("Tracking"); n != 3 {
		t.Errorf("a fresh read 1001 ms after the last: %d reads, want 3", n)
	}
}

// TestFreshReadIsAfterTheClick: a reload right after another reader's read (the history
// recorder's) reads chronyd again, so that it shows what chronyd says after the click; the
// reloads after it in the same second share that read.
func TestFreshReadIsAfterTheClick(t *testing.T) {
	f := &fakeReporter{}
	clock := newClock()
	m := New("h", f, Config{Reuse: time.Hour, Now: clock.now})
	ctx := context.Background()
	m.Tracking(ctx, Want{MaxAge: time.Second})
	clock.add(100 * time.Millisecond)
	m.Tracking(ctx, Want{Fresh: true})
	if n := f.n("Tracking"); n != 2 {
		t.Errorf("a reload 100 ms after the recorder's read: %d reads, want 2", n)
	}
	clock.add(100 * time.Millisecond)
	m.Tracking(ctx, Want{Fresh: true})
	if n := f.n("Tracking"); n != 2 {
		t.Errorf("a second reload 100 ms after the first: %d reads, want still 2", n)
	}
}

// TestFreshReadsShareTheReadInFlight: ten reloads while chronyd is being read cost one read.
func TestFreshReadsShareTheReadInFlight(t *testing.T) {
	started, release := make(chan struct{}, 10), make(chan struct{})
	f := &fakeReporter{tracking: blocked(started, release, nil)}
	m := New("h", f, Config{Reuse: time.Hour})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); m.Tracking(context.Background(), Want{Fresh: true}) }()
	}
	<-started
	eventually(t, "9 reloads to wait for the read", func() bool { return m.tracking.waiters() == 9 })
	close(release)
	wg.Wait()
	if n := f.n("Tracking"); n != 1 {
		t.Errorf("10 concurrent reloads caused %d reads, want 1", n)
	}
}

// TestAsksForTheSourceCountOnce: the sources and the source statistics of one refresh ask for
// the number of sources once between them.
func TestAsksForTheSourceCountOnce(t *testing.T) {
	f := &fakeReporter{}
	clock := newClock()
	m := New("h", f, Config{Reuse: 5 * time.Second, Now: clock.now})
	ctx := context.Background()
	for refresh := 1; refresh <= 3; refresh++ {
		if _, _, err := m.Sources(ctx, Want{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.SourceStats(ctx, Want{}); err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{"NumSources", "SourcesN", "SourceStatsN"} {
			if got := f.n(method); got != int64(refresh) {
				t.Errorf("after %d refreshes: %d calls of %s, want %d", refresh, got, method, refresh)
			}
		}
		clock.add(6 * time.Second)
	}
}

// TestRecountsWhenASourceWent: the count in the window says 4, chronyd now has 3.
func TestRecountsWhenASourceWent(t *testing.T) {
	var sources atomic.Int64
	sources.Store(4)
	f := &fakeReporter{
		numSources: func(context.Context) (int, error) { return int(sources.Load()), nil },
		sourceStats: func(_ context.Context, n int) ([]chrony.SourceStats, error) {
			if n > int(sources.Load()) {
				return nil, &chrony.Error{Kind: chrony.KindStatus, Status: chrony.StatusNoSuchSource}
			}
			return make([]chrony.SourceStats, n), nil
		},
	}
	clock := newClock()
	m := New("h", f, Config{Reuse: 5 * time.Second, Now: clock.now})
	ctx := context.Background()
	if got, _, err := m.Sources(ctx, Want{}); err != nil || len(got) != 4 {
		t.Fatalf("Sources = %d, %v", len(got), err)
	}
	sources.Store(3)
	clock.add(time.Second) // the count of 4 is still in the window
	got, _, err := m.SourceStats(ctx, Want{})
	if err != nil || len(got) != 3 {
		t.Fatalf("SourceStats after a source went = %d, %v; want 3 and no error", len(got), err)
	}
	if n := f.n("NumSources"); n != 2 {
		t.Errorf("the count was read %d times, want 2 (the recount)", n)
	}
}

// TestSharesErrorsAndSurvivesACallerLeaving: a caller that stops waiting does not cancel the
// read for the one still waiting; the error is shared and reused for the window.
func TestSharesErrorsAndSurvivesACallerLeaving(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	refused := &chrony.Error{Kind: chrony.KindNotAuthorised, Status: chrony.StatusUnauth}
	f := &fakeReporter{tracking: blocked(started, release, refused)}
	m := New("h", f, Config{Reuse: time.Hour})

	// A deadline marks a caller that may give up; this one gives up before it.
	impatient, leave := context.WithTimeout(context.Background(), time.Hour)
	impatientErr := make(chan error, 1)
	go func() { _, _, err := m.Tracking(impatient, Want{}); impatientErr <- err }()
	<-started // the impatient caller's read is in flight
	patientErr := make(chan error, 1)
	go func() { _, _, err := m.Tracking(context.Background(), Want{}); patientErr <- err }()
	eventually(t, "the patient caller to wait", func() bool { return m.tracking.waiters() == 1 })
	leave()
	if err := <-impatientErr; !errors.Is(err, ErrStillReading) {
		t.Errorf("the caller that left: %v, want ErrStillReading", err)
	}
	close(release)
	if err := <-patientErr; chrony.KindOf(err) != chrony.KindNotAuthorised {
		t.Errorf("the patient caller: %v, want chronyd's refusal", err)
	}
	if _, _, err := m.Tracking(context.Background(), Want{}); chrony.KindOf(err) != chrony.KindNotAuthorised {
		t.Errorf("within the window the error is reused: %v", err)
	}
	if n := f.n("Tracking"); n != 1 {
		t.Errorf("%d reads, want 1 shared by all", n)
	}
}

// TestSinceFindsTheReadACallerGaveUpOn: with no reuse window, a caller who stopped waiting for
// a slow read comes back with Since and gets that read, not a new one.
func TestSinceFindsTheReadACallerGaveUpOn(t *testing.T) {
	started, release := make(chan struct{}, 2), make(chan struct{})
	f := &fakeReporter{tracking: blocked(started, release, nil)}
	clock := newClock()
	m := New("h", f, Config{Reuse: 0, Now: clock.now})
	asked := clock.now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, _, err := m.Tracking(ctx, Want{}); !errors.Is(err, ErrStillReading) {
		t.Fatalf("first ask: %v, want ErrStillReading", err)
	}
	<-started
	close(release)
	eventually(t, "the read to finish", func() bool { _, _, _, ok := m.LastTracking(); return ok })
	clock.add(10 * time.Second)
	tr, _, err := m.Tracking(context.Background(), Want{Since: asked})
	if err != nil || tr.Stratum != 2 {
		t.Errorf("coming back: %+v %v", tr, err)
	}
	if n := f.n("Tracking"); n != 1 {
		t.Errorf("%d reads, want 1", n)
	}
	m.Tracking(context.Background(), Want{})
	if n := f.n("Tracking"); n != 2 {
		t.Errorf("without Since and no window: %d reads, want a new one", n)
	}
}

func TestAPanickingReadIsAnError(t *testing.T) {
	f := &fakeReporter{tracking: func(context.Context) (chrony.Tracking, error) { panic("decoder bug") }}
	m := New("h", f, Config{})
	if _, _, err := m.Tracking(context.Background(), Want{}); err == nil || !strings.Contains(err.Error(), "decoder bug") {
		t.Errorf("Tracking = %v, want the panic as an error", err)
	}
}

func TestFleet(t *testing.T) {
	r := &fakeReporter{}
	f, err := NewFleet([]Host{{"b", r}, {"a", r}}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), ","); got != "b,a" {
		t.Errorf("names = %s, want configuration order b,a", got)
	}
	if m, ok := f.Lookup("a"); !ok || m.Name() != "a" {
		t.Errorf("Lookup(a) = %v %v", m, ok)
	}
	if _, ok := f.Lookup("c"); ok {
		t.Error("Lookup(c) found a host")
	}
	if _, ok := f.Single(); ok {
		t.Error("Single with two hosts")
	}
	one, _ := NewFleet([]Host{{"only", r}}, Config{})
	if m, ok := one.Single(); !ok || m.Name() != "only" {
		t.Errorf("Single = %v %v", m, ok)
	}
	// An empty fleet: every host is read from a time-series engine.
	if none, err := NewFleet(nil, Config{}); err != nil || none.Len() != 0 {
		t.Errorf("NewFleet(nil) = %v, %v; want an empty fleet", none, err)
	}
	for _, bad := range [][]Host{{{"a b", r}}, {{"x", r}, {"x", r}}, {{strings.Repeat("n", 64), r}}, {{"..", r}}} {
		if _, err := NewFleet(bad, Config{}); err == nil {
			t.Errorf("NewFleet(%v): no error", bad)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"nas", "pi-gps", "ntp1.lan", "a_b", strings.Repeat("x", 63), "127.0.0.1"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a/b", "a:b", "é", strings.Repeat("x", 64), ".", "..", "<x>"} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func (f *fakeReporter) Activity(context.Context) (chrony.Activity, error) {
	return chrony.Activity{Online: 1}, nil
}
func (f *fakeReporter) ServerStats(context.Context) (chrony.ServerStats, error) {
	return chrony.ServerStats{Version: 4}, nil
}
func (f *fakeReporter) Counts() chrony.Counts { return chrony.Counts{} }

// gate is a Reporter whose every report waits until open is closed, counting the calls.
type gate struct {
	fakeReporter
	open chan struct{}
}

func (g *gate) wait(method string) { g.count(method); <-g.open }

func (g *gate) Tracking(context.Context) (chrony.Tracking, error) {
	g.wait("Tracking")
	return chrony.Tracking{}, nil
}
func (g *gate) NumSources(context.Context) (int, error) { g.wait("NumSources"); return 1, nil }
func (g *gate) SourcesN(context.Context, int) ([]chrony.Source, error) {
	g.wait("SourcesN")
	return nil, nil
}
func (g *gate) SourceStatsN(context.Context, int) ([]chrony.SourceStats, error) {
	g.wait("SourceStatsN")
	return nil, nil
}
func (g *gate) RTC(context.Context) (chrony.RTC, error) { g.wait("RTC"); return chrony.RTC{}, nil }
func (g *gate) Activity(context.Context) (chrony.Activity, error) {
	g.wait("Activity")
	return chrony.Activity{}, nil
}
func (g *gate) ServerStats(context.Context) (chrony.ServerStats, error) {
	g.wait("ServerStats")
	return chrony.ServerStats{}, nil
}
func (g *gate) SelectDataN(context.Context, int) ([]chrony.Selection, error) {
	g.wait("SelectDataN")
	return nil, nil
}
func (g *gate) NTPData(context.Context, netip.Addr) (chrony.NTPData, error) {
	g.wait("NTPData")
	return chrony.NTPData{}, nil
}
func (g *gate) AuthData(context.Context, netip.Addr) (chrony.AuthData, error) {
	g.wait("AuthData")
	return chrony.AuthData{}, nil
}
func (g *gate) Clients(context.Context, int) ([]chrony.ClientAccess, error) {
	g.wait("Clients")
	return nil, nil
}

// TestEveryReportSharesOneExchange: for each report, 20 callers at once, half of them reloads
// (Want.Fresh) and each with a budget of its own, cost chronyd one exchange: the read is held
// until the 19 others wait for it.
func TestEveryReportSharesOneExchange(t *testing.T) {
	addr := netip.MustParseAddr("192.0.2.1")
	type waiter interface{ waiters() int }
	reports := []struct {
		method string // the Reporter's method that reads it
		read   func(*Monitor, context.Context, Want) error
		entry  func(*Monitor) waiter
	}{
		{"Tracking", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.Tracking(c, w); return err }, func(m *Monitor) waiter { return &m.tracking }},
		{"SourcesN", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.Sources(c, w); return err }, func(m *Monitor) waiter { return &m.sources }},
		{"SourceStatsN", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.SourceStats(c, w); return err }, func(m *Monitor) waiter { return &m.sourceStats }},
		{"RTC", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.RTC(c, w); return err }, func(m *Monitor) waiter { return &m.rtc }},
		{"Activity", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.Activity(c, w); return err }, func(m *Monitor) waiter { return &m.activity }},
		{"ServerStats", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.ServerStats(c, w); return err }, func(m *Monitor) waiter { return &m.serverStats }},
		{"SelectDataN", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.Selection(c, w); return err }, func(m *Monitor) waiter { return &m.selection }},
		{"Clients", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.Clients(c, w); return err }, func(m *Monitor) waiter { return &m.clients }},
		{"NTPData", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.NTPData(c, addr, w); return err }, func(m *Monitor) waiter { return m.ntpData.get(addr) }},
		{"AuthData", func(m *Monitor, c context.Context, w Want) error { _, _, err := m.AuthData(c, addr, w); return err }, func(m *Monitor) waiter { return m.authData.get(addr) }},
	}
	for _, r := range reports {
		t.Run(r.method, func(t *testing.T) {
			g := &gate{open: make(chan struct{})}
			m := New("h", g, Config{Reuse: time.Second})
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					ctx, cancel := chrony.WithBudget(context.Background(), time.Hour)
					defer cancel()
					if err := r.read(m, ctx, Want{Fresh: i%2 == 1}); err != nil {
						t.Errorf("%s: %v", r.method, err)
					}
				})
			}
			eventually(t, "19 callers to wait for the read", func() bool { return r.entry(m).waiters() == 19 })
			close(g.open)
			wg.Wait()
			if n := g.n(r.method); n != 1 {
				t.Errorf("20 callers at once caused %d reads, want 1", n)
			}
		})
	}
}

// TestKeepsTheLastGoodRead: while chronyd fails, the last report read without error stays at
// hand with when it was read (a page shows it stale), and the outage says since when reads fail.
func TestKeepsTheLastGoodRead(t *testing.T) {
	var down atomic.Bool
	f := &fakeReporter{tracking: func(context.Context) (chrony.Tracking, error) {
		if down.Load() {
			return chrony.Tracking{}, &chrony.Error{Kind: chrony.KindUnreachable, Op: "tracking"}
		}
		return chrony.Tracking{Stratum: 3}, nil
	}}
	clock := newClock()
	m := New("h", f, Config{Now: clock.now})
	ctx := context.Background()
	if _, ok := m.GoodTracking(); ok {
		t.Fatal("a last good read before any read")
	}
	_, goodAt, _ := m.Tracking(ctx, Want{})
	down.Store(true)
	clock.add(10 * time.Second)
	_, failedAt, err := m.Tracking(ctx, Want{})
	if err == nil {
		t.Fatal("no error from a failing chronyd")
	}
	clock.add(10 * time.Second)
	m.Tracking(ctx, Want{})
	g, ok := m.GoodTracking()
	if !ok || g.Val.Stratum != 3 || !g.At.Equal(goodAt) {
		t.Errorf("last good read while failing: %+v, %v; want stratum 3 read at %v", g, ok, goodAt)
	}
	if o, ok := m.TrackingOutage(); !ok || !o.Open || !o.From.Equal(failedAt) {
		t.Errorf("outage %+v, want open since %v", o, failedAt)
	}
	down.Store(false)
	clock.add(10 * time.Second)
	_, backAt, _ := m.Tracking(ctx, Want{})
	if g, _ := m.GoodTracking(); !g.At.Equal(backAt) {
		t.Errorf("after chronyd is back, the last good read is from %v, want %v", g.At, backAt)
	}
}

// TestCachedNeverReads: Want.Cached answers from a read already made, and never asks chronyd.
func TestCachedNeverReads(t *testing.T) {
	f := &fakeReporter{}
	m := New("h", f, Config{Reuse: time.Minute})
	ctx := context.Background()
	if _, _, err := m.Tracking(ctx, Want{Cached: true}); !errors.Is(err, ErrNotRead) {
		t.Fatalf("nothing read yet: got %v, want ErrNotRead", err)
	}
	if n := f.n("Tracking"); n != 0 {
		t.Fatalf("Cached asked chronyd %d times", n)
	}
	m.Tracking(ctx, Want{})
	if _, at, err := m.Tracking(ctx, Want{Cached: true}); err != nil || at.IsZero() {
		t.Errorf("after a read: %v %v", at, err)
	}
	if n := f.n("Tracking"); n != 1 {
		t.Errorf("chronyd asked %d times, want 1", n)
	}
}

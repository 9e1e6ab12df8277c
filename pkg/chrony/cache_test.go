package chrony

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
)

func count(fake *chronytest.Server, cmd uint16) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Command == cmd {
			n++
		}
	}
	return n
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

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

func newCache(t *testing.T, h chronytest.Handler, window time.Duration) (*Cache, *chronytest.Server, *fakeClock) {
	t.Helper()
	fake := chronytest.StartUDP(t, h)
	cache := NewCache(newClient(t, fake.Addr, Options{}), window)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cache.now = clock.now
	return cache, fake, clock
}

func TestCacheSharesConcurrentReads(t *testing.T) {
	cache, fake, _ := newCache(t, chronytest.Replay, 0)
	fake.SetDelay(50 * time.Millisecond)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := cache.Tracking(context.Background(), false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := count(fake, chronytest.ReqTracking); n != 1 {
		t.Errorf("20 concurrent viewers sent %d tracking requests, want 1", n)
	}
}

func TestCacheReusesForTheWindow(t *testing.T) {
	cache, fake, clock := newCache(t, chronytest.Replay, 5*time.Second)
	ctx := context.Background()
	_, at1, _ := cache.Tracking(ctx, false)
	clock.add(4 * time.Second)
	_, at2, _ := cache.Tracking(ctx, false)
	if n := count(fake, chronytest.ReqTracking); n != 1 || at2 != at1 {
		t.Errorf("within the window: %d requests, read at %v then %v; want 1 read, reused", n, at1, at2)
	}
	clock.add(2 * time.Second)
	_, at3, _ := cache.Tracking(ctx, false)
	if n := count(fake, chronytest.ReqTracking); n != 2 || !at3.After(at1) {
		t.Errorf("after the window: %d requests, want 2", n)
	}
	// A fresh read (the reload button) skips the window.
	cache.Tracking(ctx, true)
	if n := count(fake, chronytest.ReqTracking); n != 3 {
		t.Errorf("a fresh read within the window: %d requests, want 3", n)
	}
}

func TestCacheFreshReadsShareTheReadInFlight(t *testing.T) {
	cache, fake, _ := newCache(t, chronytest.Replay, time.Hour)
	fake.SetDelay(50 * time.Millisecond)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); cache.RTC(context.Background(), true) }()
	}
	wg.Wait()
	if n := count(fake, chronytest.ReqRTCReport); n != 1 {
		t.Errorf("10 concurrent reloads sent %d RTC requests, want 1", n)
	}
}

// TestCacheAsksForTheSourceCountOnce: the sources and the source statistics of one refresh send
// N_SOURCES once, SOURCE_DATA and SOURCESTATS once per source, and each name once ever.
func TestCacheAsksForTheSourceCountOnce(t *testing.T) {
	cache, fake, clock := newCache(t, chronytest.Replay, 5*time.Second)
	ctx := context.Background()
	for refresh := range 3 {
		if _, _, err := cache.Sources(ctx, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := cache.SourceStats(ctx, false); err != nil {
			t.Fatal(err)
		}
		want := map[uint16]int{chronytest.ReqNSources: refresh + 1, chronytest.ReqSourceData: 4 * (refresh + 1),
			chronytest.ReqSourceStats: 4 * (refresh + 1), chronytest.ReqNTPSourceName: 3}
		for cmd, n := range want {
			if got := count(fake, cmd); got != n {
				t.Errorf("after %d refreshes: %d requests of command %d, want %d", refresh+1, got, cmd, n)
			}
		}
		clock.add(6 * time.Second)
	}
}

// TestCacheRecountsWhenASourceWent: the count in the window says 4, chronyd now has 3.
func TestCacheRecountsWhenASourceWent(t *testing.T) {
	var mu sync.Mutex
	sources := 4
	h := func(req chronytest.Request) [][]byte {
		mu.Lock()
		n := sources
		mu.Unlock()
		switch {
		case req.Command == chronytest.ReqNSources:
			return [][]byte{chronytest.Reply(req, 2, 0, []byte{0, 0, 0, byte(n)})}
		case (req.Command == chronytest.ReqSourceData || req.Command == chronytest.ReqSourceStats) && req.Index() >= n:
			return [][]byte{chronytest.Reply(req, 1, 4, nil)}
		}
		return chronytest.Replay(req)
	}
	cache, fake, clock := newCache(t, h, 5*time.Second)
	ctx := context.Background()
	if got, _, err := cache.Sources(ctx, false); err != nil || len(got) != 4 {
		t.Fatalf("Sources = %d, %v", len(got), err)
	}
	mu.Lock()
	sources = 3
	mu.Unlock()
	clock.add(time.Second) // the count of 4 is still in the window
	got, _, err := cache.SourceStats(ctx, false)
	if err != nil || len(got) != 3 {
		t.Fatalf("SourceStats after a source went = %d, %v; want 3 and no error", len(got), err)
	}
	if n := count(fake, chronytest.ReqNSources); n != 2 {
		t.Errorf("N_SOURCES sent %d times, want 2 (the recount)", n)
	}
}

func TestCacheSharesErrorsAndSurvivesACallerLeaving(t *testing.T) {
	cache, fake, _ := newCache(t, chronytest.Silent, time.Second)
	cache.r.(*Client).opts.Timeout = 30 * time.Millisecond
	cache.r.(*Client).opts.Retries = 0
	short, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	var patientErr error
	go func() {
		defer wg.Done()
		_, _, patientErr = cache.Tracking(context.Background(), false)
	}()
	time.Sleep(time.Millisecond)
	if _, _, err := cache.Tracking(short, false); KindOf(err) != KindTimeout {
		t.Errorf("the impatient caller: %v, want a timeout", err)
	}
	wg.Wait()
	if e, ok := patientErr.(*Error); !ok || e.Kind != KindTimeout || e.Attempts != 1 {
		t.Errorf("the patient caller: %v, want chronyd's timeout after its one attempt", patientErr)
	}
	if _, _, err := cache.Tracking(context.Background(), false); KindOf(err) != KindTimeout {
		t.Errorf("within the window the error is reused: %v", err)
	}
	if n := count(fake, chronytest.ReqTracking); n != 1 {
		t.Errorf("%d tracking requests, want 1 shared by all", n)
	}
}

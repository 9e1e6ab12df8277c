// Package history records what happened to each host's clock and makes it readable: a
// Recorder per host writes to the store (package store), View turns a range of the record into
// charts (columns of min and max, so that no spike is lost) with their statistics, Events
// derives what changed, Import reads chronyd's own statistics logs, and ExportCSV exports.
package history

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/store"
)

// Config is how history is kept.
type Config struct {
	Dir       string          // the data directory, holding the store's file
	Sample    time.Duration   // how often each host is sampled; 0 turns history off
	Retention store.Retention // how long each level is kept; a level of 0 has its default
	Logger    *slog.Logger
}

// Service is the history of every host: the store (which may fail to open: the page says so
// and the live panels carry on), a recorder per host, and the store's upkeep.
type Service struct {
	cfg Config
	log *slog.Logger

	mu        sync.Mutex
	closed    bool               // Close was called: nothing opens the store again
	cancel    context.CancelFunc // ends what Start started
	running   sync.WaitGroup     // what Start started: the recorders, the upkeep
	st        *store.Store
	openErr   error
	lastOpen  time.Time
	recorders map[string]*Recorder
	versions  map[string]int64    // writes per host, so that views are computed again only when new data came
	rewrites  map[string]int64    // writes per host that reached more than an hour into the past (see Events)
	moments   map[string]*moments // what each recorded host's record knows of when things happened

	views       *cache[viewKey, View]
	rolledParts *cache[rolledKey, *rolledPart] // what long views drew from the rollups
	trends      *cache[string, Trend]
	windows     *cache[windowKey, *eventsWindow]
	events      *cache[string, EventLog]

	// eventsBudget is how long Events reads the record after its newest window;
	// eventsScanBudget when 0 (tests set it).
	eventsBudget time.Duration

	flights    singleflight.Group  // heavy computations in progress, by what they compute
	slots      *semaphore.Weighted // heavy computations at once: one a core
	heavyStats heavyStats

	partsComputed atomic.Int64 // the summaries' parts of views drawn (rolledPartOf), for tests
	partsRunning  atomic.Int64 // of which being drawn now
	passes        atomic.Int64 // upkeep passes done
	warmedAfter   atomic.Int64 // the passes done when the warmer's last finished round began, for tests
	warmWaits     atomic.Int64 // the warmer waiting for a request's drawing of a part, for tests
	seedWaits     atomic.Int64 // the warmer waiting for the moments to be read, for tests
	drawing       sync.Map     // flight name -> chan struct{}, closed when that part's drawing ends
}

// The caches' bounds: a view of 30 days of a host with eight sources is about half a megabyte.
const (
	viewCacheBytes   = 8 << 20
	rolledCacheBytes = 8 << 20 // a host's 90d, 1y and 2y parts are 2.7 MB (warm.go)
	trendCacheBytes  = 1 << 20
	eventCacheBytes  = 2 << 20
	windowCacheBytes = 2 << 20
)

// ErrOff is the error of history asked for when it is off (--sample 0).
var ErrOff = errors.New("history is off (--sample 0)")

// ErrClosed is the error of a write or a read after Close.
var ErrClosed = errors.New("history: the store is closed (second-hand is stopping)")

// reopenEvery is how often a store that failed to open is tried again.
const reopenEvery = time.Minute

// Open opens the store in cfg.Dir, unless history is off. A store that cannot be opened is
// not an error here: Status says why, and it is tried again every minute.
func Open(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := store.DefaultRetention
	for _, r := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.Retention.Raw, d.Raw}, {&cfg.Retention.FiveMin, d.FiveMin}, {&cfg.Retention.Hour, d.Hour}} {
		if *r.v <= 0 {
			*r.v = r.def
		}
	}
	s := &Service{cfg: cfg, log: cfg.Logger, recorders: map[string]*Recorder{}, versions: map[string]int64{}, rewrites: map[string]int64{},
		views: newCache[viewKey, View](viewCacheBytes), rolledParts: newCache[rolledKey, *rolledPart](rolledCacheBytes), trends: newCache[string, Trend](trendCacheBytes),
		windows: newCache[windowKey, *eventsWindow](windowCacheBytes), events: newCache[string, EventLog](eventCacheBytes),
		slots: semaphore.NewWeighted(int64(runtime.GOMAXPROCS(0))), moments: map[string]*moments{}}
	if cfg.Sample > 0 {
		s.mu.Lock()
		s.ensureStore()
		s.mu.Unlock()
	}
	return s
}

// ensureStore opens the store if it is not open, at most once a minute, and never after
// Close; call with mu held.
func (s *Service) ensureStore() *store.Store {
	if s.closed {
		s.openErr = ErrClosed
		return nil
	}
	if s.st != nil || time.Since(s.lastOpen) < reopenEvery && !s.lastOpen.IsZero() {
		return s.st
	}
	s.lastOpen = time.Now()
	st, err := store.Open(s.cfg.Dir, s.log)
	if err != nil {
		if s.openErr == nil || s.openErr.Error() != err.Error() {
			s.log.Error("history: the store cannot be opened; the live panels carry on without it", "error", err)
		}
		s.openErr = err
		return nil
	}
	if s.openErr != nil {
		s.log.Info("history: the store is open again", "path", st.Path())
	}
	s.st, s.openErr = st, nil
	return st
}

// Start records every host of fleet and keeps the store (compaction, rollups, retention),
// until ctx ends or Close. Close waits for everything it starts.
func (s *Service) Start(ctx context.Context, fleet *monitor.Fleet) {
	if s.cfg.Sample <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cancel != nil {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	hosts := fleet.Names()
	for _, m := range fleet.Monitors() {
		s.recorders[m.Name()] = NewRecorder(m, s, s.cfg.Sample, s.log)
		s.moments[m.Name()] = newMoments()
	}
	for _, r := range s.recorders {
		s.running.Go(func() { r.Run(ctx, s.cfg.Sample) })
	}
	// What each host's record knows of when things happened, read once, one host after
	// another, each read in one of the heavy computations' slots (a month of a host is a
	// second of work); the recorders' writes keep it up to date from then on.
	moments := s.moments
	seeded := make(chan struct{})
	s.running.Go(func() {
		defer close(seeded)
		for _, host := range hosts {
			now := time.Now()
			moments[host].seed(ctx, func(ctx context.Context, v store.Visitor) error {
				st, err := s.openStore()
				if err != nil {
					return err
				}
				if err := s.slots.Acquire(ctx, 1); err != nil {
					return err
				}
				defer s.slots.Release(1)
				if seedHook != nil {
					seedHook(ctx)
				}
				return st.Walk(ctx, host, now.Add(-s.cfg.Retention.Raw), now.Add(time.Hour), v)
			})
		}
	})
	// The long views' summaries' parts, drawn ahead (warm.go): once the moments are read (so
	// that the two take one slot between them and the panels always find one on two cores),
	// then after each upkeep pass and before each column.
	kick := make(chan struct{}, 1)
	s.running.Go(func() { s.warmer(ctx, hosts, seeded, kick) })
	s.running.Go(func() {
		// Upkeep waits for a store; it is tried again with the recorders' writes.
		for ctx.Err() == nil {
			s.mu.Lock()
			st := s.st
			s.mu.Unlock()
			if st != nil {
				st.MaintainOnce(ctx, time.Now(), s.cfg.Retention)
				s.passes.Add(1)
				select {
				case kick <- struct{}{}:
				default: // a round is due already
				}
			}
			every := maintainEvery
			if st == nil {
				every = reopenEvery
			}
			select {
			case <-ctx.Done():
			case <-time.After(every):
			}
		}
	})
}

// seedHook, when set (by tests), is called as a host's moments start being read, in their slot.
var seedHook func(ctx context.Context)

// maintainEvery is how often the store is kept: compacted, rolled up, expired. A day is
// summarised within an hour and a half of its end.
const maintainEvery = 30 * time.Minute

// Append writes a batch for host: the recorders' Writer.
func (s *Service) Append(ctx context.Context, host string, b store.Batch) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	st := s.ensureStore()
	err := s.openErr
	s.mu.Unlock()
	if st == nil {
		return err
	}
	if err := st.Append(ctx, host, b); err != nil {
		return err
	}
	s.mu.Lock()
	s.versions[host]++
	if e := earliest(b); !e.IsZero() && e.Before(time.Now().Add(-windowSettles)) {
		s.rewrites[host]++
	}
	m := s.moments[host]
	s.mu.Unlock()
	if m != nil {
		m.apply(b)
	}
	return nil
}

// Moments is what host's record knows of when things happened, for its diagnosis: kept in
// memory, so that asking costs no read of the store.
func (s *Service) Moments(host string) diagnose.History {
	if s.cfg.Sample <= 0 {
		return diagnose.History{Why: "history is off (--sample 0)"}
	}
	s.mu.Lock()
	m, openErr := s.moments[host], s.openErr
	s.mu.Unlock()
	switch {
	case m == nil:
		return diagnose.History{Why: "this host is not recorded"}
	case openErr != nil:
		return diagnose.History{Why: "the history store cannot be opened"}
	}
	return m.history()
}

// earliest is the time of the batch's earliest record, gaps aside (Events reads them apart).
func earliest(b store.Batch) time.Time {
	var t time.Time
	first := func(u time.Time) {
		if t.IsZero() || u.Before(t) {
			t = u
		}
	}
	for _, r := range b.Samples {
		first(r.T)
	}
	for _, r := range b.Updates {
		first(r.T)
	}
	for _, r := range b.Sources {
		first(r.Point.T)
	}
	for _, r := range b.Servers {
		first(r.T)
	}
	return t
}

// Status is what the history panel says besides the history itself.
type Status struct {
	Off     bool   // --sample 0
	Damaged error  // SQLite found the store damaged while it was open: said once, with the fix
	Err     error  // the store cannot be opened, or the host's last write failed
	Notice  string // the store was damaged and moved aside
	Dropped int    // records given up while the store failed
	Path    string // the store's file
	// ServerErr is why the host's server statistics are not recorded (over UDP chronyd
	// refuses them), nil when they are or it has not been asked yet.
	ServerErr error
	// Endpoint is the host's chronyd address, for the words of ServerErr.
	Endpoint string
	// Retention is how long each level is kept.
	Retention store.Retention
	// Engine is the Prometheus API the history is read from (its URL), when it is not this
	// second-hand's own store.
	Engine string
}

// Status is the state of history for host.
func (s *Service) Status(host string) Status {
	if s.cfg.Sample <= 0 {
		return Status{Off: true}
	}
	s.mu.Lock()
	st, openErr, r := s.st, s.openErr, s.recorders[host]
	s.mu.Unlock()
	out := Status{Err: openErr, Retention: s.cfg.Retention}
	if st != nil {
		out.Notice, out.Path, out.Damaged = st.Notice, st.Path(), st.Damaged()
	}
	if r != nil {
		if dropped, err := r.Failing(); err != nil {
			out.Err, out.Dropped = err, dropped
		}
		out.ServerErr, out.Endpoint = r.ServerFailing(), r.m.Endpoint()
	}
	return out
}

// openStore is the store, or why there is none.
func (s *Service) openStore() (*store.Store, error) {
	if s.cfg.Sample <= 0 {
		return nil, ErrOff
	}
	s.mu.Lock()
	st, err := s.ensureStore(), s.openErr
	s.mu.Unlock()
	if st == nil {
		return nil, err
	}
	return st, nil
}

// Store is the history store, opened if it is not (at most once a minute), or why there is
// none (ErrOff with history off, ErrClosed after Close): for what else is kept in it, such as
// the notifications sent.
func (s *Service) Store() (*store.Store, error) { return s.openStore() }

// Range reads host's record.
func (s *Service) Range(ctx context.Context, host string, from, to time.Time) (store.History, error) {
	st, err := s.openStore()
	if err != nil {
		return store.History{}, err
	}
	return st.Range(ctx, host, from, to)
}

// version is how many writes host has had, for the views' cache.
func (s *Service) version(host string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versions[host]
}

// rewritten is how many of host's writes reached further back than windowSettles.
func (s *Service) rewritten(host string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rewrites[host]
}

// CacheUsage is what the caches of computed views hold: entries and bytes, for tests and the
// bench.
func (s *Service) CacheUsage() (entries int, bytes int64) {
	for _, u := range []func() (int, int64){s.views.usage, s.rolledParts.usage, s.trends.usage, s.windows.usage, s.events.usage} {
		e, b := u()
		entries, bytes = entries+e, bytes+b
	}
	return entries, bytes
}

// Forget drops every computed view, part of a view and sparkline: the next request computes
// them from the store (the bench measures that).
func (s *Service) Forget() {
	for _, c := range []interface{ clear() }{s.views, s.rolledParts, s.trends, s.windows, s.events} {
		c.clear()
	}
}

// Close stops what Start started and waits for it, then closes the store: writes and reads
// after it fail with ErrClosed, and nothing opens the store (or takes its lock) again.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.running.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st == nil {
		return nil
	}
	err := s.st.Close()
	s.st = nil
	return err
}

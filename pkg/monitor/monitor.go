// Package monitor watches the chronyd of each configured host. A Monitor keeps second-hand from
// becoming the heaviest client of the chronyd it watches: everyone who asks for a report (open
// pages, the history recorder, Prometheus) shares one read of chronyd while it is in flight,
// a report is reused for a short window, and a forced fresh read (the reload button) happens at
// most once a second per report, shared by everyone who asks in that second.
//
// A Fleet is the configured hosts by name. Data flows one way: chronyd, the chrony client
// (package chrony), a Monitor per host, then the panels and the routes that serve them.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// Reporter is what a Monitor reads chronyd through: *chrony.Client, or a fake in tests. The
// number of sources is its own request, so that the sources and the source statistics of one
// refresh ask chronyd for it once between them.
type Reporter interface {
	Tracking(ctx context.Context) (chrony.Tracking, error)
	NumSources(ctx context.Context) (int, error)
	SourcesN(ctx context.Context, n int) ([]chrony.Source, error)
	SourceStatsN(ctx context.Context, n int) ([]chrony.SourceStats, error)
	RTC(ctx context.Context) (chrony.RTC, error)
	Activity(ctx context.Context) (chrony.Activity, error)
	ServerStats(ctx context.Context) (chrony.ServerStats, error)
	// The reports chronyd answers on its Unix socket only (or with opencommands).
	SelectDataN(ctx context.Context, n int) ([]chrony.Selection, error)
	NTPData(ctx context.Context, addr netip.Addr) (chrony.NTPData, error)
	AuthData(ctx context.Context, addr netip.Addr) (chrony.AuthData, error)
	Clients(ctx context.Context, limit int) ([]chrony.ClientAccess, error)
	// Endpoint names the chronyd address in use, for the page and for error messages.
	Endpoint() string
	// Counts are the requests sent to chronyd, and those that failed.
	Counts() chrony.Counts
	Close() error
}

var _ Reporter = (*chrony.Client)(nil)

// Config tunes every Monitor of a Fleet.
type Config struct {
	// Reuse is how long a report is reused for whoever asks next; 0 shares only the reads in
	// flight.
	Reuse time.Duration
	// FreshEvery is the least time between two forced fresh reads of one report.
	FreshEvery time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// DefaultFreshEvery is how often a forced fresh read may reach one chronyd for one report.
const DefaultFreshEvery = time.Second

// Want says how recent a report a caller accepts.
type Want struct {
	// Fresh skips the reuse window, as the reload button does; a read from less than
	// FreshEvery ago still answers it.
	Fresh bool
	// Since accepts any read that finished at or after this time, however old the reuse
	// window says it is: a caller that gave up waiting for a slow chronyd comes back for the
	// read it had been waiting for.
	Since time.Time
	// MaxAge, when set, accepts only reads younger than it, whatever the reuse window: the
	// history recorder sampling more often than the window.
	MaxAge time.Duration
	// Cached answers only from a read already made (one the rest of Want accepts), never
	// asking chronyd: ErrNotRead when there is none. A reader in the background that must cost
	// chronyd nothing (the diagnosis behind notifications) takes what others read.
	Cached bool

	// again asks for a new read whatever the last one was: chronyd said the last one is out of
	// date.
	again bool
}

// Monitor is one host: its name, its chronyd and the reports shared between everyone who reads
// them. It is safe for concurrent use.
type Monitor struct {
	name string
	r    Reporter
	cfg  Config

	tracking    entry[chrony.Tracking]
	count       entry[int]
	sources     entry[[]chrony.Source]
	sourceStats entry[[]chrony.SourceStats]
	rtc         entry[chrony.RTC]
	activity    entry[chrony.Activity]
	serverStats entry[chrony.ServerStats]
	selection   entry[[]chrony.Selection]
	clients     entry[[]chrony.ClientAccess]
	ntpData     perAddr[chrony.NTPData]
	authData    perAddr[chrony.AuthData]

	// prevServer is the server statistics read before the last one, for rates.
	prevServer atomic.Pointer[Stamped[chrony.ServerStats]]

	stats Stats
}

// Stamped is a report and when it was read.
type Stamped[T any] struct {
	Val T
	At  time.Time
}

// perAddr is a report read per source address, each with its own entry.
type perAddr[T any] struct {
	mu sync.Mutex
	m  map[netip.Addr]*entry[T]
}

// maxPerAddr bounds the entries kept: sources come and go (a pool's servers change).
const maxPerAddr = 256

func (p *perAddr[T]) get(a netip.Addr) *entry[T] {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil || len(p.m) >= maxPerAddr {
		p.m = map[netip.Addr]*entry[T]{}
	}
	e, ok := p.m[a]
	if !ok {
		e = &entry[T]{}
		p.m[a] = e
	}
	return e
}

// Stats counts what a Monitor's callers cost chronyd.
type Stats struct {
	Reads  atomic.Int64 // reports read from chronyd
	Shared atomic.Int64 // callers that joined a read already in flight
	Reused atomic.Int64 // callers answered from the reuse window
}

// New returns the monitor of the host name, reading chronyd through r.
func New(name string, r Reporter, cfg Config) *Monitor {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FreshEvery <= 0 {
		cfg.FreshEvery = DefaultFreshEvery
	}
	return &Monitor{name: name, r: r, cfg: cfg}
}

// Name is the host's name, as configured.
func (m *Monitor) Name() string { return m.name }

// Endpoint is the address of the host's chronyd in use.
func (m *Monitor) Endpoint() string { return m.r.Endpoint() }

// Stats are the monitor's counters.
func (m *Monitor) Stats() *Stats { return &m.stats }

// Close closes the host's chrony client, which removes its socket file.
func (m *Monitor) Close() error { return m.r.Close() }

// Tracking is the tracking report and when it was read.
func (m *Monitor) Tracking(ctx context.Context, w Want) (chrony.Tracking, time.Time, error) {
	return get(ctx, m, &m.tracking, w, m.r.Tracking)
}

// RTC is the RTC report and when it was read.
func (m *Monitor) RTC(ctx context.Context, w Want) (chrony.RTC, time.Time, error) {
	return get(ctx, m, &m.rtc, w, m.r.RTC)
}

// Activity is the activity report and when it was read.
func (m *Monitor) Activity(ctx context.Context, w Want) (chrony.Activity, time.Time, error) {
	return get(ctx, m, &m.activity, w, m.r.Activity)
}

// ServerStats is the server statistics report and when it was read.
func (m *Monitor) ServerStats(ctx context.Context, w Want) (chrony.ServerStats, time.Time, error) {
	return get(ctx, m, &m.serverStats, w, func(ctx context.Context) (chrony.ServerStats, error) {
		if v, at, err, ok := m.serverStats.last(); ok && err == nil {
			m.prevServer.Store(&Stamped[chrony.ServerStats]{v, at})
		}
		return m.r.ServerStats(ctx)
	})
}

// PreviousServerStats is the server statistics read before the last read, for rates; ok is
// false until there have been two.
func (m *Monitor) PreviousServerStats() (Stamped[chrony.ServerStats], bool) {
	p := m.prevServer.Load()
	if p == nil {
		return Stamped[chrony.ServerStats]{}, false
	}
	return *p, true
}

// Selection is the selectdata report of every source, in the order of Sources.
func (m *Monitor) Selection(ctx context.Context, w Want) ([]chrony.Selection, time.Time, error) {
	return get(ctx, m, &m.selection, w, func(ctx context.Context) ([]chrony.Selection, error) {
		return withCount(ctx, m, w, m.r.SelectDataN)
	})
}

// NTPData is the ntpdata report of the NTP source at addr.
func (m *Monitor) NTPData(ctx context.Context, addr netip.Addr, w Want) (chrony.NTPData, time.Time, error) {
	return get(ctx, m, m.ntpData.get(addr), w, func(ctx context.Context) (chrony.NTPData, error) { return m.r.NTPData(ctx, addr) })
}

// AuthData is the authdata report of the NTP source at addr.
func (m *Monitor) AuthData(ctx context.Context, addr netip.Addr, w Want) (chrony.AuthData, time.Time, error) {
	return get(ctx, m, m.authData.get(addr), w, func(ctx context.Context) (chrony.AuthData, error) { return m.r.AuthData(ctx, addr) })
}

// MaxClients is how many of chronyd's clients a read lists at most (8 a request).
const MaxClients = 512

// Clients are the clients chronyd has served, the first MaxClients it lists.
func (m *Monitor) Clients(ctx context.Context, w Want) ([]chrony.ClientAccess, time.Time, error) {
	return get(ctx, m, &m.clients, w, func(ctx context.Context) ([]chrony.ClientAccess, error) { return m.r.Clients(ctx, MaxClients) })
}

// Counts are the requests the host's client sent to chronyd, and those that failed.
func (m *Monitor) Counts() chrony.Counts { return m.r.Counts() }

// Sources is the sources report and when it was read.
func (m *Monitor) Sources(ctx context.Context, w Want) ([]chrony.Source, time.Time, error) {
	return get(ctx, m, &m.sources, w, func(ctx context.Context) ([]chrony.Source, error) {
		return withCount(ctx, m, w, m.r.SourcesN)
	})
}

// SourceStats is the source statistics report and when it was read.
func (m *Monitor) SourceStats(ctx context.Context, w Want) ([]chrony.SourceStats, time.Time, error) {
	return get(ctx, m, &m.sourceStats, w, func(ctx context.Context) ([]chrony.SourceStats, error) {
		return withCount(ctx, m, w, m.r.SourceStatsN)
	})
}

// LastTracking is the last tracking report read, without asking chronyd; ok is false when
// none has been read yet.
func (m *Monitor) LastTracking() (t chrony.Tracking, at time.Time, err error, ok bool) {
	return m.tracking.last()
}

// Outage is a run of failed reads of a report: from the first to the last, with the last
// error; Open while no read has succeeded since.
type Outage struct {
	From, To time.Time
	Err      error
	Open     bool
}

// TrackingOutage is the last run of failed reads of tracking, whoever asked: chronyd silent
// (or gone) for a while, as any reader saw it; ok is false when there has been none.
func (m *Monitor) TrackingOutage() (Outage, bool) {
	m.tracking.mu.Lock()
	defer m.tracking.mu.Unlock()
	return m.tracking.down, !m.tracking.down.From.IsZero()
}

// The last report of each kind read without error, and when, whoever read it: what a page shows,
// marked stale with its age, while chronyd does not answer. ok is false before the first.
func (m *Monitor) GoodTracking() (Stamped[chrony.Tracking], bool) { return m.tracking.lastGood() }
func (m *Monitor) GoodSources() (Stamped[[]chrony.Source], bool)  { return m.sources.lastGood() }
func (m *Monitor) GoodSourceStats() (Stamped[[]chrony.SourceStats], bool) {
	return m.sourceStats.lastGood()
}
func (m *Monitor) GoodRTC() (Stamped[chrony.RTC], bool)           { return m.rtc.lastGood() }
func (m *Monitor) GoodActivity() (Stamped[chrony.Activity], bool) { return m.activity.lastGood() }
func (m *Monitor) GoodServerStats() (Stamped[chrony.ServerStats], bool) {
	return m.serverStats.lastGood()
}
func (m *Monitor) GoodClients() (Stamped[[]chrony.ClientAccess], bool) { return m.clients.lastGood() }

// LastSources is the last sources report read, without asking chronyd.
func (m *Monitor) LastSources() (s []chrony.Source, at time.Time, err error, ok bool) {
	return m.sources.last()
}

// withCount reads a list with the shared source count. A count from the window can be out of
// date: when chronyd says an index is gone, the count is read again and so is the list.
func withCount[T any](ctx context.Context, m *Monitor, w Want, list func(context.Context, int) ([]T, error)) ([]T, error) {
	n, _, err := get(ctx, m, &m.count, w, m.r.NumSources)
	if err != nil {
		return nil, err
	}
	out, err := list(ctx, n)
	var e *chrony.Error
	if errors.As(err, &e) && e.Status == chrony.StatusNoSuchSource {
		if n, _, err = get(ctx, m, &m.count, Want{again: true}, m.r.NumSources); err != nil {
			return nil, err
		}
		out, err = list(ctx, n)
	}
	return out, err
}

// ErrStillReading is the error of a caller whose context ended while chronyd was being read
// for it; it wraps the context's cause (a *chrony.BudgetError when the caller's budget
// ended). The read goes on for the others, and for the caller if it comes back with
// Want.Since. A caller whose context has no deadline does the read itself and waits for it:
// the client's own timeouts bound it.
var ErrStillReading = errors.New("still waiting for chronyd's answer")

// ErrNotRead is the answer to Want.Cached when nobody has read the report recently enough.
var ErrNotRead = errors.New("not read recently")

// entry is one report: the last read, and the read in flight.
type entry[T any] struct {
	mu      sync.Mutex
	have    bool
	val     T
	err     error
	at      time.Time
	fresh   bool        // the last read was asked for by a reload (Want.Fresh)
	down    Outage      // the last run of failed reads
	good    *Stamped[T] // the last read without error
	flight  *flight[T]
	waiting int // callers waiting on flight, for tests
}

type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
	at   time.Time
}

func (e *entry[T]) last() (T, time.Time, error, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.val, e.at, e.err, e.have
}

func (e *entry[T]) lastGood() (Stamped[T], bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.good == nil {
		return Stamped[T]{}, false
	}
	return *e.good, true
}

// get answers from the last read when it is recent enough for w, else joins the read in flight,
// else reads chronyd itself.
func get[T any](ctx context.Context, m *Monitor, e *entry[T], w Want, read func(context.Context) (T, error)) (T, time.Time, error) {
	now := m.cfg.Now()
	notBefore := now.Add(-m.cfg.Reuse)
	if w.Fresh {
		notBefore = now.Add(-m.cfg.FreshEvery)
	}
	if w.MaxAge > 0 && now.Add(-w.MaxAge).After(notBefore) {
		notBefore = now.Add(-w.MaxAge)
	}
	if !w.Since.IsZero() && w.Since.Before(notBefore) {
		notBefore = w.Since
	}
	e.mu.Lock()
	// With no reuse window, only a read in flight is shared, even one that ended this instant.
	reuse := m.cfg.Reuse > 0 || w.Fresh || !w.Since.IsZero()
	// A reload answers with a read made after someone's reload (so at most one a second),
	// not with the history recorder's read from before the click.
	if w.Fresh && !e.fresh {
		reuse = false
	}
	if e.have && reuse && !w.again && !e.at.Before(notBefore) {
		val, at, err := e.val, e.at, e.err
		e.mu.Unlock()
		m.stats.Reused.Add(1)
		return val, at, err
	}
	if w.Cached {
		e.mu.Unlock()
		var zero T
		return zero, time.Time{}, ErrNotRead
	}
	if f := e.flight; f != nil {
		e.waiting++
		e.mu.Unlock()
		m.stats.Shared.Add(1)
		defer func() { e.mu.Lock(); e.waiting--; e.mu.Unlock() }()
		select {
		case <-f.done:
			return f.val, f.at, f.err
		case <-ctx.Done():
			var zero T
			return zero, m.cfg.Now(), fmt.Errorf("%w: %w", ErrStillReading, context.Cause(ctx))
		}
	}
	// This caller reads, and the others that come meanwhile wait for its result. The read is
	// not cancelled when this caller goes away, because it is theirs too; it ends with this
	// caller's budget (chrony.WithBudget), or without one with the client's own timeouts.
	f := &flight[T]{done: make(chan struct{})}
	e.flight = f
	e.mu.Unlock()
	m.stats.Reads.Add(1)
	finish := func() {
		rctx, cancel := chrony.Detach(ctx)
		defer cancel()
		val, err := safeRead(rctx, read)
		at := m.cfg.Now()
		e.mu.Lock()
		e.have, e.val, e.err, e.at, e.flight, e.fresh = true, val, err, at, nil, w.Fresh
		switch {
		case err != nil && e.down.Open:
			e.down.To, e.down.Err = at, err
		case err != nil:
			e.down = Outage{From: at, To: at, Err: err, Open: true}
		default:
			e.down.Open = false
			e.good = &Stamped[T]{Val: val, At: at}
		}
		e.mu.Unlock()
		f.val, f.err, f.at = val, err, at
		close(f.done)
	}
	if _, ok := ctx.Deadline(); !ok {
		// Nobody will give up on this read early: do it here, rather than pay for handing it
		// to another goroutine.
		finish()
		return f.val, f.at, f.err
	}
	go finish()
	select {
	case <-f.done:
		return f.val, f.at, f.err
	case <-ctx.Done():
		var zero T
		return zero, m.cfg.Now(), fmt.Errorf("%w: %w", ErrStillReading, context.Cause(ctx))
	}
}

// safeRead turns a panic in a read into an error, so that the callers waiting for the read are
// not left waiting: a report that cannot be read is a panel's error, not a crash.
func safeRead[T any](ctx context.Context, read func(context.Context) (T, error)) (val T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error reading the report: panic: %v", r)
		}
	}()
	return read(ctx)
}

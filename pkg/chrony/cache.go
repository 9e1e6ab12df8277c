package chrony

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Cache keeps second-hand from becoming the heaviest client of the chronyd it watches. Requests
// for the same report that arrive while one is being read share that read, and a report is
// reused for a short window. A fresh read (the reload button) skips the window but still shares
// a read in flight. The number of sources is one shared report too, so that the sources and the
// source statistics ask chronyd for it once between them.
//
// Each method returns the report and when it was read, for the page to show its age.
type Cache struct {
	r      Reporter
	window time.Duration
	now    func() time.Time

	tracking    entry[Tracking]
	count       entry[int]
	sources     entry[[]Source]
	sourceStats entry[[]SourceStats]
	rtc         entry[RTC]
}

// counter is the finer API of *Client that lets the cache share the number of sources.
type counter interface {
	NumSources(ctx context.Context) (int, error)
	SourcesN(ctx context.Context, n int) ([]Source, error)
	SourceStatsN(ctx context.Context, n int) ([]SourceStats, error)
}

// NewCache wraps r, reusing each report for window (0: share reads in flight only).
func NewCache(r Reporter, window time.Duration) *Cache {
	return &Cache{r: r, window: window, now: time.Now}
}

// Window is how long a report is reused.
func (c *Cache) Window() time.Duration { return c.window }

// Endpoint is the address of the chronyd behind the cache.
func (c *Cache) Endpoint() string { return c.r.Endpoint() }

func (c *Cache) Tracking(ctx context.Context, fresh bool) (Tracking, time.Time, error) {
	return c.tracking.get(ctx, fresh, c, c.r.Tracking)
}

func (c *Cache) RTC(ctx context.Context, fresh bool) (RTC, time.Time, error) {
	return c.rtc.get(ctx, fresh, c, c.r.RTC)
}

func (c *Cache) Sources(ctx context.Context, fresh bool) ([]Source, time.Time, error) {
	cn, ok := c.r.(counter)
	if !ok {
		return c.sources.get(ctx, fresh, c, c.r.Sources)
	}
	return c.sources.get(ctx, fresh, c, func(ctx context.Context) ([]Source, error) {
		return listWithCount(ctx, c, fresh, cn.SourcesN)
	})
}

func (c *Cache) SourceStats(ctx context.Context, fresh bool) ([]SourceStats, time.Time, error) {
	cn, ok := c.r.(counter)
	if !ok {
		return c.sourceStats.get(ctx, fresh, c, c.r.SourceStats)
	}
	return c.sourceStats.get(ctx, fresh, c, func(ctx context.Context) ([]SourceStats, error) {
		return listWithCount(ctx, c, fresh, cn.SourceStatsN)
	})
}

// listWithCount reads a list with the shared source count. A count from the window can be out
// of date: when chronyd says an index is gone, the count is read again and so is the list.
func listWithCount[T any](ctx context.Context, c *Cache, fresh bool, list func(context.Context, int) ([]T, error)) ([]T, error) {
	cn := c.r.(counter)
	n, _, err := c.count.get(ctx, fresh, c, cn.NumSources)
	if err != nil {
		return nil, err
	}
	out, err := list(ctx, n)
	var e *Error
	if errors.As(err, &e) && e.Status == StatusNoSuchSource {
		if n, _, err = c.count.get(ctx, true, c, cn.NumSources); err != nil {
			return nil, err
		}
		out, err = list(ctx, n)
	}
	return out, err
}

// entry is one report: the last read, and the read in flight.
type entry[T any] struct {
	mu     sync.Mutex
	have   bool
	val    T
	err    error
	at     time.Time
	flight *flight[T]
}

type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
	at   time.Time
}

func (e *entry[T]) get(ctx context.Context, fresh bool, c *Cache, read func(context.Context) (T, error)) (T, time.Time, error) {
	e.mu.Lock()
	if !fresh && e.have && c.now().Sub(e.at) < c.window {
		val, at, err := e.val, e.at, e.err
		e.mu.Unlock()
		return val, at, err
	}
	if f := e.flight; f != nil {
		e.mu.Unlock()
		select {
		case <-f.done:
			return f.val, f.at, f.err
		case <-ctx.Done():
			var zero T
			return zero, c.now(), &Error{Kind: KindTimeout, Addr: c.r.Endpoint(), Err: context.Cause(ctx)}
		}
	}
	// This caller reads, and the others that come meanwhile wait for its result. The read is
	// not cancelled when this caller goes away, because it is theirs too; the client's own
	// timeouts bound it.
	f := &flight[T]{done: make(chan struct{})}
	e.flight = f
	e.mu.Unlock()
	val, err := safeRead(context.WithoutCancel(ctx), read)
	at := c.now()
	e.mu.Lock()
	e.have, e.val, e.err, e.at, e.flight = true, val, err, at, nil
	e.mu.Unlock()
	f.val, f.err, f.at = val, err, at
	close(f.done)
	return val, at, err
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

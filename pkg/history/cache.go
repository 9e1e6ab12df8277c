package history

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// cache keeps what was computed from the record (views, trends, events) for whoever asks next,
// bounded by the bytes it holds. An entry is keyed by what it shows (a host's 24 hours, a
// host's 30 days around a moment) and stamped with the data it was made from (the host's
// writes, the window's end): a newer stamp replaces the entry at once, so superseded versions
// never pile up; when the bytes pass the bound, the entries used least recently go.
//
// Hand-written: the caches Go programs use (groupcache's, hashicorp's LRU) bound a number of
// entries, not bytes, and know nothing of stamps; this is a map and a list.
type cache[K comparable, V any] struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	order *list.List // most recently used first; values are *cacheEntry
	byKey map[K]*list.Element
}

type cacheEntry[K comparable, V any] struct {
	key   K
	stamp stamp
	val   V
	size  int64
}

// stamp is the data an entry was computed from.
type stamp struct {
	version int64 // the host's writes (Service.versions)
	to      int64 // the end of its window, Unix ms
}

func newCache[K comparable, V any](maxBytes int64) *cache[K, V] {
	return &cache[K, V]{max: maxBytes, order: list.New(), byKey: map[K]*list.Element{}}
}

// clear drops every entry.
func (c *cache[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	clear(c.byKey)
	c.bytes = 0
}

// get returns the entry of k if it was computed from st.
func (c *cache[K, V]) get(k K, st stamp) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		e := el.Value.(*cacheEntry[K, V])
		if e.stamp == st {
			c.order.MoveToFront(el)
			return e.val, true
		}
	}
	var zero V
	return zero, false
}

// put keeps v, of size bytes, as k's entry computed from st, replacing any older one.
func (c *cache[K, V]) put(k K, st stamp, v V, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		c.remove(el)
	}
	if size > c.max {
		return
	}
	c.byKey[k] = c.order.PushFront(&cacheEntry[K, V]{key: k, stamp: st, val: v, size: size})
	c.bytes += size
	for c.bytes > c.max {
		c.remove(c.order.Back())
	}
}

func (c *cache[K, V]) remove(el *list.Element) {
	e := el.Value.(*cacheEntry[K, V])
	c.order.Remove(el)
	delete(c.byKey, e.key)
	c.bytes -= e.size
}

// usage is the entries and bytes held, for tests and the bench.
func (c *cache[K, V]) usage() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}

// ErrBusy is the error of a view that waited for its turn until its request's budget ended:
// as many views as there are cores were being computed.
var ErrBusy = errors.New("second-hand is busy computing other views of the history")

// heavyStats count the heavy computations, for tests.
type heavyStats struct {
	computed atomic.Int64 // computations run
	joined   atomic.Int64 // callers waiting for a computation (their own or another's)
}

// heavy computes f once for every caller asking for key at the same time (singleflight), in
// one of a few slots (one per core): a month of a host is a second of work, and twenty at
// once would take them all. A caller waits for a slot and for the result until its context
// ends, then gets ErrBusy; the computation goes on for the others, with the budget of the
// caller that started it (chrony.Detach).
func heavy[V any](ctx context.Context, s *Service, key string, f func(ctx context.Context) (V, error)) (V, error) {
	return once(ctx, s, key, true, f)
}

// light is heavy without the slots, for what takes milliseconds (a day's sparkline, of each
// of a hundred hosts in the overview): computed once for the callers at the same time.
func light[V any](ctx context.Context, s *Service, key string, f func(ctx context.Context) (V, error)) (V, error) {
	return once(ctx, s, key, false, f)
}

func once[V any](ctx context.Context, s *Service, key string, slot bool, f func(ctx context.Context) (V, error)) (V, error) {
	ch := s.flights.DoChan(key, func() (any, error) {
		wctx, cancel := chrony.Detach(ctx)
		defer cancel()
		if slot {
			if err := s.slots.Acquire(wctx, 1); err != nil {
				return nil, ErrBusy
			}
			defer s.slots.Release(1)
		}
		s.heavyStats.computed.Add(1)
		v, err := f(wctx)
		if err != nil && wctx.Err() != nil {
			err = ErrBusy
		}
		return v, err
	})
	s.heavyStats.joined.Add(1)
	defer s.heavyStats.joined.Add(-1)
	var zero V
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(V), nil
	case <-ctx.Done():
		return zero, ErrBusy
	}
}

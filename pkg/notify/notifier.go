package notify

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Notifier sends messages to every target in the background: one queue per target, one
// message at a time, each retried with growing waits until it is sent or too old. Whoever
// hands it a message never waits, and a target that is down slows nothing but its own queue.
type Notifier struct {
	targets []*queue
	opt     Options
	counts  [3]atomic.Uint64 // by result: sent, failed, dropped
}

// Options tune a Notifier; the zero value is the default.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// Retry is how long to wait after the n-th failed attempt of a message (n from 1);
	// DefaultRetry when nil.
	Retry func(failures int) time.Duration
	// GiveUp: a message not sent this long after it was made is dropped; DefaultGiveUp when 0.
	GiveUp time.Duration
	// Timeout bounds one attempt; 30 s when 0.
	Timeout time.Duration
	// Done is told when a queued message with an ID is sent or dropped, so that whoever keeps
	// the messages not yet sent (across restarts) can forget it.
	Done func(id int64)
}

// DefaultGiveUp is how long a message is tried: a receiver down for an afternoon still gets
// it, a message older than a day is no longer news.
const DefaultGiveUp = 24 * time.Hour

// DefaultRetry waits 2 s after the first failure, then twice as long each time, at most 10
// minutes.
func DefaultRetry(failures int) time.Duration {
	d := 2 * time.Second
	for i := 1; i < failures && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// stopGrace is how long an attempt under way may go on once the notifier is stopped.
const stopGrace = 5 * time.Second

// maxQueue bounds what waits for one target: beyond it the oldest message is dropped.
const maxQueue = 200

// The results of an attempt, as second_hand_notifications_total{result} counts them.
const (
	sent    = iota // a message reached a target
	failed         // an attempt failed; the message is tried again
	dropped        // a message was given up: too old, or too many waiting
)

// Counts are the results of the notifier's attempts so far: messages that reached a target,
// attempts that failed (and are tried again), messages given up.
type Counts struct{ Sent, Failed, Dropped uint64 }

// Queued is a message waiting for one target.
type Queued struct {
	Message
	ID      int64     // how the keeper of unsent messages knows it; 0 for none
	Created time.Time // when it was made: its age decides when it is given up
}

type queue struct {
	t    *Target
	wake chan struct{}

	mu     sync.Mutex
	items  []Queued
	status Status
}

// Status is what happened lately with one target, for the page's line.
type Status struct {
	Target   string    // the target for people ("ntfy at ntfy.sh")
	Waiting  int       // messages not sent yet
	LastSent time.Time // the last message that reached it
	// LastFailed and Err are the last failed attempt and why (secrets hidden); zero when the
	// last attempt succeeded.
	LastFailed time.Time
	Err        string
	Failures   int       // failed attempts of the message now at the head of the queue
	NextTry    time.Time // when it is tried again
	Dropped    int       // messages given up
}

// NewNotifier returns a notifier for targets; Run sends.
func NewNotifier(targets []*Target, opt Options) *Notifier {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Retry == nil {
		opt.Retry = DefaultRetry
	}
	if opt.GiveUp <= 0 {
		opt.GiveUp = DefaultGiveUp
	}
	n := &Notifier{opt: opt}
	for _, t := range targets {
		n.targets = append(n.targets, &queue{t: t, wake: make(chan struct{}, 1), status: Status{Target: t.String()}})
	}
	return n
}

// Targets are the notifier's targets, in the order given.
func (n *Notifier) Targets() []*Target {
	out := make([]*Target, len(n.targets))
	for i, q := range n.targets {
		out[i] = q.t
	}
	return out
}

// Enqueue queues m for the target with key (Target.Key); it reports false when there is none.
func (n *Notifier) Enqueue(key string, m Queued) bool {
	for _, q := range n.targets {
		if q.t.Key() != key {
			continue
		}
		if m.Created.IsZero() {
			m.Created = n.opt.Now()
		}
		q.mu.Lock()
		q.items = append(q.items, m)
		var over []Queued
		if len(q.items) > maxQueue {
			over = append(over, q.items[:len(q.items)-maxQueue]...)
			q.items = q.items[len(q.items)-maxQueue:]
		}
		q.status.Waiting = len(q.items)
		q.mu.Unlock()
		for _, m := range over {
			n.drop(q, m, "too many messages waiting for it")
		}
		select {
		case q.wake <- struct{}{}:
		default:
		}
		return true
	}
	return false
}

// Run sends what is queued until ctx ends; what is still queued then stays with whoever keeps
// it (see Options.Done).
func (n *Notifier) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, q := range n.targets {
		wg.Go(func() { n.serve(ctx, q) })
	}
	wg.Wait()
}

func (n *Notifier) serve(ctx context.Context, q *queue) {
	// An attempt under way when ctx ends may finish for a moment: cut short, it might have
	// been delivered all the same, and the next start would send it again.
	sending, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(stopGrace, cancel) })
	defer stop()
	var retry <-chan time.Time
	for {
		wake := q.wake
		if retry != nil {
			wake = nil // a new message waits behind the one being retried
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-retry:
		}
		retry = nil
		for ctx.Err() == nil {
			q.mu.Lock()
			if len(q.items) == 0 {
				q.mu.Unlock()
				break
			}
			m := q.items[0]
			q.mu.Unlock()
			if age := n.opt.Now().Sub(m.Created); age > n.opt.GiveUp {
				n.pop(q)
				n.drop(q, m, "not sent within "+n.opt.GiveUp.String())
				continue
			}
			err := q.t.Send(sending, m.Message, n.opt.Timeout)
			if err != nil && ctx.Err() != nil {
				return // stopped while it was sent: the message stays for the next start
			}
			now := n.opt.Now()
			if err == nil {
				n.pop(q)
				n.counts[sent].Add(1)
				q.mu.Lock()
				q.status.LastSent, q.status.LastFailed, q.status.Err, q.status.Failures, q.status.NextTry = now, time.Time{}, "", 0, time.Time{}
				q.mu.Unlock()
				n.opt.Logger.Info("notification sent", "to", q.t.String(), "title", m.Title)
				if m.ID != 0 && n.opt.Done != nil {
					n.opt.Done(m.ID)
				}
				continue
			}
			n.counts[failed].Add(1)
			q.mu.Lock()
			q.status.Failures++
			failures := q.status.Failures
			q.mu.Unlock()
			wait := n.opt.Retry(failures)
			q.mu.Lock()
			q.status.LastFailed, q.status.Err, q.status.NextTry = now, err.Error(), now.Add(wait)
			q.mu.Unlock()
			n.opt.Logger.Warn("notification failed; trying again", "to", q.t.String(), "url", q.t.Display(), "title", m.Title,
				"attempt", failures, "next_in", wait.Round(time.Millisecond), "error", err.Error())
			retry = time.After(wait)
			break
		}
	}
}

// pop removes the head of q's queue.
func (n *Notifier) pop(q *queue) {
	q.mu.Lock()
	q.items = q.items[1:]
	q.status.Waiting = len(q.items)
	q.status.Failures = 0
	q.mu.Unlock()
}

func (n *Notifier) drop(q *queue, m Queued, why string) {
	n.counts[dropped].Add(1)
	q.mu.Lock()
	q.status.Dropped++
	q.mu.Unlock()
	n.opt.Logger.Error("notification given up", "to", q.t.String(), "url", q.t.Display(), "title", m.Title, "why", why)
	if m.ID != 0 && n.opt.Done != nil {
		n.opt.Done(m.ID)
	}
}

// Status is each target's state, in the order given: for the page, which must not wait.
func (n *Notifier) Status() []Status {
	out := make([]Status, len(n.targets))
	for i, q := range n.targets {
		q.mu.Lock()
		out[i] = q.status
		q.mu.Unlock()
	}
	return out
}

// Counts are the attempts' results so far.
func (n *Notifier) Counts() Counts {
	return Counts{Sent: n.counts[sent].Load(), Failed: n.counts[failed].Load(), Dropped: n.counts[dropped].Load()}
}

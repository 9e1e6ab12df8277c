package alerting

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/notify"
)

// Config is how hosts are watched and told about.
type Config struct {
	// After is how long a state must hold before it is told (--notify-after), and the least
	// time between two messages about a host.
	After time.Duration
	// Every is how often every host is diagnosed: the history's sample interval, on the same
	// moments of the clock, so that the diagnosis shares the recorder's reads.
	Every time.Duration
	// Budget bounds what a round waits for one chronyd (the client's longest exchange): a
	// chronyd silent that long is a finding.
	Budget time.Duration
	// Link is a host's page for the message, "" for none (no --public-url).
	Link func(host string) string
	// Gatherer makes the diagnoses; Start makes it ask chronyd nothing the recorder does not.
	Gatherer diagnose.Gatherer
	Ledger   Ledger
	Notifier *notify.Notifier
	Logger   *slog.Logger
	Now      func() time.Time
	// Watched, when set, is told of every round: its moment, the diagnoses, and the changes it
	// sent a message about (none most of the time). For tests.
	Watched func(at time.Time, ds []diagnose.Diagnosis, changes []Change)
}

// Watcher diagnoses every host in the background, whoever is looking, and sends what its
// Policy decides through the Notifier.
type Watcher struct {
	cfg      Config
	monitors []*monitor.Monitor
	policy   *Policy

	mu      sync.Mutex
	saveErr string // the last error keeping what was sent, logged once
}

// New loads what was sent before from the ledger and queues the messages that were not
// delivered; Run watches.
func New(ctx context.Context, monitors []*monitor.Monitor, cfg Config) *Watcher {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Ledger == nil {
		cfg.Ledger = NewMemory()
	}
	if cfg.Budget <= 0 {
		cfg.Budget = chrony.DefaultOptions().MaxWait()
	}
	cfg.Gatherer.OnlyShared = true
	w := &Watcher{cfg: cfg, monitors: monitors}
	book, err := cfg.Ledger.Load(ctx)
	if err != nil {
		cfg.Logger.Error("notifications: what was sent before cannot be read; starting afresh", "error", err)
	}
	w.policy = NewPolicy(cfg.After, book.Sent)
	for _, o := range book.Outbox {
		if cfg.Notifier.Enqueue(o.Target, notify.Queued{ID: o.ID, Created: o.Created, Message: o.Message}) {
			continue
		}
		cfg.Logger.Info("notifications: a message for a URL no longer given is dropped", "title", o.Title)
		Forget(cfg.Ledger, cfg.Logger)(o.ID)
	}
	return w
}

// Forget is what a Notifier does with a message it sent or gave up (notify.Options.Done): the
// ledger forgets it.
func Forget(l Ledger, log *slog.Logger) func(id int64) {
	return func(id int64) {
		if err := l.Done(context.Background(), id); err != nil && log != nil {
			log.Debug("notifications: cannot forget a message sent", "error", err)
		}
	}
}

// Run diagnoses every host every Every, on the clock's multiples of it, until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	for {
		now := time.Now()
		next := now.Truncate(w.cfg.Every).Add(w.cfg.Every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(now)):
		}
		w.round(ctx, next)
	}
}

// round diagnoses every host at once, with the reads the recorder made at tick (or makes), and
// sends what the policy decides.
func (w *Watcher) round(ctx context.Context, tick time.Time) {
	rctx, cancel := chrony.WithBudget(ctx, w.cfg.Budget)
	defer cancel()
	ds := make([]diagnose.Diagnosis, len(w.monitors))
	var wg sync.WaitGroup
	for i, m := range w.monitors {
		wg.Go(func() { ds[i] = w.cfg.Gatherer.Diagnose(rctx, m, monitor.Want{Since: tick}) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return // stopping: what was read is cut short, not news
	}
	now := w.cfg.Now()
	changes := w.policy.Round(now, ds)
	if len(changes) > 0 {
		w.send(ctx, now, changes)
	}
	if w.cfg.Watched != nil {
		w.cfg.Watched(now, ds, changes)
	}
}

// send keeps what is now sent and queues the message for every URL.
func (w *Watcher) send(ctx context.Context, now time.Time, changes []Change) {
	msg := Compose(changes, now, w.cfg.Link)
	sent := make([]Sent, len(changes))
	hosts := make([]string, len(changes))
	for i, c := range changes {
		sent[i], hosts[i] = w.policy.Sent(c.Host), c.Host
	}
	targets := w.cfg.Notifier.Targets()
	out := make([]Outgoing, len(targets))
	for i, t := range targets {
		out[i] = Outgoing{Target: t.Key(), Created: now, Message: msg}
	}
	ids, err := w.cfg.Ledger.Save(ctx, sent, out)
	w.mu.Lock()
	switch {
	case err != nil && err.Error() != w.saveErr:
		w.cfg.Logger.Error("notifications: cannot keep what was sent; a restart may send it again", "error", err)
		w.saveErr = err.Error()
	case err == nil && w.saveErr != "":
		w.cfg.Logger.Info("notifications: what was sent is kept again")
		w.saveErr = ""
	}
	w.mu.Unlock()
	w.cfg.Logger.Info("notification", "hosts", hosts, "title", msg.Title)
	for i, o := range out {
		q := notify.Queued{Created: now, Message: msg}
		if err == nil {
			q.ID = ids[i]
		}
		w.cfg.Notifier.Enqueue(o.Target, q)
	}
}

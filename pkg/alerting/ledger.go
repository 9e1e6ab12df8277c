package alerting

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/notify"
	"github.com/second-hand/second-hand/pkg/store"
)

// Ledger keeps what was sent about each host and the messages not delivered yet, so that a
// restart neither repeats a message nor loses one (a resolution above all).
type Ledger interface {
	// Load reads what was kept.
	Load(ctx context.Context) (Book, error)
	// Save records, in one step, what is now sent about hosts and the messages that say it
	// (one per notification URL), and returns the messages' IDs in order.
	Save(ctx context.Context, sent []Sent, out []Outgoing) ([]int64, error)
	// Done forgets a message that was sent or given up.
	Done(ctx context.Context, id int64) error
}

// Book is what a Ledger keeps.
type Book struct {
	Sent   map[string]Sent
	Outbox []Outgoing
}

// Outgoing is a message for one notification URL (by its notify.Target.Key).
type Outgoing struct {
	ID      int64
	Target  string
	Created time.Time
	notify.Message
}

// Memory is a Ledger in memory, for history off (--sample 0): a restart forgets it.
type Memory struct {
	mu     sync.Mutex
	sent   map[string]Sent
	outbox []Outgoing
	next   int64
}

var _ Ledger = (*Memory)(nil)

// NewMemory returns an empty ledger in memory.
func NewMemory() *Memory { return &Memory{sent: map[string]Sent{}} }

func (m *Memory) Load(context.Context) (Book, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := Book{Sent: map[string]Sent{}, Outbox: slices.Clone(m.outbox)}
	for h, s := range m.sent {
		b.Sent[h] = s
	}
	return b, nil
}

func (m *Memory) Save(_ context.Context, sent []Sent, out []Outgoing) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range sent {
		m.sent[s.Host] = s
	}
	ids := make([]int64, len(out))
	for i, o := range out {
		m.next++
		o.ID, ids[i] = m.next, m.next
		m.outbox = append(m.outbox, o)
	}
	return ids, nil
}

func (m *Memory) Done(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outbox = slices.DeleteFunc(m.outbox, func(o Outgoing) bool { return o.ID == id })
	return nil
}

// Stored is a Ledger in the history store (package store), which it asks for at each use: the
// store may fail to open and come back.
type Stored struct {
	Store func() (*store.Store, error)
}

var _ Ledger = Stored{}

func (l Stored) Load(ctx context.Context) (Book, error) {
	st, err := l.Store()
	if err != nil {
		return Book{}, err
	}
	hosts, msgs, err := st.Notifications(ctx)
	if err != nil {
		return Book{}, err
	}
	b := Book{Sent: map[string]Sent{}}
	for _, h := range hosts {
		b.Sent[h.Host] = Sent{Host: h.Host, State: stateNamed(h.State), At: h.At, Since: h.Since, What: h.What}
	}
	for _, m := range msgs {
		b.Outbox = append(b.Outbox, Outgoing{ID: m.ID, Target: m.Target, Created: m.Created, Message: notify.Message{Title: m.Title, Body: m.Body, Link: m.Link}})
	}
	return b, nil
}

func (l Stored) Save(ctx context.Context, sent []Sent, out []Outgoing) ([]int64, error) {
	st, err := l.Store()
	if err != nil {
		return nil, err
	}
	hosts := make([]store.NotifyHost, len(sent))
	for i, s := range sent {
		hosts[i] = store.NotifyHost{Host: s.Host, State: s.state().String(), At: s.At, Since: s.Since, What: s.What}
	}
	msgs := make([]store.NotifyMessage, len(out))
	for i, o := range out {
		msgs[i] = store.NotifyMessage{Target: o.Target, Created: o.Created, Title: o.Title, Body: o.Body, Link: o.Link}
	}
	return st.SaveNotifications(ctx, hosts, msgs)
}

func (l Stored) Done(ctx context.Context, id int64) error {
	st, err := l.Store()
	if err != nil {
		return err
	}
	return st.NotificationDone(ctx, id)
}

// stateNamed reads a state as State.String writes it.
func stateNamed(s string) diagnose.State {
	for _, st := range []diagnose.State{diagnose.OK, diagnose.Warning, diagnose.Failing} {
		if st.String() == s {
			return st
		}
	}
	return diagnose.Unknown
}

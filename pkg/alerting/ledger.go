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

// book is what the memory ledger holds, with the next message's ID.
type book struct {
	sent   map[string]Sent
	outbox []Outgoing
	next   int64
}

func (b *book) copy() Book {
	out := Book{Sent: make(map[string]Sent, len(b.sent)), Outbox: slices.Clone(b.outbox)}
	for h, s := range b.sent {
		out.Sent[h] = s
	}
	return out
}

func (b *book) save(sent []Sent, out []Outgoing) []int64 {
	for _, s := range sent {
		b.sent[s.Host] = s
	}
	ids := make([]int64, len(out))
	for i, o := range out {
		b.next++
		o.ID, ids[i] = b.next, b.next
		b.outbox = append(b.outbox, o)
	}
	return ids
}

func (b *book) done(id int64) bool {
	n := len(b.outbox)
	b.outbox = slices.DeleteFunc(b.outbox, func(o Outgoing) bool { return o.ID == id })
	return len(b.outbox) != n
}

// Memory is a Ledger in memory, for history off (--sample 0): a restart forgets it.
type Memory struct {
	mu sync.Mutex
	b  book
}

var _ Ledger = (*Memory)(nil)

// NewMemory returns an empty ledger in memory.
func NewMemory() *Memory { return &Memory{b: book{sent: map[string]Sent{}}} }

func (m *Memory) Load(context.Context) (Book, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.copy(), nil
}

func (m *Memory) Save(_ context.Context, sent []Sent, out []Outgoing) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.save(sent, out), nil
}

func (m *Memory) Done(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.b.done(id)
	return nil
}

// Store is a Ledger in the history store (format 3's notify_sent and notify_outbox), so that
// a restart reads back what was sent. Each Save is one transaction: what is said about the
// hosts and the messages that say it are kept together or not at all.
type Store struct {
	open func() (*store.Store, error)
}

var _ Ledger = (*Store)(nil)

// NewStore is a ledger in the store that open gives (the history's, opened when first
// needed); an error from open is the ledger's.
func NewStore(open func() (*store.Store, error)) *Store { return &Store{open: open} }

func (l *Store) Load(ctx context.Context) (Book, error) {
	b := Book{Sent: map[string]Sent{}}
	st, err := l.open()
	if err != nil {
		return b, err
	}
	sent, out, err := st.Notifications(ctx)
	if err != nil {
		return b, err
	}
	for _, n := range sent {
		b.Sent[n.Host] = Sent{Host: n.Host, State: stateNamed(n.State), At: n.At, Since: n.Since, What: n.What}
	}
	for _, o := range out {
		b.Outbox = append(b.Outbox, Outgoing{ID: o.ID, Target: o.Target, Created: o.Created,
			Message: notify.Message{Title: o.Title, Body: o.Body, Link: o.Link}})
	}
	return b, nil
}

func (l *Store) Save(ctx context.Context, sent []Sent, out []Outgoing) ([]int64, error) {
	st, err := l.open()
	if err != nil {
		return nil, err
	}
	ns := make([]store.Notified, len(sent))
	for i, s := range sent {
		ns[i] = store.Notified{Host: s.Host, State: s.state().String(), At: s.At, Since: s.Since, What: s.What}
	}
	msgs := make([]store.Outgoing, len(out))
	for i, o := range out {
		msgs[i] = store.Outgoing{Target: o.Target, Created: o.Created, Title: o.Title, Body: o.Body, Link: o.Link}
	}
	return st.SaveNotifications(ctx, ns, msgs)
}

func (l *Store) Done(ctx context.Context, id int64) error {
	st, err := l.open()
	if err != nil {
		return err
	}
	return st.DoneNotification(ctx, id)
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

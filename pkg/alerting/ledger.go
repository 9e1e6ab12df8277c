package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/notify"
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

// book is what both ledgers hold in memory, with the next message's ID.
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

// FileName is the File ledger's name in the history's directory (--data-dir).
const FileName = "notifications.json"

// File is a Ledger in a small JSON file beside the history store (in its directory), so that
// a restart reads back what was sent. Each change writes the whole file anew and renames it
// over the old one, so that a crash leaves the old or the new, never half of one. It is a file
// of its own, not a table of the store, so that it needs no change to the store's format; a
// file that cannot be read is set aside (renamed), never deleted.
type File struct {
	path string

	mu     sync.Mutex
	b      book
	loaded bool
}

var _ Ledger = (*File)(nil)

// NewFile is a ledger kept at path; nothing is read or written before its first use.
func NewFile(path string) *File { return &File{path: path, b: book{sent: map[string]Sent{}}} }

// fileFormat is the file's content.
type fileFormat struct {
	Version int            `json:"version"`
	Next    int64          `json:"next"`
	Sent    []fileSent     `json:"sent"`
	Outbox  []fileOutgoing `json:"outbox"`
}

type fileSent struct {
	Host  string    `json:"host"`
	State string    `json:"state"`
	At    time.Time `json:"at"`
	Since time.Time `json:"since,omitzero"`
	What  string    `json:"what,omitempty"`
}

type fileOutgoing struct {
	ID      int64     `json:"id"`
	Target  string    `json:"target"`
	Created time.Time `json:"created"`
	Title   string    `json:"title"`
	Body    string    `json:"body"`
	Link    string    `json:"link,omitempty"`
}

const fileVersion = 1

// Load reads the file (no file: nothing was sent). A file that cannot be read as a ledger is
// renamed aside and the error says where it went; the ledger then starts empty.
func (f *File) Load(context.Context) (Book, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.load()
	return f.b.copy(), err
}

func (f *File) load() error {
	if f.loaded {
		return nil
	}
	data, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		f.loaded = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read what notifications were sent: %w", err)
	}
	f.loaded = true
	var ff fileFormat
	if err := json.Unmarshal(data, &ff); err != nil || ff.Version != fileVersion {
		if err == nil {
			err = fmt.Errorf("format %d, this second-hand reads format %d", ff.Version, fileVersion)
		}
		aside := fmt.Sprintf("%s.unreadable-%s", f.path, time.Now().UTC().Format("20060102T150405Z"))
		if rerr := os.Rename(f.path, aside); rerr != nil {
			return fmt.Errorf("%s cannot be read (%v), nor moved aside: %w", f.path, err, rerr)
		}
		return fmt.Errorf("%s cannot be read (%v): moved aside to %s", f.path, err, aside)
	}
	f.b.next = ff.Next
	for _, s := range ff.Sent {
		f.b.sent[s.Host] = Sent{Host: s.Host, State: stateNamed(s.State), At: s.At, Since: s.Since, What: s.What}
	}
	for _, o := range ff.Outbox {
		f.b.outbox = append(f.b.outbox, Outgoing{ID: o.ID, Target: o.Target, Created: o.Created,
			Message: notify.Message{Title: o.Title, Body: o.Body, Link: o.Link}})
		f.b.next = max(f.b.next, o.ID)
	}
	return nil
}

func (f *File) Save(_ context.Context, sent []Sent, out []Outgoing) ([]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load() // unreadable: set aside, and what is saved now starts a new file
	ids := f.b.save(sent, out)
	return ids, f.write()
}

func (f *File) Done(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.load()
	if !f.b.done(id) {
		return nil
	}
	return f.write()
}

// write replaces the file with what the ledger holds.
func (f *File) write() error {
	ff := fileFormat{Version: fileVersion, Next: f.b.next, Sent: []fileSent{}, Outbox: []fileOutgoing{}}
	hosts := make([]string, 0, len(f.b.sent))
	for h := range f.b.sent {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		s := f.b.sent[h]
		ff.Sent = append(ff.Sent, fileSent{Host: s.Host, State: s.state().String(), At: s.At.UTC(), Since: s.Since.UTC(), What: s.What})
	}
	for _, o := range f.b.outbox {
		ff.Outbox = append(ff.Outbox, fileOutgoing{ID: o.ID, Target: o.Target, Created: o.Created.UTC(), Title: o.Title, Body: o.Body, Link: o.Link})
	}
	data, err := json.MarshalIndent(ff, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomically(f.path, append(data, '\n')); err != nil {
		return fmt.Errorf("cannot keep what notifications were sent: %w", err)
	}
	return nil
}

// writeFileAtomically writes data to a new file beside path, syncs it, and renames it to path.
func writeFileAtomically(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself survives a power cut
		d.Close()
	}
	return nil
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

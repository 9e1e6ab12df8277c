package alerting

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/notify"
	"github.com/second-hand/second-hand/pkg/store"
)

// TestLedgers: what was sent and the messages waiting are read back as saved, from memory and
// from the history store (closed and opened again, as at a restart); a message done is
// forgotten, and the next message's ID is not one used before.
func TestLedgers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	var st *store.Store
	openStore := func() (*store.Store, error) {
		if st == nil {
			var err error
			if st, err = store.Open(dir, nil); err != nil {
				return nil, err
			}
		}
		return st, nil
	}
	t.Cleanup(func() {
		if st != nil {
			st.Close()
		}
	})
	mem := NewMemory()
	for name, c := range map[string]struct {
		l       Ledger
		restart func() Ledger
	}{
		"memory": {mem, func() Ledger { return mem }},
		"store": {NewStore(openStore), func() Ledger {
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st = nil
			return NewStore(openStore)
		}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			sent := []Sent{
				{Host: "nas", State: diagnose.Failing, At: at, Since: at.Add(-3 * time.Minute), What: "chronyd does not answer."},
				{Host: "pi", State: diagnose.OK, At: at},
			}
			msg := notify.Message{Title: "✕ 2 hosts · second-hand", Body: "nas is failing…\npi is ok again.", Link: "http://dash.lan/"}
			ids, err := c.l.Save(ctx, sent, []Outgoing{{Target: "k1", Created: at, Message: msg}, {Target: "k2", Created: at, Message: msg}})
			if err != nil || len(ids) != 2 || ids[0] == ids[1] {
				t.Fatalf("Save: %v %v", ids, err)
			}
			if err := c.l.Done(ctx, ids[0]); err != nil {
				t.Fatal(err)
			}
			l := c.restart()
			b, err := l.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sent {
				if got := b.Sent[s.Host]; got.State != s.State || !got.At.Equal(s.At) || !got.Since.Equal(s.Since) || got.What != s.What {
					t.Errorf("%s: got %+v, want %+v", s.Host, got, s)
				}
			}
			if len(b.Outbox) != 1 || b.Outbox[0].ID != ids[1] || b.Outbox[0].Target != "k2" || b.Outbox[0].Message != msg || !b.Outbox[0].Created.Equal(at) {
				t.Errorf("outbox %+v", b.Outbox)
			}
			more, err := l.Save(ctx, nil, []Outgoing{{Target: "k1", Created: at, Message: msg}})
			if err != nil || len(more) != 1 || more[0] <= ids[1] {
				t.Errorf("a message saved after the restart: ID %v (%v), want one above %d", more, err, ids[1])
			}
		})
	}
}

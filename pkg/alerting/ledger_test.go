package alerting

import (
	"context"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/notify"
	"github.com/second-hand/second-hand/pkg/store"
)

// TestLedgers: what was sent and the messages waiting are read back as saved, from memory and
// from the history store (after the store is closed and opened again, as at a restart); a
// message done is forgotten.
func TestLedgers(t *testing.T) {
	dir := t.TempDir()
	var st *store.Store
	reopen := func() {
		if st != nil {
			st.Close()
		}
		var err error
		if st, err = store.Open(dir, nil); err != nil {
			t.Fatal(err)
		}
	}
	reopen()
	t.Cleanup(func() { st.Close() })
	mem := NewMemory()
	for name, c := range map[string]struct {
		l       Ledger
		restart func()
	}{
		"memory": {mem, func() {}},
		"store":  {Stored{Store: func() (*store.Store, error) { return st, nil }}, reopen},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			sent := []Sent{
				{Host: "nas", State: diagnose.Failing, At: at, Since: at.Add(-3 * time.Minute), What: "chronyd does not answer."},
				{Host: "pi", State: diagnose.OK, At: at},
			}
			msg := notify.Message{Title: "✕ 2 hosts · second-hand", Body: "nas is failing…\npi is ok again.", Link: ""}
			ids, err := c.l.Save(ctx, sent, []Outgoing{{Target: "k1", Created: at, Message: msg}, {Target: "k2", Created: at, Message: msg}})
			if err != nil || len(ids) != 2 || ids[0] == ids[1] {
				t.Fatalf("Save: %v %v", ids, err)
			}
			if err := c.l.Done(ctx, ids[0]); err != nil {
				t.Fatal(err)
			}
			c.restart()
			b, err := c.l.Load(ctx)
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
		})
	}
}

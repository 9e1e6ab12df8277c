package alerting

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/notify"
)

// TestLedgers: what was sent and the messages waiting are read back as saved, from memory and
// from the file beside the history store (by a new ledger of the same file, as at a restart);
// a message done is forgotten, and the next message's ID is not one used before.
func TestLedgers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", FileName)
	mem := NewMemory()
	for name, c := range map[string]struct {
		l       Ledger
		restart func() Ledger
	}{
		"memory": {mem, func() Ledger { return mem }},
		"file":   {NewFile(path), func() Ledger { return NewFile(path) }},
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

// TestFileLedgerUnreadable: a file that is not a ledger is set aside (renamed, its content
// kept), the error says where it went, and the ledger starts empty and works.
func TestFileLedgerUnreadable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	for name, content := range map[string]string{"garbage": "{\"version\": 1, \"sent\": [", "newer": `{"version": 7}`} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			l := NewFile(path)
			b, err := l.Load(context.Background())
			if err == nil || !strings.Contains(err.Error(), "moved aside to "+path+".unreadable-") {
				t.Fatalf("Load: %v", err)
			}
			if len(b.Sent) != 0 || len(b.Outbox) != 0 {
				t.Errorf("an unreadable file gave %+v", b)
			}
			aside := strings.TrimSpace(err.Error()[strings.Index(err.Error(), "moved aside to ")+len("moved aside to "):])
			if got, err := os.ReadFile(aside); err != nil || string(got) != content {
				t.Errorf("the file set aside: %q %v, want %q", got, err, content)
			}
			os.Remove(aside)
			if _, err := l.Save(context.Background(), []Sent{{Host: "nas", State: diagnose.Warning}}, nil); err != nil {
				t.Fatal(err)
			}
			if b, err := NewFile(path).Load(context.Background()); err != nil || b.Sent["nas"].State != diagnose.Warning {
				t.Errorf("after a save: %+v %v", b, err)
			}
		})
	}
}

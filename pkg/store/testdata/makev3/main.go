// Command makev3 wrote v3/history.db and v3/history.json: a store in format 3 as this release
// leaves it (v2/history.db upgraded on opening, then notifications kept: what was said about
// two hosts, and a message not yet delivered), and what this release read from it (the
// records and the notifications), for the tests of the migration that comes next. It was run
// once, at the commit that added it:
//
//	go run ./pkg/store/testdata/makev3 pkg/store/testdata/v2/history.db pkg/store/testdata/v3
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

func main() {
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Dump is what the release read: each host's records, what was last said about each host,
// and the messages waiting.
type Dump struct {
	Records  map[string]store.History
	Notified []store.Notified
	Outbox   []store.Outgoing
}

func run(v2, dir string) error {
	ctx := context.Background()
	db, err := os.ReadFile(v2)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, store.FileName), db, 0o644); err != nil {
		return err
	}
	st, err := store.Open(dir, nil)
	if err != nil {
		return err
	}
	at := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	_, err = st.SaveNotifications(ctx, []store.Notified{
		{Host: "nas", State: "failing", At: at, Since: at.Add(-4 * time.Minute), What: "chronyd does not answer."},
		{Host: "pi", State: "ok", At: at.Add(-time.Hour)},
	}, []store.Outgoing{{Target: "ntfy://ntfy.example.org/clocks", Created: at, Title: "✕ nas: failing · second-hand",
		Body: "nas is failing since 17:56 UTC.\nchronyd does not answer.", Link: "http://dash.lan/hosts/nas/"}})
	if err != nil {
		return err
	}
	d := Dump{Records: map[string]store.History{}}
	h, err := st.Range(ctx, "nas", time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	d.Records["nas"] = h
	if d.Notified, d.Outbox, err = st.Notifications(ctx); err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	os.Remove(filepath.Join(dir, store.LockName))
	out, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "history.json"), out, 0o644)
}

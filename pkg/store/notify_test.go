package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestMigrateFromV2: a store of the release before (format 2, testdata/v2, made by makev2)
// is upgraded to format 3 on opening: its records and rollups read as that release read them,
// and the notifications' tables are there and kept across a restart (what was said about a
// host is replaced, not added to; a message done is gone; IDs are never given twice).
func TestMigrateFromV2(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), fileBytes(t, "testdata/v2/history.db"), 0o640); err != nil {
		t.Fatal(err)
	}
	if v, _ := formatOf(filepath.Join(dir, FileName)); v != 2 {
		t.Fatalf("testdata/v2 has user_version %d, want 2", v)
	}
	var want struct{ Records map[string]History }
	if err := json.Unmarshal(fileBytes(t, "testdata/v2/history.json"), &want); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := openStore(t, dir)
	if v := s.pragma(t, "user_version"); v != Version() || Version() != 3 {
		t.Fatalf("user_version %d after opening, want %d (format 3)", v, Version())
	}
	sameHistory(t, s, want.Records)
	if sent, out, err := s.Notifications(ctx); err != nil || len(sent) != 0 || len(out) != 0 {
		t.Fatalf("a store upgraded from format 2: notifications %v %v %v, want none", sent, out, err)
	}
	first := Notified{Host: "nas", State: "warning", At: at, Since: at.Add(-3 * time.Minute), What: "chronyd's reference does not answer."}
	msg := Outgoing{Target: "k1", Created: at, Title: "! nas: warning · second-hand", Body: "nas is warning…", Link: "http://dash.lan/"}
	ids, err := s.SaveNotifications(ctx, []Notified{first, {Host: "pi", State: "ok", At: at}}, []Outgoing{msg, msg})
	if err != nil || len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("SaveNotifications: %v %v", ids, err)
	}
	later := Notified{Host: "nas", State: "failing", At: at.Add(time.Minute), Since: first.Since, What: "chronyd does not answer."}
	if _, err := s.SaveNotifications(ctx, []Notified{later}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.DoneNotification(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.DoneNotification(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openStore(t, dir) // a restart: nothing to migrate, everything kept
	if v := s.pragma(t, "user_version"); v != Version() {
		t.Errorf("user_version %d after opening again", v)
	}
	sameHistory(t, s, want.Records)
	sent, out, err := s.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if wantSent := []Notified{later, {Host: "pi", State: "ok", At: at}}; !reflect.DeepEqual(sent, wantSent) {
		t.Errorf("after a restart, sent %+v, want %+v", sent, wantSent)
	}
	if len(out) != 0 {
		t.Errorf("after a restart, messages done are still waiting: %+v", out)
	}
	more, err := s.SaveNotifications(ctx, nil, []Outgoing{msg})
	if err != nil || len(more) != 1 || more[0] <= ids[1] {
		t.Errorf("a message after the outbox was emptied: ID %v (%v), want one above %d", more, err, ids[1])
	}
	if _, out, _ := s.Notifications(ctx); len(out) != 1 || out[0].ID != more[0] || out[0].Title != msg.Title || !out[0].Created.Equal(at) {
		t.Errorf("the message waiting: %+v", out)
	}
}

// TestOpenV3: the store format 3 as this release leaves it (testdata/v3, made by makev3: v2
// upgraded, notifications kept) reads as makev3 read it: the records, what was said about each
// host, the message waiting. The test of the step after 3 starts from this file.
func TestOpenV3(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), fileBytes(t, "testdata/v3/history.db"), 0o640); err != nil {
		t.Fatal(err)
	}
	if v, _ := formatOf(filepath.Join(dir, FileName)); v != 3 {
		t.Fatalf("testdata/v3 has user_version %d, want 3", v)
	}
	var want struct {
		Records  map[string]History
		Notified []Notified
		Outbox   []Outgoing
	}
	if err := json.Unmarshal(fileBytes(t, "testdata/v3/history.json"), &want); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, dir)
	sameHistory(t, s, want.Records)
	sent, out, err := s.Notifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) == 0 || len(out) == 0 || !reflect.DeepEqual(sent, want.Notified) || !reflect.DeepEqual(out, want.Outbox) {
		t.Errorf("notifications %+v %+v, makev3 read %+v %+v", sent, out, want.Notified, want.Outbox)
	}
}

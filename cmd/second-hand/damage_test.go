package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// TestDamagedStore: a store of a day of the host "h" with two sources, in which one hour of samples is 5
// bytes short, as a disk can leave it without SQLite's checks noticing. second-hand draws the
// rest of the record with that hour shown as damaged, lists the events, exports the rest with a
// row saying what was skipped, and logs it once with the series and the hour. Then the file is
// damaged under it while it runs: the history panel says so once, with the fix, and so does
// the log. (The fake chronyd only answers; the store is what is under test.)
func TestDamagedStore(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: writes two days of history")
	}
	dir := t.TempDir()
	st, err := store.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := storetest.FillHistory(context.Background(), st, "h", now, 1, 2); err != nil {
		t.Fatal(err)
	}
	st.Close()
	hour := now.Add(-12 * time.Hour).Truncate(time.Hour)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE chunks SET data = substr(data, 1, length(data) - 5)
		WHERE series = (SELECT id FROM series WHERE host = 'h' AND kind = 1) AND t0 >= ? AND t0 < ?`, hour.UnixMilli(), hour.Add(time.Hour).UnixMilli())
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("damaging a chunk: %d rows, %v", n, err)
	}
	db.Close()

	in := start(t, "--chrony", "h="+chronytest.StartUDP(t, chronytest.Replay).Addr, "--data-dir", dir, "--sample", "1s")
	for range 2 {
		page := fresh(t, in.url+"/panels/history?range=24h")
		if alert(page) || !strings.Contains(page, `<rect class="damaged"`) || !strings.Contains(page, `data-field="damaged"`) ||
			!strings.Contains(page, "the samples of h from "+hour.UTC().Format("2006-01-02 15:04")) || strings.Count(page, "<svg") < 5 {
			t.Fatalf("the history of a store with a damaged hour:\n%s", page)
		}
	}
	if page := fresh(t, in.url+"/panels/events"); alert(page) {
		t.Errorf("events of a store with a damaged hour:\n%s", page)
	}
	rows := csvRows(t, in.url+"/history.csv?range=24h")
	damagedRows := 0
	for _, r := range rows {
		if r["record"] == "damaged" {
			damagedRows++
			if !strings.Contains(r["gap_error"], "samples of h") {
				t.Errorf("the damaged row: %v", r)
			}
		}
	}
	if damagedRows != 1 || count(rows, "sample") < 5400-225-10 {
		t.Errorf("the export: %d damaged rows, %d samples; want 1 and the day but the hour", damagedRows, count(rows, "sample"))
	}
	if n := strings.Count(in.log.String(), "damaged chunk"); n != 1 || !strings.Contains(in.log.String(), `series="samples of h"`) {
		t.Errorf("the log tells of the damaged chunk %d times, want once with its series and hour:\n%s", n, in.log)
	}

	f, err := os.OpenFile(filepath.Join(dir, store.FileName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	garbage := make([]byte, fi.Size()/2)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	f.WriteAt(garbage, fi.Size()/4)
	f.Close()
	page := until(t, in.url+"/panels/history?range=30d", "the history panel to tell of the damaged store", func(p string) bool {
		return strings.Contains(p, `data-field="store-damaged"`)
	})
	if strings.Count(page, `role="alert"`) != 1 || !strings.Contains(page, "restart second-hand") || !strings.Contains(page, "malformed") {
		t.Errorf("the history panel of a store damaged while running, said once with the fix:\n%s", page)
	}
	if n := strings.Count(in.log.String(), "restart second-hand"); n != 1 {
		t.Errorf("the log says the fix %d times, want once:\n%s", n, in.log)
	}
}

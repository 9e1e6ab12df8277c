package store

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/testkit"
)

// openLogged opens a store in dir whose log the test reads.
func openLogged(t *testing.T, dir string) (*Store, *testkit.SyncBuffer) {
	t.Helper()
	log := &testkit.SyncBuffer{}
	s, err := Open(dir, slog.New(slog.NewTextHandler(log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, log
}

// TestDamagedChunkIsSkipped: one hour's chunk of samples is 5 bytes short (SQLite's own
// checks see nothing wrong). Reading the three hours skips that hour, says which series and
// hour it was, and reads the rest; the log says so once however often it is read; compaction
// goes on around it and keeps it.
func TestDamagedChunkIsSkipped(t *testing.T) {
	s, log := openLogged(t, t.TempDir())
	if err := s.Append(ctx, "nas", batches(3*225)); err != nil { // three hours, a sample every 16 s
		t.Fatal(err)
	}
	if err := s.Compact(ctx, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	hour := t0.Add(time.Hour)
	if _, err := s.db.Exec(`UPDATE chunks SET data = substr(data, 1, length(data) - 5)
		WHERE series = (SELECT id FROM series WHERE host = 'nas' AND kind = ?) AND t0 >= ? AND t0 < ?`, kindSample, ms(hour), ms(hour.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	var check string
	s.db.QueryRow(`PRAGMA quick_check`).Scan(&check)
	if check != "ok" {
		t.Fatalf("quick_check = %q; the damage is meant to be one SQLite does not see", check)
	}
	for range 3 {
		h, err := s.Range(ctx, "nas", t0, t0.Add(3*time.Hour))
		if err != nil {
			t.Fatalf("Range with a damaged chunk: %v", err)
		}
		if len(h.Samples) != 2*225 || len(h.Updates) < 3*225-2 {
			t.Errorf("%d samples and %d updates read; want the two hours not damaged, and every update", len(h.Samples), len(h.Updates))
		}
		if len(h.Damaged) != 1 || h.Damaged[0].Series != "samples of nas" || h.Damaged[0].Start.Truncate(time.Hour) != hour {
			t.Errorf("damage = %+v, want the samples of nas at %v", h.Damaged, hour)
		}
	}
	if err := s.Compact(ctx, t0.Add(48*time.Hour)); err != nil {
		t.Errorf("compaction with a damaged chunk: %v", err)
	}
	var kept int
	s.db.QueryRow(`SELECT count(*) FROM chunks WHERE length(data) % ? != 0 AND series = (SELECT id FROM series WHERE host = 'nas' AND kind = ?)`,
		sampleSize, kindSample).Scan(&kept)
	if kept != 1 {
		t.Errorf("%d damaged chunks in the store after compaction, want it kept", kept)
	}
	if n := strings.Count(log.String(), "damaged chunk"); n != 1 || !strings.Contains(log.String(), `series="samples of nas"`) ||
		!strings.Contains(log.String(), "hour=\""+hour.Format("2006-01-02 15:04 MST")) {
		t.Errorf("the log says it %d times, want once with the series and hour:\n%s", n, log)
	}
}

// TestStoreGoingBadIsSaidOnce: the file is damaged under an open store. Reads fail with
// SQLite's words; Damaged says so; the log says it once with the fix, however many reads fail.
func TestStoreGoingBadIsSaidOnce(t *testing.T) {
	dir := t.TempDir()
	s, log := openLogged(t, dir)
	if err := s.Append(ctx, "nas", batches(2000)); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx, t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if s.Damaged() != nil {
		t.Fatal("damaged before the damage")
	}
	corrupt(t, filepath.Join(dir, FileName))
	for range 3 {
		if _, err := s.Range(ctx, "nas", t0, t0.Add(48*time.Hour)); err == nil || !damaged(err) {
			t.Errorf("Range of a damaged file: %v, want SQLite's corruption error", err)
		}
	}
	if err := s.Damaged(); err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Errorf("Damaged() = %v", err)
	}
	if n := strings.Count(log.String(), "restart second-hand"); n != 1 {
		t.Errorf("the log says it %d times, want once, with the fix:\n%s", n, log)
	}
}

// corrupt overwrites the middle half of a database file with bytes that are no b-tree pages.
func corrupt(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, fi.Size()/2)
	for i := range garbage {
		garbage[i] = byte(i * 7)
	}
	if _, err := f.WriteAt(garbage, fi.Size()/4); err != nil {
		t.Fatal(err)
	}
}

package store

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// oldStore makes a store as second-hand made it before it set auto_vacuum: the schema in a file
// whose auto_vacuum is NONE.
func oldStore(t *testing.T, dir string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName)+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range schemaV1 {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	var mode int
	db.QueryRow(`PRAGMA auto_vacuum`).Scan(&mode)
	if mode != 0 {
		t.Fatalf("the old store's auto_vacuum is %d", mode)
	}
}

func (s *Store) pragma(t *testing.T, name string) int {
	t.Helper()
	var v int
	if err := s.db.QueryRow(`PRAGMA ` + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReclaimKeepsTheFileToWhatItHolds: a new store and one made before auto_vacuum was set
// (it stays as it is until Reclaim, which rewrites it once) both end a second write of the same
// records, compacted and reclaimed, with no free pages and within 1.2 times their size after
// the first.
func TestReclaimKeepsTheFileToWhatItHolds(t *testing.T) {
	for _, old := range []bool{false, true} {
		dir := t.TempDir()
		if old {
			oldStore(t, dir)
		}
		s := openStore(t, dir)
		wantMode := 2
		if old {
			wantMode = 0
		}
		if got := s.pragma(t, "auto_vacuum"); got != wantMode {
			t.Fatalf("old %v: auto_vacuum %d when opened, want %d", old, got, wantMode)
		}
		write := func() int64 {
			if err := s.Append(ctx, "nas", batches(3000)); err != nil {
				t.Fatal(err)
			}
			if err := s.Compact(ctx, t0.Add(48*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.Reclaim(ctx); err != nil {
				t.Fatal(err)
			}
			size, _ := s.Size()
			return size
		}
		first := write()
		second := write()
		if free := s.pragma(t, "freelist_count"); free != 0 || s.pragma(t, "auto_vacuum") != 2 {
			t.Errorf("old %v: %d free pages, auto_vacuum %d; want none and incremental", old, free, s.pragma(t, "auto_vacuum"))
		}
		t.Logf("old %v: %d bytes after the first write, %d after the second", old, first, second)
		if float64(second) > 1.2*float64(first) {
			t.Errorf("old %v: the same records written again: %d bytes, from %d", old, second, first)
		}
	}
}

// batches is n of batch's records, 16 s apart, in one batch.
func batches(n int) Batch {
	var all Batch
	for i := range n {
		b := batch(t0.Add(time.Duration(i)*16*time.Second), i)
		all.Samples = append(all.Samples, b.Samples...)
		all.Updates = append(all.Updates, b.Updates...)
		all.Sources = append(all.Sources, b.Sources...)
	}
	return all
}

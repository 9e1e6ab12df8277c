package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/testkit"
)

var (
	ctx = context.Background()
	t0  = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
)

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// batch is a sample, an update and a point of two sources at t.
func batch(t time.Time, i int) Batch {
	f := float64(i)
	return Batch{
		Samples: []Sample{{T: t, OffsetSeconds: 1e-6 * f, RootDelaySeconds: 2e-3, RootDispersionSeconds: 1e-3, State: Synchronised}},
		Updates: []Update{{T: t.Add(-time.Second), OffsetSeconds: -1e-6 * f, FrequencyPPM: 12.5, ResidualFrequencyPPM: 0.01, SkewPPM: 0.2,
			RMSOffsetSeconds: 3e-6, RootDelaySeconds: 2e-3, RootDispersionSeconds: 1e-3, UpdateIntervalSeconds: 64, Stratum: 3, Leap: 0,
			RefID: 0xC0A80001, Reference: fmt.Sprintf("ntp%d.lan", i%2)}},
		Sources: []SourceRecord{
			{Source{"ntp0.lan", "192.168.0.1"}, SourcePoint{T: t.Add(-2 * time.Second), NewSample: true, HasStats: true, OffsetSeconds: 5e-6 * f,
				ErrorSeconds: 1e-4, State: 0, Reach: 0o377, Stratum: 2, PollLog2: 6, Samples: 8, Runs: 5, SpanSeconds: 448,
				FrequencyPPM: 0.001, SkewPPM: 0.05, EstOffsetSeconds: 1e-6, StdDevSeconds: 2e-6}},
			{Source{"GPS", ""}, SourcePoint{T: t.Add(-3 * time.Second), Reach: 0, State: 1, PollLog2: 4}},
		},
	}
}

func TestAppendAndRange(t *testing.T) {
	s := openStore(t, t.TempDir())
	for i := range 10 {
		if err := s.Append(ctx, "nas", batch(t0.Add(time.Duration(i)*16*time.Second), i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(ctx, "pi", batch(t0, 99)); err != nil {
		t.Fatal(err)
	}
	h, err := s.Range(ctx, "nas", t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Samples) != 10 || len(h.Updates) != 9 || len(h.Sources) != 2 {
		// The first update is a second before t0: outside the range.
		t.Fatalf("samples %d, updates %d, sources %d; want 10, 9, 2", len(h.Samples), len(h.Updates), len(h.Sources))
	}
	if got, want := h.Samples[3], batch(t0.Add(48*time.Second), 3).Samples[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("sample = %+v, want %+v", got, want)
	}
	if got, want := h.Updates[2], batch(t0.Add(48*time.Second), 3).Updates[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("update = %+v, want %+v", got, want)
	}
	if h.Sources[0].Name != "GPS" || h.Sources[1].Name != "ntp0.lan" || h.Sources[1].Address != "192.168.0.1" {
		t.Errorf("sources = %v", h.Sources)
	}
	// The first point, two seconds before t0, is outside the range.
	if got, want := h.Sources[1].Points[2], batch(t0.Add(48*time.Second), 3).Sources[0].Point; !reflect.DeepEqual(got, want) {
		t.Errorf("source point = %+v, want %+v", got, want)
	}
	if p, err := s.Range(ctx, "pi", t0.Add(-time.Hour), t0.Add(time.Hour)); err != nil || len(p.Samples) != 1 || p.Samples[0].OffsetSeconds != 99e-6 {
		t.Errorf("pi: %+v %v", p.Samples, err)
	}
}

// TestCompactMergesAndDedupes: the same records written twice (an import repeated) read once,
// and compaction leaves one chunk per hour holding each once.
func TestCompactMergesAndDedupes(t *testing.T) {
	s := openStore(t, t.TempDir())
	for range 2 {
		for i := range 400 { // 400 x 16 s: two hours
			if err := s.Append(ctx, "nas", batch(t0.Add(time.Duration(i)*16*time.Second), i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	before, err := s.Range(ctx, "nas", t0, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Samples) != 400 {
		t.Fatalf("%d samples read, want 400: duplicates are read once", len(before.Samples))
	}
	if err := s.Compact(ctx, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	after, err := s.Range(ctx, "nas", t0, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Error("compaction changed what is read")
	}
	var chunks, records int
	s.db.QueryRow(`SELECT count(*), sum(n) FROM chunks`).Scan(&chunks, &records)
	// 5 series (samples, updates, two sources, one source's statistics), each over 2 or 3 hours.
	if chunks > 15 || records != 5*400 {
		t.Errorf("after compaction: %d chunks holding %d records, want at most 15 chunks and 2000 records", chunks, records)
	}
	// Writing all of it again and compacting adds nothing.
	size, _ := s.Size()
	for i := range 400 {
		s.Append(ctx, "nas", batch(t0.Add(time.Duration(i)*16*time.Second), i))
	}
	s.Compact(ctx, t0.Add(24*time.Hour))
	var records2 int
	s.db.QueryRow(`SELECT sum(n) FROM chunks`).Scan(&records2)
	if records2 != records {
		t.Errorf("records after writing the same again: %d, want %d", records2, records)
	}
	if size2, _ := s.Size(); size2 > size*2 {
		t.Errorf("the file grew from %d to %d bytes", size, size2)
	}
}

func TestExpire(t *testing.T) {
	s := openStore(t, t.TempDir())
	for i := range 48 {
		s.Append(ctx, "nas", batch(t0.Add(time.Duration(i)*time.Hour), i))
	}
	s.Append(ctx, "nas", Batch{Gaps: []Gap{{Start: t0, End: t0.Add(time.Minute), Error: "old"}, {Start: t0.Add(40 * time.Hour), End: t0.Add(41 * time.Hour), Error: "new"}}})
	if _, err := s.Expire(ctx, t0.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	h, _ := s.Range(ctx, "nas", t0.Add(-time.Hour), t0.Add(100*time.Hour))
	if len(h.Samples) != 24 || h.Samples[0].T != t0.Add(24*time.Hour) {
		t.Errorf("after expiry: %d samples from %v, want 24 from %v", len(h.Samples), h.Samples[0].T, t0.Add(24*time.Hour))
	}
	if len(h.Gaps) != 1 || h.Gaps[0].Error != "new" {
		t.Errorf("gaps = %+v", h.Gaps)
	}
}

func TestGapsGrow(t *testing.T) {
	s := openStore(t, t.TempDir())
	for i := range 5 {
		s.Append(ctx, "nas", Batch{Gaps: []Gap{{Start: t0, End: t0.Add(time.Duration(i) * time.Minute), Error: "timed out"}}})
	}
	h, _ := s.Range(ctx, "nas", t0.Add(-time.Hour), t0.Add(time.Hour))
	if len(h.Gaps) != 1 || h.Gaps[0].End != t0.Add(4*time.Minute) {
		t.Errorf("gaps = %+v, want one from t0 to t0+4m", h.Gaps)
	}
}

// TestDamagedFileIsKeptAside: garbage where the store should be, and a store cut short, are
// each moved aside untouched under a timestamped name, and a new store is started.
func TestDamagedFileIsKeptAside(t *testing.T) {
	for _, damage := range []string{"garbage", "truncated"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			switch damage {
			case "garbage":
				os.WriteFile(path, bytes.Repeat([]byte("not a database "), 1000), 0o640)
			case "truncated":
				s, err := Open(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i := range 2000 {
					s.Append(ctx, "nas", batch(t0.Add(time.Duration(i)*16*time.Second), i))
				}
				s.Compact(ctx, t0.Add(48*time.Hour))
				s.Close()
				fi, _ := os.Stat(path)
				if err := os.Truncate(path, fi.Size()/2); err != nil {
					t.Fatal(err)
				}
			}
			damaged, _ := os.ReadFile(path)
			s, err := Open(dir, nil)
			if err != nil {
				t.Fatalf("Open of a %s file: %v", damage, err)
			}
			defer s.Close()
			if !strings.Contains(s.Notice, "was damaged") || !strings.Contains(s.Notice, ".damaged-") {
				t.Errorf("notice = %q", s.Notice)
			}
			kept, _ := filepath.Glob(path + ".damaged-*")
			if len(kept) != 1 {
				t.Fatalf("kept aside: %v", kept)
			}
			if got, _ := os.ReadFile(kept[0]); !bytes.Equal(got, damaged) {
				t.Error("the damaged file was changed")
			}
			if err := s.Append(ctx, "nas", batch(t0, 1)); err != nil {
				t.Errorf("the new store: %v", err)
			}
		})
	}
}

// TestReadOnlyDirectory: a data directory second-hand may not write is an error that says so
// and names it.
func TestReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// root writes anywhere a mode allows nothing: a read-only file system stops it.
		mountTmpfs(t, dir, "ro,size=64k")
	} else {
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	_, err := Open(dir, nil)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("Open of a read-only directory: %v; want an error naming it and the fix", err)
	}
}

// TestFullDisk: on a disk that fills up, a write fails saying so; what was written stays, and
// the file is kept.
func TestFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		if testkit.Strict() {
			t.Fatal("a small tmpfs needs root")
		}
		t.Skip("a small tmpfs needs root")
	}
	dir := t.TempDir()
	mountTmpfs(t, dir, "size=256k")
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var full error
	written := 0
	for i := 0; i < 100000 && full == nil; i++ {
		full = s.Append(ctx, "nas", batch(t0.Add(time.Duration(i)*16*time.Second), i))
		if full == nil {
			written++
		}
	}
	if full == nil || !strings.Contains(full.Error(), "disk is full") {
		t.Fatalf("after %d writes: %v, want a full disk", written, full)
	}
	h, err := s.Range(ctx, "nas", t0, t0.Add(time.Duration(written)*16*time.Second))
	if err != nil || len(h.Samples) != written {
		t.Errorf("after the disk filled: %d samples read of %d written, %v", len(h.Samples), written, err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Error(err)
	}
}

func mountTmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v %s", err, out)
		}
	})
}

// TestOneProcessPerDirectory: a second store on a directory that is open is refused, naming
// the directory, the holder and the fix; once the first closes, it opens.
func TestOneProcessPerDirectory(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, nil)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), dir) ||
		!strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("a second Open: %v", err)
	}
	if err := first.Append(ctx, "nas", batch(t0, 1)); err != nil {
		t.Fatalf("the first store after a refused second: %v", err)
	}
	first.Close()
	second := openStore(t, dir)
	if h, err := second.Range(ctx, "nas", t0.Add(-time.Hour), t0.Add(time.Hour)); err != nil || len(h.Samples) != 1 {
		t.Errorf("after the first closed: %d samples, %v", len(h.Samples), err)
	}
}

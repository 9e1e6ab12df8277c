package history

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylog/chronylogtest"
	"github.com/second-hand/second-hand/pkg/store"
)

// TestImportStreams: four days of chronyd's logs for eight sources (about 92,000 lines),
// given with the logs' files in any order and with a rotated copy, are imported in batches:
// the live heap after each batch stays within a few megabytes (the logs read whole would hold
// tens), and every line is in the store, each measurement joined to its statistics.
func TestImportStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: writes and imports eight days of logs")
	}
	end := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	older, _, err := chronylogtest.Write(filepath.Join(dir, "older"), end.Add(-2*24*time.Hour), 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	newer, lines, err := chronylogtest.Write(filepath.Join(dir, "newer"), end, 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	// The older logs as chronyd's rotation names them, given after the newer ones.
	var files []string
	for _, f := range older {
		rotated := filepath.Join(dir, filepath.Base(f)+".1")
		if err := os.Rename(f, rotated); err != nil {
			t.Fatal(err)
		}
		files = append(files, rotated)
	}
	files = append(newer, files...)

	st, err := store.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	live := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := live()
	peak, batches := base, 0
	reports, err := Import(context.Background(), st, "h", files, store.DefaultRetention, func(int) {
		batches++
		peak = max(peak, live())
	})
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, r := range reports {
		read += r.Lines
		if r.Skipped != 0 {
			t.Errorf("%s: %d lines skipped: %v", r.Path, r.Skipped, r.Problems)
		}
	}
	t.Logf("%d lines in %d batches; live heap at most %.1f MB above where it began", read, batches, float64(peak-base)/1e6)
	if read != 2*lines {
		t.Errorf("%d records read, want %d", read, 2*lines)
	}
	if grew := peak - base; grew > 8<<20 {
		t.Errorf("the live heap grew by %.1f MB during the import, want at most 8 MB", float64(grew)/1e6)
	}
	h, err := st.Range(context.Background(), "h", end.Add(-5*24*time.Hour), end)
	if err != nil {
		t.Fatal(err)
	}
	perSource := 4 * 24 * 3600 / 64
	if len(h.Updates) != perSource || len(h.Samples) != perSource || len(h.Sources) != 8 {
		t.Fatalf("%d updates, %d samples, %d sources; want %d, %d, 8", len(h.Updates), len(h.Samples), len(h.Sources), perSource, perSource)
	}
	for _, src := range h.Sources {
		joined := 0
		for _, p := range src.Points {
			if p.NewSample && p.HasStats && p.Samples == 12 {
				joined++
			}
		}
		if joined != perSource || len(src.Points) != perSource {
			t.Errorf("%s: %d points, %d with their statistics joined; want %d and %d", src.Name, len(src.Points), joined, perSource, perSource)
		}
	}
	if !strings.HasSuffix(reports[3].Path, "tracking.log.1") {
		t.Errorf("reports out of the order given: %v", reports[3].Path)
	}
}

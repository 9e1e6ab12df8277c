package history

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"runtime"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// TestCSVNeutralisesFormulas: text that chronyd or its configuration gave (a source's name or
// address, a reference, an error) cannot start a formula when the file is opened in a
// spreadsheet; numbers stay numbers, a negative one included.
func TestCSVNeutralisesFormulas(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`=HYPERLINK("http://attacker.example","click")`, `'=HYPERLINK("http://attacker.example","click")`},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"ntp1.lan", "ntp1.lan"},
		{"GPS", "GPS"},
		{"a=b", "a=b"},
		{"", ""},
	} {
		h := store.History{
			Samples: []store.Sample{{T: t0, OffsetSeconds: -0.0001, State: store.Synchronised}},
			Updates: []store.Update{{T: t0, Reference: tc.in, OffsetSeconds: -1e-6, FrequencyPPM: -12.5}},
			Sources: []store.SourceHistory{{Source: store.Source{Name: tc.in, Address: tc.in},
				Points: []store.SourcePoint{{T: t0, NewSample: true, OffsetSeconds: -3e-6, ErrorSeconds: 1e-4}}}},
			Gaps: []store.Gap{{Start: t0, End: t0.Add(time.Minute), Error: tc.in}},
		}
		var b bytes.Buffer
		if err := WriteCSV(&b, h); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		cell := func(record, name string) string {
			for _, r := range rows[1:] {
				if r[col["record"]] == record {
					return r[col[name]]
				}
			}
			t.Fatalf("no %s row", record)
			return ""
		}
		for _, c := range []struct{ record, name string }{{"update", "reference"}, {"source", "source_name"}, {"source", "source_address"}, {"gap", "gap_error"}} {
			if got := cell(c.record, c.name); got != tc.want {
				t.Errorf("%s %s of %q = %q, want %q", c.record, c.name, tc.in, got, tc.want)
			}
		}
		for _, c := range []struct{ record, name, want string }{{"sample", "system_offset_s", "-0.0001"}, {"update", "last_offset_s", "-1e-06"},
			{"update", "frequency_ppm", "-12.5"}, {"source", "offset_s", "-3e-06"}} {
			if got := cell(c.record, c.name); got != c.want {
				t.Errorf("%s %s = %q, want the number %s", c.record, c.name, got, c.want)
			}
		}
	}
}

// TestExportStreams: the export of two days of a host with eight sources, read an hour at a
// time, is the same file as the days read whole and written at once (gaps across the hours
// included, each once), and the live heap never holds more than a few megabytes of it while
// it is written: the days read whole take tens.
func TestExportStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: writes a week of history")
	}
	ctx := context.Background()
	s := Open(Config{Dir: t.TempDir(), Sample: 16 * time.Second, Retention: store.Retention{Raw: 30 * 24 * time.Hour}})
	defer s.Close()
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 30, 12, 30, 0, 0, time.UTC)
	if err := storetest.FillHistory(ctx, st, "h", end, 2, 8); err != nil {
		t.Fatal(err)
	}
	from := end.Add(-2 * 24 * time.Hour)
	gaps := []store.Gap{{Start: from.Add(-time.Hour), End: from.Add(time.Minute), Error: "before the range"},
		{Start: from.Add(30 * time.Hour), End: from.Add(33 * time.Hour), Error: "three hours"}}
	if err := st.Append(ctx, "h", store.Batch{Gaps: gaps}); err != nil {
		t.Fatal(err)
	}

	whole, streamed := sha256.New(), sha256.New()
	h, err := st.Range(ctx, "h", from, end)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(whole, h); err != nil {
		t.Fatal(err)
	}
	h = store.History{}

	// The live heap: collected before each reading, so that garbage not yet collected does
	// not count.
	live := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := live()
	peak, hours := base, 0
	err = s.ExportCSV(ctx, streamed, "h", from, end, func() error {
		hours++
		peak = max(peak, live())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(streamed.Sum(nil), whole.Sum(nil)) {
		t.Error("the export differs from the record read whole and written at once")
	}
	t.Logf("%d hours; live heap %.1f MB above where it began at most", hours, float64(peak-base)/1e6)
	if hours != 2*24+1 {
		t.Errorf("read %d hours, want %d (the two days and the hour they start in)", hours, 2*24+1)
	}
	if grew := peak - base; grew > 8<<20 {
		t.Errorf("the live heap grew by %.1f MB during the export, want at most 8 MB", float64(grew)/1e6)
	}
}

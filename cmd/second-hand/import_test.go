package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylog/chronylogtest"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestImportSkipsWhatIsNoMeasurement: three days of logs with, inside, a line of a megabyte of
// NUL bytes, NaN and infinite offsets and a stratum of 99. Each is reported as
// FILE:LINE with what is wrong, and skipped; every other line is imported. Importing the same
// logs again adds nothing and leaves the store's file within 1.2 times its size.
func TestImportSkipsWhatIsNoMeasurement(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: imports three days of logs")
	}
	dir := t.TempDir()
	files, lines, err := chronylogtest.Write(dir, time.Now(), 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	tracking := files[0]
	b, err := os.ReadFile(tracking)
	if err != nil {
		t.Fatal(err)
	}
	good := strings.SplitAfter(string(b), "\n")
	last := good[len(good)-2] // the last record, copied with bad values after the logs' end
	bad := []string{
		strings.Repeat("\x00", 1<<20) + "\n",
		strings.Replace(last, " 1.200e-06 ", "       NaN ", 1),
		strings.Replace(last, " 1.200e-06 ", "      +Inf ", 1),
		strings.Replace(last, "  2 ", " 99 ", 1),
	}
	if err := os.WriteFile(tracking, []byte(string(b)+strings.Join(bad, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	first := len(good) // the number of the first bad line

	data := t.TempDir()
	importLogs := func() string {
		out, err := exec.Command(binary, append([]string{"import", "--data-dir", data, "--host", "h"}, files...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
		return string(out)
	}
	out := importLogs()
	for i, want := range []string{
		"the line is 1048576 bytes long",
		`Offset "NaN" is not a finite number`,
		`Offset "+Inf" is not a finite number`,
		"St 99 is out of range",
	} {
		if line := fmt.Sprintf("%s:%d: ", tracking, first+i); !strings.Contains(out, line+want) {
			t.Errorf("the import does not say %q:\n%s", line+want, out)
		}
	}
	steps := 3 * 24 * 3600 / 64 // a line of tracking.log and one per source in each of the others
	if !strings.Contains(out, fmt.Sprintf("%s: %d records of tracking.log; 4 lines skipped", tracking, steps)) {
		t.Errorf("the import does not count the lines of tracking.log:\n%s", out)
	}
	size := func() int64 {
		var n int64
		matches, _ := filepath.Glob(filepath.Join(data, store.FileName+"*"))
		for _, m := range matches {
			fi, _ := os.Stat(m)
			n += fi.Size()
		}
		return n
	}
	records := func() int {
		st, err := store.Open(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		h, err := st.Range(t.Context(), "h", time.Now().Add(-4*24*time.Hour), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		n := len(h.Samples) + len(h.Updates)
		for _, s := range h.Sources {
			n += len(s.Points)
		}
		return n
	}
	size1, records1 := size(), records()
	// tracking.log: an update and a sample a line; measurements and statistics: a point a pair.
	if want := 2*steps + 8*steps; records1 != want || lines != 17*steps {
		t.Errorf("%d records in the store from %d lines, want %d", records1, lines, want)
	}
	importLogs()
	size2, records2 := size(), records()
	t.Logf("%d lines: %d records, %d bytes; imported again: %d records, %d bytes", lines, records1, size1, records2, size2)
	if records2 != records1 {
		t.Errorf("the second import: %d records, the first %d", records2, records1)
	}
	if float64(size2) > 1.2*float64(size1) {
		t.Errorf("the second import of the same logs: %d bytes, after the first %d: more than 1.2 times", size2, size1)
	}
}

// TestImportMakesAYearView: 400 days of chronyd's logs (a line an hour) imported are the 1-year
// and 2-year views at once: the import summarises the days it wrote, and the views draw them
// from the summaries, every line of the range counted, the percentiles said approximate.
func TestImportMakesAYearView(t *testing.T) {
	logs, data := t.TempDir(), t.TempDir()
	end := time.Now().Truncate(time.Hour)
	files, _, err := chronylogtest.WriteEvery(logs, end, 400, 1, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(binary, append([]string{"import", "--data-dir", data, "--host", "h"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	fake, err := chronytest.NewUDP(chronytest.Replay)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	in := start(t, "--data-dir", data, "--chrony", "h="+fake.Addr)
	for _, tc := range []struct {
		rng  string
		days int
	}{{"1y", 365}, {"2y", 400}} {
		page := fresh(t, in.url+"/panels/history?range="+tc.rng)
		// The first row of the statistics: the system time offset's. (The fake's source, once
		// recorded, has a chart and a row of its own further down.)
		rows := testkit.Rows(t, page)
		if len(rows) == 0 {
			t.Fatalf("%s: no statistics:\n%.2000s", tc.rng, page)
		}
		n, _ := strconv.Atoi(rows[0]["n"])
		if want := tc.days * 24; n < want-30 || n > want+1 {
			t.Errorf("%s: the offset's statistics count %d values, want about %d (a line an hour)", tc.rng, n, want)
		}
		if !strings.Contains(page, "percentiles approximate, within 4.4 %") || alert(page) {
			t.Errorf("%s: the statistics are not said approximate, or the panel has an error:\n%.2000s", tc.rng, page)
		}
	}
}

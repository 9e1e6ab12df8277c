package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// These tests record real chronyd (pkg/chronylab) and read the record back through the CSV
// export and the panels.

// csvRows fetches url (a history.csv) and returns its rows by column name.
func csvRows(t *testing.T, url string) []map[string]string {
	t.Helper()
	code, body := fetch(t, url)
	if code != 200 {
		t.Fatalf("%s = %d: %s", url, code, body)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, name := range recs[0] {
			m[name] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func count(rows []map[string]string, record string) int {
	n := 0
	for _, r := range rows {
		if r["record"] == record {
			n++
		}
	}
	return n
}

// watchChronyc reads chronyc's tracking and sources every 100 ms until stop is closed, and
// returns every tracking line by its reference time, and every measured offset by source.
func watchChronyc(t *testing.T, d *chronylab.Daemon, stop <-chan struct{}) (func() (map[string][]string, map[string]map[string]bool), *sync.WaitGroup) {
	var mu sync.Mutex
	updates := map[string][]string{}
	offsets := map[string]map[string]bool{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			tr, err1 := readChronyc(d, "tracking")
			src, err2 := readChronyc(d, "sources")
			if err1 != nil || err2 != nil || len(tr) != 1 {
				continue
			}
			mu.Lock()
			sec, frac, _ := strings.Cut(tr[0][3], ".")
			s, _ := strconv.ParseInt(sec, 10, 64)
			ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			updates[strconv.FormatInt(time.Unix(s, ns).UnixMilli(), 10)] = tr[0]
			for _, s := range src {
				if offsets[s[2]] == nil {
					offsets[s[2]] = map[string]bool{}
				}
				offsets[s[2]][s[8]] = true
			}
			mu.Unlock()
		}
	}()
	return func() (map[string][]string, map[string]map[string]bool) {
		mu.Lock()
		defer mu.Unlock()
		return updates, offsets
	}, &wg
}

// TestHistoryMatchesChronyc: while second-hand records a real chronyd every second, chronyc is
// read every 100 ms. Each clock update recorded equals the one chronyc showed with the same
// reference time, and each source sample recorded is an offset chronyc showed for that source.
func TestHistoryMatchesChronyc(t *testing.T) {
	lab := startLab(t, chronylab.Options{PollLog2: 1, SetPoll: true})
	stop := make(chan struct{})
	seen, wg := watchChronyc(t, lab.Monitored, stop)
	in := start(t, "--chrony", lab.Monitored.UDPAddress(), "--sample", "1s", "--refresh", "2s")
	var rows []map[string]string
	testkit.Eventually(t, time.Minute, "ten clock updates recorded", func() bool {
		rows = csvRows(t, in.url+"/history.csv?range=1h")
		return count(rows, "update") >= 10
	})
	close(stop)
	wg.Wait()
	updates, offsets := seen()
	matched, sourcesMatched := 0, 0
	for _, r := range rows {
		switch r["record"] {
		case "update":
			// The store keeps times to the millisecond.
			ts, _ := time.Parse(time.RFC3339Nano, r["time_utc"])
			key := strconv.FormatInt(ts.UnixMilli(), 10)
			c, ok := updates[key]
			if !ok {
				continue // an update chronyc was not asked about in time
			}
			matched++
			for _, f := range []struct{ col, csv string }{
				{c[5], "last_offset_s"}, {c[6], "rms_offset_s"}, {c[7], "frequency_ppm"}, {c[8], "residual_frequency_ppm"},
				{c[9], "skew_ppm"}, {c[10], "root_delay_s"}, {c[12], "update_interval_s"},
			} {
				if !sameNumber(r[f.csv], f.col) {
					t.Errorf("update at %s: %s recorded %s, chronyc %s", key, f.csv, r[f.csv], f.col)
				}
			}
			if r["stratum"] != c[2] || r["reference"] != c[1] {
				t.Errorf("update at %s: stratum %s reference %s, chronyc %s %s", key, r["stratum"], r["reference"], c[2], c[1])
			}
		case "source":
			if r["new_sample"] != "true" || r["source_name"] != "localhost" {
				continue
			}
			found := false
			for printed := range offsets["localhost"] {
				if sameNumber(r["offset_s"], printed) {
					found = true
				}
			}
			if !found {
				t.Errorf("source sample at %s: offset %s is none chronyc showed", r["time_utc"], r["offset_s"])
			}
			sourcesMatched++
		}
	}
	t.Logf("%d rows recorded; %d clock updates and %d source samples compared with chronyc", len(rows), matched, sourcesMatched)
	if matched < 5 || sourcesMatched < 5 {
		t.Errorf("only %d updates and %d source samples could be compared", matched, sourcesMatched)
	}
	if count(rows, "sample") < 10 {
		t.Errorf("%d samples of the system clock recorded", count(rows, "sample"))
	}
}

// sameNumber compares a recorded value with chronyc's printed one, to the printed precision.
func sameNumber(recorded, printed string) bool {
	r, err1 := strconv.ParseFloat(recorded, 64)
	p, err2 := strconv.ParseFloat(printed, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	decimals := 0
	if i := strings.IndexByte(printed, '.'); i >= 0 {
		decimals = len(printed) - i - 1
	}
	return math.Abs(r-p) <= 0.5*math.Pow10(-decimals)+1e-12
}

// TestStoppedChronydIsAGapAndAnEvent: chronyd stops for a few seconds and comes back. The
// record holds a gap with the error, the charts draw it as a gap, and "what happened" says
// chronyd did not answer from when to when.
func TestStoppedChronydIsAGapAndAnEvent(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	in := start(t, "--chrony", lab.Monitored.UDPAddress(), "--sample", "1s", "--timeout", "100ms", "--retries", "0")
	testkit.Eventually(t, time.Minute, "samples recorded", func() bool { return count(csvRows(t, in.url+"/history.csv?range=1h"), "sample") >= 3 })
	if err := lab.Monitored.Stop(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, time.Minute, "a gap recorded", func() bool { return count(csvRows(t, in.url+"/history.csv?range=1h"), "gap") == 1 })
	needLab(t, lab.Monitored.Start(context.Background()))
	var gap map[string]string
	testkit.Eventually(t, time.Minute, "the gap to end and samples to follow", func() bool {
		rows := csvRows(t, in.url+"/history.csv?range=1h")
		for i, r := range rows {
			if r["record"] == "gap" {
				gap = r
				return count(rows[i:], "sample") >= 2
			}
		}
		return false
	})
	if !strings.Contains(gap["gap_error"], "chronyd is not answering at "+lab.Monitored.UDPAddress()) {
		t.Errorf("gap = %v", gap)
	}
	events := until(t, in.url+"/panels/events", "the events panel to tell", func(p string) bool { return strings.Contains(p, "chronyd not answering for") })
	if !strings.Contains(events, `class="event event-silent health-bad"`) || !strings.Contains(events, "show in the charts") {
		t.Errorf("events panel:\n%s", events)
	}
	hist := fresh(t, in.url+"/panels/history?range=1h")
	if !strings.Contains(hist, `<rect class="gap"`) || !strings.Contains(hist, "chronyd not answering: chronyd is not answering at") {
		t.Errorf("the history panel draws no gap:\n%s", hist)
	}
}

// TestReferenceChangeIsAnEvent: a chronyd follows the first of two upstreams (prefer); that one
// stops, chronyd moves to the other, and "what happened" names both.
func TestReferenceChangeIsAnEvent(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	port, _ := chronylab.FreePort()
	var ups []*chronylab.Daemon
	for i, addr := range []string{"127.0.0.1", "127.0.0.2"} {
		up, err := chronylab.NewDaemon(dir, fmt.Sprintf("up%d", i), chronylab.Config{Conf: "local stratum 8\n", NTPPort: port, NTPAddr: addr})
		if err != nil {
			t.Fatal(err)
		}
		needLab(t, up.Start(context.Background()))
		t.Cleanup(func() { up.Stop() })
		ups = append(ups, up)
	}
	cmd, _ := chronylab.FreePort()
	d, err := chronylab.NewDaemon(dir, "follower", chronylab.Config{CmdPort: cmd, Conf: fmt.Sprintf(
		"server 127.0.0.1 port %d iburst minpoll -2 maxpoll -2 prefer\nserver 127.0.0.2 port %d iburst minpoll -2 maxpoll -2\n", port, port)})
	if err != nil {
		t.Fatal(err)
	}
	needLab(t, d.Start(context.Background()))
	t.Cleanup(func() { d.Stop() })
	if err := chronylab.WaitSynchronised(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	in := start(t, "--chrony", d.UDPAddress(), "--sample", "1s")
	testkit.Eventually(t, time.Minute, "an update from 127.0.0.1 recorded", func() bool {
		for _, r := range csvRows(t, in.url+"/history.csv?range=1h") {
			if r["record"] == "update" && r["reference"] == "127.0.0.1" {
				return true
			}
		}
		return false
	})
	ups[0].Stop()
	page := until(t, in.url+"/panels/events", "the reference change", func(p string) bool { return strings.Contains(p, "Reference changed") })
	if !strings.Contains(page, "Reference changed from 127.0.0.1 (stratum 9) to 127.0.0.2 (stratum 9)") {
		t.Errorf("events:\n%s", page)
	}
}

// TestKill9KeepsHistory: second-hand records every second and is killed with SIGKILL at five
// moments; after each restart, every point the CSV export had shown before the kill is still
// there. A point is committed when it is written, so the bound is the sample being written.
func TestKill9KeepsHistory(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	args := []string{"--chrony", lab.Monitored.UDPAddress(), "--sample", "1s", "--data-dir", dir}
	key := func(r map[string]string) string { return r["time_utc"] + " " + r["record"] + " " + r["source_name"] }
	for round := range 5 {
		in := startProcess(t, nil, args...)
		// The flags given last win: --data-dir dir above over startProcess's own.
		var before []map[string]string
		testkit.Eventually(t, time.Minute, "new samples", func() bool {
			before = csvRows(t, in.url+"/history.csv?range=1h")
			return count(before, "sample") >= 3*(round+1)
		})
		if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-in.done
		in.done <- nil
		after := startProcess(t, nil, args...)
		kept := map[string]bool{}
		for _, r := range csvRows(t, after.url+"/history.csv?range=1h") {
			kept[key(r)] = true
		}
		missing := 0
		for _, r := range before {
			if r["record"] != "gap" && !kept[key(r)] {
				missing++
				t.Errorf("round %d: %s lost", round, key(r))
			}
		}
		t.Logf("round %d: %d rows shown before kill -9, %d missing after", round, len(before), missing)
		after.cmd.Process.Kill()
	}
}

// TestImportRealLogs: a chronyd in the lab writes its statistics logs; second-hand import reads
// them into a store, every line a record; a second import adds nothing.
func TestImportRealLogs(t *testing.T) {
	logdir := t.TempDir()
	lab := startLab(t, chronylab.Options{Extra: "logdir " + logdir + "\nlog tracking measurements statistics\nlogbanner 10\n"})
	// (the lab polls four times a second: several lines a second, which import keeps apart)
	testkit.Eventually(t, time.Minute, "logs with a few header blocks", func() bool {
		b, _ := os.ReadFile(filepath.Join(logdir, "measurements.log"))
		return strings.Count(string(b), "Date (UTC)") >= 3
	})
	lab.Monitored.Stop() // the logs are complete
	logs, _ := filepath.Glob(filepath.Join(logdir, "*.log"))
	if len(logs) != 3 {
		t.Fatalf("logs: %v", logs)
	}
	lines := map[string]int{}
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "20") {
				lines[filepath.Base(l)]++
			}
		}
	}
	data := t.TempDir()
	importLogs := func() string {
		out, err := exec.Command(binary, append([]string{"import", "--data-dir", data, "--host", "lab"}, logs...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("import: %v\n%s", err, out)
		}
		return string(out)
	}
	out := importLogs()
	for name, n := range lines {
		if !strings.Contains(out, fmt.Sprintf("%s: %d records of %s", filepath.Join(logdir, name), n, name)) {
			t.Errorf("import of %s (%d lines) says:\n%s", name, n, out)
		}
	}
	st, err := store.Open(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	h1, err := st.Range(context.Background(), "lab", time.Now().Add(-time.Hour), time.Now())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(h1.Updates) != lines["tracking.log"] {
		t.Errorf("%d updates imported from %d lines of tracking.log", len(h1.Updates), lines["tracking.log"])
	}
	importLogs()
	st, _ = store.Open(data, nil)
	defer st.Close()
	h2, _ := st.Range(context.Background(), "lab", time.Now().Add(-time.Hour), time.Now())
	points := func(h store.History) int {
		n := len(h.Samples) + len(h.Updates)
		for _, s := range h.Sources {
			n += len(s.Points)
		}
		return n
	}
	if points(h2) != points(h1) {
		t.Errorf("a second import: %d records, the first %d", points(h2), points(h1))
	}
	t.Logf("imported %v lines: %d records", lines, points(h1))
}

// TestHistoryFailuresKeepTheLivePanels: a data directory second-hand cannot write, and a
// damaged store. The live panels carry on, the history panel says what is wrong, and the
// damaged file is kept.
func TestHistoryFailuresKeepTheLivePanels(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	ro := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", ro).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", ro).Run() })
	in := start(t, "--chrony", lab.Monitored.UDPAddress(), "--data-dir", ro)
	if page := fragment(t, in.url, "tracking"); alert(page) {
		t.Errorf("tracking with a read-only data directory:\n%s", page)
	}
	if page := fresh(t, in.url+"/panels/history"); !strings.Contains(page, "History cannot be recorded") || !strings.Contains(page, ro) {
		t.Errorf("the history panel does not say why:\n%s", page)
	}
	if !strings.Contains(in.log.String(), "history: the store cannot be opened") {
		t.Errorf("the log does not say so:\n%s", in.log)
	}

	damaged := t.TempDir()
	garbage := []byte(strings.Repeat("this is not SQLite ", 500))
	os.WriteFile(filepath.Join(damaged, store.FileName), garbage, 0o640)
	in = start(t, "--chrony", lab.Monitored.UDPAddress(), "--data-dir", damaged)
	if page := fresh(t, in.url+"/panels/history"); !strings.Contains(page, "The history store was damaged") {
		t.Errorf("the history panel does not tell of the damaged store:\n%s", page)
	}
	kept, _ := filepath.Glob(filepath.Join(damaged, store.FileName+".damaged-*"))
	if len(kept) != 1 {
		t.Fatalf("kept: %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != string(garbage) {
		t.Error("the damaged file was changed")
	}
}

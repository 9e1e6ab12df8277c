package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/chronylog/chronylogtest"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// csvBench measures the 30-day CSV export of a host with 8 sources (the store of the history
// part): second-hand's peak RSS over its own before the export, for one export and for three
// at once, and how long one takes.
func csvBench(ctx context.Context, bin, dir string, add func(what, figure, against string)) error {
	fmt.Fprintln(os.Stderr, "bench: the 30-day CSV export, one and three at once ...")
	fake, err := chronytest.NewUDP(chronytest.Replay)
	if err != nil {
		return err
	}
	defer fake.Close()
	base, cmd, err := serveMonth(ctx, bin, filepath.Join(dir, "csv-data"), "h", "h="+fake.Addr)
	if err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for _, p := range []string{"/", "/panels/tracking", "/panels/history?range=30d"} {
		if err := get(base + p); err != nil {
			return err
		}
	}
	pid := cmd.Process.Pid
	var figures []string
	for _, n := range []int{1, 3} {
		before := resetPeakRSS(pid)
		start := time.Now()
		sizes := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { sizes[i], errs[i] = download(base + "/history.csv?range=30d") })
		}
		wg.Wait()
		took := time.Since(start)
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		after := peakRSS(pid)
		figures = append(figures, fmt.Sprintf("%d at once: peak RSS +%.1f MB (%.1f MB before, %.1f MB at most during), %.0f MB each in %.1f s",
			n, max(0, after-before), before, after, float64(sizes[0])/1e6, took.Seconds()))
	}
	add("CSV export of 30 days of a host with 8 sources (history.csv?range=30d), second-hand's peak RSS over its own before",
		strings.Join(figures, "; "), "target ≤ +20 MB for one; the unit's MemoryMax is 256 MB")
	return nil
}

// download fetches url whole and returns its size; a transfer cut short is an error.
func download(url string) (int64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return n, err
}

// resetPeakRSS sets the process's peak RSS (VmHWM) to its RSS now (Linux's clear_refs, as
// root) and returns it, in MB.
func resetPeakRSS(pid int) float64 {
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	return peakRSS(pid)
}

// importBench measures `second-hand import` of lines of chronyd's logs (5 million by
// default, written here: 8 sources over as many days as it takes): its peak RSS, per million
// lines, and the store's size after importing the same logs a second time.
func importBench(bin, dir string, lines int, add func(what, figure, against string)) error {
	const sources = 8
	perDay := 24 * 3600 / 64 * (1 + 2*sources)
	days := (lines + perDay - 1) / perDay
	fmt.Fprintf(os.Stderr, "bench: writing %d days of chronyd's logs for %d sources (about %d lines) ...\n", days, sources, days*perDay)
	logs := filepath.Join(dir, "import-logs")
	files, n, err := chronylogtest.Write(logs, time.Now(), days, sources)
	if err != nil {
		return err
	}
	defer os.RemoveAll(logs)
	data := filepath.Join(dir, "import-data")
	run := func() (rss float64, took time.Duration, err error) {
		fmt.Fprintf(os.Stderr, "bench: second-hand import of %d lines ...\n", n)
		cmd := exec.Command(bin, append([]string{"import", "--data-dir", data, "--host", "h"}, files...)...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, 0, fmt.Errorf("import: %v\n%s", err, out)
		}
		return float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024, time.Since(start), nil
	}
	rss, took, err := run()
	if err != nil {
		return err
	}
	size1 := fileSizes(data)
	if _, _, err := run(); err != nil {
		return err
	}
	size2 := fileSizes(data)
	add(fmt.Sprintf("second-hand import of %d lines of chronyd's logs (%d days of 8 sources), its peak RSS", n, days),
		fmt.Sprintf("%.1f MB (%.1f MB per million lines), %.1f s", rss, rss/(float64(n)/1e6), took.Seconds()), "target ≤ 150 MB for 5 million lines")
	add("the store after importing the same logs again", fmt.Sprintf("%.1f MB, from %.1f MB: %.2fx", float64(size2)/1e6, float64(size1)/1e6,
		float64(size2)/float64(size1)), "target ≤ 1.2x")
	return nil
}

// pollBench measures second-hand's heap while one client polls the history of the last hour
// every 2 s for d, recording the lab's chronyd every second (so that each poll finds new
// data), with 30 days of history in the store: the Go heap in use at the start, at its
// largest and at the end, read from second-hand's own /metrics.
func pollBench(ctx context.Context, bin, dir string, lab *chronylab.Lab, d time.Duration, add func(what, figure, against string)) error {
	fmt.Fprintf(os.Stderr, "bench: one client polling the 1 h history every 2 s for %v ...\n", d)
	base, cmd, err := serveMonth(ctx, bin, filepath.Join(dir, "poll-data"), "lab", "lab="+lab.Monitored.UDPAddress(), "--sample", "1s")
	if err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var first, most, last float64
	polls := 0
	for start := time.Now(); time.Since(start) < d; polls++ {
		if err := get(base + "/panels/history?range=1h"); err != nil {
			return err
		}
		heap, err := heapInUse(base)
		if err != nil {
			return err
		}
		if polls == 0 {
			first = heap
		}
		most, last = max(most, heap), heap
		time.Sleep(2 * time.Second)
	}
	add(fmt.Sprintf("Go heap in use while one client polls the 1 h history every 2 s for %v (%d polls), recording every second, 30 days in the store", d, polls),
		fmt.Sprintf("%.1f MB at the first poll, %.1f MB at most, %.1f MB at the last: +%.1f MB", first, most, last, most-first),
		"target: flat within 20 MB")
	return nil
}

var heapLine = regexp.MustCompile(`(?m)^go_memstats_heap_inuse_bytes (\S+)$`)

// heapInUse is the Go heap in use that second-hand at base reports in /metrics, in MB.
func heapInUse(base string) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if m := heapLine.FindStringSubmatch(sc.Text()); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			return v / 1e6, err
		}
	}
	return 0, fmt.Errorf("no go_memstats_heap_inuse_bytes in %s/metrics", base)
}

// serveMonth fills the store in data with 30 days of host with 8 sources, starts second-hand on
// it reading chrony (NAME=ADDRESS) with the further args, and waits until it answers: its base
// URL and its process, which the caller ends.
func serveMonth(ctx context.Context, bin, data, host, chrony string, args ...string) (string, *exec.Cmd, error) {
	st, err := store.Open(data, nil)
	if err != nil {
		return "", nil, err
	}
	if err := storetest.FillHistory(ctx, st, host, time.Now(), 30, 8); err != nil {
		st.Close()
		return "", nil, err
	}
	st.Close()
	port := freePort()
	cmd := exec.Command(bin, append([]string{"--listen", "127.0.0.1:" + port, "--chrony", chrony, "--data-dir", data, "--log-level", "warn"}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	base := "http://127.0.0.1:" + port
	if err := waitHTTP(base + "/healthz"); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return "", nil, err
	}
	return base, cmd, nil
}

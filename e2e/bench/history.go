package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylog/chronylogtest"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// historyBench measures history: a month of one host in the store, the history fragment of
// 30 days and of 1 hour (from the Go benchmarks), importing a month of chronyd's logs, and
// second-hand's memory with a month of 10 hosts.
func historyBench(ctx context.Context, bin, dir string, benches map[string]bench, add func(what, figure, against string)) error {
	fmt.Fprintln(os.Stderr, "bench: history ...")
	one := filepath.Join(dir, "history-one")
	st, err := store.Open(one, nil)
	if err != nil {
		return err
	}
	end := time.Now()
	if err := storetest.FillHistory(ctx, st, "h0", end, 30, 8); err != nil {
		return err
	}
	st.Close()
	size := fileSizes(one)
	add("history store, 30 days of one host with 8 sources polled every 64 s (a sample every 16 s)",
		fmt.Sprintf("%.1f MB", float64(size)/1e6), "target ≤ 50 MB")
	for _, r := range []struct{ name, target string }{{"30d", "target ≤ 50 ms and ≤ 150 KB"}, {"1h", "target ≤ 5 ms"}} {
		f := benches["HistoryFragment/"+r.name]
		add("history fragment of "+r.name+", rendered from that store", fmt.Sprintf("%s, %.0f KB", msf(time.Duration(f.ns)), f.size/1000), r.target)
	}

	// A month of chronyd's own logs, as it writes them, imported.
	logs := filepath.Join(dir, "logs")
	files, lines, err := chronylogtest.Write(logs, end, 30, 8)
	if err != nil {
		return err
	}
	start := time.Now()
	out, err := exec.Command(bin, append([]string{"import", "--data-dir", filepath.Join(dir, "imported"), "--host", "h"}, files...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("import: %v\n%s", err, out)
	}
	took := time.Since(start)
	add(fmt.Sprintf("second-hand import of 30 days of chronyd's logs (%d lines in tracking, measurements and statistics.log)", lines),
		fmt.Sprintf("%.1f s", took.Seconds()), "target ≤ 10 s")

	// Memory: a month of 10 hosts in the store, each host's month drawn.
	ten := filepath.Join(dir, "history-ten")
	st, err = store.Open(ten, nil)
	if err != nil {
		return err
	}
	var spec []string
	for i := range 10 {
		host := fmt.Sprintf("h%d", i)
		if err := storetest.FillHistory(ctx, st, host, end, 30, 8); err != nil {
			return err
		}
		fake, err := chronytest.NewUDP(chronytest.Replay)
		if err != nil {
			return err
		}
		defer fake.Close()
		spec = append(spec, host+"="+fake.Addr)
	}
	st.Close()
	port := freePort()
	cmd := exec.Command(bin, "--listen", "127.0.0.1:"+port, "--data-dir", ten, "--log-level", "error")
	cmd.Env = append(os.Environ(), "SECOND_HAND_CHRONY="+strings.Join(spec, ","))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://127.0.0.1:" + port
	if err := waitHTTP(base + "/healthz"); err != nil {
		return err
	}
	for _, path := range []string{"/"} {
		if err := get(base + path); err != nil {
			return err
		}
	}
	for i := range 10 {
		for _, p := range []string{"summary", "panels/tracking", "panels/history?range=30d", "panels/history?range=7d", "panels/events"} {
			if err := get(fmt.Sprintf("%s/hosts/h%d/%s", base, i, p)); err != nil {
				return err
			}
		}
	}
	add("second-hand peak RSS (VmHWM) with 30 days of 10 hosts, each host's 30 and 7 days drawn", fmt.Sprintf("%.1f MB", peakRSS(cmd.Process.Pid)), "target ≤ 50 MB")
	return nil
}

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// fileSizes is the size of the store's files in dir: the database, its WAL and shared memory.
func fileSizes(dir string) int64 {
	var n int64
	matches, _ := filepath.Glob(filepath.Join(dir, store.FileName+"*"))
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil {
			n += fi.Size()
		}
	}
	return n
}

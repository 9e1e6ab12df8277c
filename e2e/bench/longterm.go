package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylog/chronylogtest"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// longtermOptions are the longterm part's flags.
type longtermOptions struct {
	days    int    // of history imported
	against string // the commit the 24h and 30d fragments are compared with
}

// longtermBench measures the history kept for years: two years of one host with 8 sources
// sampled every 16 s (chronyd's logs: tracking.log every 16 s, each source's measurement and
// statistics every 64 s) imported with `second-hand import`, and its server statistics (which
// chronyd keeps no log of) generated into the store as the recorder writes them; the store
// kept as second-hand's upkeep keeps it (summaries made, raw records past 7 days removed); the
// 90d, 1y and 2y fragments from it; the 24h and 30d fragments of this version against main's
// (-longterm-against), side by side (a worktree of it, built at the same time); a day's rollup.
func longtermBench(ctx context.Context, bin, repo, dir string, opt longtermOptions, add func(what, figure, against string)) error {
	days := opt.days
	end := time.Now().Truncate(24 * time.Hour).Add(time.Hour)
	data := filepath.Join(dir, "longterm-data")
	logs := filepath.Join(dir, "longterm-logs")
	fmt.Fprintf(os.Stderr, "bench: writing %d days of chronyd's logs (8 sources) ...\n", days)
	files, lines, err := chronylogtest.WriteEvery(logs, end, days, 8, 16*time.Second, 64*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: generating the server statistics into the store ...")
	st, err := store.Open(data, nil)
	if err != nil {
		return err
	}
	err = storetest.Generate(end.Add(-time.Duration(days)*24*time.Hour), end, storetest.Options{Serving: true}, func(b store.Batch) error {
		return st.Append(ctx, "h", store.Batch{Servers: b.Servers})
	})
	st.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: second-hand import of %d lines ...\n", lines)
	start := time.Now()
	cmd := exec.Command(bin, append([]string{"import", "--data-dir", data, "--host", "h"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("import: %v\n%s", err, out)
	}
	took := time.Since(start)
	rss := float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
	imported := fileSizes(data)
	os.RemoveAll(logs)

	// The upkeep of the second-hand that then records: as it runs at start.
	st, err = store.Open(data, nil)
	if err != nil {
		return err
	}
	start = time.Now()
	st.MaintainOnce(ctx, end.Add(time.Hour), store.DefaultRetention)
	upkeep := time.Since(start)
	if err := st.Reclaim(ctx); err != nil {
		return err
	}
	st.Close()
	size := fileSizes(data)
	add(fmt.Sprintf("second-hand import of %s of chronyd's logs (%d lines: tracking.log every 16 s, 8 sources every 64 s), the summaries made", span(days), lines),
		fmt.Sprintf("%.0f s, peak RSS %.1f MB; the store %.0f MB after it", took.Seconds(), rss, float64(imported)/1e6), "")
	add("history store, "+span(days)+" of one host with 8 sources at a 16 s sample and serving statistics, as the upkeep keeps it (raw 7 d, 5-minute summaries 90 d, hourly 2 y)",
		fmt.Sprintf("%.1f MB (the upkeep: %.0f s)", float64(size)/1e6, upkeep.Seconds()), "target ≤ 150 MB")

	// The long fragments, from that store.
	fmt.Fprintln(os.Stderr, "bench: the 90d, 1y and 2y fragments ...")
	cmdB := command(repo, "go", "test", "-run", "^$", "-bench", "LongHistoryFragment", "-benchmem", "-benchtime", "20x", "-count", "1", "./pkg/server")
	cmdB.Env = append(os.Environ(), "SECOND_HAND_BENCH_LONG_STORE="+data, "SECOND_HAND_BENCH_LONG_END="+strconv.FormatInt(end.UnixMilli(), 10))
	out, err = cmdB.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(cmdB.Args, " "), err, out)
	}
	long := benchLines(out)
	cpu := map[string]float64{}
	for _, m := range cpuLine.FindAllSubmatch(out, -1) {
		cpu[string(m[1])], _ = strconv.ParseFloat(string(m[2]), 64)
	}
	for _, r := range []struct{ name, target string }{{"90d", ""}, {"1y", "target ≤ 50 ms and ≤ 150 KB"}, {"2y", ""}} {
		for _, mode := range []struct{ name, what string }{
			{"cold", "cold: nothing kept between requests (the worst case, which the warmer spares users)"},
			{"afterupkeep", "the first request after the upkeep changed the summaries: what was drawn from them forgotten, then drawn ahead by the warmer as after each pass"},
			{"steady", "steady: a sample written between requests, as a refresh of an open page finds it"},
		} {
			f, ok := long["LongHistoryFragment/"+r.name+"/"+mode.name]
			if !ok {
				return fmt.Errorf("BenchmarkLongHistoryFragment gave no %s/%s", r.name, mode.name)
			}
			add(fmt.Sprintf("history fragment of %s from that store (the summaries, and the raw records after them), %s", r.name, mode.what),
				fmt.Sprintf("%s (processor time %s), %.0f KB", msf(time.Duration(f.ns)), msf(time.Duration(cpu[r.name+"/"+mode.name])), f.size/1000), r.target)
		}
	}
	if err := longServeRSS(bin, data, add); err != nil {
		return err
	}

	// 24h and 30d against main, side by side.
	if err := againstMain(repo, dir, opt.against, add); err != nil {
		return err
	}

	// A day's rollup.
	roll, err := runBench(command(repo, "go", "test", "-run", "^$", "-bench", "RollupDay", "-benchmem", "-count", "1", "./pkg/store"))
	if err != nil {
		return err
	}
	add("rollup of a day of one host with 8 sources and serving statistics (both levels, in its transaction)",
		ms(roll["RollupDay"].ns), "target ≤ 1 s")
	return nil
}

// againstMain runs BenchmarkHistoryRanges (24h and 30d from the same month of records) in this
// tree and in a worktree of main, their test binaries built at the same time and run in turn,
// and reports the medians of five runs each.
func againstMain(repo, dir, against string, add func(what, figure, against string)) error {
	mainTree := filepath.Join(dir, "main-tree")
	if out, err := command(repo, "git", "worktree", "add", "--detach", mainTree, against).CombinedOutput(); err != nil {
		return fmt.Errorf("git worktree add %s: %v\n%s", against, err, out)
	}
	defer command(repo, "git", "worktree", "remove", "--force", mainTree).Run()
	rev, _ := command(mainTree, "git", "rev-parse", "--short", "HEAD").Output()
	// The benchmark uses only what main has; main's store is kept as it was (no rollups).
	src, err := os.ReadFile(filepath.Join(repo, "pkg/server/bench_ranges_test.go"))
	if err != nil {
		return err
	}
	stub := "package server\n\nimport (\n\t\"testing\"\n\t\"time\"\n\n\t\"github.com/second-hand/second-hand/pkg/store\"\n)\n\n" +
		"func prepareRanges(*testing.B, *store.Store, time.Time) {}\n"
	if err := os.WriteFile(filepath.Join(mainTree, "pkg/server/bench_ranges_test.go"), src, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(mainTree, "pkg/server/bench_ranges_main_test.go"), []byte(stub), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-r", filepath.Join(repo, "assets/node_modules"), filepath.Join(mainTree, "assets/")).CombinedOutput(); err != nil {
		return fmt.Errorf("copying htmx into main's tree: %v\n%s", err, out)
	}
	fmt.Fprintln(os.Stderr, "bench: building this tree's and main's pkg/server benchmarks ...")
	bins := map[string]string{"this": filepath.Join(dir, "this.test"), "main": filepath.Join(dir, "main.test")}
	trees := map[string]string{"this": repo, "main": mainTree}
	var wg sync.WaitGroup
	errs := map[string]error{}
	var mu sync.Mutex
	for name, tree := range trees {
		wg.Go(func() {
			out, err := command(tree, "go", "test", "-c", "-o", bins[name], "./pkg/server").CombinedOutput()
			if err != nil {
				mu.Lock()
				errs[name] = fmt.Errorf("building %s: %v\n%s", name, err, out)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		return err
	}
	times := map[string][]float64{}
	sizes := map[string]float64{}
	for round := range 5 {
		for _, name := range []string{"this", "main"} {
			fmt.Fprintf(os.Stderr, "bench: 24h and 30d fragments, %s, round %d ...\n", name, round+1)
			cmd := exec.Command(bins[name], "-test.run", "^$", "-test.bench", "HistoryRanges", "-test.benchmem", "-test.benchtime", "10x")
			cmd.Dir = filepath.Join(trees[name], "pkg/server")
			res, err := runBench(cmd)
			if err != nil {
				return err
			}
			for _, r := range []string{"24h", "30d"} {
				f := res["HistoryRanges/"+r]
				times[name+r] = append(times[name+r], f.ns)
				sizes[name+r] = f.size
			}
		}
	}
	label := against
	if r := strings.TrimSpace(string(rev)); !strings.HasPrefix(against, r) {
		label += " (" + r + ")"
	}
	median := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	for _, r := range []string{"24h", "30d"} {
		t, m := median(times["this"+r]), median(times["main"+r])
		add(fmt.Sprintf("history fragment of %s from a month of 8 sources, this version against %s, side by side", r, label),
			fmt.Sprintf("%s, %.0f KB against %s, %.0f KB: %.2fx", ms(t), sizes["this"+r]/1000, ms(m), sizes["main"+r]/1000, t/m),
			"target ≤ 1.00x (medians of 5 runs, in turn)")
	}
	return nil
}

// cpuLine is a BenchmarkLongHistoryFragment line's name and processor time.
var cpuLine = regexp.MustCompile(`(?m)^BenchmarkLongHistoryFragment/(\S+?)(?:-\d+)?\s.*?([\d.]+) cpu-ns/op`)

// runBench runs a go test -bench command and reads its lines.
func runBench(cmd *exec.Cmd) (map[string]bench, error) {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	m := benchLines(out)
	if len(m) == 0 {
		return nil, fmt.Errorf("%s ran no benchmark:\n%s", strings.Join(cmd.Args, " "), out)
	}
	return m, nil
}

// benchLines reads the lines of go test -bench.
func benchLines(out []byte) map[string]bench {
	m := map[string]bench{}
	for _, line := range strings.Split(string(out), "\n") {
		if s := benchLine.FindStringSubmatch(line); s != nil {
			ns, _ := strconv.ParseFloat(s[3], 64)
			size, _ := strconv.ParseFloat(s[4], 64)
			allocs, _ := strconv.Atoi(s[5])
			m[s[1]] = bench{ns, allocs, size}
		}
	}
	return m
}

// longServeRSS starts second-hand on the two-year store (its host answered by a replaying
// fake chronyd over UDP), draws the page and the 90d, 1y and 2y history fragments twice each,
// and reads its peak RSS: what serving years costs in memory, the upkeep at start included.
func longServeRSS(bin, data string, add func(what, figure, against string)) error {
	fake, err := chronytest.NewUDP(chronytest.Replay)
	if err != nil {
		return err
	}
	defer fake.Close()
	port := freePort()
	cmd := exec.Command(bin, "--listen", "127.0.0.1:"+port, "--data-dir", data, "--log-level", "error")
	cmd.Env = append(os.Environ(), "SECOND_HAND_CHRONY=h="+fake.Addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://127.0.0.1:" + port
	if err := waitHTTP(base + "/healthz"); err != nil {
		return err
	}
	paths := []string{"/"}
	for range 2 {
		for _, r := range []string{"90d", "1y", "2y"} {
			paths = append(paths, "/hosts/h/panels/history?range="+r)
		}
	}
	for _, p := range paths {
		if err := get(base + p); err != nil {
			return err
		}
	}
	add("second-hand peak RSS (VmHWM) started on that store, the page and the 90d, 1y and 2y fragments drawn twice each",
		fmt.Sprintf("%.1f MB", peakRSS(cmd.Process.Pid)), "")
	return nil
}

// span names the longterm part's days as its rows say them.
func span(days int) string {
	if days == 730 {
		return "two years"
	}
	return fmt.Sprintf("%d days", days)
}

// Command bench measures second-hand on this machine and prints one table, every figure from
// the same run: the Go benchmarks of pkg/server (each fragment next to the raw chrony requests
// it needs, from the reuse window, and 5 to 50 sources), the page's load time in headless
// chromium through nginx, 200 connections for 30 s with wrk through nginx with second-hand's
// peak memory, what the same four reports cost with chronyc, memory (the 30-day CSV export,
// an import of 5 million lines of chronyd's logs, the heap while a page polls the history), and
// a fleet's month backfilled into VictoriaMetrics and read with --prometheus. It needs root
// (chronyd), nginx, chromium, wrk and victoria-metrics: `just bench` installs them and runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/second-hand/second-hand/pkg/chronylab"
)

func main() {
	repo := flag.String("repo", "..", "the repository's root")
	loadFor := flag.Duration("load", 30*time.Second, "how long each wrk run lasts")
	loads := flag.Int("loads", 20, "page loads to take the median of")
	only := flag.String("only", "", "run only these parts, comma-separated: go, page, load, history, fleet, metrics, chronyc, csv, import, poll, engine, longterm (default: all)")
	pollFor := flag.Duration("poll", 30*time.Minute, "how long the poll part polls the history")
	importLines := flag.Int("import-lines", 5_000_000, "how many lines of chronyd's logs the import part imports")
	var size engineSize
	flag.IntVar(&size.hosts, "engine-hosts", 1000, "hosts backfilled into the engine (engine)")
	flag.IntVar(&size.days, "engine-days", 30, "days backfilled into the engine (engine)")
	flag.DurationVar(&size.step, "engine-step", time.Minute, "the scrape interval of the backfill (engine)")
	flag.BoolVar(&size.serve, "engine-serve", false, "set the engine part up, print its URLs and serve until interrupted, measuring nothing: for profiling by hand (engine)")
	flag.StringVar(&size.against, "engine-against", "", "a second-hand binary (the code to compare with, built from another tree) measured beside this tree's in the same run (engine)")
	flag.StringVar(&size.keep, "engine-data", "", "keep the engine's data in this directory and use it again in the next run of the same size, instead of backfilling (engine)")
	var long longtermOptions
	flag.IntVar(&long.days, "longterm-days", 730, "how many days of history the longterm part imports (fewer to try the part quickly)")
	flag.StringVar(&long.against, "longterm-against", "main", "the commit the longterm part compares the 24h and 30d fragments with")
	flag.Parse()
	parts := map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		if p = strings.TrimSpace(p); p != "" {
			if !validPart[p] {
				fmt.Fprintf(os.Stderr, "bench: invalid value %q for -only: want some of go, page, load, history, fleet, metrics, chronyc, csv, import, poll, engine, longterm\n", p)
				os.Exit(2)
			}
			parts[p] = true
		}
	}
	if err := run(*repo, *loadFor, *loads, *pollFor, *importLines, size, long, func(p string) bool { return len(parts) == 0 || parts[p] }); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

var validPart = map[string]bool{"go": true, "page": true, "load": true, "history": true, "fleet": true, "metrics": true, "chronyc": true,
	"csv": true, "import": true, "poll": true, "engine": true, "longterm": true}

type row struct{ what, figure, against string }

func run(repo string, loadFor time.Duration, loads int, pollFor time.Duration, importLines int, size engineSize, long longtermOptions, part func(string) bool) error {
	repo, _ = filepath.Abs(repo)
	var rows []row
	add := func(what, figure, against string) { rows = append(rows, row{what, figure, against}) }
	defer func() {
		fmt.Printf("\n| measure | figure | compared with |\n|---|---|---|\n")
		for _, r := range rows {
			fmt.Printf("| %s | %s | %s |\n", r.what, r.figure, r.against)
		}
	}()

	// 1. The Go benchmarks: fragments against the protocol floor, the reuse window, scaling.
	benches := map[string]bench{}
	if part("go") || part("history") || part("metrics") || part("chronyc") {
		fmt.Fprintln(os.Stderr, "bench: go test -bench ./pkg/server (real chronyd on loopback) ...")
		var err error
		if benches, err = goBench(repo); err != nil {
			return err
		}
	}
	if part("go") {
		goRows(benches, add)
	}
	// 2. The system: a lab, second-hand, nginx in front.
	ctx := context.Background()
	lab, err := chronylab.Start(ctx, chronylab.Options{PollLog2: 2, SetPoll: true})
	if err != nil {
		return err
	}
	defer lab.Close()
	if err := lab.WaitSynchronised(ctx); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "second-hand-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "second-hand")
	if out, err := command(repo, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/second-hand").CombinedOutput(); err != nil {
		return fmt.Errorf("building: %v\n%s", err, out)
	}
	shPort, ngPort := freePort(), freePort()
	sh := exec.Command(bin, "--listen", "127.0.0.1:"+shPort, "--chrony", lab.Monitored.UDPAddress(), "--data-dir", filepath.Join(dir, "data"), "--log-level", "warn")
	sh.Stderr = os.Stderr
	if err := sh.Start(); err != nil {
		return err
	}
	defer func() { sh.Process.Kill(); sh.Wait() }()
	if err := waitHTTP("http://127.0.0.1:" + shPort + "/healthz"); err != nil {
		return err
	}
	stopNginx, err := startNginx(dir, ngPort, map[string]string{"chrony": shPort})
	if err != nil {
		return err
	}
	defer stopNginx()
	base := "http://127.0.0.1:" + ngPort + "/chrony/"
	if err := waitHTTP(base); err != nil {
		return err
	}

	// 3. Page load in chromium through nginx.
	if part("page") {
		fmt.Fprintln(os.Stderr, "bench: page loads in chromium ...")
		first, median, err := pageLoads(base, loads)
		if err != nil {
			return err
		}
		add("page load to four panels populated, chromium via nginx", fmt.Sprintf("median %s of %d loads", msf(median), loads),
			fmt.Sprintf("first load %s; target < 100 ms", msf(first)))
	}

	// 4. Load with wrk through nginx.
	if part("load") {
		for _, target := range []struct{ name, url string }{{"tracking fragment", base + "panels/tracking"}, {"page", base}} {
			fmt.Fprintf(os.Stderr, "bench: wrk 200 connections for %v on the %s ...\n", loadFor, target.name)
			w, err := runWrk(target.url, loadFor)
			if err != nil {
				return err
			}
			add(fmt.Sprintf("wrk, 200 connections, %v, %s via nginx", loadFor, target.name),
				fmt.Sprintf("%.0f req/s, p50 %s, p99 %s", w.rps, w.p50, w.p99),
				fmt.Sprintf("%d errors of %d requests (target 0)", w.errors, w.requests))
		}
		add("second-hand peak RSS (VmHWM) after the load", fmt.Sprintf("%.1f MB", peakRSS(sh.Process.Pid)), "target ≤ 30 MB")
	}

	// 5. History: the store, the fragments, an import, memory with 10 hosts.
	if part("history") {
		if err := historyBench(ctx, bin, dir, benches, add); err != nil {
			return err
		}
	}

	// 6. The fleet: 100 hosts in one overview; 50 with and without 10 silent.
	if part("fleet") {
		if err := fleetBench(ctx, bin, dir, lab, loads, add); err != nil {
			return err
		}
	}

	// 7. Prometheus scrapes: uncached and from the reuse window, and 1,000 back to back.
	if part("metrics") {
		if err := metricsBench(bin, dir, lab, benches, add); err != nil {
			return err
		}
	}

	// 8. Memory: the 30-day CSV export, a big import, a page polling the history.
	if part("csv") {
		if err := csvBench(ctx, bin, dir, add); err != nil {
			return err
		}
	}
	if part("import") {
		if err := importBench(bin, dir, importLines, add); err != nil {
			return err
		}
	}
	if part("poll") {
		if err := pollBench(ctx, bin, dir, lab, pollFor, add); err != nil {
			return err
		}
	}
	// 8b. A fleet's month in a time-series engine, read with --prometheus.
	if part("engine") {
		if err := engineBench(ctx, bin, dir, size, loads, add); err != nil {
			return err
		}
	}

	// 9. Years: two years imported, the rollups' fragments, 24h and 30d against main.
	if part("longterm") {
		if err := longtermBench(ctx, bin, repo, dir, long, add); err != nil {
			return err
		}
	}

	// 10. The same four reports with chronyc, one process each.
	if part("chronyc") {
		per, total, err := chronycCost(lab.Monitored.Socket(), 20)
		if err != nil {
			return err
		}
		add("the four reports with chronyc (tracking, sources, sourcestats, rtcdata)",
			fmt.Sprintf("%s in all (%s per report)", msf(total), msf(per)),
			fmt.Sprintf("second-hand's four uncached fragments over UDP: %s", ms(benches["Fragment/tracking/udp/uncached"].ns+
				benches["Fragment/sources/udp/uncached"].ns+benches["Fragment/sourcestats/udp/uncached"].ns+benches["Fragment/rtc/udp/uncached"].ns)))
	}
	return nil
}

// goRows are the rows of the Go benchmarks of fragments: each next to the raw requests it
// needs, from the reuse window, and 5 to 50 sources.
func goRows(benches map[string]bench, add func(what, figure, against string)) {
	for _, p := range []string{"tracking", "sources", "sourcestats", "rtc"} {
		for _, tr := range []string{"udp", "unix"} {
			f, r := benches["Fragment/"+p+"/"+tr+"/uncached"], benches["Raw/"+p+"/"+tr]
			add(fmt.Sprintf("%s fragment, uncached, %s", p, tr),
				fmt.Sprintf("%s (%d allocs)", us(f.ns), f.allocs),
				fmt.Sprintf("raw requests %s: %.2fx (target ≤ 1.5x)", us(r.ns), f.ns/r.ns))
		}
	}
	for _, p := range []string{"tracking", "sources", "sourcestats", "rtc"} {
		f := benches["Fragment/"+p+"/cached"]
		add(p+" fragment, from the reuse window", fmt.Sprintf("%s (%d allocs)", us(f.ns), f.allocs), "target ≤ 50 us")
	}
	sr := benches["SummaryRow"]
	add("a host's row of the overview, from the reuse window", fmt.Sprintf("%s (%d allocs)", us(sr.ns), sr.allocs), "target ≤ 100 us")
	for _, p := range []string{"sources", "sourcestats"} {
		f5, f50 := benches[fmt.Sprintf("SourcesScaling/%s/5/fragment", p)], benches[fmt.Sprintf("SourcesScaling/%s/50/fragment", p)]
		r50 := benches[fmt.Sprintf("SourcesScaling/%s/50/raw", p)]
		var steps []string
		for _, n := range []int{5, 10, 20, 50} {
			steps = append(steps, fmt.Sprintf("%d: %s", n, ms(benches[fmt.Sprintf("SourcesScaling/%s/%d/fragment", p, n)].ns)))
		}
		add(p+" fragment, 5 to 50 sources", strings.Join(steps, ", "),
			fmt.Sprintf("%.1fx for 10x the sources; raw at 50: %s (%.2fx)", f50.ns/f5.ns, ms(r50.ns), f50.ns/r50.ns))
	}

}

type bench struct {
	ns     float64
	allocs int
	size   float64 // bytes of the response, where the benchmark says
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) bytes/fragment)?(?:\s+\d+ B/op\s+(\d+) allocs/op)?`)

func goBench(repo string) (map[string]bench, error) {
	cmd := command(repo, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1", "./pkg/server")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench: %v\n%s", err, out)
	}
	m := map[string]bench{}
	for _, line := range strings.Split(string(out), "\n") {
		if s := benchLine.FindStringSubmatch(line); s != nil {
			ns, _ := strconv.ParseFloat(s[3], 64)
			size, _ := strconv.ParseFloat(s[4], 64)
			allocs, _ := strconv.Atoi(s[5])
			m[s[1]] = bench{ns, allocs, size}
		}
	}
	if len(m) == 0 || strings.Contains(string(out), "SKIP") {
		return nil, fmt.Errorf("the benchmarks did not run (they need root for chronyd):\n%s", out)
	}
	return m, nil
}

func command(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd
}

func us(ns float64) string       { return fmt.Sprintf("%.0f us", ns/1e3) }
func ms(ns float64) string       { return fmt.Sprintf("%.2f ms", ns/1e6) }
func msf(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}

func waitHTTP(url string) error {
	for i := 0; i < 200; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("%s does not answer", url)
}

// instance is a second-hand the bench runs behind nginx, under /prefix/: cmd listens on port.
type instance struct {
	prefix, port string
	cmd          *exec.Cmd
}

// behindNginx starts each instance and, once each answers, nginx in front of them all (its
// files in dir/name-nginx); it returns nginx's base URL once every instance answers through
// it, and stop, which ends nginx and the instances. On an error what was started is
// already stopped.
func behindNginx(dir, name string, insts []instance) (string, func(), error) {
	var started []*exec.Cmd
	stopInsts := func() {
		for _, c := range started {
			c.Process.Kill()
			c.Wait()
		}
	}
	routes := map[string]string{}
	for _, in := range insts {
		in.cmd.Stderr = os.Stderr
		if err := in.cmd.Start(); err != nil {
			stopInsts()
			return "", nil, err
		}
		started = append(started, in.cmd)
		if err := waitHTTP("http://127.0.0.1:" + in.port + "/healthz"); err != nil {
			stopInsts()
			return "", nil, err
		}
		routes[in.prefix] = in.port
	}
	ngPort := freePort()
	stopNginx, err := startNginx(filepath.Join(dir, name+"-nginx"), ngPort, routes)
	if err != nil {
		stopInsts()
		return "", nil, err
	}
	stop := func() { stopNginx(); stopInsts() }
	base := "http://127.0.0.1:" + ngPort + "/"
	for _, in := range insts {
		if err := waitHTTP(base + in.prefix + "/healthz"); err != nil {
			stop()
			return "", nil, err
		}
	}
	return base, stop, nil
}

// startNginx runs Debian's nginx on loopback in front of second-hand, as the README's location
// block does: each prefix (such as "chrony") to the second-hand on its port.
func startNginx(dir, port string, routes map[string]string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var upstreams, locations strings.Builder
	for prefix, upstream := range routes {
		fmt.Fprintf(&upstreams, "    upstream %s { server 127.0.0.1:%s; keepalive 64; }\n", prefix, upstream)
		fmt.Fprintf(&locations, `
        location = /%[1]s { return 301 /%[1]s/; }
        location /%[1]s/ {
            proxy_pass http://%[1]s/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }`, prefix)
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
%[2]s
    server {
        listen 127.0.0.1:%[3]s;
        absolute_redirect off;%[4]s
    }
}
`, dir, upstreams.String(), port, locations.String())
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("nginx", "-c", path, "-p", dir, "-e", filepath.Join(dir, "nginx-error.log"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting nginx (apt-get install nginx-light): %w", err)
	}
	return func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }, nil
}

// pageLoads loads the page in headless chromium and measures from navigation to the moment the
// last of the four panel fragments has arrived (htmx swaps each in as it arrives).
func pageLoads(url string, n int) (first, median time.Duration, err error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath()), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 1000))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	const populated = `['tracking','sources','sourcestats','rtc'].every(id => { const p = document.getElementById('panel-' + id); return p && p.querySelector('[data-age-ms]'); })`
	const arrived = `Math.max(...performance.getEntriesByType('resource').filter(e => e.name.includes('/panels/')).map(e => e.responseEnd))`
	var times []time.Duration
	for i := 0; i < n+1; i++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(url+"?load="+strconv.Itoa(i))); err != nil {
			return 0, 0, err
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](populated, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			return 0, 0, err
		}
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](arrived))
		if err != nil {
			return 0, 0, err
		}
		times = append(times, time.Duration(v*float64(time.Millisecond)))
	}
	first = times[0]
	rest := times[1:]
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	return first, rest[len(rest)/2], nil
}

func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return "chromium"
}

type wrkResult struct {
	rps              float64
	p50, p99         string
	requests, errors int
}

func runWrk(url string, d time.Duration) (wrkResult, error) {
	out, err := exec.Command("wrk", "-t2", "-c200", "-d"+d.String(), "--latency", "--timeout", "10s", url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk (apt-get install wrk): %v\n%s", err, out)
	}
	var w wrkResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "50%":
			w.p50 = f[1]
		case len(f) == 2 && f[0] == "99%":
			w.p99 = f[1]
		case len(f) >= 2 && f[0] == "Requests/sec:":
			w.rps, _ = strconv.ParseFloat(f[1], 64)
		case len(f) >= 2 && f[1] == "requests":
			w.requests, _ = strconv.Atoi(f[0])
		case strings.HasPrefix(sc.Text(), "  Socket errors:"), strings.HasPrefix(sc.Text(), "  Non-2xx or 3xx responses:"):
			for _, m := range regexp.MustCompile(`\d+`).FindAllString(sc.Text(), -1) {
				n, _ := strconv.Atoi(m)
				w.errors += n
			}
		}
	}
	return w, nil
}

func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}

// chronycCost runs chronyc once per report, n times over, and returns the mean per report and
// for all four.
func chronycCost(socket string, n int) (per, total time.Duration, err error) {
	reports := []string{"tracking", "sources", "sourcestats", "rtcdata"}
	start := time.Now()
	for i := 0; i < n; i++ {
		for _, r := range reports {
			// rtcdata exits 1 with "513 RTC driver not running" here; that is its answer.
			exec.Command("chronyc", "-n", "-h", socket, r).Run()
		}
	}
	total = time.Since(start) / time.Duration(n)
	return total / time.Duration(len(reports)), total, nil
}

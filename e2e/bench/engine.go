package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/second-hand/second-hand/pkg/enginelab"
)

// engineSize is the fleet backfilled into the engine: hosts, days, and the scrape interval.
type engineSize struct {
	hosts int
	days  int
	step  time.Duration
	keep  string // the engine's directory, kept for the next run (-engine-data)
	serve bool   // set up, then serve until interrupted instead of measuring (-engine-serve)
	// against is a second-hand binary measured beside this one, in the same run (-engine-against)
	against string
}

// backfilled is what a kept engine directory holds (its backfill.json).
type backfilled struct {
	Hosts, Days     int
	Step            time.Duration
	End             time.Time // the last point
	Samples, Series int
	Took            time.Duration
}

// engineBench loads a fleet's month of series into VictoriaMetrics (Debian's, on loopback)
// through its import API, and measures second-hand reading it with --prometheus: the overview
// of every host populated in chromium through nginx, one host's 30-day history fragment, the
// queries a page load and a refresh cost the engine, and second-hand's peak memory.
func engineBench(ctx context.Context, bin, dir string, size engineSize, loads int, add func(what, figure, against string)) error {
	vmDir := filepath.Join(dir, "victoria-metrics")
	if size.keep != "" {
		vmDir = size.keep
	}
	vm, err := enginelab.Start(ctx, enginelab.VictoriaMetrics, enginelab.Options{Dir: vmDir})
	if err != nil {
		return err
	}
	defer vm.Stop()
	// A backfill kept by -engine-data is used again when it is of the same fleet: the hosts
	// are scraped on from where it ended.
	var done backfilled
	stamp := filepath.Join(vmDir, "backfill.json")
	if size.keep != "" {
		if b, err := os.ReadFile(stamp); err == nil && json.Unmarshal(b, &done) == nil &&
			(done.Hosts != size.hosts || done.Days != size.days || done.Step != size.step) {
			return fmt.Errorf("-engine-data %s holds %d hosts × %d days every %v, not %d × %d every %v: give another directory",
				size.keep, done.Hosts, done.Days, done.Step, size.hosts, size.days, size.step)
		}
	}
	end, reused := done.End, done.Samples > 0
	if !reused {
		fmt.Fprintf(os.Stderr, "bench: backfilling %d hosts × %d days every %v into VictoriaMetrics ...\n", size.hosts, size.days, size.step)
		start := time.Now()
		end = start.Truncate(size.step)
		samples, series, err := backfillFleet(ctx, vm, size, end, int(time.Duration(size.days)*24*time.Hour/size.step))
		if err != nil {
			return err
		}
		done = backfilled{Hosts: size.hosts, Days: size.days, Step: size.step, End: end, Samples: samples, Series: series, Took: time.Since(start)}
		if size.keep != "" {
			b, _ := json.Marshal(done)
			if err := os.WriteFile(stamp, b, 0o644); err != nil {
				return err
			}
		}
	} else {
		fmt.Fprintf(os.Stderr, "bench: the backfill kept in %s (%d hosts × %d days), scraped on from %s ...\n", size.keep, size.hosts, size.days, end.Format(time.RFC3339))
		// The time since in one import per host, as a gap would be filled.
		if n := int(time.Since(end) / size.step); n > 1 {
			end = end.Add(time.Duration(n) * size.step)
			if _, _, err := backfillFleet(ctx, vm, size, end, n); err != nil {
				return err
			}
		}
	}
	samples, series, took := done.Samples, done.Series, done.Took
	// The backfill took minutes: the fleet is scraped on from where it ended to now, and then
	// at every step while the measures run, as a fleet's scrapes would be, so that every host
	// has its latest values (the engines look back 5 minutes for them).
	feed := func(upTo time.Time) error {
		for end.Before(upTo.Add(-size.step)) {
			end = end.Add(size.step)
			if _, _, err := backfillFleet(ctx, vm, size, end, 1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := feed(time.Now()); err != nil {
		return err
	}
	feeding, stopFeeding := context.WithCancel(ctx)
	var fed sync.WaitGroup
	defer func() {
		stopFeeding()
		fed.Wait()
		if size.keep != "" { // where the next run goes on from
			done.End = end
			b, _ := json.Marshal(done)
			os.WriteFile(stamp, b, 0o644)
		}
	}()
	fed.Go(func() {
		t := time.NewTicker(size.step)
		defer t.Stop()
		for {
			select {
			case <-feeding.Done():
				return
			case now := <-t.C:
				if err := feed(now); err != nil {
					fmt.Fprintln(os.Stderr, "bench: feeding the engine:", err)
				}
			}
		}
	})
	backfill := fmt.Sprintf("%.0f M samples in %.0f s (%.1f M/s)", float64(samples)/1e6, took.Seconds(), float64(samples)/1e6/took.Seconds())
	if reused {
		backfill += ", in an earlier run (-engine-data)"
	}
	defer func() {
		// The engine's data directory once it has settled (after the measures).
		add(fmt.Sprintf("backfill of %d hosts × %d days, a scrape every %v (%d series: 12 of the clock and 5 for each of 2 sources per host), into VictoriaMetrics 1.79 by /api/v1/import",
			size.hosts, size.days, size.step, series), backfill,
			fmt.Sprintf("its data directory afterwards: %.0f MB", float64(dirSize(filepath.Join(vm.Dir, "data")))/1e6))
	}()

	// Two second-hand reading it (and no chronyd): the defaults (answers reused for half the
	// refresh), and --reuse 0 (every page load asks the engine, but for the sparklines, reused
	// a minute).
	type setUp struct {
		prefix, bin string
		args        []string
	}
	sets := []setUp{{"engine", bin, nil}, {"engine-noreuse", bin, []string{"--reuse", "0s"}}}
	if size.against != "" {
		// The code compared with: the same measures, in the same run, on the same engine.
		sets = append([]setUp{{"engine-before", size.against, nil}}, sets...)
	}
	var insts []instance
	for _, set := range sets {
		port := freePort()
		cmd := exec.Command(set.bin, append([]string{"--listen", "127.0.0.1:" + port, "--prometheus", vm.URL, "--sample", "0",
			"--data-dir", filepath.Join(dir, set.prefix), "--log-level", "warn"}, set.args...)...)
		cmd.Env = append(os.Environ(), "SECOND_HAND_CHRONY=")
		insts = append(insts, instance{set.prefix, port, cmd})
	}
	base, stop, err := behindNginx(dir, "engine", insts)
	if err != nil {
		return err
	}
	defer stop()
	routes, pids := map[string]string{}, map[string]int{}
	for _, in := range insts {
		routes[in.prefix], pids[in.prefix] = in.port, in.cmd.Process.Pid
	}

	if size.serve {
		fmt.Fprintf(os.Stderr, "bench: serving until interrupted: VictoriaMetrics at %s, second-hand at %s (defaults) and %s (--reuse 0), through nginx at %sengine/ and %sengine-noreuse/\n",
			vm.URL, "http://127.0.0.1:"+routes["engine"]+"/", "http://127.0.0.1:"+routes["engine-noreuse"]+"/", base, base)
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		return nil
	}

	// Queries: a page load (the page, then its panel of the engine's hosts), and a refresh
	// once the answers are older than the reuse window; then a host's page.
	host := fmt.Sprintf("h%04d", size.hosts/2)
	pagePanels := []string{"", "panels/diagnosis", "panels/tracking", "panels/sources", "panels/sourcestats", "panels/server", "panels/history", "panels/events"}
	type counted struct{ load, refresh, page string }
	count := func(direct string) (counted, error) {
		before := engineQueries(direct)
		for _, p := range []string{"", "engine/hosts"} {
			if _, err := fetch(direct + p); err != nil {
				return counted{}, err
			}
		}
		afterLoad := engineQueries(direct)
		time.Sleep(6 * time.Second) // past the reuse window (5 s): a refresh asks again (a measure, not a test)
		if _, err := fetch(direct + "engine/hosts"); err != nil {
			return counted{}, err
		}
		afterRefresh := engineQueries(direct)
		for _, p := range pagePanels {
			if _, err := fetch(direct + "hosts/" + host + "/" + p); err != nil {
				return counted{}, err
			}
		}
		afterHost := engineQueries(direct)
		return counted{queriesText(before, afterLoad), queriesText(afterLoad, afterRefresh), queriesText(afterRefresh, afterHost)}, nil
	}
	direct := "http://127.0.0.1:" + routes["engine"] + "/"
	now, err := count(direct)
	if err != nil {
		return err
	}
	was := ""
	if size.against != "" {
		old, err := count("http://127.0.0.1:" + routes["engine-before"] + "/")
		if err != nil {
			return err
		}
		was = "; before: " + old.page
	}
	add("queries to the engine: the overview's first load (the page and its panel of the engine's hosts)", now.load,
		"then per refresh of the overview: "+now.refresh+" (the sparklines' query once a minute); one answer shared by every viewer")
	add("queries to the engine: a host's page and its seven panels", now.page+was,
		"diagnosis, tracking, sources, statistics and serving share one (and the diagnosis the events' 2); history 4 (clock and sources' columns, statistics in 2); events 2 (the last day at 10 s, the month at 5 min); the sparkline 1")

	// The overview in chromium through nginx.
	b, closeBrowser, err := newBenchBrowser()
	if err != nil {
		return err
	}
	defer closeBrowser()
	for _, set := range sets {
		prefix := set.prefix
		fmt.Fprintf(os.Stderr, "bench: the overview of %d hosts from the engine in chromium (%s) ...\n", size.hosts, prefix)
		cpu := vm.CPU()
		first, median, err := engineOverviewLoads(b, base+prefix+"/", size.hosts, loads)
		if err != nil {
			return err
		}
		cpu = (vm.CPU() - cpu) / time.Duration(loads+1)
		swapped, settled, err := engineRefreshes(b, 5)
		if err != nil {
			return err
		}
		how := "answers reused for half the refresh (the default)"
		switch prefix {
		case "engine-noreuse":
			how = "--reuse 0: the engine asked at every load"
		case "engine-before":
			how = "the code compared with (-engine-against), the defaults"
		}
		add(fmt.Sprintf("overview of %d hosts from VictoriaMetrics, chromium via nginx: every row populated, %s", size.hosts, how),
			fmt.Sprintf("median %s of %d loads", msf(median), loads),
			fmt.Sprintf("first load %s; VictoriaMetrics' processor time a load: %s; target ≤ 1 s", msf(first), msf(cpu)))
		add(fmt.Sprintf("a refresh of the panel of %d hosts on the open overview (as every refresh interval), %s", size.hosts, how),
			fmt.Sprintf("median %s to swapped in, %s to settled (drawn), of 5", msf(swapped), msf(settled)), "from the refresh's start; not a target of the issue")
	}

	// One host's history: 30 days, and for comparison 24 h and 1 h, each of a host not asked
	// before (views are reused for a column, or 5 minutes). With -engine-against, each host
	// is asked of both, in turn first.
	type fragments struct {
		times []time.Duration
		kb    float64
	}
	targets := []string{"engine"}
	if size.against != "" {
		targets = append(targets, "engine-before")
	}
	for _, rng := range []string{"30d", "24h", "1h"} {
		got := map[string]*fragments{}
		cpu := vm.CPU()
		for i := range 10 {
			for k := range targets {
				prefix := targets[(i+k)%len(targets)]
				url := fmt.Sprintf("http://127.0.0.1:%s/hosts/h%04d/panels/history?range=%s", routes[prefix], (i*97+size.hosts/3+len(rng))%size.hosts, rng)
				t0 := time.Now()
				body, err := fetch(url)
				if err != nil {
					return err
				}
				if got[prefix] == nil {
					got[prefix] = &fragments{}
				}
				got[prefix].times = append(got[prefix].times, time.Since(t0))
				if strings.Contains(body, `role="alert"`) || !strings.Contains(body, `data-chart="offset"`) {
					return fmt.Errorf("%s: the history fragment has no chart or an error:\n%s", url, lastLines(body, 5))
				}
				got[prefix].kb = float64(len(body)) / 1000
			}
		}
		text := func(f *fragments) string {
			sort.Slice(f.times, func(i, j int) bool { return f.times[i] < f.times[j] })
			return fmt.Sprintf("median %s, max %s, %.0f KB", msf(f.times[len(f.times)/2]), msf(f.times[len(f.times)-1]), f.kb)
		}
		figure := text(got["engine"])
		if f := got["engine-before"]; f != nil {
			figure += "; before: " + text(f)
		}
		target := ""
		if rng == "30d" {
			target = "; target ≤ 300 ms"
		}
		cpu = (vm.CPU() - cpu) / time.Duration(10*len(targets))
		add(fmt.Sprintf("one host's %s history fragment from VictoriaMetrics (4 queries), 10 hosts each asked once", rng), figure,
			fmt.Sprintf("VictoriaMetrics' processor time a fragment: %s%s", msf(cpu), target))
	}
	add(fmt.Sprintf("second-hand peak RSS (VmHWM) reading %d hosts from the engine, after the loads and the history fragments", size.hosts),
		fmt.Sprintf("%.1f MB (defaults), %.1f MB (--reuse 0)%s", peakRSS(pids["engine"]), peakRSS(pids["engine-noreuse"]), wasRSS(pids)), "target ≤ 60 MB")
	return nil
}

// engineOverviewLoads opens the overview n+1 times and measures, from navigation, until every
// one of the engine's hosts has its row with data in the page (the panel's fragment swapped
// in), read when it happens (on the DOM's mutation): the first load, and the median of the others.
func engineOverviewLoads(ctx context.Context, url string, hosts, n int) (first, median time.Duration, err error) {
	populated := fmt.Sprintf(`(() => { const b = document.getElementById('engine-rows'); return b && b.children.length === %d &&
		!b.querySelector('[data-status=checking]') ? performance.now() : 0; })()`, hosts)
	var times []time.Duration
	for i := 0; i < n+1; i++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(url+"?load="+strconv.Itoa(i))); err != nil {
			return 0, 0, err
		}
		v, err := chromedp.Run(ctx, chromedp.Poll[float64](populated, chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(time.Minute)))
		if err != nil {
			return 0, 0, fmt.Errorf("%s: the engine's rows did not populate: %w", url, err)
		}
		times = append(times, time.Duration(v*float64(time.Millisecond)))
	}
	rest := times[1:]
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	return times[0], rest[len(rest)/2], nil
}

func wasRSS(pids map[string]int) string {
	if pid, ok := pids["engine-before"]; ok {
		return fmt.Sprintf("; before: %.1f MB (defaults)", peakRSS(pid))
	}
	return ""
}

// engineRefreshes refreshes the panel of the engine's hosts on the page open n times, as the
// page does every refresh interval, and measures from the refresh's start until the new rows
// are swapped in, and until htmx has settled them (after the page has been drawn with them).
func engineRefreshes(ctx context.Context, n int) (swapped, settled time.Duration, err error) {
	const refresh = `new Promise(done => {
		const t0 = performance.now(); let swapped = 0;
		const swap = e => { if (e.detail.elt.id === 'panel-engine') { swapped = performance.now() - t0; document.body.removeEventListener('htmx:afterSwap', swap); } };
		const settle = e => { if (e.detail.elt.id === 'panel-engine') { document.body.removeEventListener('htmx:afterSettle', settle); done([swapped, performance.now() - t0]); } };
		document.body.addEventListener('htmx:afterSwap', swap);
		document.body.addEventListener('htmx:afterSettle', settle);
		htmx.trigger(document.getElementById('panel-engine'), 'panel-refresh');
	})`
	var a, b []time.Duration
	for range n {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](refresh, chromedp.EvalAwaitPromise))
		if err != nil || len(v) != 2 {
			return 0, 0, fmt.Errorf("refreshing the engine's panel: %v", err)
		}
		a = append(a, time.Duration(v[0]*float64(time.Millisecond)))
		b = append(b, time.Duration(v[1]*float64(time.Millisecond)))
	}
	sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return a[n/2], b[n/2], nil
}

var engineQueryLine = regexp.MustCompile(`(?m)^second_hand_engine_queries_total\{endpoint="(\w+)"\} (\d+)`)

// engineQueries are second-hand's counts of its queries to the engine, by endpoint.
func engineQueries(base string) map[string]int {
	out := map[string]int{}
	body, err := fetch(base + "metrics")
	if err != nil {
		return out
	}
	for _, m := range engineQueryLine.FindAllStringSubmatch(body, -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	return out
}

func queriesText(before, after map[string]int) string {
	var parts []string
	total := 0
	for _, k := range []string{"query", "query_range", "labels"} {
		if d := after[k] - before[k]; d > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", d, k))
			total += d
		}
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}

func fetch(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(b), err
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

// backfillFleet writes the fleet's history as VictoriaMetrics' JSON lines (a series a line,
// its values and timestamps) in two streams at once, one per core: as second-hand exports it,
// 20 sites of hosts, each host with two sources; 1% of the hosts stopped answering an hour
// ago (chrony_up 0), 1% lost their sources a day ago (not synchronised).
func backfillFleet(ctx context.Context, vm *enginelab.Engine, size engineSize, end time.Time, n int) (samples, series int, err error) {
	from := end.Add(-time.Duration(n-1) * size.step)
	ts := make([]byte, 0, n*14+2)
	ts = append(ts, '[')
	for i := range n {
		if i > 0 {
			ts = append(ts, ',')
		}
		ts = strconv.AppendInt(ts, from.Add(time.Duration(i)*size.step).UnixMilli(), 10)
	}
	ts = append(ts, ']')
	const streams = 2
	var mu sync.Mutex
	errs := make([]error, streams)
	var wg sync.WaitGroup
	for s := range streams {
		wg.Go(func() {
			pr, pw := io.Pipe()
			go func() {
				w := bufio.NewWriterSize(pw, 1<<20)
				k, m := 0, 0
				for h := s; h < size.hosts; h += streams {
					k += writeHost(w, h, n, ts, end, size.step)
					m++
				}
				err := w.Flush()
				mu.Lock()
				samples += k * n
				series += k
				mu.Unlock()
				pw.CloseWithError(err)
			}()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, vm.URL+"/api/v1/import", pr)
			if err != nil {
				errs[s] = err
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[s] = err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				errs[s] = fmt.Errorf("import: %s: %s", resp.Status, body)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, 0, err
		}
	}
	resp, err := http.Get(vm.URL + "/internal/force_flush")
	if err != nil {
		return 0, 0, err
	}
	resp.Body.Close()
	return samples, series, nil
}

// writeHost writes host h's series and returns how many.
func writeHost(w *bufio.Writer, h, n int, ts []byte, end time.Time, step time.Duration) int {
	r := rand.New(rand.NewPCG(uint64(h), 21))
	host := fmt.Sprintf("h%04d", h)
	labels := fmt.Sprintf(`"host":%q,"job":"second-hand","instance":"site-%02d:8080"`, host, h%20)
	down := h%100 == 7                                      // chrony_up 0 for the last hour
	unsynced := h%100 == 13                                 // no source answering for the last day
	downFrom := n - int(time.Hour/step)                     // the first point of the silence
	lostFrom := n - int(24*time.Hour/step)                  // the first point without sources
	up := func(i int) bool { return !down || i < downFrom } // values exist only where chronyd answered
	count := 0
	vals := make([]byte, 0, n*12)
	line := func(metric, more string, v func(i int) (float64, bool)) {
		vals = append(vals[:0], '[')
		var times []byte
		if down {
			times = make([]byte, 0, len(ts))
			times = append(times, '[')
		}
		first := true
		for i := range n {
			x, ok := v(i)
			if !ok {
				continue
			}
			if !first {
				vals = append(vals, ',')
				if down {
					times = append(times, ',')
				}
			}
			first = false
			vals = strconv.AppendFloat(vals, x, 'g', 10, 64)
			if down {
				times = strconv.AppendInt(times, end.Add(-time.Duration(n-1-i)*step).UnixMilli(), 10)
			}
		}
		vals = append(vals, ']')
		if down {
			times = append(times, ']')
		} else {
			times = ts
		}
		fmt.Fprintf(w, `{"metric":{"__name__":%q,%s%s},"values":`, metric, labels, more)
		w.Write(vals)
		w.WriteString(`,"timestamps":`)
		w.Write(times)
		w.WriteString("}\n")
		count++
	}
	walk := func(sd, pull float64) []float64 {
		out := make([]float64, n)
		x := 0.0
		for i := range out {
			x = x*(1-pull) + r.NormFloat64()*sd
			out[i] = x
		}
		return out
	}
	sys, freq, disp := walk(8e-6, 0.05), walk(0.002, 0.001), walk(10e-6, 0.2)
	synced := func(i int) bool { return !unsynced || i < lostFrom }
	line("chrony_up", "", func(i int) (float64, bool) { return b2f(up(i)), true })
	val := func(f func(i int) float64) func(i int) (float64, bool) {
		return func(i int) (float64, bool) { return f(i), up(i) }
	}
	line("chrony_tracking_system_time_seconds", "", val(func(i int) float64 { return sys[i] }))
	line("chrony_tracking_root_delay_seconds", "", val(func(i int) float64 { return 2e-3 + 1e-4*math.Sin(float64(i)/50) }))
	line("chrony_tracking_root_dispersion_seconds", "", val(func(i int) float64 { return 50e-6 + math.Abs(disp[i]) }))
	line("chrony_tracking_max_error_seconds", "", val(func(i int) float64 {
		return math.Abs(sys[i]) + 50e-6 + math.Abs(disp[i]) + (2e-3+1e-4*math.Sin(float64(i)/50))/2
	}))
	line("chrony_tracking_frequency_ppms", "", val(func(i int) float64 { return -12.5 + freq[i] }))
	line("chrony_tracking_skew_ppms", "", val(func(i int) float64 { return 0.05 + math.Abs(freq[i])/10 }))
	line("chrony_tracking_rms_offset_seconds", "", val(func(i int) float64 { return 10e-6 + math.Abs(sys[i])/4 }))
	line("chrony_tracking_reference_timestamp_seconds", "", val(func(i int) float64 {
		return float64(end.Add(-time.Duration(n-1-i)*step).Unix() - 30)
	}))
	line("chrony_tracking_stratum", "", val(func(i int) float64 {
		if !synced(i) {
			return 0
		}
		return 3
	}))
	line("chrony_tracking_leap_status", "", val(func(i int) float64 {
		if !synced(i) {
			return 3
		}
		return 0
	}))
	info := func(i int) (float64, bool) { return 1, up(i) }
	if unsynced {
		line("chrony_tracking_info", `,"tracking_address":"192.168.0.1","tracking_name":"ntp1.lan","tracking_refid":"C0A80001"`,
			func(i int) (float64, bool) { return 1, up(i) && synced(i) })
		line("chrony_tracking_info", `,"tracking_address":"","tracking_name":"","tracking_refid":"00000000"`,
			func(i int) (float64, bool) { return 1, up(i) && !synced(i) })
	} else {
		line("chrony_tracking_info", `,"tracking_address":"192.168.0.1","tracking_name":"ntp1.lan","tracking_refid":"C0A80001"`, info)
	}
	for k, src := range []struct{ name, addr, state string }{{"ntp1.lan", "192.168.0.1", "sync"}, {"ntp2.lan", "192.168.0.2", "candidate"}} {
		more := fmt.Sprintf(`,"source_address":%q,"source_name":%q`, src.addr, src.name)
		off := walk(20e-6, 0.1)
		line("chrony_sources_reachability_ratio", more, val(func(i int) float64 { return b2f(synced(i)) }))
		line("chrony_sources_state_info", more+`,"source_state":"`+src.state+`","source_mode":"client"`, info)
		line("chrony_sources_last_sample_offset_seconds", more, val(func(i int) float64 { return off[i] + float64(k)*5e-6 }))
		line("chrony_sources_last_sample_error_margin_seconds", more, val(func(i int) float64 { return 1e-4 }))
		line("chrony_sources_last_sample_age_seconds", more, val(func(i int) float64 { return float64(i % 64) }))
	}
	return count
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

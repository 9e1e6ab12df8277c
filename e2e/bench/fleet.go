package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylab"
)

// Sizes of the fleet benchmark: real chronyd where practical (50 processes on loopback,
// synchronised to the lab's upstream), the fake chronyd for the other live hosts, and silent
// fakes that never answer.
const (
	realHosts   = 50
	fakeHosts   = 40
	silentHosts = 10
)

// fleetBench measures the overview of 100 hosts (10 of them silent) in chromium through nginx,
// second-hand's memory with them, and the overview of 50 hosts with and without 10 silent
// among them.
func fleetBench(ctx context.Context, bin, dir string, lab *chronylab.Lab, loads int, add func(what, figure, against string)) error {
	fmt.Fprintf(os.Stderr, "bench: %d real chronyd, %d fake and %d silent ...\n", realHosts, fakeHosts, silentHosts)
	var live, silent [][2]string // name, address
	daemons := make([]*chronylab.Daemon, realHosts)
	errs := make([]error, realHosts)
	var wg sync.WaitGroup
	for i := range realHosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = func() error {
				port, err := chronylab.FreePort()
				if err != nil {
					return err
				}
				d, err := chronylab.NewDaemon(lab.Dir, fmt.Sprintf("real%02d", i), chronylab.Config{CmdPort: port,
					Conf: fmt.Sprintf("server 127.0.0.1 port %d iburst minpoll 4 maxpoll 4\n", lab.Upstream.NTPPort)})
				if err != nil {
					return err
				}
				daemons[i] = d
				if err := d.Start(ctx); err != nil {
					return err
				}
				return chronylab.WaitSynchronised(ctx, d)
			}()
		}()
	}
	wg.Wait()
	defer func() {
		for _, d := range daemons {
			if d != nil {
				d.Stop()
			}
		}
	}()
	for i, err := range errs {
		if err != nil {
			return err
		}
		live = append(live, [2]string{daemons[i].Name, daemons[i].UDPAddress()})
	}
	for i := range fakeHosts {
		f, err := chronytest.NewUDP(chronytest.Replay)
		if err != nil {
			return err
		}
		defer f.Close()
		live = append(live, [2]string{fmt.Sprintf("fake%02d", i), f.Addr})
	}
	for i := range silentHosts {
		f, err := chronytest.NewUDP(chronytest.Silent)
		if err != nil {
			return err
		}
		defer f.Close()
		silent = append(silent, [2]string{fmt.Sprintf("silent%02d", i), f.Addr})
	}

	// Three second-hand behind one nginx: the 100 hosts, 50 live ones, and 40 of those 50
	// with the 10 silent ones.
	all := append(append([][2]string{}, live...), silent...)
	fifty := live[:50]
	forty := append(append([][2]string{}, live[:40]...), silent...)
	var insts []instance
	for _, set := range []struct {
		prefix string
		hosts  [][2]string
	}{{"fleet", all}, {"fifty", fifty}, {"forty", forty}} {
		port := freePort()
		var spec []string
		for _, h := range set.hosts {
			spec = append(spec, h[0]+"="+h[1])
		}
		cmd := exec.Command(bin, "--listen", "127.0.0.1:"+port, "--data-dir", filepath.Join(dir, set.prefix), "--log-level", "error")
		cmd.Env = append(os.Environ(), "SECOND_HAND_CHRONY="+strings.Join(spec, ","))
		insts = append(insts, instance{set.prefix, port, cmd})
	}
	base, stop, err := behindNginx(dir, "fleet", insts)
	if err != nil {
		return err
	}
	defer stop()

	b, closeBrowser, err := newBenchBrowser()
	if err != nil {
		return err
	}
	defer closeBrowser()
	fmt.Fprintln(os.Stderr, "bench: the overview of 100 hosts in chromium ...")
	first, median, err := overviewLoads(b, base, "fleet", names(live), loads)
	if err != nil {
		return err
	}
	add(fmt.Sprintf("overview of 100 hosts (%d real chronyd, %d fake, %d silent), chromium via nginx: every live row populated", realHosts, fakeHosts, silentHosts),
		fmt.Sprintf("median %s of %d loads", msf(median), loads), fmt.Sprintf("first load (every chronyd read) %s; target ≤ 1 s", msf(first)))
	add("second-hand peak RSS (VmHWM) watching 100 hosts", fmt.Sprintf("%.1f MB", peakRSS(insts[0].cmd.Process.Pid)), "target ≤ 40 MB")

	fmt.Fprintln(os.Stderr, "bench: 50 hosts with and without 10 silent ...")
	common := names(live[:40])
	_, aMedian, err := overviewLoads(b, base, "fifty", common, loads)
	if err != nil {
		return err
	}
	bFirst, bMedian, err := overviewLoads(b, base, "forty", common, loads)
	if err != nil {
		return err
	}
	add("40 live rows of an overview of 50, none silent / 10 silent, chromium via nginx",
		fmt.Sprintf("median %s / %s of %d loads: %.2fx", msf(aMedian), msf(bMedian), loads, float64(bMedian)/float64(aMedian)),
		fmt.Sprintf("target ≤ 1.5x; the first load with 10 silent: %s", msf(bFirst)))
	return nil
}

func names(hosts [][2]string) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h[0]
	}
	return out
}

func newBenchBrowser() (context.Context, func(), error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath()), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 10*time.Minute)
	if err := chromedp.Do(ctx); err != nil {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		return nil, nil, err
	}
	return ctx, func() { cancelTimeout(); cancelCtx(); cancelAlloc() }, nil
}

// overviewLoads opens the overview at base+prefix n+1 times and measures, from navigation,
// until the rows of the hosts named have arrived with data (the last of their fragments'
// responses): the first load, and the median of the others. Between the two, it waits until
// every silent host has timed out once, as on any second-hand that has run for a few seconds.
func overviewLoads(ctx context.Context, base, prefix string, hosts []string, n int) (first, median time.Duration, err error) {
	url := base + prefix + "/"
	list := `['` + strings.Join(hosts, `','`) + `']`
	populated := list + `.every(h => { const r = document.getElementById('host-' + h); return r && r.dataset.status !== 'checking'; })`
	// A row whose host was read moments before comes with its data in the page itself: then
	// the page's own response is when it arrived.
	arrived := `Math.max(performance.getEntriesByType('navigation')[0].responseEnd, ...performance.getEntriesByType('resource').filter(e => ` + list +
		`.some(h => e.name.includes('/hosts/' + h + '/summary'))).map(e => e.responseEnd))`
	var times []time.Duration
	for i := 0; i < n+1; i++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(url+"?load="+strconv.Itoa(i))); err != nil {
			return 0, 0, err
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](populated, chromedp.WithPollingTimeout(time.Minute))); err != nil {
			return 0, 0, fmt.Errorf("%s: the rows did not populate: %w", url, err)
		}
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](arrived))
		if err != nil {
			return 0, 0, err
		}
		times = append(times, time.Duration(v*float64(time.Millisecond)))
		if i == 0 {
			if err := waitSilentKnown(base + prefix); err != nil {
				return 0, 0, err
			}
		}
	}
	rest := times[1:]
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	return times[0], rest[len(rest)/2], nil
}

// waitSilentKnown waits until /readyz lists every silent host as not ready: their first reads
// have timed out.
func waitSilentKnown(url string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Count(string(body), "not ready") == strings.Count(string(body), "silent") {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s: the silent hosts did not time out", url)
}

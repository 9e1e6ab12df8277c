package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// commandPackets reads chronyd's own count of the command packets it received.
func commandPackets(t *testing.T, d *chronylab.Daemon) int {
	t.Helper()
	out, err := d.Chronyc(context.Background(), "serverstats")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Command packets received\s*:\s*(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no command packet count in:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var nextRE = regexp.MustCompile(`data-next-ms="(\d+)"`)

// viewer is a simulated open page: it loads each fragment of urls, then reloads it when the
// server says (data-next-ms), as the page's script does.
func viewer(ctx context.Context, urls []string, refresh time.Duration, served *atomic.Int64, errs chan<- error) {
	var wg sync.WaitGroup
	for _, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				resp, err := http.Get(u)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || strings.Contains(string(body), `data-failed="`) {
					errs <- fmt.Errorf("%s: %d %v", u, resp.StatusCode, err)
					return
				}
				served.Add(1)
				next := refresh
				if m := nextRE.FindSubmatch(body); m != nil {
					ms, _ := strconv.Atoi(string(m[1]))
					next = time.Duration(ms) * time.Millisecond
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(next):
				}
			}
		}()
	}
	wg.Wait()
}

// viewersFor is how long each round of a load test lasts: 20 s, or SECOND_HAND_VIEWERS_FOR.
func viewersFor(t *testing.T) time.Duration {
	if testing.Short() {
		t.Skip("-short: runs for a minute or more")
	}
	if s := os.Getenv("SECOND_HAND_VIEWERS_FOR"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	return 20 * time.Second
}

// load runs n viewers of urls for d, opened at random moments of the first refresh interval,
// and returns how many fragments were served.
func load(t *testing.T, n int, urls []string, refresh, d time.Duration) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var served atomic.Int64
	errs := make(chan error, n*len(urls))
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(rand.N(refresh)):
			case <-ctx.Done():
				return
			}
			viewer(ctx, urls, refresh, &served, errs)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("%d viewers: %v", n, err)
	}
	return served.Load()
}

// atMostOneReadPerWindow fails the test when more viewers cost chronyd more than the reuse window
// allows. One viewer reads each report once a refresh; however many viewers there are, a report
// is read at most once per reuse window (half the refresh), so the most they may cost is twice
// one viewer's packets, and one more refresh's worth for a read that straddles the end of the
// run. That is the design's bound, whatever the machine's load does to the moments of the
// requests (a ratio nearer 1 depends on them: requests that a busy machine delays past the
// window's end read anew). Without sharing, 100 viewers would cost 100 times as much.
func atMostOneReadPerWindow(t *testing.T, what string, counts map[int]int, refreshes int) {
	t.Helper()
	one, ok := counts[1]
	if !ok || one <= 0 {
		t.Fatalf("%s: no count for one viewer in %v", what, counts)
	}
	limit := 2*one + (one+refreshes-1)/refreshes
	for viewers, n := range counts {
		if n > limit {
			t.Errorf("%s: %d viewers cost chronyd %d command packets, more than %d (one read per reuse window; one viewer cost %d): %v",
				what, viewers, n, limit, one, counts)
		}
	}
}

// TestLoadOnChronydDoesNotGrowWithViewers: 1, 10 and 100 simulated viewers of one host's page
// poll for 20 s each, starting at random moments; chronyd's own counter of command packets
// must stay within what the reuse window allows (see atMostOneReadPerWindow).
func TestLoadOnChronydDoesNotGrowWithViewers(t *testing.T) {
	run := viewersFor(t)
	const refresh = 2 * time.Second
	lab := startLab(t, chronylab.Options{})
	packets := map[int]int{}
	for _, viewers := range []int{1, 10, 100} {
		in := start(t, "--chrony", lab.Monitored.UDPAddress(), "--refresh", refresh.String())
		var urls []string
		for _, p := range panelNames {
			urls = append(urls, in.url+"/panels/"+p)
		}
		before := commandPackets(t, lab.Monitored)
		served := load(t, viewers, urls, refresh, run)
		packets[viewers] = commandPackets(t, lab.Monitored) - before - 1 // less the serverstats request
		t.Logf("%3d viewers for %v: %5d panel requests served, chronyd received %d command packets", viewers, run, served, packets[viewers])
		in.exit(t)
	}
	atMostOneReadPerWindow(t, "one host's page", packets, int(run/refresh))
}

// TestOverviewLoadDoesNotGrowWithViewers: 1 and 100 viewers of the overview of three hosts;
// for each host, chronyd's counter stays within what the reuse window allows.
func TestOverviewLoadDoesNotGrowWithViewers(t *testing.T) {
	run := viewersFor(t)
	const refresh = 2 * time.Second
	lab := startLab(t, chronylab.Options{})
	hosts := map[string]*chronylab.Daemon{"a": lab.Monitored, "b": lonely(t, lab.Dir), "c": lab.Upstream}
	packets := map[string]map[int]int{}
	for _, viewers := range []int{1, 100} {
		var args, urls []string
		for name, d := range hosts {
			addr := d.SocketAddress()
			args = append(args, "--chrony", name+"="+addr)
		}
		in := start(t, append(args, "--refresh", refresh.String())...)
		before := map[string]int{}
		for name, d := range hosts {
			urls = append(urls, in.url+"/hosts/"+name+"/summary")
			before[name] = commandPackets(t, d)
		}
		served := load(t, viewers, urls, refresh, run)
		for name, d := range hosts {
			if packets[name] == nil {
				packets[name] = map[int]int{}
			}
			packets[name][viewers] = commandPackets(t, d) - before[name] - 1
			t.Logf("%3d viewers of the overview for %v: %5d rows served; %s's chronyd received %d command packets",
				viewers, run, served, name, packets[name][viewers])
		}
		in.exit(t)
	}
	for name, counts := range packets {
		atMostOneReadPerWindow(t, "host "+name, counts, int(run/refresh))
	}
}

// TestFreshReadsCannotDriveChronyd: 50 clients send ?fresh=1 to the sources fragment as fast
// as they can for 10 s. chronyd's counter must stay within 2x of one read of the sources per
// second (before the limit, the same flood cost 20,116 command packets).
func TestFreshReadsCannotDriveChronyd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: floods for 10 s")
	}
	lab := startLab(t, chronylab.Options{})
	in := start(t, "--chrony", lab.Monitored.UDPAddress())
	fragment(t, in.url, "sources") // names are read once; a read of the sources is then N_SOURCES and one request per source
	sources := len(chronyc(t, lab.Monitored, "sources"))
	perRead := 1 + sources
	const flood = 10 * time.Second
	before := commandPackets(t, lab.Monitored)
	ctx, cancel := context.WithTimeout(context.Background(), flood)
	defer cancel()
	var wg sync.WaitGroup
	var sent atomic.Int64
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", in.url+"/panels/sources?fresh=1", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	got := commandPackets(t, lab.Monitored) - before - 1
	limit := 2 * (int(flood/time.Second) + 1) * perRead
	t.Logf("50 clients sent %d fresh requests in %v; chronyd received %d command packets (one read a second: %d)",
		sent.Load(), flood, got, (int(flood/time.Second)+1)*perRead)
	if got > limit {
		t.Errorf("chronyd received %d command packets, more than %d (twice one read of the sources per second)", got, limit)
	}
}

// TestRecordingCostsOneReadPerSample: with no viewer, recording a chronyd with four sources
// every 2 s costs chronyd one read of tracking, sources and source statistics per sample: 10
// command packets (tracking, the count, 4 sources, 4 statistics), and the names once.
func TestRecordingCostsOneReadPerSample(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: records for 20 s")
	}
	lab := startLab(t, chronylab.Options{})
	in := start(t, "--chrony", lab.Monitored.UDPAddress(), "--sample", "2s")
	samples, got := packetsPerSample(t, in, lab.Monitored)
	t.Logf("%d samples cost chronyd %d command packets (%.1f a sample)", samples, got, float64(got)/float64(samples))
	if got > 10*(samples+1) {
		t.Errorf("%d samples cost %d command packets, more than 10 a sample", samples, got)
	}
}

// packetsPerSample counts the command packets d receives while in records ten samples, from
// its second sample on (the first reads the sources' names too); the count leaves out the
// packet that reads the count.
func packetsPerSample(t *testing.T, in *instance, d *chronylab.Daemon) (samples, packets int) {
	t.Helper()
	testkit.Eventually(t, time.Minute, "the first samples", func() bool { return count(csvRows(t, in.url+"/history.csv?range=1h"), "sample") >= 2 })
	before := commandPackets(t, d)
	samplesBefore := count(csvRows(t, in.url+"/history.csv?range=1h"), "sample")
	testkit.Eventually(t, time.Minute, "ten more samples", func() bool {
		return count(csvRows(t, in.url+"/history.csv?range=1h"), "sample") >= samplesBefore+10
	})
	samples = count(csvRows(t, in.url+"/history.csv?range=1h"), "sample") - samplesBefore
	return samples, commandPackets(t, d) - before - 1
}

// TestDiagnosisCostsChronydLittle: 10 viewers of a host's page read on the socket (where
// chronyd answers every report), for 10 s without and then with its diagnosis block. The
// diagnosis shares the panels' reads, and adds at most one read a minute of the reports the
// panels do not read at every refresh (selectdata, and ntpdata or authdata of the sources a
// finding needs): chronyd's own counter of command packets must grow by less than a quarter
// (the rounds differ by a few packets by themselves, as viewers start at random moments).
func TestDiagnosisCostsChronydLittle(t *testing.T) {
	run := viewersFor(t) / 2
	const refresh = 2 * time.Second
	lab := startLab(t, chronylab.Options{})
	packets := map[bool]int{}
	for _, withDiagnosis := range []bool{false, true} {
		in := start(t, "--chrony", lab.Monitored.SocketAddress(), "--refresh", refresh.String(), "--sample", "0")
		var urls []string
		for _, p := range []string{"tracking", "sources", "sourcestats", "rtc", "server"} {
			urls = append(urls, in.url+"/panels/"+p)
		}
		if withDiagnosis {
			urls = append(urls, in.url+"/panels/diagnosis")
		}
		before := commandPackets(t, lab.Monitored)
		served := load(t, 10, urls, refresh, run)
		packets[withDiagnosis] = commandPackets(t, lab.Monitored) - before - 1
		t.Logf("diagnosis %v: %d fragments served in %v, chronyd received %d command packets", withDiagnosis, served, run, packets[withDiagnosis])
		in.exit(t)
	}
	if float64(packets[true]) > 1.25*float64(packets[false]) {
		t.Errorf("with the diagnosis chronyd received %d command packets, without %d: more than a quarter more", packets[true], packets[false])
	}
}

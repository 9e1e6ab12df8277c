package main

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylab"
)

// scrapeMetrics fetches url (a /metrics) and returns its series as "name{labels}" → value, the
// labels sorted and without host.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s = %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
		}
	}
	return out
}

// TestMetricsMatchChronyc: /metrics of a real chronyd, over UDP and over the socket, equals
// chronyc's tracking, sources and sourcestats at the same moment.
func TestMetricsMatchChronyc(t *testing.T) {
	lab := startLab(t, chronylab.Options{PollLog2: 2, SetPoll: true})
	for _, tc := range []struct{ name, addr string }{{"udp", lab.Monitored.UDPAddress()}, {"unix", lab.Monitored.SocketAddress()}} {
		t.Run(tc.name, func(t *testing.T) {
			in := start(t, "--chrony", "lab="+tc.addr, "--reuse", "0s", "--sample", "0")
			diffs := chronylab.Consistent(100,
				func() ([][]string, error) {
					tr, err := readChronyc(lab.Monitored, "tracking")
					if err != nil {
						return nil, err
					}
					src, _ := readChronyc(lab.Monitored, "sources")
					st, _ := readChronyc(lab.Monitored, "sourcestats")
					for _, s := range src {
						s[6] = "" // the age moves by itself; checked apart below
					}
					rows := append(append(tr, src...), st...)
					if tc.name == "unix" {
						ntp, err := chronycRaw(lab.Monitored, "ntpdata")
						if err != nil {
							return nil, err
						}
						rows = append(rows, ntp...)
					}
					return rows, nil
				},
				func() (map[string]float64, error) { return scrapeMetrics(t, in.url+"/metrics"), nil },
				chronylab.TrackingVolatile,
				func(m map[string]float64, before, after [][]string) []string {
					return compareMetrics(m, before, after, tc.name == "unix")
				})
			if len(diffs) > 0 {
				t.Fatalf("/metrics never matched chronyc:\n%s", strings.Join(diffs, "\n"))
			}
		})
	}
}

// compareMetrics checks a scrape against chronyc -c tracking (before[0], after[0]), sources
// (the next 4 rows), sourcestats (the 4 after them) and, over the socket, ntpdata (the rest).
func compareMetrics(m map[string]float64, before, after [][]string, socket bool) []string {
	var d []string
	check := func(series string, want float64, tol float64) {
		got, ok := m[series]
		switch {
		case !ok:
			d = append(d, "no "+series)
		case math.Abs(got-want) > tol:
			d = append(d, fmt.Sprintf("%s = %v, chronyc %v", series, got, want))
		}
	}
	num := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	tol := func(s string) float64 {
		if i := strings.IndexByte(s, '.'); i >= 0 {
			return 0.5*math.Pow10(-(len(s)-i-1)) + 1e-12
		}
		return 0.5
	}
	b := before[0]
	check("chrony_up{host=lab}", 1, 0)
	check("chrony_tracking_stratum{host=lab}", num(b[2]), 0)
	check("chrony_tracking_reference_timestamp_seconds{host=lab}", num(b[3]), 1e-6)
	check("chrony_tracking_last_offset_seconds{host=lab}", num(b[5]), tol(b[5]))
	check("chrony_tracking_rms_offset_seconds{host=lab}", num(b[6]), tol(b[6]))
	check("chrony_tracking_frequency_ppms{host=lab}", num(b[7]), tol(b[7]))
	check("chrony_tracking_residual_frequency_ppms{host=lab}", num(b[8]), tol(b[8]))
	check("chrony_tracking_skew_ppms{host=lab}", num(b[9]), tol(b[9]))
	check("chrony_tracking_root_delay_seconds{host=lab}", num(b[10]), tol(b[10]))
	check("chrony_tracking_update_interval_seconds{host=lab}", num(b[12]), tol(b[12]))
	// System time and root dispersion move between two reads: between chronyc's two.
	for _, c := range []struct {
		series string
		col    int
	}{{"chrony_tracking_system_time_seconds{host=lab}", 4}, {"chrony_tracking_root_dispersion_seconds{host=lab}", 11}} {
		lo, hi := math.Min(num(b[c.col]), num(after[0][c.col])), math.Max(num(b[c.col]), num(after[0][c.col]))
		if v := m[c.series]; v < lo-tol(b[c.col]) || v > hi+tol(b[c.col]) {
			d = append(d, fmt.Sprintf("%s = %v, chronyc %v then %v", c.series, v, b[c.col], after[0][c.col]))
		}
	}
	check(fmt.Sprintf("chrony_tracking_info{host=lab,tracking_address=127.0.0.1,tracking_name=%s,tracking_refid=%s}", b[1], b[0]), 1, 0)
	modes := map[string]string{"^": "client", "=": "peer", "#": "reference clock"}
	states := map[string]string{"*": "sync", "?": "unreach", "x": "falseticker", "~": "jittery", "+": "candidate", "-": "outlier"}
	for _, s := range before[1:5] {
		addr, name := s[2], s[2]
		if s[2] == "localhost" {
			addr = "127.0.0.1"
		}
		labels := "host=lab,source_address=" + addr + ",source_name=" + name
		check("chrony_sources_stratum{"+labels+"}", num(s[3]), 0)
		check("chrony_sources_polling_interval_seconds{"+labels+"}", math.Ldexp(1, int(num(s[4]))), 0)
		reach, _ := strconv.ParseUint(s[5], 8, 8)
		check("chrony_sources_reachability_ratio{"+labels+"}", float64(popcount(uint8(reach)))/8, 1e-9)
		check("chrony_sources_reachability_success{"+labels+"}", float64(reach&1), 0)
		check("chrony_sources_last_sample_offset_seconds{"+labels+"}", num(s[7]), tol(s[7]))
		check("chrony_sources_last_sample_error_margin_seconds{"+labels+"}", num(s[9]), tol(s[9]))
		check("chrony_sources_state_info{host=lab,source_address="+addr+",source_mode="+modes[s[0]]+",source_name="+name+",source_state="+states[s[1]]+"}", 1, 0)
		_, aged := m["chrony_sources_last_sample_age_seconds{"+labels+"}"]
		if aged != (s[7] != "0.000000000" || s[5] != "0") && s[1] == "*" {
			d = append(d, "the selected source has no age")
		}
	}
	for _, s := range before[5:9] {
		addr := s[0]
		if s[0] == "localhost" {
			addr = "127.0.0.1"
		}
		labels := "host=lab,source_address=" + addr + ",source_name=" + s[0]
		check("chrony_sourcestats_samples{"+labels+"}", num(s[1]), 0)
		check("chrony_sourcestats_runs{"+labels+"}", num(s[2]), 0)
		check("chrony_sourcestats_span_seconds{"+labels+"}", num(s[3]), 0)
		check("chrony_sourcestats_frequency_ppms{"+labels+"}", num(s[4]), tol(s[4]))
		check("chrony_sourcestats_frequency_skew_ppms{"+labels+"}", num(s[5]), tol(s[5]))
		check("chrony_sourcestats_offset{"+labels+"}", num(s[6]), tol(s[6]))
		check("chrony_sourcestats_stddev{"+labels+"}", num(s[7]), tol(s[7]))
	}
	// The last packet of each NTP source, from ntpdata over the socket only (chronyd refuses it
	// over UDP), as chrony_exporter's --collector.sources.with-ntpdata has it.
	names := map[string]string{}
	for _, s := range before[1:5] {
		addr := s[2]
		if s[2] == "localhost" {
			addr = "127.0.0.1"
		}
		names[addr] = s[2]
	}
	for _, n := range before[9:] {
		labels := "host=lab,source_address=" + n[0] + ",source_name=" + names[n[0]]
		for series, col := range map[string]int{"offset": 18, "delay": 19, "dispersion": 20, "response_time": 21, "jitter_asymmetry": 22} {
			check("chrony_sources_peer_"+series+"_seconds{"+labels+"}", num(n[col]), tol(n[col]))
		}
	}
	peers := 0
	for series := range m {
		if strings.HasPrefix(series, "chrony_sources_peer_offset_seconds{") {
			peers++
		}
	}
	if want := len(before[9:]); peers != want {
		d = append(d, fmt.Sprintf("%d sources with peer series, want the %d of chronyc ntpdata", peers, want))
	}
	ntpdata := 0.0
	if socket {
		ntpdata = 1
	}
	check("chrony_scrape_collector_success{collector=ntpdata,host=lab}", ntpdata, 0)
	serverstats := 0.0
	if socket {
		serverstats = 1
		if _, ok := m["chrony_serverstats_command_packets_received_total{host=lab}"]; !ok {
			d = append(d, "no server statistics over the socket")
		}
	}
	check("chrony_scrape_collector_success{collector=serverstats,host=lab}", serverstats, 0)
	return d
}

func popcount(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

// TestScrapesShareReads: ten scrapes at once cost chronyd what one costs. Each batch comes after
// the reuse window (5 s) has passed, so that each reads chronyd anew.
func TestScrapesShareReads(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	const reuse = 5 * time.Second
	in := start(t, "--chrony", "lab="+lab.Monitored.SocketAddress(), "--sample", "0", "--refresh", "20s", "--reuse", reuse.String())
	scrapeMetrics(t, in.url+"/metrics") // the names are read once
	cost := func(n int) int {
		time.Sleep(reuse + 100*time.Millisecond) // past the window: a window's expiry, not an event
		before := commandPackets(t, lab.Monitored)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); scrapeMetrics(t, in.url+"/metrics?host=lab") }()
		}
		wg.Wait()
		return commandPackets(t, lab.Monitored) - before - 1
	}
	one := cost(1)
	ten := cost(10)
	t.Logf("one scrape: %d command packets; ten at once: %d", one, ten)
	if one == 0 || ten > one {
		t.Errorf("ten scrapes at once cost %d command packets, one %d", ten, one)
	}
}

// TestScrapeOfADeadChronyd: a chronyd that does not answer: the scrape ends within the timeout
// and its retries, with chrony_up 0 and none of its values.
func TestScrapeOfADeadChronyd(t *testing.T) {
	silent := chronytest.StartUDP(t, chronytest.Silent)
	in := start(t, "--chrony", "dead="+silent.Addr, "--timeout", "100ms", "--retries", "1", "--sample", "0")
	startAt := time.Now()
	m := scrapeMetrics(t, in.url+"/metrics")
	t.Logf("scrape of a silent chronyd took %v (timeout 100 ms, one retry: 300 ms)", time.Since(startAt).Round(time.Millisecond))
	if m["chrony_up{host=dead}"] != 0 {
		t.Errorf("chrony_up = %v", m["chrony_up{host=dead}"])
	}
	for series := range m {
		if strings.HasPrefix(series, "chrony_tracking") || strings.HasPrefix(series, "chrony_sources") {
			t.Errorf("%s from a silent chronyd", series)
		}
	}
	// Only tracking was asked: a dead chronyd costs a scrape one timeout.
	if n := len(silent.Requests()); n != 2 {
		t.Errorf("%d requests to the silent chronyd, want the 2 attempts of tracking", n)
	}
	if code, _ := fetch(t, in.url+"/metrics?host=nope"); code != http.StatusNotFound {
		t.Errorf("/metrics?host=nope = %d, want 404", code)
	}
	if _, ok := m["go_goroutines{}"]; !ok {
		t.Error("no Go runtime metrics")
	}
	if _, ok := m["process_resident_memory_bytes{}"]; !ok {
		t.Error("no process metrics")
	}
}

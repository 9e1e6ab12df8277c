package main

import (
	"context"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestServingHistoryMatchesChronyc: second-hand records the lab's upstream (which serves the
// monitored chronyd) over its socket every second. The monitored chronyd is stopped, so that
// the upstream's counters hold still, and chronyc serverstats read; it runs again for a while
// and is stopped again, and chronyc read again. The history's rates between the two readings,
// each times the time it spans, add up to chronyc's difference of NTP requests (and of drops).
// Then the upstream is restarted: its counters start over, and no rate is taken across it.
// Over UDP, where chronyd refuses the server statistics, the history panel says so as the other
// socket-only parts do.
func TestServingHistoryMatchesChronyc(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	in := start(t, "--chrony", "up="+lab.Upstream.SocketAddress(), "--sample", "1s")
	ctx := context.Background()
	servers := func() []map[string]string {
		var out []map[string]string
		for _, r := range csvRows(t, in.url+"/history.csv?range=1h") {
			if r["record"] == "server" {
				out = append(out, r)
			}
		}
		return out
	}
	// still stops the client and returns chronyc's count once second-hand has recorded it
	// twice (the counters hold still).
	still := func() (ntp, dropped string) {
		t.Helper()
		if err := lab.Monitored.Stop(); err != nil {
			t.Fatal(err)
		}
		stats, err := chronycRaw(lab.Upstream, "serverstats")
		if err != nil || len(stats) != 1 || len(stats[0]) < 4 {
			t.Fatalf("chronyc serverstats: %v %v", stats, err)
		}
		ntp, dropped = stats[0][0], stats[0][3]
		testkit.Eventually(t, time.Minute, "two samples of the counters at rest", func() bool {
			n := 0
			for _, r := range servers() {
				if r["ntp_requests"] == ntp {
					n++
				}
			}
			return n >= 2
		})
		return ntp, dropped
	}
	n1, d1 := still()
	if err := lab.Monitored.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, time.Minute, "five samples of serving", func() bool {
		grew := 0
		for _, r := range servers() {
			if r["ntp_requests"] != n1 && r["ntp_requests_per_s"] != "0" && r["ntp_requests_per_s"] != "" {
				grew++
			}
		}
		return grew >= 5
	})
	n2, d2 := still()
	rows := servers()
	// The clients per sample: at rest, as many as chronyc clients lists; while serving, the
	// monitored chronyd among those whose last request came since the sample before.
	listed, err := chronycRaw(lab.Upstream, "clients")
	if err != nil || len(listed) == 0 {
		t.Fatalf("chronyc clients: %v %v", listed, err)
	}
	if r := rows[len(rows)-1]; r["clients"] != strconv.Itoa(len(listed)) {
		t.Errorf("at rest, a server row counts %q clients, chronyc clients lists %d: %v", r["clients"], len(listed), listed)
	}
	active := 0
	for _, r := range rows {
		if r["ntp_requests_per_s"] != "" && r["ntp_requests_per_s"] != "0" && r["active_clients"] != "" && r["active_clients"] != "0" {
			active++
		}
	}
	if active == 0 {
		t.Errorf("no row with requests has an active client: %v", rows)
	}
	first, last := -1, -1
	for i, r := range rows {
		if r["ntp_requests"] == n1 {
			first = i
		}
		if r["ntp_requests"] == n2 && last < 0 {
			last = i
		}
	}
	if first < 0 || last <= first {
		t.Fatalf("the rows at rest: %d and %d", first, last)
	}
	var requests, drops float64
	for _, r := range rows[first+1 : last+1] {
		prev := rows[slicesIndex(rows, r)-1]
		dt := csvTime(t, r["time_utc"]).Sub(csvTime(t, prev["time_utc"])).Seconds()
		rate, err1 := strconv.ParseFloat(r["ntp_requests_per_s"], 64)
		drop, err2 := strconv.ParseFloat(r["ntp_dropped_per_s"], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("a server row without its rates: %v", r)
		}
		requests += rate * dt
		drops += drop * dt
	}
	want := atof(t, n2) - atof(t, n1)
	t.Logf("chronyc: %s then %s NTP requests; the history's rates over %d samples add up to %.6f", n1, n2, last-first, requests)
	if want <= 0 || math.Abs(requests-want) > 1e-6*want {
		t.Errorf("the rates add up to %.6f requests, chronyc counted %v", requests, want)
	}
	if wantDrops := atof(t, d2) - atof(t, d1); math.Abs(drops-wantDrops) > 1e-6 {
		t.Errorf("the drop rates add up to %.6f, chronyc counted %v", drops, wantDrops)
	}
	page := fresh(t, in.url+"/panels/history?range=1h")
	for _, want := range []string{`data-chart="served"`, "NTP requests served", "requests/s"} {
		if !strings.Contains(page, want) && !strings.Contains(page, strings.Replace(want, "requests/s", "requests", 1)) {
			t.Errorf("the history panel does not show %q", want)
		}
	}

	// chronyd restarted: its counters start over, and no rate is taken across the restart.
	if err := lab.Monitored.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lab.Upstream.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := lab.Upstream.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, time.Minute, "rates after the restart", func() bool {
		rows := servers()
		for i := 1; i+1 < len(rows); i++ {
			if atof(t, rows[i]["ntp_requests"]) < atof(t, rows[i-1]["ntp_requests"]) {
				if rows[i]["ntp_requests_per_s"] != "" {
					t.Fatalf("a rate across chronyd's restart: %v after %v", rows[i], rows[i-1])
				}
				return rows[i+1]["ntp_requests_per_s"] != ""
			}
		}
		return false
	})

	// Over UDP: the server statistics are the socket's only.
	udp := start(t, "--chrony", lab.Monitored.UDPAddress(), "--sample", "1s")
	until(t, udp.url+"/panels/history?range=1h", "the socket-only note in the history panel", func(page string) bool {
		return strings.Contains(page, `data-field="serving-history"`) && strings.Contains(page, `data-access="socket-only"`) && !alert(page)
	})
}

func slicesIndex(rows []map[string]string, r map[string]string) int {
	for i := range rows {
		if rows[i]["time_utc"] == r["time_utc"] {
			return i
		}
	}
	return -1
}

func csvTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
)

// metricsBench measures /metrics of the lab's 4-source chronyd over UDP: 1,000 scrapes back
// to back over HTTP with the reuse window off (every scrape reads chronyd) and with the
// default window, next to the in-process Go benchmarks of the same scrape.
func metricsBench(bin, dir string, lab *chronylab.Lab, benches map[string]bench, add func(what, figure, against string)) error {
	fmt.Fprintln(os.Stderr, "bench: 1,000 scrapes of /metrics, with and without the reuse window ...")
	for _, c := range []struct {
		name  string
		args  []string
		bench string
		p50   time.Duration
	}{
		{"reuse window off (--reuse 0): every scrape reads chronyd", []string{"--reuse", "0"}, "Scrape/uncached", 2 * time.Millisecond},
		{"from the reuse window (the default)", nil, "Scrape/cached", 200 * time.Microsecond},
	} {
		port := freePort()
		args := append([]string{"--listen", "127.0.0.1:" + port, "--chrony", "lab=" + lab.Monitored.UDPAddress(),
			"--data-dir", filepath.Join(dir, "metrics-data"), "--sample", "0", "--log-level", "error"}, c.args...)
		cmd := exec.Command(bin, args...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		var figures []string
		for _, gzip := range []bool{false, true} {
			took, errs, err := scrapes("http://127.0.0.1:"+port+"/metrics?host=lab", 1000, gzip)
			if err != nil {
				cmd.Process.Kill()
				cmd.Wait()
				return err
			}
			slices.Sort(took)
			figures = append(figures, fmt.Sprintf("%s: p50 %s, p99 %s, max %s, %d errors", map[bool]string{false: "plain", true: "gzip (as Prometheus asks)"}[gzip],
				usd(took[len(took)/2]), usd(took[len(took)*99/100]), usd(took[len(took)-1]), errs))
		}
		// The floor of an HTTP request to this server on loopback: /healthz, which does nothing.
		floor, err := healthzP50("http://127.0.0.1:"+port+"/healthz", 1000)
		cmd.Process.Kill()
		cmd.Wait()
		if err != nil {
			return err
		}
		figures = append(figures, "GET /healthz of the same server (the HTTP round trip alone): p50 "+usd(floor))
		b := benches[c.bench]
		add("/metrics?host= of a 4-source chronyd over UDP, "+c.name+", 1,000 scrapes back to back over HTTP",
			strings.Join(figures, "; "),
			fmt.Sprintf("in process (go test -bench %s): %s a scrape; target p50 ≤ %s%s", c.bench, us(b.ns), usd(c.p50),
				map[bool]string{true: ", max ≤ 50 ms, 0 errors"}[c.args != nil]))
	}
	return nil
}

// scrapes scrapes url n times back to back and returns how long each took and how many
// failed (gzip: asked for, as Prometheus does): not 200, or without chrony_up 1 and each report but serverstats (socket only) read.
func scrapes(url string, n int, gzip bool) ([]time.Duration, int, error) {
	if err := waitHTTP(strings.Replace(url, "/metrics?host=lab", "/healthz", 1)); err != nil {
		return nil, 0, err
	}
	// The transport asks for gzip and unpacks it itself unless told not to.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableCompression: !gzip}}
	want := []string{`chrony_up{host="lab"} 1`}
	for _, c := range []string{"tracking", "sources", "sourcestats", "activity", "rtc"} {
		want = append(want, fmt.Sprintf(`chrony_scrape_collector_success{collector="%s",host="lab"} 1`, c))
	}
	var took []time.Duration
	errs := 0
	for range n {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			errs++
			took = append(took, time.Since(start))
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(start))
		if err != nil || resp.StatusCode != 200 {
			errs++
			continue
		}
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				errs++
				break
			}
		}
	}
	return took, errs, nil
}

func usd(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%d us", d.Microseconds())
	}
	return fmt.Sprintf("%.2f ms", float64(d)/1e6)
}

// healthzP50 is the median of n back-to-back GETs of url on one connection.
func healthzP50(url string, n int) (time.Duration, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	took := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[n/2], nil
}

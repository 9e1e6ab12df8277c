package main

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
)

// TestSilentChronydAnswersWithinTheBudget: a chronyd that never answers, and second-hand with
// its default flags (--timeout 1s --retries 2: a budget of 1 + 2 + 4 = 7 s per request). The
// eight fragments of a page load and a burst of 200 more requests for the fragments that read
// chronyd, all sent at once, stand in one line for that chronyd. Every one answers 200 with
// its panel's inline error saying chronyd did not answer in 7 s (the panels of history, which
// do not read chronyd, with their own content; the footer's access note with the reports it
// could not read): none is empty or cut off, which is what the
// server's write timeout did to the requests at the back of the line before each had a
// budget of its own.
func TestSilentChronydAnswersWithinTheBudget(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Silent)
	in := start(t, "--chrony", fake.Addr)
	reading := []string{"panels/tracking", "panels/sources", "panels/sourcestats", "panels/rtc", "panels/server", "access",
		"panels/tracking?fresh=1", "panels/sources?fresh=1"}
	page := []string{"panels/tracking", "panels/sources", "panels/sourcestats", "panels/rtc", "panels/server", "access",
		"panels/history", "panels/events"}
	urls := append([]string{}, page...)
	for i := range 200 {
		urls = append(urls, reading[i%len(reading)])
	}

	client := &http.Client{Timeout: 2 * time.Minute} // a backstop for a broken server, not a measure
	results := make([]string, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			resp, err := client.Get(in.url + "/" + u)
			if err != nil {
				results[i] = "no reply: " + err.Error()
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			isHistory := strings.HasPrefix(u, "panels/history") || strings.HasPrefix(u, "panels/events")
			switch {
			case err != nil:
				results[i] = "cut off: " + err.Error()
			case resp.StatusCode != http.StatusOK:
				results[i] = "status " + resp.Status
			case len(body) == 0:
				results[i] = "empty"
			case isHistory && strings.Contains(string(body), `<section id="panel-`):
				results[i] = "ok"
			case !isHistory && strings.Contains(string(body), "chronyd at "+fake.Addr+" did not answer in 7 s"):
				results[i] = "ok"
			case u == "access" && strings.Contains(string(body), "second-hand cannot read"): // the footer's note
				results[i] = "ok"
			default:
				results[i] = "no error in the panel: " + string(body)
			}
		})
	}
	wg.Wait()
	counts := map[string]int{}
	for i, r := range results {
		if r != "ok" {
			t.Errorf("%s: %s", urls[i], r)
		}
		counts[strings.SplitN(r, ":", 2)[0]]++
	}
	t.Logf("%d requests for a silent chronyd with the default flags: %v", len(urls), counts)
	if counts["ok"] != len(urls) {
		t.Fatalf("%d of %d requests answered with the panel and its error", counts["ok"], len(urls))
	}
}

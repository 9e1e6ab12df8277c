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

// viewer is a simulated open page: it loads each panel, then reloads it when the server says
// (data-next-ms), as the page's script does.
func viewer(ctx context.Context, base string, refresh time.Duration, served *atomic.Int64, errs chan<- error) {
	var wg sync.WaitGroup
	for _, p := range panelNames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				resp, err := http.Get(base + "/panels/" + p)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || strings.Contains(string(body), `role="alert"`) {
					errs <- fmt.Errorf("%s: %d %v", p, resp.StatusCode, err)
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

// TestLoadOnChronydDoesNotGrowWithViewers: 1, 10 and 100 simulated viewers poll for 30 s each
// (SECOND_HAND_VIEWERS_FOR to change it), starting at random moments; chronyd's own counter of
// command packets must stay within 1.5x across the three.
func TestLoadOnChronydDoesNotGrowWithViewers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs for a minute and a half")
	}
	run := 30 * time.Second
	if s := os.Getenv("SECOND_HAND_VIEWERS_FOR"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		run = d
	}
	const refresh = 2 * time.Second
	lab := startLab(t, chronylab.Options{})
	packets := map[int]int{}
	for _, viewers := range []int{1, 10, 100} {
		in := startSecondHand(t, nil, "--chrony", lab.Monitored.UDPAddress(), "--refresh", refresh.String())
		before := commandPackets(t, lab.Monitored)
		ctx, cancel := context.WithTimeout(context.Background(), run)
		var served atomic.Int64
		errs := make(chan error, viewers*4)
		var wg sync.WaitGroup
		for range viewers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Pages are opened at random moments.
				select {
				case <-time.After(rand.N(refresh)):
				case <-ctx.Done():
					return
				}
				viewer(ctx, in.url, refresh, &served, errs)
			}()
		}
		wg.Wait()
		cancel()
		close(errs)
		for err := range errs {
			t.Errorf("%d viewers: %v", viewers, err)
		}
		packets[viewers] = commandPackets(t, lab.Monitored) - before - 1 // less the serverstats request
		t.Logf("%3d viewers for %v: %5d panel requests served, chronyd received %d command packets",
			viewers, run, served.Load(), packets[viewers])
		in.cmd.Process.Kill()
	}
	lo, hi := packets[1], packets[1]
	for _, n := range packets {
		lo, hi = min(lo, n), max(hi, n)
	}
	if float64(hi) > 1.5*float64(lo) {
		t.Errorf("command packets %v: the most is more than 1.5 times the fewest", packets)
	}
}

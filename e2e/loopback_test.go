package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/server"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// These browser tests need no Docker: real chronyd on loopback (pkg/chronylab, as root) and
// second-hand in this process, so that its goroutines can be counted.

func needRoot(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if testing.Short() {
		t.Skip("-short")
	}
	if errors.Is(err, chronylab.ErrNotRoot) && !strict() {
		t.Skip(err)
	}
	t.Fatal(err)
}

// serve runs second-hand in this process for the chronyd of hosts (name: address), on a
// loopback port, and returns the page's URL.
func serve(t *testing.T, hosts [][2]string, opts chrony.Options, refresh time.Duration) string {
	t.Helper()
	var hs []monitor.Host
	for _, h := range hosts {
		a, err := chrony.ParseAddress(h[1])
		if err != nil {
			t.Fatal(err)
		}
		c, err := chrony.New(a, opts)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, monitor.Host{Name: h[0], Reporter: c})
	}
	fleet, err := monitor.NewFleet(hs, monitor.Config{Reuse: refresh / 2})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(fleet, server.Config{Refresh: refresh}))
	t.Cleanup(func() { srv.Close(); fleet.Close() })
	return srv.URL + "/"
}

// TestHostileSourceNamesStayText: chronyd reports whatever chrony.conf (or DNS) names a
// source; names that are HTML and script are shown as text in a real browser and never run.
func TestHostileSourceNamesStayText(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	evil := []string{`<img/src=x/onerror=window.pwned=1>`, `"><script>window.pwned=2</script>`, `<svg/onload=window.pwned=3>`}
	conf := ""
	for _, name := range evil {
		conf += "server " + name + " iburst\n"
	}
	d, err := chronylab.NewDaemon(t.TempDir(), "hostile", chronylab.Config{Conf: conf})
	if err != nil {
		t.Fatal(err)
	}
	needRoot(t, d.Start(context.Background()))
	t.Cleanup(func() { d.Stop() })
	url := serve(t, [][2]string{{"local", d.SocketAddress()}}, chrony.DefaultOptions(), 10*time.Second)

	b := newBrowser(t, 1280, 900)
	b.do(t, chromedp.Navigate(url))
	b.waitFor(t, "the sources panel", `!!document.querySelector('#panel-sources tbody tr')`, 20*time.Second)
	names := eval[[]string](t, b, `Array.from(document.querySelectorAll('#panel-sources [data-field=name]')).map(e => e.textContent)`)
	if strings.Join(names, "\n") != strings.Join(evil, "\n") {
		t.Errorf("names shown = %q, want the names as text %q", names, evil)
	}
	time.Sleep(300 * time.Millisecond) // give any handler that might have been injected time to run
	if pwned := eval[string](t, b, `String(window.pwned)`); pwned != "undefined" {
		t.Errorf("a source name ran as code: window.pwned = %s", pwned)
	}
	if n := eval[int](t, b, `document.querySelectorAll('main img, main script, main svg').length`); n != 0 {
		t.Errorf("%d elements were made from source names", n)
	}
	if p := b.problemsSoFar(); len(p) > 0 {
		t.Errorf("the browser logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// TestChronydRestarted20Times: a page stays open and refreshing while the real chronyd it
// watches is stopped and started 20 times. Every time, every panel shows its error and then
// recovers by itself; afterwards second-hand holds no more goroutines, file descriptors or
// socket files than before.
func TestChronydRestarted20Times(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	lab, err := chronylab.Start(ctx, chronylab.Options{})
	needRoot(t, err)
	t.Cleanup(func() { lab.Close() })
	if err := lab.WaitSynchronised(ctx); err != nil {
		t.Fatal(err)
	}
	url := serve(t, [][2]string{{"local", lab.Monitored.SocketAddress()}}, chrony.Options{Timeout: 200 * time.Millisecond, Retries: 1}, 500*time.Millisecond)

	b := newBrowser(t, 1280, 900)
	b.do(t, chromedp.Navigate(url))
	ok := allPanels(`p.querySelector('[data-age-ms]') && !p.dataset.failed && !p.classList.contains('is-stale')`)
	b.waitFor(t, "the four panels", ok, 20*time.Second)
	g0, fd0 := testkit.Settle(0, 0)

	var worst time.Duration
	for i := 1; i <= 20; i++ {
		if err := lab.Monitored.Stop(); err != nil {
			t.Fatal(err)
		}
		b.waitFor(t, fmt.Sprintf("every panel's error (restart %d)", i), allPanels(`p.dataset.failed === 'not-answering'`), 15*time.Second)
		if err := lab.Monitored.Start(ctx); err != nil {
			t.Fatal(err)
		}
		took := b.waitFor(t, fmt.Sprintf("every panel to recover (restart %d)", i), ok, 15*time.Second)
		worst = max(worst, took)
	}
	g1, fd1 := testkit.Settle(g0, fd0)
	socks, _ := filepath.Glob(filepath.Join(lab.Monitored.Dir, "second-hand.*"))
	t.Logf("20 restarts: slowest recovery %v; goroutines %d -> %d, open fds %d -> %d, socket files of ours %d",
		worst.Round(time.Millisecond), g0, g1, fd0, fd1, len(socks))
	// The browser's keep-alive connections come and go; a leak would grow with each restart.
	if g1 > g0+4 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if fd1 > fd0+4 {
		t.Errorf("open file descriptors grew from %d to %d", fd0, fd1)
	}
	if len(socks) > 1 {
		t.Errorf("socket files left in chronyd's directory: %v", socks)
	}
	if p := b.problemsSoFar(); len(p) > 0 {
		t.Errorf("the browser logged errors:\n%s", strings.Join(p, "\n"))
	}
}

// TestSilentHostsDelayNobody: 40 hosts that answer and 10 that never do, in one overview in
// chromium. The 40 rows populate while the 10 silent ones are still waiting for chronyd (their
// timeout is a minute): a dead chronyd holds up only its own row. The fakes stand in for
// chronyd because 50 real ones would prove nothing more here (pkg/chronylab's tests run real
// ones); the bench measures the same with time.
func TestSilentHostsDelayNobody(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	var hosts [][2]string
	for i := range 50 {
		h := chronytest.Replay
		name := fmt.Sprintf("live%02d", i)
		if i%5 == 2 {
			h, name = chronytest.Silent, fmt.Sprintf("silent%02d", i)
		}
		hosts = append(hosts, [2]string{name, chronytest.StartUDP(t, h).Addr})
	}
	url := serve(t, hosts, chrony.Options{Timeout: time.Minute, Retries: 0}, 10*time.Second)
	b := newBrowser(t, 1280, 2000)
	b.do(t, chromedp.Navigate(url))
	took := b.waitFor(t, "the 40 live rows", `document.querySelectorAll('#fleet-rows tr[data-status="synchronised"]').length === 40`, time.Minute)
	waiting := eval[int](t, b, `document.querySelectorAll('#fleet-rows tr[id^="host-silent"] [data-field=status][value=checking]').length`)
	t.Logf("40 live rows populated %v after the page loaded; %d silent rows still waiting", took.Round(time.Millisecond), waiting)
	if waiting != 10 {
		t.Errorf("%d silent rows are waiting for chronyd, want 10", waiting)
	}
	if got := eval[string](t, b, `document.querySelector('#fleet-rows tr').id`); !strings.HasPrefix(got, "host-live") {
		// Synchronised rows come before the ones still checking.
		t.Errorf("first row = %s", got)
	}
	if text := eval[string](t, b, `document.getElementById('fleet-count').textContent`); text != "checking 50 hosts…" {
		t.Errorf("header = %q while 10 hosts have not answered", text)
	}
	if p := b.problemsSoFar(); len(p) > 0 {
		t.Errorf("the browser logged errors:\n%s", strings.Join(p, "\n"))
	}
}

package e2e

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestProblemsLabAtAGlance: the page read at a glance in a lab with problems, on loopback (as
// root, no Docker): a chronyd with seven sources (a falseticker, a noselect one, a server, a
// peer and a reference clock that never answer) read on its socket, a chronyd that never
// synchronises over UDP, and a host whose chronyd does not exist. The built binary serves them
// with its store, as a user runs it. Measured: each host page's height at 1280 and 360 px with
// every panel present, and its keyboard stops (issue 18's targets: 2,000 px, 5,000 px, 30);
// axe in both schemes; at 360 px the overview is a card per host, the unreachable one's reason
// whole, and the pages fit the screen.
func TestProblemsLabAtAGlance(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	// A short directory: the socket's path is in the page's head and foot, and a real one
	// (/run/chrony/chronyd.sock) is short.
	dir, err := os.MkdirTemp("", "lab")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lab, err := chronylab.StartSelectionWith(ctx, chronylab.SelectionOptions{Dir: dir, Peer: true})
	needRoot(t, err)
	t.Cleanup(func() { lab.Close() })
	unsync, err := chronylab.StartUnsynchronised(ctx, lab.Dir, "unsynchronised")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unsync.Stop() })
	if err := lab.WaitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	// A UDP port nothing listens on: the host whose chronyd does not answer.
	gone := "127.0.0.1:" + freeUDPPort(t)

	bin := buildSecondHand(t, dir)
	s := startSecondHand(t, bin, dir, "sh", "--chrony", "lab="+lab.Monitored.SocketAddress(),
		"--chrony", "unsynchronised="+unsync.UDPAddress(), "--chrony", "gone="+gone,
		"--sample", "2s", "--refresh", "5s", "--timeout", "300ms", "--retries", "0")
	// Some history: a few samples of each host, so that the charts draw.
	testkit.Eventually(t, time.Minute, "the store's first samples of lab", func() bool {
		return len(storeRows(t, s.url+"/hosts/lab/history.csv?range=1h")) >= 5
	})

	b := newBrowser(t, 1280, 1000)
	for _, host := range []string{"lab", "unsynchronised"} {
		t.Run(host, func(t *testing.T) {
			b.do(t, chromedp.Navigate(s.url+"/hosts/"+host+"/"))
			b.waitFor(t, "every panel loaded", `document.querySelectorAll('main [data-panel]').length >= 8 && !document.querySelector('main .loading') && !!document.querySelector('#panel-history [data-chart]')`, time.Minute)
			wide := eval[int](t, b, `document.documentElement.scrollHeight`)
			stops := tabStops(t, b)
			b.do(t, chromedp.EmulateViewport(360, 900))
			narrow := eval[int](t, b, `document.documentElement.scrollHeight`)
			layoutProblems(t, b, 360)
			b.do(t, chromedp.EmulateViewport(1280, 1000))
			t.Logf("%s: page height %d px at 1280 px, %d px at 360 px; %d tab stops", host, wide, narrow, stops)
			if wide > 2000 || narrow > 5000 || stops > 30 {
				t.Errorf("page height %d px at 1280 px (target 2000), %d px at 360 px (target 5000), %d tab stops (target 30)", wide, narrow, stops)
				for _, w := range []int{1280, 360} {
					b.do(t, chromedp.EmulateViewport(int64(w), 900))
					t.Logf("at %d px: %s", w, eval[string](t, b, `Array.from(document.querySelectorAll('body > *, main > *, main > * > *')).filter(e => e.offsetParent !== null || e.tagName === 'MAIN')
						.map(e => (e.id || e.tagName.toLowerCase() + '.' + e.className) + ' ' + Math.round(e.getBoundingClientRect().height)).join(', ')`))
				}
				b.do(t, chromedp.EmulateViewport(1280, 1000))
			}
			audit(t, b, "the page of "+host+" in the problems lab")
			if host == "lab" {
				eval[chromedp.Void](t, b, `document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`)
				png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				saveScreenshot(t, "screenshot-problems.png", png)
			}
		})
	}
	t.Run("overview at 1280 and 360 px with a host unreachable", func(t *testing.T) {
		b.do(t, chromedp.Navigate(s.url+"/"))
		b.waitFor(t, "gone's row to say why", `(document.getElementById('host-gone') || {dataset: {}}).dataset.status === 'unreachable'`, time.Minute)
		b.waitFor(t, "every row loaded", `!document.querySelector('#fleet-rows .pending')`, time.Minute)
		checkWideOverview(t, b)
		checkNarrowOverview(t, b)
		audit(t, b, "the overview of the problems lab")
	})
	if p := b.problemsSoFar(); len(p) > 0 {
		t.Errorf("the browser logged errors:\n%v", p)
	}
}

// freeUDPPort is a loopback UDP port that nothing listens on once it returns.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	return port
}

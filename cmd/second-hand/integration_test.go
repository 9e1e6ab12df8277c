package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylab"
)

// These tests run second-hand against real chronyd processes on loopback (pkg/chronylab) and
// compare every value a panel shows with what chronyc prints for the same chronyd.

// chronyc runs chronyc -c (CSV, full precision) -N (configured names) against d's socket.
func chronyc(t *testing.T, d *chronylab.Daemon, report string) [][]string {
	t.Helper()
	out, err := d.Chronyc(context.Background(), "-c", "-N", report)
	if err != nil {
		t.Fatal(err)
	}
	return chronylab.ParseCSV(out)
}

// consistent reads a panel between two chronyc reads until chronyd did not change in between
// (but for its volatile columns), then compares them; it fails the test if they never agree.
func consistent(t *testing.T, d *chronylab.Daemon, in *instance, panel, report string, volatile []int,
	compare func(page string, before, after [][]string) []string) {
	t.Helper()
	var last []string
	for try := 0; try < 100; try++ {
		if try > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		before := chronyc(t, d, report)
		page := fragment(t, in, panel)
		after := chronyc(t, d, report)
		if strings.Contains(page, `role="alert"`) {
			t.Fatalf("%s panel shows an error:\n%s", panel, page)
		}
		if !chronylab.EqualExcept(before, after, volatile...) {
			last = []string{fmt.Sprintf("chronyd changed between reads:\n%v\n%v", before, after)}
			continue
		}
		if last = compare(page, before, after); len(last) == 0 {
			return
		}
	}
	t.Fatalf("%s panel never matched chronyc %s:\n%s", panel, report, strings.Join(last, "\n"))
}

func checkTracking(t *testing.T, d *chronylab.Daemon, in *instance) {
	consistent(t, d, in, "tracking", "tracking", chronylab.TrackingVolatile, func(page string, before, after [][]string) []string {
		return chronylab.CompareTracking(fields(t, page), before[0], after[0])
	})
}

func checkSources(t *testing.T, d *chronylab.Daemon, in *instance) {
	consistent(t, d, in, "sources", "sources", chronylab.SourcesVolatile, func(page string, before, after [][]string) []string {
		return chronylab.CompareSources(rows(t, page), before, after)
	})
}

func checkSourceStats(t *testing.T, d *chronylab.Daemon, in *instance) {
	consistent(t, d, in, "sourcestats", "sourcestats", nil, func(page string, before, _ [][]string) []string {
		return chronylab.CompareSourceStats(rows(t, page), before)
	})
}

func checkRTC(t *testing.T, d *chronylab.Daemon, in *instance) {
	// The lab has no rtcfile (and no RTC device): chronyc says 513, the panel says how to
	// enable it, and that is not an error.
	out, _ := d.Chronyc(context.Background(), "rtcdata")
	if !strings.Contains(out, "513 RTC driver not running") {
		t.Fatalf("chronyc rtcdata = %q, want 513", out)
	}
	page := fragment(t, in, "rtc")
	if f := fields(t, page); f["rtc"] != "disabled" || strings.Contains(page, `role="alert"`) {
		t.Errorf("RTC panel = %v, want RTC tracking not enabled, and no error", f)
	}
}

// TestPanelsMatchChronyc: every value of every panel equals what chronyc prints for the same
// chronyd, over UDP and over the Unix socket.
func TestPanelsMatchChronyc(t *testing.T) {
	lab := startLab(t, chronylab.Options{PollLog2: 0, SetPoll: true})
	for _, tc := range []struct{ name, addr string }{
		{"udp", lab.Monitored.UDPAddress()},
		{"unix", lab.Monitored.SocketAddress()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := startSecondHand(t, nil, "--chrony", tc.addr)
			checkTracking(t, lab.Monitored, in)
			checkSources(t, lab.Monitored, in)
			checkSourceStats(t, lab.Monitored, in)
			checkRTC(t, lab.Monitored, in)
			// The page names the address in use.
			if _, page := fetch(t, in.url+"/"); !strings.Contains(page, ">"+tc.addr+"<") {
				t.Errorf("the page does not say it reads %s", tc.addr)
			}
		})
	}
}

// TestNotSynchronised: a chronyd whose only source never answers shows "Not synchronised".
func TestNotSynchronised(t *testing.T) {
	integration(t)
	dir := t.TempDir()
	port, err := chronylab.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	d, err := chronylab.NewDaemon(dir, "lonely", chronylab.Config{Conf: fmt.Sprintf("server 127.0.0.3 port %d iburst\n", port)})
	if err != nil {
		t.Fatal(err)
	}
	needLab(t, d.Start(context.Background()))
	t.Cleanup(func() { d.Stop() })
	in := startSecondHand(t, nil, "--chrony", d.SocketAddress())
	out := chronyc(t, d, "tracking")[0]
	if out[13] != "Not synchronised" {
		t.Fatalf("chronyc says %v", out)
	}
	page := fragment(t, in, "tracking")
	f := fields(t, page)
	if f["synchronised"] != "false" || f["leap"] != "Not synchronised" || f["ref-time"] != "0" || f["reference"] != "" {
		t.Errorf("tracking panel = %v, want not synchronised, never updated, no reference", f)
	}
	if !strings.Contains(page, ">Not synchronised<") || !strings.Contains(page, ">never<") {
		t.Errorf("the panel does not say Not synchronised and never:\n%s", page)
	}
}

var panelNames = []string{"tracking", "sources", "sourcestats", "rtc"}

// TestChronydStopsAndComesBack: with chronyd stopped every panel shows its inline error and
// the page still loads; when chronyd is back, every panel recovers by itself.
func TestChronydStopsAndComesBack(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	for _, tc := range []struct{ name, addr string }{
		{"udp", lab.Monitored.UDPAddress()},
		{"unix", lab.Monitored.SocketAddress()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := startSecondHand(t, nil, "--chrony", tc.addr, "--timeout", "200ms")
			for _, p := range panelNames {
				if page := fragment(t, in, p); strings.Contains(page, `role="alert"`) {
					t.Fatalf("%s shows an error before chronyd stopped", p)
				}
			}
			if err := lab.Monitored.Stop(); err != nil {
				t.Fatal(err)
			}
			for _, p := range panelNames {
				page := fragment(t, in, p)
				if !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "chronyd is not answering at "+tc.addr) {
					t.Errorf("%s with chronyd stopped:\n%s", p, page)
				}
			}
			if code, page := fetch(t, in.url+"/"); code != 200 || !strings.Contains(page, `id="panel-tracking"`) {
				t.Errorf("page with chronyd stopped = %d", code)
			}
			if code, _ := fetch(t, in.url+"/readyz"); code != http.StatusServiceUnavailable {
				t.Errorf("readyz with chronyd stopped = %d, want 503", code)
			}
			if err := lab.Monitored.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, p := range panelNames {
				if page := fragment(t, in, p); strings.Contains(page, `role="alert"`) {
					t.Errorf("%s did not recover after chronyd came back:\n%s", p, page)
				}
			}
			if code, _ := fetch(t, in.url+"/readyz"); code != http.StatusOK {
				t.Errorf("readyz after chronyd came back = %d, want 200", code)
			}
		})
	}
}

// TestOneFailingReport: a fake in front of a real chronyd corrupts only the source statistics;
// that panel explains the error, and the other three show chronyd's data.
func TestOneFailingReport(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	forward, err := chronytest.Forward(strings.TrimPrefix(lab.Monitored.UDPAddress(), "udp://"))
	if err != nil {
		t.Fatal(err)
	}
	fake, err := chronytest.NewUDP(func(req chronytest.Request) [][]byte {
		if req.Command == chronytest.ReqSourceStats {
			return [][]byte{[]byte("not a chronyd reply at all, but long enough to look like one")}
		}
		return forward(req)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	in := startSecondHand(t, nil, "--chrony", fake.Addr)
	for _, p := range panelNames {
		page := fragment(t, in, p)
		failing := strings.Contains(page, `role="alert"`)
		if failing != (p == "sourcestats") {
			t.Errorf("%s: error shown = %v:\n%s", p, failing, page)
		}
	}
	if page := fragment(t, in, "sourcestats"); !strings.Contains(page, "Unexpected reply from "+fake.Addr) {
		t.Errorf("sourcestats error does not explain:\n%s", page)
	}
	if f := fields(t, fragment(t, in, "tracking")); f["reference"] != "localhost" {
		t.Errorf("tracking = %v, want the real chronyd's data", f)
	}
}

// TestNoSocketFileLeftBehind: 1000 requests over the Unix socket leave one socket of ours in
// chronyd's directory while second-hand runs, and none after SIGTERM.
func TestNoSocketFileLeftBehind(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	in := startSecondHand(t, nil, "--chrony", lab.Monitored.SocketAddress())
	for i := 0; i < 1000; i++ {
		fragment(t, in, panelNames[i%len(panelNames)])
	}
	ours := func() []string {
		m, _ := filepath.Glob(filepath.Join(lab.Monitored.Dir, "second-hand.*.sock"))
		return m
	}
	if got := ours(); len(got) != 1 {
		t.Errorf("after 1000 requests: %v, want one socket of ours", got)
	}
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("second-hand exited with %v after SIGTERM, want 0", err)
		}
		in.done <- err // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("second-hand did not exit after SIGTERM")
	}
	if got := ours(); len(got) != 0 {
		t.Errorf("after SIGTERM: %v left behind", got)
	}
	if _, err := os.Stat(lab.Monitored.Socket()); err != nil {
		t.Errorf("chronyd's own socket is gone: %v", err)
	}
}

// asNobody runs a command as an unprivileged user with no groups.
var asNobody = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}

// TestUnprivileged: a user with no rights gets all four panels over UDP, and over the socket a
// permission error that says what to do.
func TestUnprivileged(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	in := startSecondHand(t, asNobody, "--chrony", lab.Monitored.UDPAddress())
	for _, p := range panelNames {
		if page := fragment(t, in, p); strings.Contains(page, `role="alert"`) {
			t.Errorf("%s as nobody over UDP:\n%s", p, page)
		}
	}
	in = startSecondHand(t, asNobody, "--chrony", lab.Monitored.SocketAddress())
	page := fragment(t, in, "tracking")
	if !strings.Contains(page, "Permission denied on chronyd&#39;s socket") || !strings.Contains(page, "udp://127.0.0.1:323") {
		t.Errorf("tracking as nobody over the socket:\n%s", page)
	}
	if m, _ := filepath.Glob(filepath.Join(lab.Monitored.Dir, "second-hand.*")); len(m) != 0 {
		t.Errorf("left %v", m)
	}
}

// TestAutoFindsUDPUnprivileged runs, in a network namespace of its own, a chronyd on the
// default command port 323 and second-hand as nobody with the default --chrony auto: with no
// socket it may use, auto must find chronyd over UDP and say so.
func TestAutoFindsUDPUnprivileged(t *testing.T) {
	integration(t)
	if os.Geteuid() != 0 {
		needLab(t, chronylab.ErrNotRoot)
	}
	if _, err := os.Stat("/run/chrony/chronyd.sock"); err == nil {
		t.Log("a system chronyd socket exists; nobody cannot use it, so auto must skip it")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := execCommand("unshare", "--net", "--", exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "SECOND_HAND_HELPER=auto-udp")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper in a network namespace: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

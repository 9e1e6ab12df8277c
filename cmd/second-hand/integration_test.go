package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// These tests run second-hand against real chronyd processes on loopback (pkg/chronylab) and
// compare every value a panel shows with what chronyc prints for the same chronyd.

// chronyc runs chronyc -c (CSV, full precision) -N (configured names) against d's socket.
func chronyc(t *testing.T, d *chronylab.Daemon, report string) [][]string {
	t.Helper()
	rows, err := readChronyc(d, report)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readChronyc(d *chronylab.Daemon, report string) ([][]string, error) {
	out, err := d.Chronyc(context.Background(), "-c", "-N", report)
	return chronylab.ParseCSV(out), err
}

// consistent reads a panel (at base: the instance's URL, or a host's hosts/NAME) between two
// chronyc reads until chronyd did not change in between (but for its volatile columns), then
// compares them; it fails the test if they never agree.
func consistent(t *testing.T, d *chronylab.Daemon, base, panel, report string, volatile []int,
	compare func(page string, before, after [][]string) []string) {
	t.Helper()
	diffs := chronylab.Consistent(100,
		func() ([][]string, error) { return readChronyc(d, report) },
		func() (string, error) {
			page := fragment(t, base, panel)
			if strings.Contains(page, `data-failed="`) {
				return "", fmt.Errorf("%s panel shows an error:\n%s", panel, page)
			}
			return page, nil
		},
		volatile, compare)
	if len(diffs) > 0 {
		t.Fatalf("%s panel never matched chronyc %s:\n%s", panel, report, strings.Join(diffs, "\n"))
	}
}

// checkPanels compares the four panels of the host at base with chronyc for d.
func checkPanels(t *testing.T, d *chronylab.Daemon, base string) {
	t.Helper()
	consistent(t, d, base, "tracking", "tracking", chronylab.TrackingVolatile, func(page string, before, after [][]string) []string {
		return chronylab.CompareTracking(testkit.Fields(t, page), before[0], after[0])
	})
	consistent(t, d, base, "sources", "sources", chronylab.SourcesVolatile, func(page string, before, after [][]string) []string {
		return chronylab.CompareSources(testkit.Rows(t, page), before, after)
	})
	consistent(t, d, base, "sourcestats", "sourcestats", chronylab.SourceStatsVolatile, func(page string, before, after [][]string) []string {
		return chronylab.CompareSourceStats(testkit.Rows(t, page), before, after)
	})
	// The lab has no rtcfile (and no RTC device): chronyc says 513, the panel says how to
	// enable it, and that is not an error.
	out, _ := d.Chronyc(context.Background(), "rtcdata")
	if !strings.Contains(out, "513 RTC driver not running") {
		t.Fatalf("chronyc rtcdata = %q, want 513", out)
	}
	page := fragment(t, base, "rtc")
	if f := testkit.Fields(t, page); f["rtc"] != "disabled" || strings.Contains(page, `data-failed="`) {
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
			in := start(t, "--chrony", tc.addr)
			checkPanels(t, lab.Monitored, in.url)
			// The page names the address in use.
			if _, page := fetch(t, in.url+"/"); !strings.Contains(page, ">"+tc.addr+"<") {
				t.Errorf("the page does not say it reads %s", tc.addr)
			}
			// With one host, its page is also at hosts/NAME/, and so are its fragments.
			name := "127.0.0.1"
			if tc.name == "unix" {
				name = "local"
			}
			if code, page := fetch(t, in.url+"/hosts/"+name+"/"); code != 200 || !strings.Contains(page, `hx-get="panels/tracking"`) {
				t.Errorf("hosts/%s/ = %d", name, code)
			}
			checkPanels(t, lab.Monitored, in.url+"/hosts/"+name)
		})
	}
}

// lonely starts a chronyd whose only source never answers: not synchronised.
func lonely(t *testing.T, dir string) *chronylab.Daemon {
	t.Helper()
	port, err := chronylab.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := chronylab.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	d, err := chronylab.NewDaemon(dir, "lonely", chronylab.Config{Conf: fmt.Sprintf("server 127.0.0.3 port %d iburst\n", port), CmdPort: cmd})
	if err != nil {
		t.Fatal(err)
	}
	needLab(t, d.Start(context.Background()))
	t.Cleanup(func() { d.Stop() })
	return d
}

// TestNotSynchronised: a chronyd whose only source never answers shows "Not synchronised".
func TestNotSynchronised(t *testing.T) {
	integration(t)
	d := lonely(t, t.TempDir())
	in := start(t, "--chrony", d.SocketAddress())
	out := chronyc(t, d, "tracking")[0]
	if out[13] != "Not synchronised" {
		t.Fatalf("chronyc says %v", out)
	}
	page := fragment(t, in.url, "tracking")
	f := testkit.Fields(t, page)
	if f["synchronised"] != "false" || f["leap"] != "Not synchronised" || f["ref-time"] != "0" || f["reference"] != "" {
		t.Errorf("tracking panel = %v, want not synchronised, never updated, no reference", f)
	}
	if !strings.Contains(page, ">Not synchronised<") || !strings.Contains(page, ">never<") {
		t.Errorf("the panel does not say Not synchronised and never:\n%s", page)
	}
	// The diagnosis says why: its only source has never answered (a typo, a port, a firewall).
	diag := diagnosis(t, in.url+"/diagnosis.json")
	if i, ok := diag.finding("no-source-reachable"); !ok || diag.State != "failing" || !strings.Contains(diag.Findings[i].Text, "Not synchronised: none of its 1 source answers") ||
		!strings.Contains(diag.Findings[i].Evidence[0].Value, "never answered") {
		t.Errorf("the diagnosis of a chronyd whose only source never answered: %s %+v", diag.State, diag.Findings)
	}
}

var panelNames = []string{"tracking", "sources", "sourcestats", "rtc"}

// TestThreeHosts: one second-hand watches three real chronyd: one synchronised to the lab's
// upstream, one that is not synchronised, and one synchronised that is stopped mid-test. Each
// overview row and each host page agrees with chronyc for its chronyd; the stopped one shows its
// error in its row and panels only, and comes back.
func TestThreeHosts(t *testing.T) {
	lab := startLab(t, chronylab.Options{PollLog2: 0, SetPoll: true})
	unsync := lonely(t, lab.Dir)
	cmdPort, err := chronylab.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	second, err := chronylab.NewDaemon(lab.Dir, "second", chronylab.Config{CmdPort: cmdPort,
		Conf: fmt.Sprintf("server 127.0.0.1 port %d iburst minpoll 0 maxpoll 0\n", lab.Upstream.NTPPort)})
	if err != nil {
		t.Fatal(err)
	}
	needLab(t, second.Start(context.Background()))
	t.Cleanup(func() { second.Stop() })
	if err := chronylab.WaitSynchronised(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	daemons := map[string]*chronylab.Daemon{"synced": lab.Monitored, "unsync": unsync, "second": second}
	in := start(t, "--chrony", "synced="+lab.Monitored.UDPAddress(), "--chrony", "unsync="+unsync.SocketAddress(),
		"--chrony", "second="+second.UDPAddress(), "--timeout", "200ms", "--retries", "1")

	// The overview: one row per host, each its own fragment, and the page links each host.
	code, page := fetch(t, in.url+"/")
	if code != 200 || strings.Count(page, `data-panel="summary"`) != 3 {
		t.Fatalf("overview = %d with %d rows:\n%s", code, strings.Count(page, `data-panel="summary"`), page)
	}
	for name, d := range daemons {
		if !strings.Contains(page, `hx-get="hosts/`+name+`/summary"`) || !strings.Contains(page, `href="hosts/`+name+`/"`) {
			t.Errorf("the overview has no row for %s", name)
		}
		checkSummary(t, d, in, name)
		checkPanels(t, d, in.url+"/hosts/"+name)
		code, page := fetch(t, in.url+"/hosts/"+name+"/")
		if code != 200 || !strings.Contains(page, `<a href="../../">all hosts</a>`) || !strings.Contains(page, `<strong aria-current="page">`+name+`</strong>`) {
			t.Errorf("hosts/%s/ = %d, or it does not link the overview and mark itself", name, code)
		}
		for other := range daemons {
			if other != name && !strings.Contains(page, `href="../../hosts/`+other+`/"`) {
				t.Errorf("hosts/%s/ does not link %s", name, other)
			}
		}
	}
	// The root's fragments belong to a single host; with three, they are not found.
	if code, page := fetch(t, in.url+"/panels/tracking"); code != http.StatusNotFound || !strings.Contains(page, `href="../hosts/unsync/"`) {
		t.Errorf("/panels/tracking with three hosts = %d, want 404 listing the hosts:\n%s", code, page)
	}
	if code, page := fetch(t, in.url+"/hosts/nope/"); code != http.StatusNotFound || !strings.Contains(page, "no host named") ||
		!strings.Contains(page, `href="../../hosts/second/"`) {
		t.Errorf("an unknown host = %d, want 404 listing the hosts:\n%s", code, page)
	}
	if code, _ := fetch(t, in.url+"/readyz"); code != 200 {
		t.Errorf("readyz with all three answering = %d", code)
	}

	// One chronyd stops: its row and its panels say so; the others carry on.
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	row := until(t, in.url+"/hosts/second/summary", "the stopped host's row to say so", func(row string) bool {
		return testkit.Fields(t, row)["status"] == "unreachable"
	})
	if !strings.Contains(row, "chronyd is not answering at "+second.UDPAddress()) {
		t.Errorf("the stopped host's row does not say why:\n%s", row)
	}
	for _, p := range panelNames {
		until(t, in.url+"/hosts/second/panels/"+p, "the stopped host's "+p+" panel to show its error", alert)
	}
	for _, name := range []string{"synced", "unsync"} {
		checkSummary(t, daemons[name], in, name)
		for _, p := range panelNames {
			if page := fragment(t, in.url+"/hosts/"+name, p); alert(page) {
				t.Errorf("%s's %s panel shows an error while another host is down", name, p)
			}
		}
	}
	code, body := fetch(t, in.url+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "second: not ready") || !strings.Contains(body, "synced: ready") {
		t.Errorf("readyz with one host down = %d:\n%s", code, body)
	}
	if code, _ := fetch(t, in.url+"/readyz?host=synced"); code != 200 {
		t.Errorf("readyz?host=synced = %d, want 200", code)
	}
	if code, _ := fetch(t, in.url+"/readyz?host=nope"); code != http.StatusNotFound {
		t.Errorf("readyz?host=nope = %d, want 404", code)
	}

	// It comes back by itself.
	needLab(t, second.Start(context.Background()))
	if err := chronylab.WaitSynchronised(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	checkSummary(t, second, in, "second")
}

// fresh fetches a fragment read from chronyd now, failing the test unless it answers 200.
func fresh(t *testing.T, url string) string {
	t.Helper()
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	code, body := fetch(t, url+sep+"fresh=1")
	if code != http.StatusOK {
		t.Fatalf("%s = %d", url, code)
	}
	return body
}

// checkSummary compares a host's overview row with chronyc's tracking and sources.
func checkSummary(t *testing.T, d *chronylab.Daemon, in *instance, name string) {
	t.Helper()
	diffs := chronylab.Consistent(100,
		func() ([][]string, error) {
			tr, err := readChronyc(d, "tracking")
			if err != nil {
				return nil, err
			}
			src, err := readChronyc(d, "sources")
			// The sources follow the tracking line; their volatile column is the age.
			for _, s := range src {
				if len(s) == 10 {
					s[6] = ""
				}
			}
			return append(tr, src...), err
		},
		func() (string, error) { return fresh(t, in.url+"/hosts/"+name+"/summary"), nil },
		chronylab.TrackingVolatile,
		func(row string, before, after [][]string) []string {
			return chronylab.CompareSummary(testkit.Fields(t, row), before[0], after[0], before[1:])
		})
	if len(diffs) > 0 {
		t.Fatalf("%s's overview row never matched chronyc:\n%s", name, strings.Join(diffs, "\n"))
	}
}

// TestChronydStopsAndComesBack: with chronyd stopped the diagnosis says so once, every panel
// keeps its last values, greyed, with a one-line inline error, and the page still loads; when
// chronyd is back, every panel recovers by itself, fresh.
func TestChronydStopsAndComesBack(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	for _, tc := range []struct{ name, addr string }{
		{"udp", lab.Monitored.UDPAddress()},
		{"unix", lab.Monitored.SocketAddress()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := start(t, "--chrony", tc.addr, "--timeout", "200ms", "--sample", "1s")
			for _, p := range panelNames {
				if page := fragment(t, in.url, p); strings.Contains(page, `data-failed="`) {
					t.Fatalf("%s shows an error before chronyd stopped", p)
				}
			}
			// A restart shows as every source's statistics starting over: the history records
			// the upstream's with more samples than chronyd keeps at least (minsamples, 6) first.
			testkit.Eventually(t, time.Minute, "the history to record 8 samples of the upstream", func() bool {
				for _, r := range csvRows(t, in.url+"/history.csv?range=1h") {
					if n, _ := strconv.Atoi(r["samples"]); r["source_name"] == "localhost" && n >= 8 {
						return true
					}
				}
				return false
			})
			if err := lab.Monitored.Stop(); err != nil {
				t.Fatal(err)
			}
			// One banner (the diagnosis block), and each panel keeps its last values, greyed,
			// with their age and one line saying what its request met: no alert of its own.
			for _, p := range panelNames {
				page := until(t, in.url+"/panels/"+p, p+" to show its error", alert)
				if !strings.Contains(page, `data-failed="not-answering"`) ||
					!strings.Contains(page, " is-stale") || !strings.Contains(page, "showing the values read at") ||
					!strings.Contains(page, `<div class="stale-values">`) || strings.Contains(page, `role="alert"`) {
					t.Errorf("%s with chronyd stopped:\n%s", p, page)
				}
			}
			if f := testkit.Fields(t, fragment(t, in.url, "tracking")); f["stratum"] == "" || f["reference"] == "" {
				t.Errorf("the tracking panel lost its last values: %v", f)
			}
			if f := testkit.Fields(t, fragment(t, in.url, "sources")); f["name"] == "" {
				t.Errorf("the sources panel lost its last values: %v", f)
			}
			if code, page := fetch(t, in.url+"/"); code != 200 || !strings.Contains(page, `id="panel-tracking"`) {
				t.Errorf("page with chronyd stopped = %d", code)
			}
			if code, body := fetch(t, in.url+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "  diagnosis: failing\n  - failing chronyd-unreachable") {
				t.Errorf("readyz with chronyd stopped = %d, want 503 and the diagnosis:\n%s", code, body)
			}
			// The diagnosis block says chronyd is silent, since when the history recorded it.
			stopped := untilDiagnosis(t, in.url+"/diagnosis.json", "the silence in the history", func(d diagnosisJSON) bool {
				return len(d.Findings) > 0 && d.Findings[0].ID == "chronyd-unreachable" && d.Findings[0].Since.From == "history"
			})
			if stopped.State != "failing" || !strings.Contains(stopped.Findings[0].Text, "chronyd is not answering at "+tc.addr) {
				t.Errorf("the diagnosis of a stopped chronyd: %+v", stopped)
			}
			if page := fragment(t, in.url, "diagnosis"); !strings.Contains(page, `data-state="failing"`) || !strings.Contains(page, `data-finding="chronyd-unreachable"`) {
				t.Errorf("the diagnosis block with chronyd stopped:\n%s", page)
			}
			if err := lab.Monitored.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, p := range panelNames {
				page := until(t, in.url+"/panels/"+p, p+" to recover after chronyd came back", func(page string) bool { return !alert(page) })
				if strings.Contains(page, "is-stale") || strings.Contains(page, "stale-values") {
					t.Errorf("%s is still stale after chronyd came back:\n%s", p, page)
				}
			}
			if code, _ := fetch(t, in.url+"/readyz"); code != http.StatusOK {
				t.Errorf("readyz after chronyd came back = %d, want 200", code)
			}
			// The history saw the restart: every source's statistics started over.
			back := untilDiagnosis(t, in.url+"/diagnosis.json", "the restart in the diagnosis", func(d diagnosisJSON) bool {
				_, ok := d.finding("restarted")
				return ok
			})
			if _, ok := back.finding("chronyd-unreachable"); ok {
				t.Errorf("after the restart: %s", back.ids())
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
	fake := chronytest.StartUDP(t, func(req chronytest.Request) [][]byte {
		if req.Command == chronytest.ReqSourceStats {
			return [][]byte{[]byte("not a chronyd reply at all, but long enough to look like one")}
		}
		return forward(req)
	})
	in := start(t, "--chrony", fake.Addr)
	for _, p := range panelNames {
		page := fragment(t, in.url, p)
		failing := strings.Contains(page, `data-failed="`)
		if failing != (p == "sourcestats") {
			t.Errorf("%s: error shown = %v:\n%s", p, failing, page)
		}
	}
	if page := fragment(t, in.url, "sourcestats"); !strings.Contains(page, "Unexpected reply from "+fake.Addr) {
		t.Errorf("sourcestats error does not explain:\n%s", page)
	}
	if f := testkit.Fields(t, fragment(t, in.url, "tracking")); f["reference"] != "localhost" {
		t.Errorf("tracking = %v, want the real chronyd's data", f)
	}
}

// TestNoSocketFileLeftBehind: 1000 requests over the Unix socket leave one socket of ours in
// chronyd's directory while second-hand runs, and none after a real SIGTERM.
func TestNoSocketFileLeftBehind(t *testing.T) {
	lab := startLab(t, chronylab.Options{})
	in := startProcess(t, nil, "--chrony", lab.Monitored.SocketAddress())
	for i := 0; i < 1000; i++ {
		fragment(t, in.url, panelNames[i%len(panelNames)])
	}
	ours := func() []string {
		m, _ := filepath.Glob(filepath.Join(lab.Monitored.Dir, "second-hand.*.sock"))
		return m
	}
	if got := ours(); len(got) != 1 {
		t.Errorf("after 1000 requests: %v, want one socket of ours", got)
	}
	if err := in.exit(t); err != nil {
		t.Errorf("second-hand exited with %v after SIGTERM, want 0", err)
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
	in := startProcess(t, asNobody, "--chrony", lab.Monitored.UDPAddress())
	for _, p := range panelNames {
		if page := fragment(t, in.url, p); strings.Contains(page, `data-failed="`) {
			t.Errorf("%s as nobody over UDP:\n%s", p, page)
		}
	}
	in = startProcess(t, asNobody, "--chrony", lab.Monitored.SocketAddress())
	// Every report is refused alike: the panels say so in a line, the diagnosis what to do.
	page := fragment(t, in.url, "tracking")
	if !strings.Contains(page, "permission denied") || !strings.Contains(page, `data-failed="not-answering"`) {
		t.Errorf("tracking as nobody over the socket:\n%s", page)
	}
	if page := fragment(t, in.url, "diagnosis"); !strings.Contains(page, "Permission denied on chronyd&#39;s socket") || !strings.Contains(page, "udp://127.0.0.1:323") {
		t.Errorf("the diagnosis as nobody over the socket:\n%s", page)
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

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// startSelectionLab runs the lab whose sources show every reason to use a source or not: a
// good one, an NTS one, a falseticker, a noselect one, a dead one and a reference clock.
func startSelectionLab(t *testing.T) *chronylab.SelectionLab {
	t.Helper()
	integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lab, err := chronylab.StartSelection(ctx, "", "")
	needLab(t, err)
	t.Cleanup(func() { lab.Close() })
	if err := lab.WaitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	return lab
}

// chronycRaw is chronyc -c for d without -N: the selection lab's sources are configured by
// address.
func chronycRaw(d *chronylab.Daemon, args ...string) ([][]string, error) {
	out, err := d.Chronyc(context.Background(), append([]string{"-c"}, args...)...)
	return chronylab.ParseCSV(out), err
}

// detailReports reads, with chronyc, what a source's detail shows: its selectdata, ntpdata
// and authdata rows, as one table (rows 0, 1 and 2; an empty row where chronyc has none).
func detailReports(d *chronylab.Daemon, key string) ([][]string, error) {
	sel, err := chronycRaw(d, "selectdata", "-a")
	if err != nil {
		return nil, err
	}
	out := [][]string{chronylab.RowOf(sel, 1, key), nil, nil}
	if key == "GPS" {
		return out, nil
	}
	ntp, err := chronycRaw(d, "ntpdata")
	if err != nil {
		return nil, err
	}
	auth, err := chronycRaw(d, "authdata")
	if err != nil {
		return nil, err
	}
	out[1], out[2] = chronylab.RowOf(ntp, 0, key), chronylab.RowOf(auth, 0, key)
	return out, nil
}

// TestSourceDetailsMatchChronyc: over the socket, every field of each source's detail equals
// chronyc's selectdata, ntpdata and authdata read at the same moment, and the verdict gives
// the reason: used, NTS-authenticated, a falseticker, noselect, unreachable, a reference clock
// with no samples.
func TestSourceDetailsMatchChronyc(t *testing.T) {
	lab := startSelectionLab(t)
	in := start(t, "--chrony", lab.Monitored.SocketAddress(), "--timeout", "300ms")
	for _, tc := range []struct {
		key     string
		verdict []string // any of these
	}{
		// Selected or combined, or kept apart by combinelimit, as chronyd's selection goes.
		{lab.GoodAddr, []string{"Used for synchronisation", "too large to be combined"}},
		{lab.NTSAddr, []string{"Used for synchronisation", "too large to be combined"}},
		{lab.FalseAddr, []string{"falseticker"}},
		{lab.NoSelectAddr, []string{"noselect"}},
		{lab.DeadAddr, []string{"unreachable: it has never answered"}},
		{"GPS", []string{"no sample from the reference clock"}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			var page string
			diffs := chronylab.Consistent(50,
				func() ([][]string, error) { return detailReports(lab.Monitored, tc.key) },
				func() (string, error) {
					page = fresh(t, in.url+"/sources/"+tc.key)
					if alert(page) {
						return "", fmt.Errorf("the detail shows an error:\n%s", page)
					}
					return page, nil
				},
				// The time since the last key exchange grows by itself.
				[]int{5},
				func(page string, before, after [][]string) []string {
					f := testkit.Fields(t, page)
					d := chronylab.CompareSelection(f, before[0])
					if tc.key != "GPS" {
						d = append(d, chronylab.CompareNTPData(f, before[1])...)
						d = append(d, chronylab.CompareAuthData(f, before[2], after[2])...)
					}
					return d
				})
			if len(diffs) > 0 {
				t.Fatalf("the detail of %s never matched chronyc:\n%s", tc.key, strings.Join(diffs, "\n"))
			}
			verdict := testkit.Fields(t, page)["verdict"]
			ok := false
			for _, v := range tc.verdict {
				ok = ok || strings.Contains(verdict, v)
			}
			if !ok {
				t.Errorf("verdict %q, want it to say %q", verdict, tc.verdict)
			}
		})
	}
	// The NTS source shows its mechanism and cookies.
	f := testkit.Fields(t, fresh(t, in.url+"/sources/"+lab.NTSAddr))
	if f["auth-mode"] != "NTS" || f["auth-cookies"] == "0" || f["ntp-authenticated"] != "Yes" {
		t.Errorf("the NTS source: mode %q, cookies %q, authenticated %q", f["auth-mode"], f["auth-cookies"], f["ntp-authenticated"])
	}
	// An address chronyd does not have is said so, not an error.
	if page := fresh(t, in.url+"/sources/127.0.0.99"); alert(page) || !strings.Contains(page, "has no source 127.0.0.99") {
		t.Errorf("an unknown source:\n%s", page)
	}
	// The access note and /readyz say every report can be read.
	if _, page := fetch(t, in.url+"/access"); !strings.Contains(page, "reads every report") {
		t.Errorf("access note over the socket:\n%s", page)
	}
	// The diagnosis of the same chronyd: the falseticker, the server that never answered, the
	// reference clock with no sample, and the noselect source as information; three sources
	// vote, so no warning of redundancy; NTS works.
	d := diagnosis(t, in.url+"/diagnosis.json")
	if got := d.ids(); got != "falseticker:warning source-never-answered:warning refclock-no-samples:warning noselect:info" || d.State != "warning" {
		t.Errorf("the selection lab's diagnosis over the socket: %s %s", d.State, got)
	}
	if i, _ := d.finding("falseticker"); i < 0 || !strings.Contains(d.Findings[i].Text, lab.FalseAddr) {
		t.Errorf("falseticker: %+v", d.Findings)
	}
	if len(d.Unchecked) != 0 {
		t.Errorf("over the socket, not checked: %+v", d.Unchecked)
	}
}

// TestServerAndActivityMatchChronyc: the server panel of a chronyd that serves NTP (the lab's
// good upstream, which the monitored chronyd polls) equals chronyc serverstats and clients, and
// the sources panel's head equals chronyc activity.
func TestServerAndActivityMatchChronyc(t *testing.T) {
	lab := startSelectionLab(t)
	in := start(t, "--chrony", "up="+lab.Good.SocketAddress(), "--chrony", "mon="+lab.Monitored.SocketAddress())
	diffs := chronylab.Consistent(50,
		func() ([][]string, error) {
			stats, err := chronycRaw(lab.Good, "serverstats")
			if err != nil {
				return nil, err
			}
			clients, err := chronycRaw(lab.Good, "clients")
			return append(stats, clients...), err
		},
		func() (string, error) { return fresh(t, in.url+"/hosts/up/panels/server"), nil },
		append([]int{2}, chronylab.ClientsVolatile...),
		func(page string, before, after [][]string) []string {
			d := chronylab.CompareServerStats(testkit.Fields(t, page), before[0], after[0])
			return append(d, chronylab.CompareClients(testkit.Rows(t, page), before[1:], after[1:])...)
		})
	if len(diffs) > 0 {
		t.Fatalf("the server panel never matched chronyc:\n%s", strings.Join(diffs, "\n"))
	}
	page := fresh(t, in.url+"/hosts/up/panels/server")
	if f := testkit.Fields(t, page); f["server-ntp"] == "0" || f["client"] != lab.Monitored.Name && f["client"] == "" {
		t.Errorf("the upstream serves the monitored chronyd, yet: %v", f)
	}
	// The monitored chronyd serves nobody: one line says so.
	if f := testkit.Fields(t, fresh(t, in.url+"/hosts/mon/panels/server")); f["server-idle"] == "" {
		t.Errorf("the monitored chronyd serves no NTP, yet the panel shows %v", f)
	}
	act, err := chronycRaw(lab.Monitored, "activity")
	if err != nil || len(act) != 1 || len(act[0]) != 5 {
		t.Fatalf("chronyc activity: %v %v", act, err)
	}
	f := testkit.Fields(t, fresh(t, in.url+"/hosts/mon/panels/sources"))
	if f["activity-online"] != act[0][0] || f["activity-offline"] != act[0][1] {
		t.Errorf("activity: panel %s online %s offline, chronyc %v", f["activity-online"], f["activity-offline"], act[0])
	}
}

// TestSocketOnlyOverUDP: over UDP, each part of a detail that needs the socket says so and how
// to get it (no bare "Not authorised"), the server panel too, and the four panels are whole;
// the footer note and /readyz list what cannot be read.
func TestSocketOnlyOverUDP(t *testing.T) {
	lab := startSelectionLab(t)
	in := start(t, "--chrony", lab.Monitored.UDPAddress())
	page := fresh(t, in.url+"/sources/"+lab.GoodAddr)
	if n := strings.Count(page, `data-access="socket-only"`); n != 3 || alert(page) || strings.Contains(page, "Not authorised") {
		t.Errorf("detail over UDP: %d access notes (want 3: selection, NTP, authentication), alert %v:\n%s", n, alert(page), page)
	}
	if f := testkit.Fields(t, page); !strings.Contains(f["verdict"], "Used for synchronisation") && !strings.Contains(f["verdict"], "acceptable, but not combined") {
		t.Errorf("over UDP the verdict comes from the sources report: %q", f["verdict"])
	}
	for _, want := range []string{"opencommands", "unix:///run/chrony/chronyd.sock", "user:"} {
		if !strings.Contains(page, want) {
			t.Errorf("the access note does not say %q", want)
		}
	}
	if page := fresh(t, in.url+"/panels/server"); !strings.Contains(page, `data-access="socket-only"`) || alert(page) {
		t.Errorf("server panel over UDP:\n%s", page)
	}
	for _, panel := range []string{"tracking", "sources", "sourcestats", "rtc"} {
		if page := fresh(t, in.url+"/panels/"+panel); alert(page) {
			t.Errorf("%s panel over UDP shows an error:\n%s", panel, page)
		}
	}
	_, note := fetch(t, in.url+"/access")
	for _, report := range []string{"selectdata", "ntpdata", "authdata", "serverstats", "clients"} {
		if !strings.Contains(note, report) {
			t.Errorf("the access note does not list %s:\n%s", report, note)
		}
	}
	code, ready := fetch(t, in.url+"/readyz")
	if code != 200 || !strings.Contains(ready, "cannot read selectdata, ntpdata, authdata, serverstats, clients") {
		t.Errorf("/readyz = %d:\n%s", code, ready)
	}
	// Over UDP the diagnosis finds the falseticker from the sources report, cannot tell the
	// noselect source from an unusable one, and says which reports it could not check.
	d := diagnosis(t, in.url+"/diagnosis.json")
	if _, ok := d.finding("falseticker"); !ok {
		t.Errorf("over UDP: %s", d.ids())
	}
	if _, ok := d.finding("noselect"); ok {
		t.Errorf("over UDP the noselect option cannot be known: %s", d.ids())
	}
	socketOnly := 0
	for _, u := range d.Unchecked {
		if u.SocketOnly {
			socketOnly++
		}
	}
	if socketOnly != 2 {
		t.Errorf("not checked over UDP: %+v, want selectdata and serverstats, socket-only", d.Unchecked)
	}
}

package diagnose

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/monitor"
)

// overUDP answers as the captured chronyd 4.3 of the standard lab (synchronised to its
// upstream, with a dead server, a dead peer and a reference clock with no device), and refuses
// the reports chronyd gives only on its socket, as it does over UDP.
func overUDP(req chronytest.Request) [][]byte {
	switch req.Command {
	case 44: // activity
		return [][]byte{chronytest.Reply(req, 12, 0, make([]byte, 20))}
	case 54, 57, 67, 68, 69: // serverstats, ntpdata, authdata, clients, selectdata
		return [][]byte{chronytest.Reply(req, 1, uint16(chrony.StatusUnauth), nil)}
	}
	return chronytest.Replay(req)
}

// captured is a moment just after the captured tracking report's clock update.
var captured = time.Unix(1795638190, 0)

func capturedNow() time.Time { return captured }

func gatherer(t *testing.T, h chronytest.Handler, o chrony.Options) (*monitor.Monitor, *chronytest.Server) {
	t.Helper()
	fake := chronytest.StartUDP(t, h)
	a, err := chrony.ParseAddress(fake.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := chrony.New(a, o)
	if err != nil {
		t.Fatal(err)
	}
	m := monitor.New("lab", c, monitor.Config{Reuse: time.Minute, Now: capturedNow})
	t.Cleanup(func() { m.Close() })
	return m, fake
}

// TestGatherFromAMonitor: the diagnosis of the standard lab read over UDP, through a monitor;
// a second diagnosis within the reuse window sends chronyd nothing.
func TestGatherFromAMonitor(t *testing.T) {
	m, fake := gatherer(t, overUDP, chrony.DefaultOptions())
	g := Gatherer{History: func(string) History { return History{Why: "history is off"} }, Now: capturedNow}
	d := g.Diagnose(context.Background(), m, monitor.Want{})
	checkDiagnosis(t, d, expect{state: Warning, ids: []string{"no-redundancy", "source-never-answered", "refclock-no-samples"},
		text: []string{"Only one usable source (localhost (127.0.0.1))", "127.0.0.3, 127.0.0.5 have never answered"},
		un:   []string{"why each source is or is not used (selectdata)", "serving time (serverstats)"}})
	for _, u := range d.Unchecked {
		if !u.SocketOnly || !strings.Contains(u.Fix, "opencommands") {
			t.Errorf("%+v: want socket-only, with the fix", u)
		}
	}
	before := len(fake.Requests())
	again := g.Diagnose(context.Background(), m, monitor.Want{})
	if n := len(fake.Requests()) - before; n != 0 {
		t.Errorf("a second diagnosis in the reuse window sent %d requests", n)
	}
	if again.State != d.State || len(again.Findings) != len(d.Findings) {
		t.Errorf("the second diagnosis differs: %v %v", again.State, again.Findings)
	}
	// Nothing is asked of the sources' ntpdata or authdata over UDP: chronyd refused selectdata.
	for _, r := range fake.Requests() {
		if r.Command == 57 || r.Command == 67 {
			t.Errorf("asked for command %d over UDP after selectdata was refused", r.Command)
		}
	}
}

// TestGatherSilentChronyd: a chronyd that does not answer tracking is asked nothing else, and
// a caller that stops waiting gets an unknown diagnosis.
func TestGatherSilentChronyd(t *testing.T) {
	m, fake := gatherer(t, chronytest.Silent, chrony.Options{Timeout: 20 * time.Millisecond})
	// A caller whose deadline has passed: the read goes on without it.
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	g := Gatherer{Now: capturedNow}
	if d := g.Diagnose(ctx, m, monitor.Want{}); d.State != Unknown {
		t.Errorf("state while waiting = %v, want unknown", d.State)
	}
	d := g.Diagnose(context.Background(), m, monitor.Want{})
	if d.State != Failing || !d.Has(IDChronydUnreachable) {
		t.Errorf("diagnosis of a silent chronyd = %v %v", d.State, d.Findings)
	}
	// A page's request whose budget for chronyd ends: chronyd did not answer in it, a failure.
	bctx, bcancel := chrony.WithBudget(context.Background(), time.Millisecond)
	defer bcancel()
	if d := g.Diagnose(bctx, m, monitor.Want{Fresh: true}); d.State != Failing || !strings.Contains(d.Findings[0].Text, "did not answer in 1 ms") {
		t.Errorf("diagnosis when the budget ended = %v %v", d.State, d.Findings)
	}
	for _, r := range fake.Requests() {
		if r.Command != chronytest.ReqTracking {
			t.Errorf("asked a silent chronyd for command %d", r.Command)
		}
	}
}

// TestLastNeedsNoRead: a page's first title comes from what was read, without asking chronyd.
func TestLastNeedsNoRead(t *testing.T) {
	m, fake := gatherer(t, overUDP, chrony.DefaultOptions())
	g := Gatherer{Now: capturedNow}
	if _, ok := g.Last(m); ok || len(fake.Requests()) != 0 {
		t.Fatalf("Last before any read: ok %v, %d requests", ok, len(fake.Requests()))
	}
	g.Diagnose(context.Background(), m, monitor.Want{})
	n := len(fake.Requests())
	d, ok := g.Last(m)
	if !ok || d.State != Warning || len(fake.Requests()) != n {
		t.Errorf("Last = %v %v with %d more requests", d.State, ok, len(fake.Requests())-n)
	}
}

// BenchmarkDiagnoseFromReuseWindow is the cost of one host's diagnosis when its reports are in
// the reuse window (as for every viewer but the first): the gathering through the monitor and
// the judgement, with the history's moments of four sources.
func BenchmarkDiagnoseFromReuseWindow(b *testing.B) {
	fake, err := chronytest.NewUDP(overUDP)
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	a, _ := chrony.ParseAddress(fake.Addr)
	c, err := chrony.New(a, chrony.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	m := monitor.New("lab", c, monitor.Config{Reuse: time.Hour, Now: capturedNow})
	defer m.Close()
	h := History{Known: true, Start: captured.Add(-time.Hour), Sources: map[string]SourceHistory{}}
	for _, k := range []string{"127.0.0.1", "127.0.0.3", "127.0.0.5", "GPS"} {
		h.Sources[k] = SourceHistory{FirstSeen: h.Start}
	}
	for i := range 225 {
		h.Recent = append(h.Recent, Sample{T: h.Start.Add(time.Duration(i) * 16 * time.Second), MaxErrorSeconds: 1e-5})
	}
	g := Gatherer{History: func(string) History { return h }, Now: capturedNow}
	g.Diagnose(context.Background(), m, monitor.Want{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if d := g.Diagnose(context.Background(), m, monitor.Want{}); d.State != Warning {
			b.Fatal(d.State)
		}
	}
}

// TestMemo: a diagnosis of the same reads in the same second is made once; a new read, the
// next second or a new version of the history makes it again.
func TestMemo(t *testing.T) {
	m := NewMemo()
	in := input(synced(), healthy()...)
	in.ServerStats = Read(chrony.ServerStats{NTPPackets: 10, NTPDropped: 3}, now)
	first := m.Diagnose(in)
	if again := m.Diagnose(in); &again.Findings[0] != &first.Findings[0] {
		t.Error("the same reads in the same second were judged again")
	}
	for name, change := range map[string]func(*Input){
		"a new read":          func(in *Input) { in.Tracking.At = in.Tracking.At.Add(time.Second) },
		"the next second":     func(in *Input) { in.Now = in.Now.Add(time.Second) },
		"the history changed": func(in *Input) { in.History.Version++ },
	} {
		next := in
		change(&next)
		if d := m.Diagnose(next); &d.Findings[0] == &first.Findings[0] {
			t.Errorf("%s: the memo's diagnosis was given", name)
		}
		m.Diagnose(in)
		first = m.Diagnose(in)
	}
}

// TestGatherOnlyShared: a diagnosis in the background asks chronyd only what the history
// recorder reads (tracking, the sources and their statistics), and takes the other reports from
// what others read within SlowReports; it leaves them unread (neither found nor unchecked)
// when nobody did.
func TestGatherOnlyShared(t *testing.T) {
	m, fake := gatherer(t, overUDP, chrony.DefaultOptions())
	bg := Gatherer{History: func(string) History { return History{Why: "history is off"} }, Now: capturedNow, OnlyShared: true}
	d := bg.Diagnose(context.Background(), m, monitor.Want{})
	recorderReads := map[uint16]bool{chronytest.ReqTracking: true, chronytest.ReqNSources: true, chronytest.ReqSourceData: true,
		chronytest.ReqSourceStats: true, chronytest.ReqNTPSourceName: true}
	for _, r := range fake.Requests() {
		if !recorderReads[r.Command] {
			t.Errorf("the background diagnosis asked chronyd for command %d, which the recorder does not read", r.Command)
		}
	}
	if d.State != Warning || len(d.Unchecked) != 0 {
		t.Errorf("background diagnosis: %v, unchecked %+v", d.State, d.Unchecked)
	}
	// A page's diagnosis reads the rest; the background one then has them, at no cost.
	(Gatherer{Now: capturedNow}).Diagnose(context.Background(), m, monitor.Want{})
	before := len(fake.Requests())
	d = bg.Diagnose(context.Background(), m, monitor.Want{})
	if n := len(fake.Requests()) - before; n != 0 {
		t.Errorf("the background diagnosis sent %d requests after a page's", n)
	}
	if len(d.Unchecked) != 2 {
		t.Errorf("with the page's reads, the socket-only reports are unchecked as over UDP: %+v", d.Unchecked)
	}
}

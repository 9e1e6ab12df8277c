package chrony

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
)

func newClient(t *testing.T, addr string, opts Options) *Client {
	t.Helper()
	a, err := ParseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	c := New(a, opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func readAll(t *testing.T, c *Client) (Tracking, []Source, []SourceStats, RTC) {
	t.Helper()
	ctx := context.Background()
	tr, err := c.Tracking(ctx)
	if err != nil {
		t.Fatalf("Tracking: %v", err)
	}
	src, err := c.Sources(ctx)
	if err != nil {
		t.Fatalf("Sources: %v", err)
	}
	st, err := c.SourceStats(ctx)
	if err != nil {
		t.Fatalf("SourceStats: %v", err)
	}
	rtc, err := c.RTC(ctx)
	if err != nil {
		t.Fatalf("RTC: %v", err)
	}
	return tr, src, st, rtc
}

func TestClientReadsEveryReport(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Replay)
	c := newClient(t, fake.Addr, Options{})
	tr, src, st, rtc := readAll(t, c)
	if tr.Reference() != "localhost" || tr.RefAddr.String() != "127.0.0.1" || !tr.Synchronised() {
		t.Errorf("tracking reference = %q (%v), synchronised %v; want localhost (127.0.0.1), true", tr.Reference(), tr.RefAddr, tr.Synchronised())
	}
	var names []string
	for _, s := range src {
		names = append(names, s.Mode.Symbol()+s.State.Symbol()+" "+s.Name)
	}
	if want := []string{"#? GPS", "^* localhost", "^? 127.0.0.3", "=? 127.0.0.5"}; !slices.Equal(names, want) {
		t.Errorf("sources = %q, want %q", names, want)
	}
	if len(st) != 4 || st[0].Name != "GPS" || st[1].Name != "localhost" {
		t.Errorf("sourcestats = %+v", st)
	}
	if rtc.Enabled {
		t.Errorf("RTC = %+v, want not enabled (chronyd answered 513)", rtc)
	}
	if got := c.Endpoint(); got != fake.Addr {
		t.Errorf("Endpoint() = %s, want %s", got, fake.Addr)
	}
}

// TestClientSendsOnlyMonitoringRequests records every request the public API sends.
func TestClientSendsOnlyMonitoringRequests(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Replay)
	c := newClient(t, fake.Addr, Options{})
	readAll(t, c)
	readAll(t, c)
	allowed := []uint16{chronytest.ReqNSources, chronytest.ReqSourceData, chronytest.ReqTracking,
		chronytest.ReqSourceStats, chronytest.ReqRTCReport, chronytest.ReqNTPSourceName}
	names := 0
	for _, r := range fake.Requests() {
		if !slices.Contains(allowed, r.Command) {
			t.Errorf("sent command %d, which is not a monitoring request", r.Command)
		}
		if r.Command == chronytest.ReqNTPSourceName {
			names++
		}
	}
	// localhost, 127.0.0.3 and 127.0.0.5 have names to look up, once each: names do not change
	// while the connection lasts.
	if names != 3 {
		t.Errorf("sent %d source name requests, want 3 (one per NTP source, then remembered)", names)
	}
}

// TestLateReplyIsDropped: chronyd answers every request 60 ms late, the first attempt waits
// only 40 ms. The reply to the first attempt arrives during the second and must be dropped;
// the second attempt's own reply is the answer.
func TestLateReplyIsDropped(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Replay)
	fake.SetDelay(60 * time.Millisecond)
	c := newClient(t, fake.Addr, Options{Timeout: 40 * time.Millisecond, Retries: 2})
	n, err := c.NumSources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("nSources = %d, want 4", n)
	}
	reqs := fake.Requests()
	if len(reqs) != 2 || reqs[0].Sequence == reqs[1].Sequence || reqs[0].Attempt != 0 || reqs[1].Attempt != 1 {
		t.Errorf("requests = %+v, want two attempts with different sequence numbers", reqs)
	}
}

// TestLateReplyToAnotherRequestIsDropped: the fake answers a tracking request with a stale reply
// to an earlier request (another sequence number) before the real one; the client must ignore
// the stale one even though it is well formed.
func TestLateReplyToAnotherRequestIsDropped(t *testing.T) {
	fake := chronytest.StartUDP(t, func(req chronytest.Request) [][]byte {
		stale := req
		stale.Sequence++
		stale.Command = chronytest.ReqNSources
		return [][]byte{chronytest.Stamp(chronytest.Captured("n_sources"), stale), chronytest.Replay(req)[0]}
	})
	c := newClient(t, fake.Addr, Options{})
	tr, err := c.Tracking(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tr.Stratum != 9 {
		t.Errorf("stratum = %d, want 9 from the real reply", tr.Stratum)
	}
}

func TestSilentChronydTimesOut(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Silent)
	c := newClient(t, fake.Addr, Options{Timeout: 20 * time.Millisecond, Retries: 2})
	start := time.Now()
	_, err := c.Tracking(context.Background())
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTimeout || e.Attempts != 3 {
		t.Fatalf("Tracking = %v, want a timeout after 3 attempts", err)
	}
	// 20 + 40 + 80 ms: the timeout doubles with each retry.
	if waited := time.Since(start); waited < 140*time.Millisecond {
		t.Errorf("gave up after %v, before the three attempts' 140 ms", waited)
	}
	if !strings.Contains(err.Error(), fake.Addr) || !strings.Contains(err.Error(), "timed out after") {
		t.Errorf("error %q should name the address and the time waited", err)
	}
	var seqs []uint32
	for i, r := range fake.Requests() {
		if int(r.Attempt) != i {
			t.Errorf("request %d has attempt %d", i, r.Attempt)
		}
		seqs = append(seqs, r.Sequence)
	}
	slices.Sort(seqs)
	if len(slices.Compact(seqs)) != 3 {
		t.Errorf("sequence numbers %v are not fresh per attempt", seqs)
	}
}

func TestContextBoundsTheWait(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Silent)
	c := newClient(t, fake.Addr, Options{Timeout: time.Second, Retries: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Tracking(ctx)
	if KindOf(err) != KindTimeout {
		t.Fatalf("Tracking = %v, want a timeout", err)
	}
	if waited := time.Since(start); waited > 900*time.Millisecond {
		t.Errorf("waited %v; the context allowed 50 ms", waited)
	}
}

func TestStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		status uint16
		kind   Kind
		text   string
	}{
		{2, KindNotAuthorised, "501 Not authorised"},
		{3, KindProtocol, "502 Invalid command"},
		{4, KindStatus, "503 No such source"},
		{18, KindProtocol, "517 Protocol version mismatch"},
		{19, KindProtocol, "518 Packet length mismatch"},
		{1, KindStatus, "500 Failure"},
	} {
		fake := chronytest.StartUDP(t, chronytest.Status(tc.status))
		c := newClient(t, fake.Addr, Options{})
		_, err := c.Tracking(context.Background())
		var e *Error
		if !errors.As(err, &e) || e.Kind != tc.kind || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("status %d: %v, want kind %v saying %q", tc.status, err, tc.kind, tc.text)
		}
		if e != nil && (e.Op != "tracking" || e.Addr != fake.Addr) {
			t.Errorf("status %d: error names op %q at %q", tc.status, e.Op, e.Addr)
		}
	}
	// 513 is not an error for the RTC report.
	fake := chronytest.StartUDP(t, chronytest.Status(13))
	rtc, err := newClient(t, fake.Addr, Options{}).RTC(context.Background())
	if err != nil || rtc.Enabled {
		t.Errorf("RTC with 513 = %+v, %v; want not enabled and no error", rtc, err)
	}
}

func TestUnreachable(t *testing.T) {
	dir := t.TempDir()
	for _, addr := range []string{"udp://127.0.0.1:" + strconv.Itoa(closedPort(t)), "unix://" + filepath.Join(dir, "chronyd.sock")} {
		c := newClient(t, addr, Options{Timeout: 5 * time.Second})
		start := time.Now()
		_, err := c.Tracking(context.Background())
		if KindOf(err) != KindUnreachable || !strings.Contains(err.Error(), "not answering at "+addr) {
			t.Errorf("%s: %v, want unreachable naming the address", addr, err)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("%s: took %v; nothing listening is known at once", addr, time.Since(start))
		}
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("left %v behind", files)
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	fake := chronytest.StartUDP(t, chronytest.Silent)
	a, _ := ParseAddress(fake.Addr)
	fake.Close()
	return a.Port
}

// TestUnixSocketLeavesNothingBehind: the client binds its own socket beside chronyd's and must
// remove it when closed and when chronyd goes away.
func TestUnixSocketLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	fake, err := chronytest.NewUnix(dir, chronytest.Replay)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, fake.Addr, Options{Timeout: 100 * time.Millisecond})
	for range 50 {
		readAll(t, c)
	}
	if got := socketFiles(t, dir); len(got) != 2 {
		t.Errorf("while open: %v, want chronyd.sock and one of ours", got)
	}
	fake.Close()
	if _, err := c.Tracking(context.Background()); KindOf(err) != KindUnreachable {
		t.Errorf("after chronyd left: %v, want unreachable", err)
	}
	if got := socketFiles(t, dir); len(got) != 0 {
		t.Errorf("after chronyd left: %v left behind", got)
	}
	// chronyd comes back: the client reconnects by itself.
	fake, err = chronytest.NewUnix(dir, chronytest.Replay)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	readAll(t, c)
	c.Close()
	if got := socketFiles(t, dir); !slices.Equal(got, []string{"chronyd.sock"}) {
		t.Errorf("after Close: %v, want only chronyd.sock", got)
	}
	if _, err := c.Tracking(context.Background()); KindOf(err) != KindClosed {
		t.Errorf("after Close: %v, want closed", err)
	}
}

func socketFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestAutoPrefersTheSocketThenUDP(t *testing.T) {
	dir := t.TempDir()
	udp := chronytest.StartUDP(t, chronytest.Replay)
	a, _ := ParseAddress(udp.Addr)
	oldDirs, oldPort := SocketDirs, autoPort
	SocketDirs, autoPort = []string{dir}, a.Port
	t.Cleanup(func() { SocketDirs, autoPort = oldDirs, oldPort })

	c := newClient(t, "auto", Options{})
	if _, err := c.Tracking(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Endpoint(), "udp://127.0.0.1:"+strconv.Itoa(a.Port); got != want {
		t.Errorf("with no socket, auto uses %s, want %s", got, want)
	}

	unix, err := chronytest.NewUnix(dir, chronytest.Replay)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	c2 := newClient(t, "auto", Options{})
	if _, err := c2.Tracking(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c2.Endpoint(); got != unix.Addr {
		t.Errorf("with a usable socket, auto uses %s, want %s", got, unix.Addr)
	}

	udp.Close()
	unix.Close()
	_, err = newClient(t, "auto", Options{}).Tracking(context.Background())
	if KindOf(err) != KindUnreachable || !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "[::1]") {
		t.Errorf("with nothing answering: %v; want unreachable listing what auto tried", err)
	}
}

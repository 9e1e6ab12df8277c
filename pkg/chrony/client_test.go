package chrony

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	c, err := New(a, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// chronycs is chronyc's behaviour: DefaultOptions, as a client without a reason to differ uses.
var chronycs = DefaultOptions()

// opts is DefaultOptions with another first timeout and number of retries.
func opts(timeout time.Duration, retries int) Options {
	return Options{Timeout: timeout, Retries: retries}
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
	c := newClient(t, fake.Addr, chronycs)
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
	c := newClient(t, fake.Addr, chronycs)
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

// TestLateReplyIsDropped: chronyd's reply to a first attempt arrives only after the client has
// sent its second attempt. The fake holds the first reply back until the second request has
// arrived, then sends it, then the second attempt's own reply, which differs: the client must
// drop the late one (its sequence number is the first attempt's) and take the second.
func TestLateReplyIsDropped(t *testing.T) {
	var mu sync.Mutex
	var first *chronytest.Request
	fake := chronytest.StartUDP(t, func(req chronytest.Request) [][]byte {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = &req
			return nil // held back until the next attempt
		}
		late := chronytest.Reply(*first, 2, 0, []byte{0, 0, 0, 7})
		return [][]byte{late, chronytest.Reply(req, 2, 0, []byte{0, 0, 0, 4})}
	})
	// The first attempt waits 200 ms for nothing; the second gets both replies at once.
	c := newClient(t, fake.Addr, opts(200*time.Millisecond, 3))
	n, err := c.NumSources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("nSources = %d, want 4 from the second attempt's own reply (7 is the late reply)", n)
	}
	reqs := fake.Requests()
	if len(reqs) < 2 || reqs[0].Sequence == reqs[1].Sequence || reqs[0].Attempt != 0 || reqs[1].Attempt != 1 {
		t.Errorf("requests = %+v, want attempts 0 and 1 with different sequence numbers", reqs)
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
	c := newClient(t, fake.Addr, chronycs)
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
	c := newClient(t, fake.Addr, opts(20*time.Millisecond, 2))
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

// TestContextBoundsTheWait: the caller's context ends a request that chronyd's timeout would
// let wait a minute; the test would time out if it did not.
func TestContextBoundsTheWait(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Silent)
	c := newClient(t, fake.Addr, opts(time.Minute, 2))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Tracking(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindTimeout || e.Attempts != 1 {
		t.Fatalf("Tracking = %v, want a timeout in the first attempt", err)
	}
}

// TestRetries: Options.Retries is how many times a request is sent again, 0 included.
func TestRetries(t *testing.T) {
	for _, retries := range []int{0, 1, 10} {
		fake := chronytest.StartUDP(t, chronytest.Silent)
		c := newClient(t, fake.Addr, opts(time.Millisecond, retries))
		_, err := c.Tracking(context.Background())
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindTimeout {
			t.Fatalf("retries %d: %v, want a timeout", retries, err)
		}
		if got := len(fake.Requests()); got != retries+1 || e.Attempts != retries+1 {
			t.Errorf("retries %d: %d requests sent, %d attempts counted; want %d", retries, got, e.Attempts, retries+1)
		}
	}
}

func TestOptionsAreValidated(t *testing.T) {
	for _, o := range []Options{{Timeout: 0, Retries: 2}, {Timeout: time.Second, Retries: -1}, {Timeout: time.Second, Retries: 11}, {Timeout: 2 * time.Minute}} {
		if _, err := New(Auto, o); err == nil {
			t.Errorf("New with %+v: no error", o)
		}
	}
	if got := DefaultOptions(); got.Timeout != time.Second || got.Retries != 2 {
		t.Errorf("DefaultOptions = %+v, want chronyc's 1s and 2 retries", got)
	}
	if got := opts(300*time.Millisecond, 0).MaxWait(); got != 300*time.Millisecond {
		t.Errorf("MaxWait with no retry = %v, want the one attempt's 300ms", got)
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
		c := newClient(t, fake.Addr, chronycs)
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
	rtc, err := newClient(t, fake.Addr, chronycs).RTC(context.Background())
	if err != nil || rtc.Enabled {
		t.Errorf("RTC with 513 = %+v, %v; want not enabled and no error", rtc, err)
	}
}

func TestUnreachable(t *testing.T) {
	dir := t.TempDir()
	for _, addr := range []string{"udp://127.0.0.1:" + strconv.Itoa(closedPort(t)), "unix://" + filepath.Join(dir, "chronyd.sock")} {
		// A minute's timeout: nothing listening must be known at once, not waited out.
		c := newClient(t, addr, opts(time.Minute, 2))
		_, err := c.Tracking(context.Background())
		if KindOf(err) != KindUnreachable || !strings.Contains(err.Error(), "not answering at "+addr) {
			t.Errorf("%s: %v, want unreachable naming the address", addr, err)
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
	c := newClient(t, fake.Addr, opts(100*time.Millisecond, 2))
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

	c := newClient(t, "auto", chronycs)
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
	c2 := newClient(t, "auto", chronycs)
	if _, err := c2.Tracking(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c2.Endpoint(); got != unix.Addr {
		t.Errorf("with a usable socket, auto uses %s, want %s", got, unix.Addr)
	}

	udp.Close()
	unix.Close()
	_, err = newClient(t, "auto", chronycs).Tracking(context.Background())
	if KindOf(err) != KindUnreachable || !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "[::1]") {
		t.Errorf("with nothing answering: %v; want unreachable listing what auto tried", err)
	}
}

// TestBudgetCoversTheWaitInLine: requests to one chronyd go one at a time, and a silent chronyd
// with a first timeout of a minute would hold each for seven. Three requests with a budget of
// 300 ms each, sent at once: each ends with its budget, the two that waited in line included,
// and says so with the budget's figure.
func TestBudgetCoversTheWaitInLine(t *testing.T) {
	fake := chronytest.StartUDP(t, chronytest.Silent)
	c := newClient(t, fake.Addr, opts(time.Minute, 2))
	ctx, cancel := WithBudget(context.Background(), 300*time.Millisecond)
	defer cancel()
	errs := make(chan error, 3)
	for range 3 {
		go func() { _, err := c.Tracking(ctx); errs <- err }()
	}
	inLine := 0
	for range 3 {
		err := <-errs
		var e *Error
		var b *BudgetError
		if !errors.As(err, &e) || e.Kind != KindTimeout || !errors.As(err, &b) || b.Budget != 300*time.Millisecond {
			t.Fatalf("Tracking = %v, want a timeout at the end of the budget", err)
		}
		if want := "did not answer in 300 ms"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
		if e.Attempts == 0 {
			inLine++
		}
	}
	if inLine != 2 {
		t.Errorf("%d requests ended in line, want 2 (one at a time reaches chronyd)", inLine)
	}
}

// TestDetachKeepsTheBudgetNotTheCancel: work handed on for a caller outlives the caller's
// cancellation and a shorter wait of its own, and ends with its budget.
func TestDetachKeepsTheBudgetNotTheCancel(t *testing.T) {
	budgeted, cancelBudget := WithBudget(context.Background(), time.Hour)
	defer cancelBudget()
	waiting, stopWaiting := context.WithCancel(budgeted)
	stopWaiting()
	work, cancel := Detach(waiting)
	defer cancel()
	if work.Err() != nil {
		t.Fatalf("the detached work ended with its caller: %v", work.Err())
	}
	if d, ok := work.Deadline(); !ok || d != budgeted.Value(budgetKey{}).(budget).deadline {
		t.Errorf("the detached work's deadline = %v, %v; want the budget's", d, ok)
	}
	plain, cancelPlain := Detach(context.Background())
	defer cancelPlain()
	if _, ok := plain.Deadline(); ok {
		t.Error("work detached from a caller without a budget has a deadline")
	}
}

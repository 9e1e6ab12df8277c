package notify

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/notify/notifytest"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// run starts n until the test ends.
func run(t *testing.T, n *Notifier) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// doneIDs collects what a notifier says it is done with.
type doneIDs struct {
	mu  sync.Mutex
	ids []int64
}

func (d *doneIDs) add(id int64) { d.mu.Lock(); d.ids = append(d.ids, id); d.mu.Unlock() }
func (d *doneIDs) get() []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.ids)
}

// TestNotifierRetriesThenSends: a receiver down for two attempts gets both messages, in order,
// once it is back; each failure is counted and each message reported done once sent.
func TestNotifierRetriesThenSends(t *testing.T) {
	recv := notifytest.StartHTTP(t)
	recv.Fail(2)
	target, err := Parse("generic+" + recv.URL + "/hook")
	if err != nil {
		t.Fatal(err)
	}
	var done doneIDs
	var retries []int
	n := NewNotifier([]*Target{target}, Options{Done: done.add, Retry: func(f int) time.Duration { retries = append(retries, f); return 10 * time.Millisecond }})
	n.Enqueue(target.Key(), Queued{ID: 1, Message: Message{Title: "first", Body: "one"}})
	n.Enqueue(target.Key(), Queued{ID: 2, Message: Message{Title: "second", Body: "two"}})
	run(t, n)
	got := recv.Wait(t, "/hook", 2, 10*time.Second)
	if got[0].Body != "one" || got[1].Body != "two" {
		t.Errorf("arrived %q then %q", got[0].Body, got[1].Body)
	}
	testkit.Eventually(t, 10*time.Second, "both messages done", func() bool { return len(done.get()) == 2 })
	if ids := done.get(); ids[0] != 1 || ids[1] != 2 {
		t.Errorf("done %v", ids)
	}
	if c := n.Counts(); c != (Counts{Sent: 2, Failed: 2}) {
		t.Errorf("counts %+v", c)
	}
	if !slices.Equal(retries, []int{1, 2}) {
		t.Errorf("waits asked after failures %v, want 1 then 2 (the wait grows with the failures)", retries)
	}
	st := n.Status()[0]
	if st.Waiting != 0 || st.LastSent.IsZero() || !st.LastFailed.IsZero() || st.Err != "" || st.Failures != 0 {
		t.Errorf("status after sending %+v", st)
	}
}

// TestNotifierSaysWhyAndGivesUp: a receiver that is not there: each failure counted, the
// status and the log say why without the URL's secrets, and a message too old is dropped.
func TestNotifierSaysWhyAndGivesUp(t *testing.T) {
	port := testkit.FreePort(t)
	target, err := Parse("ntfy://bob:hunter22@127.0.0.1:" + port + "/topic-hunter33?scheme=http")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	log := &testkit.SyncBuffer{}
	var done doneIDs
	n := NewNotifier([]*Target{target}, Options{Now: clock, Done: done.add, GiveUp: time.Hour,
		Retry: func(int) time.Duration { return 5 * time.Millisecond }, Logger: slog.New(slog.NewTextHandler(log, nil))})
	n.Enqueue(target.Key(), Queued{ID: 7, Message: Message{Title: "t", Body: "b"}})
	run(t, n)
	testkit.Eventually(t, 10*time.Second, "two failed attempts", func() bool { return n.Counts().Failed >= 2 })
	st := n.Status()[0]
	if st.Waiting != 1 || st.Failures < 2 || st.LastFailed.IsZero() || !strings.Contains(st.Err, "refused") || st.Target != "ntfy at 127.0.0.1:"+port {
		t.Errorf("status while failing %+v", st)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	testkit.Eventually(t, 10*time.Second, "the message given up", func() bool { return n.Counts().Dropped == 1 })
	if ids := done.get(); !slices.Equal(ids, []int64{7}) {
		t.Errorf("done %v, want [7]", ids)
	}
	for _, where := range []string{log.String(), st.Err} {
		if strings.Contains(where, "hunter22") || strings.Contains(where, "hunter33") {
			t.Errorf("a secret shows in %q", where)
		}
	}
	if !strings.Contains(log.String(), "notification failed") || !strings.Contains(log.String(), "notification given up") {
		t.Errorf("log:\n%s", log)
	}
}

// TestEnqueueNeverWaits: a receiver that accepts connections and never answers holds its own
// queue only: Enqueue returns at once, however many messages wait, and the queue is bounded.
func TestEnqueueNeverWaits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	target, err := Parse("ntfy://" + ln.Addr().String() + "/topic?scheme=http")
	if err != nil {
		t.Fatal(err)
	}
	n := NewNotifier([]*Target{target}, Options{Timeout: 50 * time.Millisecond, Retry: func(int) time.Duration { return time.Hour }})
	run(t, n)
	for i := range maxQueue + 10 {
		n.Enqueue(target.Key(), Queued{ID: int64(i + 1), Message: Message{Title: "t", Body: "b"}})
	}
	testkit.Eventually(t, 10*time.Second, "the first attempt to time out", func() bool { return n.Counts().Failed == 1 })
	if st := n.Status()[0]; st.Waiting != maxQueue || st.Dropped != 10 || !strings.Contains(st.Err, "did not answer within 50ms") {
		t.Errorf("status %+v", st)
	}
}

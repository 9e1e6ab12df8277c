package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/alerting"
	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylab"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/notify/notifytest"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// TestNotifyConfig: --notify is repeatable, SECOND_HAND_NOTIFY takes URLs separated by commas
// (a comma inside a URL, such as a list of recipients, stays in it), --notify-after and
// --public-url are read and checked.
func TestNotifyConfig(t *testing.T) {
	c, err := parseConfig([]string{"--notify", "ntfy://ntfy.sh/a", "--notify", "gotify://gotify.example.org/TOKEN"}, env(nil), nil)
	if err != nil || len(c.Notify) != 2 || c.NotifyAfter != 2*time.Minute || c.PublicURL != "" {
		t.Fatalf("flags: %v %+v", err, c)
	}
	c, err = parseConfig(nil, env(map[string]string{
		"SECOND_HAND_NOTIFY":       "ntfy://ntfy.sh/a?tags=clock,warning,smtp://mail.example.org:587/?from=a@example.org&to=b@example.org,c@example.org&auth=None",
		"SECOND_HAND_NOTIFY_AFTER": "30s",
		"SECOND_HAND_PUBLIC_URL":   "https://dash.example.org/chrony",
	}), nil)
	if err != nil || len(c.Notify) != 2 || c.Notify[0].Service != "ntfy" || c.Notify[1].Service != "smtp" || c.NotifyAfter != 30*time.Second {
		t.Fatalf("variables: %v %+v", err, c)
	}
	if c.PublicURL != "https://dash.example.org/chrony/" || c.hostLink("local") != "https://dash.example.org/chrony/" {
		t.Errorf("public URL %q, link %q", c.PublicURL, c.hostLink("local"))
	}
	c, _ = parseConfig([]string{"--chrony", "a=udp://127.0.0.1:323", "--chrony", "b=udp://127.0.0.2:323", "--public-url", "http://dash.lan:8080/"}, env(nil), nil)
	if got := c.hostLink("b"); got != "http://dash.lan:8080/hosts/b/" {
		t.Errorf("link of host b: %q", got)
	}
	for _, bad := range [][]string{
		{"--notify-after", "0s"}, {"--notify-after", "soon"}, {"--public-url", "dash.example.org"}, {"--public-url", "ftp://x/"},
	} {
		if _, err := parseConfig(bad, env(nil), nil); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// TestNotifyURLErrorsHideSecrets: a URL shoutrrr cannot use is exit status 2 with the flag (or
// the variable) and the scheme it did not understand, and without the URL's secrets.
func TestNotifyURLErrorsHideSecrets(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{[]string{"--notify", "ntfyy://bob:hunter22@ntfy.sh/topic"}, nil, []string{"--notify", `no service "ntfyy"`, "ntfyy://***@ntfy.sh/***"}},
		{nil, map[string]string{"SECOND_HAND_NOTIFY": "ntfy://ntfy.sh/a,telegrm://123:hunter22@telegram?chats=@x"}, []string{"SECOND_HAND_NOTIFY", "--notify", `no service "telegrm"`}},
		{[]string{"--notify", "ntfy://bob:hunter22@ntfy.sh/"}, nil, []string{"--notify", "topic is required"}},
	} {
		_, err := parseConfig(c.args, env(c.env), nil)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v %v: %v, want a usage error (exit status 2)", c.args, c.env, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v %v: %q does not say %q", c.args, c.env, err, w)
			}
		}
		if strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%v %v: %q shows the secret", c.args, c.env, err)
		}
	}
	cmd := exec.Command(binary, "--notify", "ntfyy://bob:hunter22@ntfy.sh/topic")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(stderr.String(), `no service "ntfyy"`) || strings.Contains(stderr.String(), "hunter22") {
		t.Errorf("the program: %v, stderr %q", err, stderr.String())
	}
}

// TestNotifyTestCommand: `second-hand notify --test` sends one test message to every URL (to
// real receivers on loopback: ntfy's API and a webhook over HTTP, e-mail to aiosmtpd), says
// how each went without its secrets, and exits 1 when one failed, 0 when none did.
func TestNotifyTestCommand(t *testing.T) {
	http := notifytest.StartHTTP(t)
	smtp := notifytest.StartSMTP(t)
	good := []string{
		"--notify", "ntfy://bob:hunter22@" + http.Host + "/alerts?scheme=http",
		"--notify", "generic+" + http.URL + "/hook/hunter33?template=json",
		"--notify", smtp.URL("ops@example.org"),
	}
	down := "ntfy://bob:hunter22@127.0.0.1:" + testkit.FreePort(t) + "/alerts?scheme=http"
	run := func(args ...string) (string, int) {
		cmd := exec.Command(binary, append([]string{"notify", "--test"}, args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	out, code := run(append(good, "--notify", down)...)
	if code != 1 {
		t.Errorf("one URL down: exit status %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"ntfy at " + http.Host + " (ntfy://***@" + http.Host + "/***?scheme=http): sent",
		"generic at " + http.Host + " (generic+http://" + http.Host + "/***/***?template=json): sent",
		"smtp at " + smtp.Host + ":" + smtp.Port + " (smtp://" + smtp.Host + ":" + smtp.Port + "/?auth=None&encryption=None&from=***&fromname=***&to=***&usestarttls=no): sent",
		"ntfy at 127.0.0.1:", "): failed: ", "connection refused",
		"1 of 4 notification URLs failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter22") || strings.Contains(out, "hunter33") {
		t.Errorf("the output shows a secret:\n%s", out)
	}
	if r := http.Wait(t, "/alerts", 1, 10*time.Second)[0]; r.Header.Get("Title") != "second-hand: a test message" || !strings.Contains(r.Body, "reach you") {
		t.Errorf("ntfy got %q %q", r.Header.Get("Title"), r.Body)
	}
	http.Wait(t, "/hook/", 1, 10*time.Second)
	if m := smtp.Wait(t, 1, 10*time.Second)[0]; m.Subject != "second-hand: a test message" || !strings.Contains(m.Body, "smtp at "+smtp.Host) {
		t.Errorf("the e-mail: %q %q", m.Subject, m.Body)
	}

	if out, code := run(good...); code != 0 || strings.Count(out, ": sent") != 3 {
		t.Errorf("every URL up: exit status %d\n%s", code, out)
	}
	if out, code := run(); code != 2 || !strings.Contains(out, "no notification URL") {
		t.Errorf("no URL: exit status %d\n%s", code, out)
	}
	if out, err := exec.Command(binary, "notify").CombinedOutput(); err == nil || !strings.Contains(string(out), "takes --test") {
		t.Errorf("notify without --test: %v\n%s", err, out)
	}
}

// watchLog keeps the rounds of the diagnoses behind notifications (the watched hook): each
// round's moment, every host's state, and the hosts it sent a message about.
type watchLog struct {
	mu     sync.Mutex
	rounds []watched
	more   chan struct{}
}

type watched struct {
	at      time.Time
	states  map[string]diagnose.State
	changes []alerting.Change
}

func newWatchLog() *watchLog { return &watchLog{more: make(chan struct{}, 1)} }

func (w *watchLog) hooks() hooks {
	return hooks{watched: func(at time.Time, ds []diagnose.Diagnosis, cs []alerting.Change) {
		r := watched{at: at, states: map[string]diagnose.State{}, changes: cs}
		for _, d := range ds {
			r.states[d.Host] = d.State
		}
		w.mu.Lock()
		w.rounds = append(w.rounds, r)
		w.mu.Unlock()
		select {
		case w.more <- struct{}{}:
		default:
		}
	}}
}

// wait waits (at most timeout) for a round, from the from-th on, for which cond holds, and
// returns its index.
func (w *watchLog) wait(t *testing.T, from int, timeout time.Duration, what string, cond func(watched) bool) int {
	t.Helper()
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		for i := from; i < len(w.rounds); i++ {
			if cond(w.rounds[i]) {
				w.mu.Unlock()
				return i
			}
		}
		from = max(from, len(w.rounds))
		var last watched
		if len(w.rounds) > 0 {
			last = w.rounds[len(w.rounds)-1]
		}
		w.mu.Unlock()
		select {
		case <-w.more:
		case <-deadline:
			t.Fatalf("waited %v for a round where %s; the last: %+v", timeout, what, last)
		}
	}
}

// changes are the hosts told about in the rounds from from on, "host:state" or "host:resolved".
func (w *watchLog) changes(from int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, r := range w.rounds[min(from, len(w.rounds)):] {
		for _, c := range r.changes {
			if c.Resolved {
				out = append(out, c.Host+":resolved")
			} else {
				out = append(out, c.Host+":"+c.Diagnosis.State.String())
			}
		}
	}
	return out
}

// waitHeld waits for the round in which a message about host would be decided if it were
// news: the first one --notify-after (after) from the first round that saw host in state (the
// policy's wait starts there, and the hook is told after the sending).
func (w *watchLog) waitHeld(t *testing.T, host string, state diagnose.State, after time.Duration) {
	t.Helper()
	i := w.wait(t, 0, time.Minute, host+" "+state.String(), func(r watched) bool { return r.states[host] == state })
	w.mu.Lock()
	seen := w.rounds[i].at
	w.mu.Unlock()
	w.wait(t, i, time.Minute, host+" "+state.String()+" for --notify-after", func(r watched) bool {
		return !r.at.Before(seen.Add(after)) && r.states[host] == state
	})
}

func (w *watchLog) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.rounds)
}

// TestNotifyWhenTheReferenceIsLost: a real chronyd with three upstreams, ok. Its selected
// upstream is stopped: after --notify-after exactly one "warning" message reaches ntfy, the
// webhook and the mailbox, naming the host, the finding, its fix and the host's page. The other
// two are stopped: one "failing" message, the same problem grown worse. second-hand restarted
// meanwhile does not send it again. The upstreams started again: exactly one "resolved"
// message, with how long it lasted, from the second second-hand.
func TestNotifyWhenTheReferenceIsLost(t *testing.T) {
	integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lab, err := chronylab.StartRedundant(ctx, chronylab.Options{})
	needLab(t, err)
	t.Cleanup(func() { lab.Close() })
	if err := lab.WaitSynchronised(ctx); err != nil {
		t.Fatal(err)
	}
	http := notifytest.StartHTTP(t)
	smtp := notifytest.StartSMTP(t)
	const after = 3 * time.Second
	const page = "http://dash.example.org/chrony/"
	args := []string{"--chrony", "nas=" + lab.Monitored.UDPAddress(), "--data-dir", t.TempDir(), "--sample", "1s",
		"--notify-after", after.String(), "--public-url", "http://dash.example.org/chrony",
		"--notify", "ntfy://bob:hunter22@" + http.Host + "/alerts?scheme=http",
		"--notify", "generic+" + http.URL + "/hook?template=json",
		"--notify", smtp.URL("ops@example.org")}
	log1 := newWatchLog()
	first := startWith(t, log1.hooks(), args...)
	log1.wait(t, 0, time.Minute, "nas is ok", func(r watched) bool { return r.states["nas"] == diagnose.OK })

	// received waits for the n-th message at every receiver, checks that the three say the same
	// (the e-mail's body may be wrapped: its lines are compared without their ends) and that it
	// has every one of want, and returns the ntfy request.
	received := func(n int, title string, want ...string) notifytest.Request {
		t.Helper()
		got := http.Wait(t, "/alerts", n, time.Minute)[n-1]
		if got.Header.Get("Title") != title || got.Header.Get("Click") != page {
			t.Errorf("ntfy message %d: title %q, click %q, want %q", n, got.Header.Get("Title"), got.Header.Get("Click"), title)
		}
		for _, w := range append(want, "Fix: ", page) {
			if !strings.Contains(got.Body, w) {
				t.Errorf("ntfy message %d lacks %q:\n%s", n, w, got.Body)
			}
		}
		var hook map[string]string
		if err := json.Unmarshal([]byte(http.Wait(t, "/hook", n, time.Minute)[n-1].Body), &hook); err != nil ||
			hook["title"] != title || hook["message"] != got.Body {
			t.Errorf("webhook message %d: %v (%v), want the ntfy message's title and body", n, hook, err)
		}
		mail := smtp.Wait(t, n, time.Minute)[n-1]
		if mail.Subject != title || !strings.Contains(strings.Join(strings.Fields(mail.Body), " "), strings.Join(strings.Fields(got.Body), " ")) {
			t.Errorf("e-mail %d: subject %q, body:\n%s", n, mail.Subject, mail.Body)
		}
		t.Logf("message %d:\n%s\n%s", n, title, got.Body)
		return got
	}

	sel, err := lab.Selected(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sel.Stop()
	received(1, "! nas: warning · second-hand", "nas is warning since ", lab.Address(sel))

	var others []*chronylab.Daemon
	for _, u := range lab.Upstreams {
		if u != sel {
			others = append(others, u)
			u.Stop()
		}
	}
	received(2, "✕ nas: failing · second-hand", "nas is failing", "it has not been ok since ")

	// Restarted while the upstreams are down: it watches for longer than --notify-after and
	// sends nothing, as what it sent is kept in the history store.
	first.exit(t)
	log2 := newWatchLog()
	startWith(t, log2.hooks(), args...)
	log2.waitHeld(t, "nas", diagnose.Failing, after)
	if c := log2.changes(0); len(c) != 0 {
		t.Errorf("after the restart, it told again: %v", c)
	}

	for _, u := range append(others, sel) {
		if err := u.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	resolved := http.Wait(t, "/alerts", 3, time.Minute)[2]
	if resolved.Header.Get("Title") != "✓ nas: resolved · second-hand" || !strings.Contains(resolved.Body, "nas is ok again since ") ||
		!regexp.MustCompile(`after \d+ s failing \(from `).MatchString(resolved.Body) || !strings.Contains(resolved.Body, page) {
		t.Errorf("the resolution: %q\n%s", resolved.Header.Get("Title"), resolved.Body)
	}
	t.Logf("the resolution:\n%s\n%s", resolved.Header.Get("Title"), resolved.Body)
	http.Wait(t, "/hook", 3, time.Minute)
	if mails := smtp.Wait(t, 3, time.Minute); mails[2].Subject != "✓ nas: resolved · second-hand" {
		t.Errorf("the third e-mail: %q", mails[2].Subject)
	}
	// Nothing more: one more wait goes by without a message.
	n, quiet := log2.len(), time.Now().Add(after+time.Second)
	log2.wait(t, n, time.Minute, "a wait after the resolution", func(r watched) bool { return r.at.After(quiet) })
	if c := log2.changes(0); len(c) != 1 || c[0] != "nas:resolved" {
		t.Errorf("the second second-hand told %v, want [nas:resolved]", c)
	}
	if n := len(http.Requests("/alerts")) + len(http.Requests("/hook")) + len(smtp.Mails(t)); n != 9 {
		t.Errorf("%d messages arrived, want 3 at each of the three receivers", n)
	}
}

// TestNotifyDigestOfTwentySilentHosts: twenty chronyd (fakes replaying a real one's replies)
// going silent at once (stopped: nothing answers at their addresses) are one message naming
// all twenty, not twenty messages. Nothing in it rests on how fast a fake answers: with a
// 100 ms timeout and no retry, one reply late on a busy machine made a live host "failing"
// in the round that decided the first message ("1 host failing, 19 hosts warning").
func TestNotifyDigestOfTwentySilentHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: watches twenty hosts for several seconds")
	}
	http := notifytest.StartHTTP(t)
	// The client's own allowance (no --timeout, --retries): a live fake is never taken for a
	// silent one however busy the machine, and the hosts are stopped (their ports closed, so
	// chronyd's address refuses at once) rather than waited out.
	const after = 2 * time.Second
	args := []string{"--sample", "1s", "--notify-after", after.String(),
		"--notify", "generic+" + http.URL + "/hook?template=json", "--public-url", "http://dash.example.org/"}
	var fakes []*chronytest.Server
	for i := range 20 {
		f := chronytest.StartUDP(t, chronytest.Replay)
		fakes = append(fakes, f)
		args = append(args, "--chrony", fmt.Sprintf("h%02d=%s", i, f.Addr))
	}
	log := newWatchLog()
	startWith(t, log.hooks(), args...)
	// The replayed chronyd's diagnosis is a warning (its last clock update is days old): the
	// first message says so for all twenty at once.
	payload := func(r notifytest.Request) map[string]string {
		var p map[string]string
		if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
			t.Fatalf("%v: %s", err, r.Body)
		}
		return p
	}
	if p := payload(http.Wait(t, "/hook", 1, time.Minute)[0]); p["title"] != "! 20 hosts warning · second-hand" {
		t.Errorf("the first message: %q\n%s", p["title"], p["message"])
	}
	silent := log.len()
	for _, f := range fakes {
		f.Close() // chronyd stopped: nothing answers at its address any more
	}
	p := payload(http.Wait(t, "/hook", 2, time.Minute)[1])
	if p["title"] != "✕ 20 hosts failing · second-hand" {
		t.Errorf("the message of the silence: %q", p["title"])
	}
	for i := range 20 {
		h := fmt.Sprintf("h%02d", i)
		if !strings.Contains(p["message"], "- "+h+": ") || !strings.Contains(p["message"], "http://dash.example.org/hosts/"+h+"/") {
			t.Errorf("the digest does not name %s with its page:\n%s", h, p["message"])
		}
	}
	if !strings.Contains(p["message"], "Fix for chronyd-unreachable") {
		t.Errorf("the digest has no fix:\n%s", p["message"])
	}
	t.Logf("the digest:\n%s\n%s", p["title"], p["message"])
	// A wait later (the first round in which a host could be told again), still one message.
	told := log.wait(t, silent, time.Minute, "the digest", func(r watched) bool { return len(r.changes) > 0 })
	log.mu.Lock()
	quiet := log.rounds[told].at.Add(after)
	log.mu.Unlock()
	log.wait(t, told, time.Minute, "--notify-after after the digest", func(r watched) bool { return !r.at.Before(quiet) })
	if c := log.changes(silent); len(c) != 20 {
		t.Errorf("after the silence, %d hosts told: %v", len(c), c)
	}
	if n := len(http.Requests("/hook")); n != 2 {
		t.Errorf("%d messages, want 2 (the warning, then the silence)", n)
	}
}

// TestNotifyReceiverDown: the only notification URL answers nothing: each attempt is counted
// (second_hand_notifications_total{result="failed"}) and retried, the page's footer says so in
// one line, the URL's secrets show nowhere (log, page, /readyz, /metrics), and the panels are
// answered as fast as by a second-hand without notifications (figures logged, not asserted).
func TestNotifyReceiverDown(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: waits for two attempts")
	}
	live := chronytest.StartUDP(t, chronytest.Replay)
	dead := chronytest.StartUDP(t, chronytest.Silent)
	hosts := []string{"--chrony", "live=" + live.Addr, "--chrony", "dead=" + dead.Addr, "--sample", "1s", "--timeout", "100ms", "--retries", "0"}
	down := "ntfy://bob:hunter22@127.0.0.1:" + testkit.FreePort(t) + "/alerts-hunter33?scheme=http"
	in := start(t, append(hosts, "--notify", down, "--notify-after", "1s")...)
	plain := start(t, hosts...)

	metric := regexp.MustCompile(`second_hand_notifications_total\{result="failed"\} (\d+)`)
	testkit.Eventually(t, time.Minute, "two failed attempts", func() bool {
		_, body := fetch(t, in.url+"/metrics")
		m := metric.FindStringSubmatch(body)
		if m == nil {
			return false
		}
		n, _ := strconv.Atoi(m[1])
		return n >= 2
	})
	_, note := fetch(t, in.url+"/hosts/live/notify")
	for _, want := range []string{`id="notify-note"`, "The last message to ntfy at 127.0.0.1:", "failed", "connection refused", "Trying again in"} {
		if !strings.Contains(note, want) {
			t.Errorf("the footer's line lacks %q:\n%s", want, note)
		}
	}
	for _, p := range []string{"/", "/hosts/live/"} { // the overview, a host's page
		if _, page := fetch(t, in.url+p); !strings.Contains(page, `hx-get="notify"`) {
			t.Errorf("%s does not load the line", p)
		}
	}
	if _, overview := fetch(t, plain.url+"/"); strings.Contains(overview, `hx-get="notify"`) {
		t.Errorf("without --notify, the overview loads the line")
	}
	for _, p := range []string{"/", "/hosts/live/", "/notify", "/readyz", "/metrics", "/hosts/dead/diagnosis.json", "/hosts/live/panels/diagnosis"} {
		if _, body := fetch(t, in.url+p); strings.Contains(body, "hunter22") || strings.Contains(body, "hunter33") {
			t.Errorf("%s shows a secret of the URL", p)
		}
	}
	if strings.Contains(in.log.String(), "hunter22") || strings.Contains(in.log.String(), "hunter33") {
		t.Errorf("the log shows a secret of the URL")
	}
	if !strings.Contains(in.log.String(), "notification failed; trying again") {
		t.Errorf("the log does not say the notification failed:\n%s", in.log)
	}
	if code, _ := fetch(t, plain.url+"/notify"); code != 404 {
		t.Errorf("/notify without --notify: %d, want 404", code)
	}

	// The panels of the live host, from both, one after the other (fresh reads: each is a read
	// of chronyd and a render).
	times := map[string][]time.Duration{}
	for range 40 {
		for name, url := range map[string]string{"notifying, its receiver down": in.url, "without notifications": plain.url} {
			for _, panel := range []string{"tracking", "sources", "diagnosis"} {
				start := time.Now()
				page := fresh(t, url+"/hosts/live/panels/"+panel)
				times[name] = append(times[name], time.Since(start))
				if alert(page) {
					t.Errorf("%s: the %s panel failed:\n%s", name, panel, page)
				}
			}
		}
	}
	for name, ts := range times {
		slices.Sort(ts)
		t.Logf("%s: the live host's fragments answered in %v median, %v at the 90th percentile (%d requests)", name, ts[len(ts)/2], ts[len(ts)*9/10], len(ts))
	}
}

// TestNotifyCostsChronydNothing: the diagnosis behind notifications shares the recorder's reads
// and asks chronyd nothing else. With a fake chronyd, which records every request: in every
// round, one tracking request (the recorder's and the diagnosis' read), and no request of any
// report the recorder does not read. With a real chronyd on its socket (where it answers every
// report): chronyd's own count of command packets per sample is recording's alone.
func TestNotifyCostsChronydNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: records for 20 s")
	}
	recv := notifytest.StartHTTP(t)
	fake := chronytest.StartUDP(t, chronytest.Replay)
	log := newWatchLog()
	in := startWith(t, log.hooks(), "--chrony", fake.Addr, "--sample", "1s", "--notify", "generic+"+recv.URL+"/hook", "--notify-after", "1s")
	first := log.wait(t, 0, time.Minute, "a first round", func(watched) bool { return true })
	before := len(fake.Requests())
	last := log.wait(t, first+8, time.Minute, "eight more rounds", func(watched) bool { return true })
	recv.Wait(t, "/hook", 1, time.Minute) // it did notify meanwhile (the replayed chronyd warns)
	// The recorder also reads the server statistics at each sample, and the clients when chronyd
	// served any (chronyd's request codes 54 and 68).
	const reqServerStats, reqClients = 54, 68
	recorderReads := map[uint16]bool{chronytest.ReqTracking: true, chronytest.ReqNSources: true, chronytest.ReqSourceData: true,
		chronytest.ReqSourceStats: true, chronytest.ReqNTPSourceName: true, reqServerStats: true, reqClients: true}
	tracking := 0
	for i, r := range fake.Requests() {
		if !recorderReads[r.Command] {
			t.Errorf("chronyd was asked for command %d, which the recorder does not read", r.Command)
		}
		if r.Command == chronytest.ReqTracking && i >= before {
			tracking++
		}
	}
	rounds := last - first
	t.Logf("%d rounds of the recorder and the diagnosis: %d tracking requests", rounds, tracking)
	if tracking > rounds+1 {
		t.Errorf("%d rounds cost %d tracking requests: the diagnosis does not share the recorder's reads", rounds, tracking)
	}
	in.exit(t)

	// A real chronyd, read on its socket (where it answers every report, and the diagnosis
	// could ask for more): recording alone costs 11 command packets a sample there (tracking,
	// the count, 4 sources, 4 statistics, and the server statistics that chronyd answers only on
	// its socket; over UDP 10: TestRecordingCostsOneReadPerSample); with notifications, no more.
	lab := startLab(t, chronylab.Options{})
	in = start(t, "--chrony", lab.Monitored.SocketAddress(), "--sample", "1s", "--notify", "generic+"+recv.URL+"/lab", "--notify-after", "1s")
	samples, got := packetsPerSample(t, in, lab.Monitored)
	t.Logf("with notifications, %d samples cost chronyd %d command packets (%.1f a sample)", samples, got, float64(got)/float64(samples))
	if got > 11*(samples+1) {
		t.Errorf("with notifications, %d samples cost %d command packets, more than 11 a sample", samples, got)
	}
	recv.Wait(t, "/lab", 1, time.Minute) // the lab's chronyd warns: it was told
}

// TestNotifyMessageSurvivesARestart: a message that could not be delivered before second-hand
// stopped (its receiver answered 503 to every attempt) is delivered by the next second-hand,
// from the history store, exactly once, and the next one does not decide it anew.
func TestNotifyMessageSurvivesARestart(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs second-hand twice for several seconds")
	}
	recv := notifytest.StartHTTP(t)
	recv.Fail(1 << 20)
	fake := chronytest.StartUDP(t, chronytest.Replay)
	const after = time.Second
	args := []string{"--chrony", "nas=" + fake.Addr, "--data-dir", t.TempDir(), "--sample", "1s", "--notify-after", after.String(),
		"--notify", "generic+" + recv.URL + "/hook?template=json"}
	first := start(t, args...)
	failed := regexp.MustCompile(`second_hand_notifications_total\{result="failed"\} ([1-9]\d*)`)
	testkit.Eventually(t, time.Minute, "an attempt that failed", func() bool {
		_, body := fetch(t, first.url+"/metrics")
		return failed.MatchString(body)
	})
	first.exit(t)
	if n := len(recv.Requests("")); n != 0 {
		t.Fatalf("%d requests kept while the receiver refused them all", n)
	}

	recv.Fail(0)
	log := newWatchLog()
	second := startWith(t, log.hooks(), args...)
	var hook map[string]string
	if err := json.Unmarshal([]byte(recv.Wait(t, "/hook", 1, time.Minute)[0].Body), &hook); err != nil || hook["title"] != "! nas: warning · second-hand" {
		t.Errorf("the message delivered after the restart: %v (%v)", hook, err)
	}
	log.waitHeld(t, "nas", diagnose.Warning, after)
	if c := log.changes(0); len(c) != 0 {
		t.Errorf("the second second-hand decided a message again: %v", c)
	}
	testkit.Eventually(t, time.Minute, "the delivery counted", func() bool {
		_, body := fetch(t, second.url+"/metrics")
		return strings.Contains(body, `second_hand_notifications_total{result="sent"} 1`)
	})
	if n := len(recv.Requests("")); n != 1 {
		t.Errorf("%d requests arrived, want the one message", n)
	}
}

// TestNotifyLedgerFollowsHistory: with history on, what was sent is kept in the history store
// (its notify_sent table, read back from the file once second-hand's history is closed) and
// the hosts are diagnosed at each sample; with history off (--sample 0), in memory (nothing
// written to --data-dir) and every 16 s; the log's line says which.
func TestNotifyLedgerFollowsHistory(t *testing.T) {
	for _, c := range []struct {
		sample string
		stored bool
		every  time.Duration
		note   string
	}{{"5s", true, 5 * time.Second, "kept in the history store, "}, {"0", false, 16 * time.Second, "kept in memory (history is off)"}} {
		dir := t.TempDir()
		cfg, err := parseConfig([]string{"--sample", c.sample, "--data-dir", dir, "--notify", "ntfy://ntfy.sh/a"}, env(nil), nil)
		if err != nil {
			t.Fatal(err)
		}
		hist := history.Open(history.Config{Dir: cfg.DataDir, Sample: cfg.Sample, Retention: cfg.Retention})
		ledger, every := notifyLedger(cfg, hist)
		if _, err := ledger.Save(context.Background(), []alerting.Sent{{Host: "nas", State: diagnose.Warning}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := hist.Close(); err != nil {
			t.Fatal(err)
		}
		var kept []store.Notified
		if c.stored {
			st, err := store.Open(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			kept, _, err = st.Notifications(context.Background())
			st.Close()
			if err != nil {
				t.Fatal(err)
			}
		} else if files, _ := os.ReadDir(dir); len(files) != 0 {
			t.Errorf("--sample 0: %d files written to --data-dir", len(files))
		}
		if stored := len(kept) == 1 && kept[0].Host == "nas" && kept[0].State == "warning"; stored != c.stored || every != c.every || !strings.Contains(notifyNote(cfg), c.note) {
			t.Errorf("--sample %s: kept in the store %v, every %v, the log's note %q", c.sample, kept, every, notifyNote(cfg))
		}
	}
}

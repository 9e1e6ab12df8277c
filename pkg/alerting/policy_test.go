package alerting

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// diag is a diagnosis of host in state st, with a first finding of that severity.
func diag(host string, st diagnose.State) diagnose.Diagnosis {
	d := diagnose.Diagnosis{Host: host, State: st, Checked: []string{"3 of 3 sources reachable"}}
	switch st {
	case diagnose.Warning:
		d.Findings = []diagnose.Finding{{ID: "no-redundancy", Severity: diagnose.Warn, Text: "Only two usable sources.", Fix: "Add a server."}}
	case diagnose.Failing:
		d.Findings = []diagnose.Finding{{ID: "chronyd-unreachable", Severity: diagnose.Critical, Text: "chronyd does not answer.", Fix: "Start chronyd."}}
	}
	return d
}

// step is one round: at a moment after t0, each host's state; want says what the round sends,
// one "host:state" (or "host:resolved") per change, "" for nothing.
type step struct {
	at    time.Duration
	hosts map[string]diagnose.State
	want  string
}

const (
	ok      = diagnose.OK
	warning = diagnose.Warning
	failing = diagnose.Failing
	unknown = diagnose.Unknown
)

// TestPolicy: the rounds of a host's life and what each one sends.
func TestPolicy(t *testing.T) {
	const after = 2 * time.Minute
	for _, c := range []struct {
		name  string
		sent  map[string]Sent // what was sent before a restart
		steps []step
	}{
		{"a blip pages nobody", nil, []step{
			{0, map[string]diagnose.State{"nas": warning}, ""},
			{time.Minute, map[string]diagnose.State{"nas": ok}, ""},
			{3 * time.Minute, map[string]diagnose.State{"nas": ok}, ""},
		}},
		{"worse for the whole wait: one message, then quiet", nil, []step{
			{0, map[string]diagnose.State{"nas": ok}, ""},
			{16 * time.Second, map[string]diagnose.State{"nas": warning}, ""},
			{after, map[string]diagnose.State{"nas": warning}, ""},
			{16*time.Second + after, map[string]diagnose.State{"nas": warning}, "nas:warning"},
			{time.Hour, map[string]diagnose.State{"nas": warning}, ""},
		}},
		{"warning then failing: a second message when failing has held", nil, []step{
			{0, map[string]diagnose.State{"nas": warning}, ""},
			{after, map[string]diagnose.State{"nas": warning}, "nas:warning"},
			{3 * time.Minute, map[string]diagnose.State{"nas": failing}, ""},
			{3*time.Minute + after, map[string]diagnose.State{"nas": failing}, "nas:failing"},
		}},
		{"better but not ok is no news; ok for the wait resolves", nil, []step{
			{0, map[string]diagnose.State{"nas": failing}, ""},
			{after, map[string]diagnose.State{"nas": failing}, "nas:failing"},
			{3 * time.Minute, map[string]diagnose.State{"nas": warning}, ""},
			{10 * time.Minute, map[string]diagnose.State{"nas": warning}, ""},
			{11 * time.Minute, map[string]diagnose.State{"nas": ok}, ""},
			{11*time.Minute + after - time.Second, map[string]diagnose.State{"nas": ok}, ""},
			{11*time.Minute + after, map[string]diagnose.State{"nas": ok}, "nas:resolved"},
			{time.Hour, map[string]diagnose.State{"nas": ok}, ""},
		}},
		{"ok for less than the wait resolves nothing", nil, []step{
			{0, map[string]diagnose.State{"nas": failing}, ""},
			{after, map[string]diagnose.State{"nas": failing}, "nas:failing"},
			{5 * time.Minute, map[string]diagnose.State{"nas": ok}, ""},
			{6 * time.Minute, map[string]diagnose.State{"nas": failing}, ""},
			{5*time.Minute + after, map[string]diagnose.State{"nas": failing}, ""},
		}},
		{"unknown is no news either way", nil, []step{
			{0, map[string]diagnose.State{"nas": warning}, ""},
			{time.Minute, map[string]diagnose.State{"nas": unknown}, ""},
			{after, map[string]diagnose.State{"nas": warning}, "nas:warning"},
		}},
		{"after a restart: the problem told before is not told again", map[string]Sent{"nas": {Host: "nas", State: warning, At: t0.Add(-time.Hour), Since: t0.Add(-70 * time.Minute)}}, []step{
			{0, map[string]diagnose.State{"nas": warning}, ""},
			{after, map[string]diagnose.State{"nas": warning}, ""},
			{time.Hour, map[string]diagnose.State{"nas": warning}, ""},
		}},
		{"after a restart: a problem over meanwhile is resolved", map[string]Sent{"nas": {Host: "nas", State: failing, At: t0.Add(-time.Hour), Since: t0.Add(-70 * time.Minute)}}, []step{
			{0, map[string]diagnose.State{"nas": ok}, ""},
			{after, map[string]diagnose.State{"nas": ok}, "nas:resolved"},
		}},
		{"hosts seen a round apart make one message", nil, []step{
			{0, map[string]diagnose.State{"a": failing, "b": ok, "c": ok}, ""},
			{16 * time.Second, map[string]diagnose.State{"a": failing, "b": failing, "c": failing}, ""},
			{after, map[string]diagnose.State{"a": failing, "b": failing, "c": failing}, "a:failing b:failing c:failing"},
		}},
		{"a digest: worst first, then resolutions", map[string]Sent{"z": {Host: "z", State: warning, At: t0.Add(-time.Hour), Since: t0.Add(-time.Hour)}}, []step{
			{0, map[string]diagnose.State{"a": warning, "b": failing, "z": ok}, ""},
			{after, map[string]diagnose.State{"a": warning, "b": failing, "z": ok}, "b:failing a:warning z:resolved"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewPolicy(after, c.sent)
			for _, s := range c.steps {
				var ds []diagnose.Diagnosis
				for _, h := range sortedKeys(s.hosts) {
					ds = append(ds, diag(h, s.hosts[h]))
				}
				var got []string
				for _, ch := range p.Round(t0.Add(s.at), ds) {
					if ch.Resolved {
						got = append(got, ch.Host+":resolved")
					} else {
						got = append(got, ch.Host+":"+ch.Diagnosis.State.String())
					}
				}
				if g := strings.Join(got, " "); g != s.want {
					t.Errorf("at +%v: sent %q, want %q", s.at, g, s.want)
				}
			}
		})
	}
}

func sortedKeys(m map[string]diagnose.State) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestPolicyKnowsWhenItBeganAndEnded: the problem's start is when it was first seen (or the
// record's moment when the finding has one), kept while it grows worse and across a restart;
// its resolution says when it ended.
func TestPolicyKnowsWhenItBeganAndEnded(t *testing.T) {
	const after = time.Minute
	p := NewPolicy(after, nil)
	d := diag("nas", failing)
	d.Findings[0].Since = diagnose.Since{At: t0.Add(-30 * time.Second), From: "history"}
	p.Round(t0, []diagnose.Diagnosis{d})
	ch := p.Round(t0.Add(after), []diagnose.Diagnosis{d})
	if len(ch) != 1 || !ch[0].Since.Equal(t0.Add(-30*time.Second)) {
		t.Fatalf("changes %+v: want one since the record's moment", ch)
	}
	s := p.Sent("nas")
	if s.State != failing || !s.Since.Equal(t0.Add(-30*time.Second)) || s.What != "chronyd does not answer." || !s.At.Equal(t0.Add(after)) {
		t.Errorf("sent %+v", s)
	}
	// A restart: a new policy from what was kept.
	p = NewPolicy(after, map[string]Sent{"nas": s})
	p.Round(t0.Add(5*time.Minute), []diagnose.Diagnosis{diag("nas", ok)})
	ch = p.Round(t0.Add(6*time.Minute), []diagnose.Diagnosis{diag("nas", ok)})
	if len(ch) != 1 || !ch[0].Resolved || !ch[0].Over.Equal(t0.Add(5*time.Minute)) || !ch[0].Since.Equal(t0.Add(-30*time.Second)) || ch[0].Before.What != s.What {
		t.Errorf("resolution %+v", ch)
	}
	if got := p.Sent("nas"); got.State != ok || !got.Since.IsZero() {
		t.Errorf("after the resolution: %+v", got)
	}
}

// TestPolicyNeverTellsTwiceWithinTheWait: hosts changing state at random, rounds at random
// intervals: no host gets two messages within the wait, every message says something new (a
// worse state, or ok again), and a state that holds is always told.
func TestPolicyNeverTellsTwiceWithinTheWait(t *testing.T) {
	const after = time.Minute
	rng := rand.New(rand.NewPCG(19, 2026))
	hosts := []string{"a", "b", "c", "d", "e"}
	p := NewPolicy(after, nil)
	state := map[string]diagnose.State{}
	last := map[string]Sent{}
	now := t0
	for range 2000 {
		now = now.Add(time.Duration(1+rng.IntN(30)) * time.Second)
		var ds []diagnose.Diagnosis
		for _, h := range hosts {
			if rng.IntN(20) == 0 {
				state[h] = []diagnose.State{ok, warning, failing, unknown}[rng.IntN(4)]
			}
			ds = append(ds, diag(h, state[h]))
		}
		for _, c := range p.Round(now, ds) {
			prev := last[c.Host]
			if !prev.At.IsZero() && now.Sub(prev.At) < after {
				t.Fatalf("%s told at %v and again %v later", c.Host, prev.At, now.Sub(prev.At))
			}
			if c.Resolved && prev.state() == ok || !c.Resolved && level(c.Diagnosis.State) <= level(prev.state()) {
				t.Fatalf("%s told %v (resolved %v) after %v: nothing new", c.Host, c.Diagnosis.State, c.Resolved, prev.State)
			}
			last[c.Host] = p.Sent(c.Host)
		}
	}
	// Whatever happened, a state held long enough is told.
	for range 3 {
		now = now.Add(after)
		var ds []diagnose.Diagnosis
		for _, h := range hosts {
			ds = append(ds, diag(h, failing))
		}
		p.Round(now, ds)
	}
	for _, h := range hosts {
		if p.Sent(h).State != failing {
			t.Errorf("%s held failing for three waits and was not told: %+v", h, p.Sent(h))
		}
	}
}

// TestPolicyTwentyHostsAtOnce: twenty hosts going silent in two rounds are one message.
func TestPolicyTwentyHostsAtOnce(t *testing.T) {
	p := NewPolicy(time.Minute, nil)
	round := func(at time.Duration, silent int) []Change {
		var ds []diagnose.Diagnosis
		for i := range 20 {
			st := ok
			if i < silent {
				st = failing
			}
			ds = append(ds, diag(fmt.Sprintf("h%02d", i), st))
		}
		return p.Round(t0.Add(at), ds)
	}
	round(0, 0)
	round(16*time.Second, 7)
	round(32*time.Second, 20)
	if got := round(16*time.Second+time.Minute, 20); len(got) != 20 {
		t.Errorf("%d hosts in the message, want 20", len(got))
	}
	if got := round(2*time.Minute, 20); len(got) != 0 {
		t.Errorf("%d more", len(got))
	}
}

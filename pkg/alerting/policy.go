package alerting

import (
	"slices"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

// Sent is what was last sent about a host: kept (see Ledger), so that a restart neither says
// it again nor forgets to say that it is over.
type Sent struct {
	Host string
	// State is what the last message said: Warning or Failing while a problem is reported,
	// OK once it was resolved (or when nothing was ever sent).
	State diagnose.State
	At    time.Time // when that message was decided
	// Since is when the problem it reported began; What is its first finding, for the message
	// that says it is over.
	Since time.Time
	What  string
}

func (s Sent) state() diagnose.State {
	if s.State == diagnose.Unknown {
		return diagnose.OK
	}
	return s.State
}

// level orders the states by how bad they are; unknown is no news.
func level(s diagnose.State) int {
	switch s {
	case diagnose.Warning:
		return 1
	case diagnose.Failing:
		return 2
	}
	return 0
}

// watch is what is seen of a host between messages: since when its state has been worse than
// the last message said, or ok while the last message reported a problem. Kept in memory only:
// after a restart a state must hold again for the whole wait.
type watch struct {
	worse, better time.Time
}

// Change is one host in a message: its state got worse, or its problem is over.
type Change struct {
	Host      string
	Diagnosis diagnose.Diagnosis // as of the round
	Before    Sent               // what had been sent
	Resolved  bool
	// Since is when the problem began; Over, for a resolution, when it ended.
	Since, Over time.Time
}

// Policy decides when a host's diagnosis is worth a message: when its state is worse than
// the last message said (ok to warning or failing, warning to failing) and has stayed so for
// After, and when it is ok again for After after a problem was reported. A host gets at most
// one message per After. When one host's message is due, every other host whose state has
// changed the same way since its last message goes in the same one (a digest), so that many
// hosts going wrong at once make one message, whichever round each was first seen in.
type Policy struct {
	After time.Duration
	sent  map[string]Sent
	watch map[string]*watch
}

// NewPolicy starts from what was sent before (by host).
func NewPolicy(after time.Duration, sent map[string]Sent) *Policy {
	p := &Policy{After: after, sent: map[string]Sent{}, watch: map[string]*watch{}}
	for h, s := range sent {
		p.sent[h] = s
	}
	return p
}

// Sent is what was last sent about host.
func (p *Policy) Sent(host string) Sent { return p.sent[host] }

// Round takes one round of diagnoses, made at now, and returns the hosts to tell about (none
// most of the time), worst first; it records them as sent.
func (p *Policy) Round(now time.Time, ds []diagnose.Diagnosis) []Change {
	var pending []Change
	due := false
	for _, d := range ds {
		w := p.watch[d.Host]
		if w == nil {
			w = &watch{}
			p.watch[d.Host] = w
		}
		s := p.sent[d.Host]
		rested := s.At.IsZero() || now.Sub(s.At) >= p.After
		switch {
		case d.State == diagnose.Unknown:
			// Nothing read (yet): no news either way.
		case level(d.State) > level(s.state()):
			w.better = time.Time{}
			if w.worse.IsZero() {
				w.worse = now
			}
			since := w.worse
			if s.state() != diagnose.OK && !s.Since.IsZero() {
				since = s.Since // the same problem, grown worse
			} else if f, ok := d.First(); ok && f.Since.Known() && !f.Since.AtLeast && f.Since.At.Before(since) {
				since = f.Since.At // the record knows better when it began
			}
			if rested {
				pending = append(pending, Change{Host: d.Host, Diagnosis: d, Before: s, Since: since})
				due = due || now.Sub(w.worse) >= p.After
			}
		case d.State == diagnose.OK && s.state() != diagnose.OK:
			w.worse = time.Time{}
			if w.better.IsZero() {
				w.better = now
			}
			if rested {
				pending = append(pending, Change{Host: d.Host, Diagnosis: d, Before: s, Resolved: true, Since: s.Since, Over: w.better})
				due = due || now.Sub(w.better) >= p.After
			}
		default:
			w.worse, w.better = time.Time{}, time.Time{}
		}
	}
	if !due {
		return nil
	}
	for _, c := range pending {
		if c.Resolved {
			p.sent[c.Host] = Sent{Host: c.Host, State: diagnose.OK, At: now}
		} else {
			p.sent[c.Host] = Sent{Host: c.Host, State: c.Diagnosis.State, At: now, Since: c.Since, What: headline(c.Diagnosis)}
		}
		*p.watch[c.Host] = watch{}
	}
	slices.SortStableFunc(pending, func(a, b Change) int {
		if r := rank(a) - rank(b); r != 0 {
			return r
		}
		if a.Host < b.Host {
			return -1
		}
		return 1
	})
	return pending
}

// rank orders changes: failing, warning, resolved.
func rank(c Change) int {
	if c.Resolved {
		return 3
	}
	return c.Diagnosis.State.Rank()
}

// headline is the problem in one sentence: the first finding that is not mere information.
func headline(d diagnose.Diagnosis) string {
	if f, ok := d.First(); ok && f.Severity > diagnose.Info {
		return f.Text
	}
	return d.State.Word()
}

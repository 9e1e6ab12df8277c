package diagnose

import (
	"sync"
	"time"
)

// Memo keeps each host's last diagnosis with what it was made from: the time of each report
// read, the history's version, the thresholds and the second it was made in (its sentences say
// "2 min ago"). The viewers served between two reads of chronyd, a hundred open overviews,
// then cost one judgement a second per host. A diagnosis it returns is shared: read it, never
// change it.
type Memo struct {
	mu   sync.Mutex
	last map[string]memoEntry
}

type memoEntry struct {
	key memoKey
	d   Diagnosis
}

type memoKey struct {
	second                                                    int64
	tracking, sources, stats, activity, server, prev, select_ time.Time
	ntp, auth                                                 time.Time // the newest of each, with how many
	ntpN, authN                                               int
	history                                                   uint64
	historyKnown                                              bool
	unanswered                                                time.Time
	thresholds                                                Thresholds
}

// NewMemo returns an empty memo.
func NewMemo() *Memo { return &Memo{last: map[string]memoEntry{}} }

func keyOf(in Input) memoKey {
	k := memoKey{second: in.Now.Unix(), tracking: in.Tracking.At, sources: in.Sources.At, stats: in.SourceStats.At,
		activity: in.Activity.At, server: in.ServerStats.At, prev: in.PrevServerStats.At, select_: in.Selection.At,
		ntpN: len(in.NTP), authN: len(in.Auth), history: in.History.Version, historyKnown: in.History.Known, thresholds: in.Thresholds,
		unanswered: in.Unanswered}
	for _, r := range in.NTP {
		k.ntp = later(k.ntp, r.At)
	}
	for _, r := range in.Auth {
		k.auth = later(k.auth, r.At)
	}
	return k
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Diagnose is Diagnose(in), or the diagnosis made already from the same reads in the same
// second.
func (m *Memo) Diagnose(in Input) Diagnosis {
	k := keyOf(in)
	m.mu.Lock()
	e, ok := m.last[in.Host]
	m.mu.Unlock()
	if ok && e.key == k {
		return e.d
	}
	d := Diagnose(in)
	m.mu.Lock()
	m.last[in.Host] = memoEntry{k, d}
	m.mu.Unlock()
	return d
}

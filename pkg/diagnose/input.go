package diagnose

import (
	"errors"
	"net/netip"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// Input is everything one diagnosis rests on: a host's reports, each with when it was read
// and its error, what its history knows, and the thresholds that apply to it. It is plain
// data: Gather fills it from a monitor; another source of the same facts (Prometheus series,
// captured replies) can fill it as well.
type Input struct {
	Host     string
	Endpoint string    // the chronyd address, for the words of errors
	Now      time.Time // when the diagnosis is made

	Tracking    Report[chrony.Tracking]
	Sources     Report[[]chrony.Source]
	SourceStats Report[[]chrony.SourceStats]
	Activity    Report[chrony.Activity]
	ServerStats Report[chrony.ServerStats]
	// PrevServerStats is the server statistics read before ServerStats, for rates; not read
	// until there have been two reads.
	PrevServerStats Report[chrony.ServerStats]
	// Selection is chronyd's selectdata report (socket only, or opencommands): read when a
	// finding needs it (see NeedsSelection).
	Selection Report[[]chrony.Selection]
	// NTP and Auth are the ntpdata and authdata reports of the sources they were read for,
	// by address.
	NTP  map[netip.Addr]Report[chrony.NTPData]
	Auth map[netip.Addr]Report[chrony.AuthData]

	History    History
	Thresholds Thresholds
	// Unanswered is when this second-hand's reads of tracking began to fail, with none
	// answered since (its monitor's outage); zero while chronyd answers. It says since when
	// chronyd is silent when the history does not.
	Unanswered time.Time
}

// Report is one report: its value when read without error, when it was read, and its error.
// A report with neither At nor Err was not read.
type Report[T any] struct {
	Val T
	At  time.Time
	Err error
}

// OK reports whether the report was read without error.
func (r Report[T]) OK() bool { return r.Err == nil && !r.At.IsZero() }

// Read returns a report read at at without error.
func Read[T any](v T, at time.Time) Report[T] { return Report[T]{Val: v, At: at} }

// Failed returns a report that could not be read.
func Failed[T any](err error, at time.Time) Report[T] { return Report[T]{Err: err, At: at} }

// ErrNotYet is the error of a report whose read has not ended yet (a slow or silent chronyd
// that the caller stopped waiting for).
var ErrNotYet = errors.New("still waiting for chronyd's answer")

// History is what a host's record knows of when things happened. A zero time means the record
// holds no such moment. Times are those of the samples that saw them, so they are known to a
// sample interval.
type History struct {
	// Known is false when there is no record to ask (history off, or not read yet); Why says
	// why.
	Known bool
	Why   string
	// Version changes whenever the record does (a Memo keys on it); 0 when not kept.
	Version uint64
	// Start is when the record begins: moments before it are not known.
	Start time.Time
	// Unsynchronised is when the current stretch without synchronisation began (zero when the
	// last sample was synchronised).
	Unsynchronised time.Time
	// Silent is when chronyd stopped answering (zero when it answers).
	Silent time.Time
	// Restart is the last restart of chronyd seen.
	Restart time.Time
	// Sources are each source's moments, by Key.
	Sources map[string]SourceHistory
	// Recent are the last samples of the system clock, oldest first, for since when a value
	// has been above a threshold.
	Recent []Sample
}

// SourceHistory is what the record knows of one source.
type SourceHistory struct {
	FirstSeen  time.Time // its first record
	LastSample time.Time // its newest sample: when it last answered with a good packet
	// Unreachable is when its reach register last became 0; zero when it is reachable, or it
	// has never been reachable in the record (then FirstSeen).
	Unreachable time.Time
	// StateSince is when it entered its current selection state.
	StateSince time.Time
	State      chrony.SourceState
}

// Sample is one sample of the system clock in the record.
type Sample struct {
	T               time.Time
	OffsetSeconds   float64 // system time offset
	MaxErrorSeconds float64 // |offset| + root dispersion + root delay / 2
	Synchronised    bool
}

// Key is how a source is named in the history and in links: its address, or a reference
// clock's (or an unresolved source's) name.
func Key(name string, addr netip.Addr) string {
	if addr.IsValid() {
		return addr.String()
	}
	return name
}

// SourceKey is Key of a source.
func SourceKey(s chrony.Source) string { return Key(s.Name, s.Address) }

// Thresholds are the limits a host's clock is held to.
type Thresholds struct {
	// MaxClockError: the bound on the clock's error above which the host is failing.
	MaxClockError time.Duration
	// MaxOffset: the system time offset above which the host needs a look.
	MaxOffset time.Duration
	// LatePolls: the last clock update is late when it is older than this many update
	// intervals (or polls of the selected source, whichever is longer).
	LatePolls int
	// RecentRestart: a restart of chronyd younger than this is worth a word.
	RecentRestart time.Duration
}

// DefaultThresholds are limits a homelab accepts: the clock within 100 ms for sure, and
// steered within 10 ms.
func DefaultThresholds() Thresholds {
	return Thresholds{MaxClockError: 100 * time.Millisecond, MaxOffset: 10 * time.Millisecond, LatePolls: 8, RecentRestart: time.Hour}
}

func (t Thresholds) orDefault() Thresholds {
	d := DefaultThresholds()
	if t.MaxClockError <= 0 {
		t.MaxClockError = d.MaxClockError
	}
	if t.MaxOffset <= 0 {
		t.MaxOffset = d.MaxOffset
	}
	if t.LatePolls <= 0 {
		t.LatePolls = d.LatePolls
	}
	if t.RecentRestart <= 0 {
		t.RecentRestart = d.RecentRestart
	}
	return t
}

// HostThresholds are the thresholds of every host: a default, and the hosts given their own.
type HostThresholds struct {
	Default Thresholds
	Hosts   map[string]Thresholds
}

// For is host's thresholds.
func (h HostThresholds) For(host string) Thresholds {
	if t, ok := h.Hosts[host]; ok {
		return t.orDefault()
	}
	return h.Default.orDefault()
}

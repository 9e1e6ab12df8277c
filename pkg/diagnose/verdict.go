package diagnose

import (
	"net/netip"
	"strings"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// SourceFacts is what is known of one source for its verdict: its row of the sources report
// (read at At), its selection row and its last packet when read, and its history.
type SourceFacts struct {
	Source    chrony.Source
	At        time.Time
	Selection *chrony.Selection // nil when not read
	NTP       *chrony.NTPData   // nil when not read
	History   History
}

// Verdict says in plain words whether a source is used, and if not why, from what is known of
// it: the selection report when chronyd gives it, else the sources report; with the last
// packet's failed tests when they say more, and how long an unreachable source has been so.
func Verdict(f SourceFacts) (string, Tone) {
	s, sel := f.Source, f.Selection
	switch {
	case sel != nil && sel.State == '*', sel == nil && s.State == chrony.StateSelected:
		return "Used for synchronisation: the selected source, the one the clock follows.", Good
	case sel != nil && sel.State == '+', sel == nil && s.State == chrony.StateSelectable:
		return "Used for synchronisation: combined with the selected source.", Good
	}
	if s.Reach == 0 && (sel == nil || strings.IndexByte("NMsdSx~w", sel.State) >= 0) {
		return "Not used: " + Unreachable(s, f.History, f.At) + ".", Bad
	}
	why, tone := "", Bad
	if sel != nil {
		why, tone = selectionWhy(sel.State)
	} else {
		switch s.State {
		case chrony.StateFalseticker:
			why = "its time disagrees with the majority of the sources (a falseticker)"
		case chrony.StateJittery:
			why = "too much jitter compared with the other sources"
		case chrony.StateUnselected:
			why, tone = "acceptable, but not combined with the selected source", Neutral
		default:
			why = "chronyd cannot use it (not enough samples, a distance too large, or an option); its selection report, on the socket, says which"
		}
	}
	if f.NTP != nil && f.NTP.Tests != 0x3ff && f.NTP.TotalRX > 0 {
		why += "; its last packet failed " + strings.Join(f.NTP.TestFailures(), ", ")
	}
	return "Not used: " + why + ".", tone
}

// selectionWhy is why a source in a selectdata state is not used, in words, and how it reads.
func selectionWhy(state byte) (string, Tone) {
	switch state {
	case 'x':
		return "its time disagrees with the majority of the sources (a falseticker)", Bad
	case '~':
		return "too much jitter compared with the other sources (more than maxjitter, 1 s by default)", Bad
	case 'N':
		return "it has the noselect option: chronyd measures it but never uses it", Neutral
	case 'M':
		return "waiting for more samples", Attention
	case 'w':
		return "waiting for other sources to have enough samples", Attention
	case 'd':
		return "its root distance (delay and dispersion to the reference) is larger than maxdistance (3 s by default)", Bad
	case 's':
		return "the source itself is not synchronised", Bad
	case 'D':
		return "its distance is too large to be combined with the selected source (combinelimit)", Neutral
	case 'P':
		return "another source has the prefer option", Neutral
	case 'W':
		return "selectable, but chronyd waits for more selectable sources (minsources, or another source's require option)", Attention
	case 'U':
		return "selectable, waiting for a new sample after a change of the selected source", Neutral
	case 'S':
		return "its samples are older than the other sources' (it stopped answering, or answers too rarely)", Bad
	case 'O':
		return "its stratum is at or above the orphan stratum (local directive)", Neutral
	case 'T':
		return "it does not agree with the sources that have the trust option", Bad
	}
	return strings.TrimPrefix(chrony.SelectionReason(state), "not selected: "), Bad
}

// Unreachable says how long a source has not answered, from the moments that say it: its
// last sample (chronyd's report, else the history), or, for a source that never answered, the
// history's first record of it. It never guesses from the polling interval: what is not
// recorded is said to be unknown.
func Unreachable(s chrony.Source, h History, at time.Time) string {
	since := unreachableSince(s, h, at)
	switch {
	case s.Mode == chrony.ModeRefClock && neverSampled(s, h):
		return "no sample from the reference clock " + sinceWords(since, at, "yet")
	case s.Mode == chrony.ModeRefClock:
		return "no sample from the reference clock " + sinceWords(since, at, "")
	case neverSampled(s, h):
		return "unreachable: it has never answered " + sinceWords(since, at, "since chronyd started")
	}
	return "unreachable: no answer " + sinceWords(since, at, "")
}

// UnreachableBrief is Unreachable in a few words, for a table's cell: "never answered", "no
// answer for 4 min", "no sample yet" (a reference clock).
func UnreachableBrief(s chrony.Source, h History, at time.Time) string {
	since := unreachableSince(s, h, at)
	var what string
	switch {
	case s.Mode == chrony.ModeRefClock && neverSampled(s, h):
		return "no sample yet"
	case s.Mode == chrony.ModeRefClock:
		what = "no sample"
	case neverSampled(s, h):
		return "never answered"
	default:
		what = "no answer"
	}
	if !since.Known() {
		return what
	}
	d := Ago(max(at.Sub(since.At), 0))
	if since.AtLeast {
		return what + " for " + d + " or more"
	}
	return what + " for " + d
}

func sinceWords(s Since, at time.Time, unknown string) string {
	switch {
	case !s.Known():
		return unknown
	case s.AtLeast:
		return "for at least " + Ago(max(at.Sub(s.At), 0)) + " (" + s.Why + ")"
	}
	return "since " + s.At.UTC().Format("15:04:05 UTC") + " (" + Ago(max(at.Sub(s.At), 0)) + ")"
}

// neverSampled: chronyd has no sample of the source, nor does the record.
func neverSampled(s chrony.Source, h History) bool {
	return s.LastSampleAgo == chrony.NeverSampled && h.Sources[SourceKey(s)].LastSample.IsZero()
}

// unreachableSince is since when a source has not answered: its last sample, by chronyd's
// report (exact), else by the history; for a source never sampled, the history's first record
// of it (exact when the record began before it, else at least since the record began).
func unreachableSince(s chrony.Source, h History, at time.Time) Since {
	if s.LastSampleAgo != chrony.NeverSampled {
		return Since{At: at.Add(-s.LastSampleAgo), From: "chronyd"}
	}
	hs, ok := h.Sources[SourceKey(s)]
	switch {
	case !h.Known || !ok:
		return Since{}
	case !hs.LastSample.IsZero():
		return Since{At: hs.LastSample, From: "history"}
	case !hs.FirstSeen.IsZero() && hs.FirstSeen.After(h.Start.Add(recordSlack)):
		return Since{At: hs.FirstSeen, From: "history"}
	case !hs.FirstSeen.IsZero():
		return Since{At: hs.FirstSeen, AtLeast: true, From: "history", Why: "the record begins then"}
	}
	return Since{}
}

// recordSlack: a source first recorded this soon after the record began was there when it
// began (the recorder reads tracking first, then the sources).
const recordSlack = time.Minute

// SelectionFor finds source i's row in the selection report: at the same index if that row is
// the same source, else by address or name (sources may have changed between the two reads).
func SelectionFor(rows []chrony.Selection, i int, addr netip.Addr, name string) int {
	same := func(r chrony.Selection) bool {
		if addr.IsValid() {
			return r.Address == addr
		}
		return !r.Address.IsValid() && r.Name == name
	}
	if i >= 0 && i < len(rows) && same(rows[i]) {
		return i
	}
	for k, r := range rows {
		if same(r) {
			return k
		}
	}
	return -1
}

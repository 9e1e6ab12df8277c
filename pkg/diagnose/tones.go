package diagnose

import (
	"math"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// Tone is how a value or a verdict reads: good, neutral, needing a look, or bad. Views give
// each its colour and symbol; the judgement of which is here, with the thresholds.
type Tone int

const (
	Neutral Tone = iota
	Good
	Attention
	Bad
)

// Tone is how a state reads: ok good, warning worth a look, failing bad, unknown neutral.
func (s State) Tone() Tone {
	switch s {
	case OK:
		return Good
	case Warning:
		return Attention
	case Failing:
		return Bad
	}
	return Neutral
}

// Tone is how a finding of this severity reads; information is neutral.
func (s Severity) Tone() Tone {
	if s == Info {
		return Neutral
	}
	return s.State().Tone()
}

// OffsetTone judges the system time offset: good within MaxOffset, bad beyond MaxClockError,
// and in between worth a look; neutral when there is no reference to be off from.
func OffsetTone(offsetSeconds float64, synchronised bool, th Thresholds) Tone {
	th = th.orDefault()
	switch a := math.Abs(offsetSeconds); {
	case !synchronised:
		return Neutral
	case a > th.MaxClockError.Seconds():
		return Bad
	case a > th.MaxOffset.Seconds():
		return Attention
	}
	return Good
}

// MaxErrorTone judges the bound on the clock's error against MaxClockError.
func MaxErrorTone(maxErrorSeconds float64, th Thresholds) Tone {
	if maxErrorSeconds > th.orDefault().MaxClockError.Seconds() {
		return Bad
	}
	return Good
}

// LeapTone: a leap second announced is worth a look; "not synchronised" is bad.
func LeapTone(l chrony.LeapStatus) Tone {
	switch l {
	case chrony.LeapNormal:
		return Good
	case chrony.LeapUnsynchronised:
		return Bad
	}
	return Attention
}

// LateAfter is how old the last clock update may grow before it is late: LatePolls of the
// host's own update interval or of its reference's polling interval, whichever is longer, and
// never less than 10 s (chronyd reports ages to the second).
func LateAfter(t chrony.Tracking, refPollSeconds float64, th Thresholds) time.Duration {
	th = th.orDefault()
	interval := max(t.UpdateIntervalSeconds, refPollSeconds)
	return max(time.Duration(float64(th.LatePolls)*interval*float64(time.Second)), 10*time.Second)
}

// LastUpdateTone judges the age of the last clock update at the time the tracking report was
// read: bad when there was none, worth a look when late (LateAfter).
func LastUpdateTone(t chrony.Tracking, at time.Time, refPollSeconds float64, th Thresholds) Tone {
	switch {
	case t.RefTime.IsZero():
		return Bad
	case at.Sub(t.RefTime) > LateAfter(t, refPollSeconds, th):
		return Attention
	}
	return Good
}

// SourceTone judges a source's state in the sources report: used is good, too variable worth
// a look, not combined neutral, the rest bad.
func SourceTone(s chrony.SourceState) Tone {
	switch s {
	case chrony.StateSelected, chrony.StateSelectable:
		return Good
	case chrony.StateUnselected:
		return Neutral
	case chrony.StateJittery:
		return Attention
	}
	return Bad
}

// ReachTone judges a reachability register: every one of the last 8 polls answered is good,
// none bad, some worth a look.
func ReachTone(r uint8) Tone {
	switch r {
	case 0xff:
		return Good
	case 0:
		return Bad
	}
	return Attention
}

// DropTone: any dropped request is worth a look.
func DropTone(n uint64) Tone {
	if n > 0 {
		return Attention
	}
	return Good
}

// RefPoll is the polling interval of the source the clock follows, in seconds, from the
// sources report: 0 when there is none.
func RefPoll(t chrony.Tracking, sources []chrony.Source) float64 {
	if i := refIndex(t, sources); i >= 0 {
		return sources[i].Poll().Seconds()
	}
	return 0
}

// refIndex finds the source the clock follows: the selected one, else the one at the tracking
// report's reference address or with its reference ID (a reference clock).
func refIndex(t chrony.Tracking, sources []chrony.Source) int {
	for i, s := range sources {
		if s.State == chrony.StateSelected {
			return i
		}
	}
	for i, s := range sources {
		switch {
		case t.RefAddr.IsValid() && s.Address == t.RefAddr:
			return i
		case !t.RefAddr.IsValid() && t.RefID != 0 && s.Mode == chrony.ModeRefClock && s.Name == chrony.RefIDString(t.RefID):
			return i
		}
	}
	return -1
}

// Status is the clock's state in a word as the tracking report's headline shows it, judged
// with the diagnosis, so that the two never disagree: "Synchronised" is good only while the
// reference gives samples; a clock whose reference stopped answering is "Coasting", however
// chronyd's own report still reads.
func Status(t chrony.Tracking, d Diagnosis) (string, Tone) {
	switch {
	case !t.Synchronised():
		return "Not synchronised", Bad
	case t.RefID == chrony.RefIDLocal:
		return "Local clock only", Attention
	}
	if f, ok := d.Finding(IDReferenceUnreachable); ok {
		return "Coasting", f.Severity.Tone()
	}
	if f, ok := d.Finding(IDReferenceUnsynchronised); ok {
		return "Synchronised to an unsynchronised source", f.Severity.Tone()
	}
	return "Synchronised", Good
}

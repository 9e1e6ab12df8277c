package diagnose

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// TestNotAnswering: the errors that mean chronyd cannot be read at all (the host's failure, said
// once) against those of one report (its panel's own).
func TestNotAnswering(t *testing.T) {
	e := func(k chrony.Kind) error { return &chrony.Error{Kind: k, Op: "tracking", Addr: "udp://127.0.0.1:323"} }
	budget := fmt.Errorf("reading: %w", &chrony.BudgetError{Budget: 7 * time.Second})
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"unreachable", e(chrony.KindUnreachable), true},
		{"timeout", e(chrony.KindTimeout), true},
		{"permission denied on the socket", e(chrony.KindPermission), true},
		{"shutting down (second-hand's own)", e(chrony.KindClosed), false},
		{"the request's budget ended", budget, true},
		{"refused (socket-only over UDP)", &chrony.Error{Kind: chrony.KindNotAuthorised, Op: "selectdata", Addr: "udp://127.0.0.1:323"}, false},
		{"an error status", e(chrony.KindStatus), false},
		{"a reply that makes no sense", e(chrony.KindProtocol), false},
		{"still being read", ErrNotYet, false},
		{"not chronyd's", errors.New("disk full"), false},
		{"none", nil, false},
	} {
		if got := NotAnswering(tc.err); got != tc.want {
			t.Errorf("%s: NotAnswering = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestStatus: the tracking panel's headline word follows the diagnosis: nothing reads
// "Synchronised" in green while the reference is lost.
func TestStatus(t *testing.T) {
	coasting := Diagnose(Input{Host: "h", Now: now, Tracking: Read(synced(), now),
		Sources: Read([]chrony.Source{stopped("time.lan", "192.0.2.10", 3*time.Minute)}, now)})
	if !coasting.Has(IDReferenceUnreachable) {
		t.Fatalf("the coasting case is not coasting: %+v", coasting.Findings)
	}
	healthy := Diagnose(Input{Host: "h", Now: now, Tracking: Read(synced(), now), Sources: Read(healthy(), now)})
	local := synced()
	local.RefID, local.RefAddr = chrony.RefIDLocal, chrony.Tracking{}.RefAddr
	for _, tc := range []struct {
		name string
		t    chrony.Tracking
		d    Diagnosis
		word string
		tone Tone
	}{
		{"healthy", synced(), healthy, "Synchronised", Good},
		{"coasting", synced(), coasting, "Coasting", Bad},
		{"not synchronised", unsynced, Diagnosis{}, "Not synchronised", Bad},
		{"local clock", local, Diagnosis{}, "Local clock only", Attention},
		{"no diagnosis yet", synced(), Diagnosis{}, "Synchronised", Good},
	} {
		word, tone := Status(tc.t, tc.d)
		if word != tc.word || tone != tc.tone {
			t.Errorf("%s: %q %v, want %q %v", tc.name, word, tone, tc.word, tc.tone)
		}
	}
}

// TestSilentSinceFromTheMonitor: with no history, since when chronyd is silent is this
// second-hand's first failed read, said as a bound; the history's moment wins when it has one.
func TestSilentSinceFromTheMonitor(t *testing.T) {
	down := &chrony.Error{Kind: chrony.KindUnreachable, Op: "tracking", Addr: "udp://127.0.0.1:323"}
	first := now.Add(-70 * time.Second)
	d := Diagnose(Input{Host: "h", Now: now, Tracking: Failed[chrony.Tracking](down, now), Unanswered: first})
	f, _ := d.First()
	if f.ID != IDChronydUnreachable || !f.Since.At.Equal(first) || !f.Since.AtLeast || f.Text != "chronyd is not answering at udp://127.0.0.1:323, for at least 70 s (second-hand's first read that failed)." {
		t.Errorf("without history: %+v", f)
	}
	silent := now.Add(-3 * time.Minute)
	d = Diagnose(Input{Host: "h", Now: now, Tracking: Failed[chrony.Tracking](down, now), Unanswered: first,
		History: History{Known: true, Silent: silent}})
	f, _ = d.First()
	if !f.Since.At.Equal(silent) || f.Since.AtLeast || f.Text != "chronyd is not answering at udp://127.0.0.1:323, since 19:57:00 UTC (3 min)." {
		t.Errorf("with history: %+v", f)
	}
}

package diagnose

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

func TestVerdict(t *testing.T) {
	peer := chrony.Source{Name: "192.0.2.30", Address: addr("192.0.2.30"), Mode: chrony.ModePeer, State: chrony.StateNonselectable,
		PollLog2: 7, LastSampleAgo: chrony.NeverSampled}
	started := now.Add(-10 * time.Minute)
	for _, tc := range []struct {
		name string
		f    SourceFacts
		want string
		tone Tone
	}{
		{"selected", SourceFacts{Source: server("a", "192.0.2.1", chrony.StateSelected)}, "Used for synchronisation: the selected source", Good},
		{"combined, by selectdata", SourceFacts{Source: server("a", "192.0.2.1", chrony.StateSelectable), Selection: &chrony.Selection{State: '+'}}, "combined with the selected source", Good},
		{"falseticker", SourceFacts{Source: server("a", "192.0.2.1", chrony.StateFalseticker), Selection: &chrony.Selection{State: 'x'}}, "a falseticker", Bad},
		{"noselect", SourceFacts{Source: server("a", "192.0.2.1", chrony.StateNonselectable), Selection: &chrony.Selection{State: 'N'}}, "noselect option", Neutral},
		{"waiting for samples", SourceFacts{Source: server("a", "192.0.2.1", chrony.StateNonselectable), Selection: &chrony.Selection{State: 'M'}}, "waiting for more samples", Attention},
		{"over UDP, unusable", SourceFacts{Source: server("a", "192.0.2.1", chrony.StateNonselectable)}, "its selection report, on the socket, says which", Bad},
		{"its last packet failed a test", SourceFacts{Source: server("a", "192.0.2.1", chrony.StateNonselectable), Selection: &chrony.Selection{State: 's'},
			NTP: &chrony.NTPData{Tests: 0x3ff &^ (1 << 5), TotalRX: 3}}, "not synchronised; its last packet failed test 6", Bad},
		// The issue's cases: a peer of a chronyd that has run 10 minutes is not "unreachable for
		// at least 17 min" (8 polls of 128 s); with no history its duration is not guessed.
		{"a peer that never answered, no history", SourceFacts{Source: peer, At: now, History: History{Why: "history is off"}},
			"Not used: unreachable: it has never answered since chronyd started.", Bad},
		{"a peer that never answered, first recorded when chronyd started", SourceFacts{Source: peer, At: now, History: History{Known: true, Start: now.Add(-time.Hour),
			Sources: map[string]SourceHistory{"192.0.2.30": {FirstSeen: started}}}},
			"Not used: unreachable: it has never answered since 19:50:00 UTC (10 min).", Bad},
		{"a server dead for 10 minutes, its last sample in the history", SourceFacts{Source: dead("192.0.2.31"), At: now, History: History{Known: true, Start: now.Add(-time.Hour),
			Sources: map[string]SourceHistory{"192.0.2.31": {FirstSeen: now.Add(-time.Hour), LastSample: started}}}},
			"Not used: unreachable: no answer since 19:50:00 UTC (10 min).", Bad},
		{"a server whose last sample chronyd still has", SourceFacts{Source: stopped("b", "192.0.2.32", 10*time.Minute), At: now},
			"no answer since 19:50:00 UTC (10 min)", Bad},
		{"a reference clock with no sample", SourceFacts{Source: chrony.Source{Name: "GPS", Mode: chrony.ModeRefClock, State: chrony.StateNonselectable, LastSampleAgo: chrony.NeverSampled}, At: now},
			"no sample from the reference clock yet", Bad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, tone := Verdict(tc.f)
			if !strings.Contains(got, tc.want) || tone != tc.tone {
				t.Errorf("Verdict = %q, %v; want %q, %v", got, tone, tc.want, tc.tone)
			}
		})
	}
}

func TestTones(t *testing.T) {
	th := DefaultThresholds()
	for _, tc := range []struct {
		name string
		got  Tone
		want Tone
	}{
		{"offset within 10 ms", OffsetTone(-5e-3, true, th), Good},
		{"offset above 10 ms", OffsetTone(0.02, true, th), Attention},
		{"offset above the clock error limit", OffsetTone(-0.2, true, th), Bad},
		{"offset of an unsynchronised clock", OffsetTone(0.5, false, th), Neutral},
		{"offset, a host's own limit", OffsetTone(2e-3, true, Thresholds{MaxOffset: time.Millisecond}), Attention},
		{"max error within 100 ms", MaxErrorTone(0.05, th), Good},
		{"max error above", MaxErrorTone(0.15, th), Bad},
		{"leap normal", LeapTone(chrony.LeapNormal), Good},
		{"leap announced", LeapTone(chrony.LeapInsert), Attention},
		{"not synchronised", LeapTone(chrony.LeapUnsynchronised), Bad},
		{"no clock update ever", LastUpdateTone(chrony.Tracking{}, now, 64, th), Bad},
		{"updated within 8 polls", LastUpdateTone(chrony.Tracking{RefTime: now.Add(-8 * time.Minute), UpdateIntervalSeconds: 64}, now, 64, th), Good},
		{"updated 9 polls ago", LastUpdateTone(chrony.Tracking{RefTime: now.Add(-10 * time.Minute), UpdateIntervalSeconds: 64}, now, 64, th), Attention},
		{"a slow poll, not late", LastUpdateTone(chrony.Tracking{RefTime: now.Add(-2 * time.Hour), UpdateIntervalSeconds: 1024}, now, 1024, th), Good},
		{"selected", SourceTone(chrony.StateSelected), Good},
		{"not combined", SourceTone(chrony.StateUnselected), Neutral},
		{"jittery", SourceTone(chrony.StateJittery), Attention},
		{"falseticker", SourceTone(chrony.StateFalseticker), Bad},
		{"reach 377", ReachTone(0o377), Good},
		{"reach 17", ReachTone(0o17), Attention},
		{"reach 0", ReachTone(0), Bad},
		{"drops", DropTone(3), Attention},
		{"no drops", DropTone(0), Good},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		endpoint   string
		title, fix string
		socketOnly bool
	}{
		{"not answering", &chrony.Error{Kind: chrony.KindUnreachable, Addr: "unix:///run/chrony/chronyd.sock", Err: errors.New("no such file")}, "",
			"chronyd is not answering at unix:///run/chrony/chronyd.sock", "systemctl status chrony", false},
		{"auto found nothing", &chrony.Error{Kind: chrony.KindUnreachable, Addr: "auto"}, "", "chronyd is not answering at auto", "/run/chrony", false},
		{"permission", &chrony.Error{Kind: chrony.KindPermission, Addr: "unix:///run/chrony/chronyd.sock"}, "", "Permission denied", "/run/chrony", false},
		{"timeout", &chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://nas:323", Attempts: 3, Elapsed: 7 * time.Second}, "",
			"did not answer the tracking request (timed out after 7s, 3 attempts)", "cmdallow", false},
		{"socket-only over UDP", notAuthorised("selectdata"), "", "gives the selectdata report only on its Unix socket", "opencommands", true},
		{"socket-only on the socket is a refusal", &chrony.Error{Kind: chrony.KindNotAuthorised, Op: "server statistics", Addr: "unix:///x.sock", Status: chrony.StatusUnauth},
			"", "refused the server statistics request", "cmdallow", true},
		{"protocol", &chrony.Error{Kind: chrony.KindProtocol, Op: "tracking", Addr: "udp://nas:123", Err: errors.New("short reply")}, "", "Unexpected reply", "command protocol version 6", false},
		{"not chronyd's error", errors.New("boom"), "udp://nas:323", "Could not read from chronyd", "server log", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := Explain(tc.err, tc.endpoint)
			if !strings.Contains(x.Title, tc.title) || !strings.Contains(x.Fix, tc.fix) {
				t.Errorf("Explain = %+v; want title with %q, fix with %q", x, tc.title, tc.fix)
			}
			if IsSocketOnly(tc.err) != tc.socketOnly {
				t.Errorf("IsSocketOnly = %v", !tc.socketOnly)
			}
		})
	}
}

func TestUnreachableBrief(t *testing.T) {
	at := now
	h := History{Known: true, Start: at.Add(-time.Hour), Sources: map[string]SourceHistory{"192.0.2.9": {FirstSeen: at.Add(-time.Hour)}}}
	stoppedSrc := stopped("a", "192.0.2.1", 4*time.Minute)
	gps := chrony.Source{Name: "GPS", Mode: chrony.ModeRefClock, LastSampleAgo: chrony.NeverSampled}
	for _, tc := range []struct {
		s    chrony.Source
		want string
	}{
		{dead("192.0.2.9"), "never answered"},
		{stoppedSrc, "no answer for 4 min"},
		{gps, "no sample yet"},
	} {
		if got := UnreachableBrief(tc.s, h, at); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.s.Name, got, tc.want)
		}
	}
}

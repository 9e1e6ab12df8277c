package diagnose

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// The rules, one table: each case is a host's reports (as chronyd gives them; the shapes of
// chrony 4.3, 4.6 and 4.9 replies are decoded from captures in versions_test.go) and what the
// diagnosis must say.

var now = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// synced is a chronyd synchronised to 192.0.2.10 for a while, its clock within 45 µs.
func synced() chrony.Tracking {
	return chrony.Tracking{RefID: 0xC000020A, RefAddr: addr("192.0.2.10"), RefName: "time.lan", Stratum: 3, Leap: chrony.LeapNormal,
		RefTime: now.Add(-20 * time.Second), CorrectionSeconds: -12e-6, SkewPPM: 0.05, ResidualFrequencyPPM: 0.01,
		RootDelaySeconds: 40e-6, RootDispersionSeconds: 13e-6, UpdateIntervalSeconds: 64}
}

var unsynced = chrony.Tracking{Leap: chrony.LeapUnsynchronised, RootDelaySeconds: 1, RootDispersionSeconds: 1}

// server is an NTP server answering every poll (64 s), in state st.
func server(name, a string, st chrony.SourceState) chrony.Source {
	return chrony.Source{Name: name, Address: addr(a), Mode: chrony.ModeServer, State: st, Stratum: 2, PollLog2: 6, Reach: 0o377,
		LastSampleAgo: 30 * time.Second, AdjustedOffsetSeconds: 1e-5, MeasuredOffsetSeconds: 1e-5, ErrorSeconds: 2e-4}
}

// dead is a server that never answered.
func dead(a string) chrony.Source {
	return chrony.Source{Name: a, Address: addr(a), Mode: chrony.ModeServer, State: chrony.StateNonselectable, PollLog2: 6,
		LastSampleAgo: chrony.NeverSampled}
}

// stopped is a server that answered until ago.
func stopped(name, a string, ago time.Duration) chrony.Source {
	s := server(name, a, chrony.StateNonselectable)
	s.Reach, s.LastSampleAgo = 0, ago
	return s
}

func sel(name, a string, state byte) chrony.Selection {
	s := chrony.Selection{Name: name, State: state, Leap: chrony.LeapNormal, Lo: -1e-4, Hi: 1e-4}
	if a != "" {
		s.Address = addr(a)
	}
	return s
}

// healthy: three servers, one selected, two combined.
func healthy() []chrony.Source {
	return []chrony.Source{server("time.lan", "192.0.2.10", chrony.StateSelected), server("b.lan", "192.0.2.11", chrony.StateSelectable),
		server("c.lan", "192.0.2.12", chrony.StateSelectable)}
}

// input is a host whose tracking and sources were read now, with no history.
func input(t chrony.Tracking, sources ...chrony.Source) Input {
	return Input{Host: "nas", Endpoint: "udp://nas:323", Now: now, Tracking: Read(t, now), Sources: Read(sources, now),
		History: History{Why: "history is off (--sample 0)"}}
}

func withSelection(in Input, rows ...chrony.Selection) Input {
	in.Selection = Read(rows, now)
	return in
}

func withHistory(in Input, h History) Input {
	h.Known = true
	if h.Start.IsZero() {
		h.Start = now.Add(-24 * time.Hour)
	}
	in.History = h
	return in
}

func notAuthorised(op string) error {
	return &chrony.Error{Kind: chrony.KindNotAuthorised, Status: chrony.StatusUnauth, Op: op, Addr: "udp://nas:323"}
}

// expect is what a case's diagnosis must hold.
type expect struct {
	state State
	ids   []string // the findings' ids, in order ("id" or "id:severity")
	text  []string // words somewhere in the findings' texts, evidence or fixes
	since map[string]string
	check []string // words of what was checked
	un    []string // what was not checked
}

func TestRules(t *testing.T) {
	restartAt := now.Add(-10 * time.Minute)
	for _, tc := range []struct {
		name string
		in   Input
		want expect
	}{
		{"healthy: three sources, what was checked", input(synced(), healthy()...), expect{state: OK, ids: []string{},
			check: []string{"synchronised to time.lan (192.0.2.10)", "3 of 3 sources reachable", "2 agreeing with the selected one", "clock error 45.0 µs"}}},

		{"chronyd not answering, since the history's gap", withHistory(Input{Host: "nas", Endpoint: "udp://nas:323", Now: now,
			Tracking: Failed[chrony.Tracking](&chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://nas:323", Attempts: 3, Elapsed: 7 * time.Second}, now)},
			History{Silent: now.Add(-5 * time.Minute)}),
			expect{state: Failing, ids: []string{"chronyd-unreachable:failing"}, text: []string{"did not answer the tracking request", "cmdallow"},
				since: map[string]string{"chronyd-unreachable": "since 19:55:00 UTC (5 min)"}, un: []string{"the clock and its sources"}}},
		{"chronyd not answering, no history", Input{Host: "nas", Now: now, Tracking: Failed[chrony.Tracking](&chrony.Error{Kind: chrony.KindUnreachable, Addr: "unix:///run/chrony/chronyd.sock", Err: errors.New("connection refused")}, now),
			History: History{Why: "history is off (--sample 0)"}},
			expect{state: Failing, ids: []string{"chronyd-unreachable"}, text: []string{"chronyd is not answering at unix:///run/chrony/chronyd.sock", "systemctl status chrony"},
				since: map[string]string{"chronyd-unreachable": "since when is not known: history is off (--sample 0)"}}},
		{"still waiting for chronyd: unknown", Input{Host: "nas", Now: now, Tracking: Failed[chrony.Tracking](ErrNotYet, now)}, expect{state: Unknown, ids: []string{}}},
		{"nothing read: unknown", Input{Host: "nas", Now: now}, expect{state: Unknown, ids: []string{}}},

		{"not synchronised: no sources", input(unsynced), expect{state: Failing, ids: []string{"no-sources"}, text: []string{"pool pool.ntp.org iburst"}}},
		{"not synchronised: its only source never answered (a typo or firewall), since chronyd started", withHistory(input(unsynced, dead("192.0.2.20")),
			History{Start: restartAt.Add(-time.Hour), Unsynchronised: restartAt, Restart: restartAt, Sources: map[string]SourceHistory{"192.0.2.20": {FirstSeen: restartAt.Add(-time.Hour)}}}),
			expect{state: Failing, ids: []string{"no-source-reachable:failing", "restarted:info"}, text: []string{"none of its 1 source answers", "a typo?", "UDP port 123", "never answered for at least 70 min (the record begins then)"},
				since: map[string]string{"no-source-reachable": "since 19:50:00 UTC (10 min)"}}},
		{"not synchronised: sources stopped answering at their last sample", input(unsynced, stopped("time.lan", "192.0.2.10", 12*time.Minute), stopped("b.lan", "192.0.2.11", 13*time.Minute)),
			expect{state: Failing, ids: []string{"no-source-reachable"}, text: []string{"answers any more", "no answer since 19:48:00 UTC (12 min)", "no answer since 19:47:00 UTC (13 min)"}}},
		{"not synchronised: its sources are offline", func() Input {
			in := input(unsynced, stopped("time.lan", "192.0.2.10", time.Hour))
			in.Activity = Read(chrony.Activity{Offline: 1}, now)
			return in
		}(), expect{state: Failing, ids: []string{"no-source-reachable"}, text: []string{"set its sources offline", "chronyc online"}}},
		{"not synchronised: the answering sources are a falseticker, too distant, and unsynchronised themselves", withSelection(
			input(unsynced, server("a", "192.0.2.1", chrony.StateFalseticker), server("b", "192.0.2.2", chrony.StateNonselectable), server("c", "192.0.2.3", chrony.StateNonselectable)),
			sel("a", "192.0.2.1", 'x'), sel("b", "192.0.2.2", 'd'), sel("c", "192.0.2.3", 's')),
			expect{state: Failing, ids: []string{"no-selectable-source"}, text: []string{"3 sources answer, but chronyd can use none", "falseticker", "larger than maxdistance (3 s by default)",
				"the source itself is not synchronised"}}},
		{"not synchronised: over UDP, a falseticker and too variable, from the sources report", input(unsynced, server("a", "192.0.2.1", chrony.StateFalseticker), server("b", "192.0.2.2", chrony.StateJittery)),
			expect{state: Failing, ids: []string{"no-selectable-source"}, text: []string{"disagrees with the majority", "too much jitter"}}},
		{"not synchronised, over UDP: its only source answers with no good packet (an unsynchronised upstream)", func() Input {
			s := server("up", "192.0.2.1", chrony.StateNonselectable)
			s.LastSampleAgo, s.Stratum = chrony.NeverSampled, 0
			return input(unsynced, s)
		}(), expect{state: Failing, ids: []string{"no-selectable-source"}, text: []string{"none of its packets passed chronyd's tests", "stratum 16"}}},
		{"not synchronised yet: collecting samples after a start", withSelection(input(unsynced, server("a", "192.0.2.1", chrony.StateNonselectable)), sel("a", "192.0.2.1", 'M')),
			expect{state: Warning, ids: []string{"waiting-for-samples:warning"}, text: []string{"collecting samples", "iburst"}}},
		{"not synchronised: minsources not met", withSelection(input(unsynced, server("a", "192.0.2.1", chrony.StateNonselectable)), sel("a", "192.0.2.1", 'W')),
			expect{state: Failing, ids: []string{"minsources-not-met"}, text: []string{"minsources", "lower minsources"}}},
		{"its local clock only", input(chrony.Tracking{RefID: chrony.RefIDLocal, Stratum: 8, Leap: chrony.LeapNormal, RefTime: now}, stopped("a", "192.0.2.1", time.Hour)),
			expect{state: Warning, ids: []string{"local-clock-only", "source-unreachable"}, text: []string{"own local clock only"}}},

		{"coasting: the only source stopped answering two polls ago", func() Input {
			s := server("time.lan", "192.0.2.10", chrony.StateSelected)
			s.Reach, s.LastSampleAgo = 0o374, 150*time.Second
			in := input(synced(), s)
			in.Tracking.Val.RefTime = now.Add(-150 * time.Second)
			return in
		}(), expect{state: Failing, ids: []string{"reference-unreachable:failing", "no-redundancy:warning"},
			text:  []string{"Coasting: its reference time.lan (192.0.2.10) stopped answering 2 min ago", "grows by about 63.6 µs a minute", "maxclockerror 1.000 ppm"},
			since: map[string]string{"reference-unreachable": "since 19:57:30 UTC (2 min)"}}},
		{"the reference stopped answering, the others answer: a warning", func() Input {
			s := healthy()
			s[0].Reach = 0o370
			return input(synced(), s...)
		}(), expect{state: Warning, ids: []string{"reference-unreachable:warning"}, text: []string{"should switch to b.lan (192.0.2.11) or c.lan (192.0.2.12)"}}},
		{"the reference answers, but its packets fail chronyd's tests", func() Input {
			s := server("time.lan", "192.0.2.10", chrony.StateSelected)
			s.LastSampleAgo = 10 * time.Minute
			in := input(synced(), s)
			in.NTP = map[netip.Addr]Report[chrony.NTPData]{addr("192.0.2.10"): Read(chrony.NTPData{Tests: 0x3ff &^ (1 << 5), TotalRX: 30, Leap: chrony.LeapUnsynchronised}, now)}
			return in
		}(), expect{state: Failing, ids: []string{"reference-unreachable", "no-redundancy"}, text: []string{"answers, but gives no good sample", "test 6: the server is synchronised"}}},
		{"synchronised to a source that says it is not synchronised", func() Input {
			r := sel("time.lan", "192.0.2.10", '*')
			r.Leap = chrony.LeapUnsynchronised
			return withSelection(input(synced(), healthy()...), r, sel("b.lan", "192.0.2.11", '+'), sel("c.lan", "192.0.2.12", '+'))
		}(), expect{state: Failing, ids: []string{"reference-unsynchronised"}, text: []string{"which says it is not synchronised itself"}}},
		{"the last clock update is late: 8 of its update intervals", func() Input {
			in := input(synced(), healthy()...)
			in.Tracking.Val.RefTime = now.Add(-20 * time.Minute)
			return in
		}(), expect{state: Warning, ids: []string{"update-late"}, text: []string{"was 20 min ago, more than 8 of its update intervals"}, since: map[string]string{"update-late": "since 19:40:00 UTC (20 min)"}}},
		{"a slow poll is not late", func() Input {
			s := healthy()
			for i := range s {
				s[i].PollLog2 = 10 // 1024 s
			}
			in := input(synced(), s...)
			in.Tracking.Val.RefTime, in.Tracking.Val.UpdateIntervalSeconds = now.Add(-40*time.Minute), 1024
			return in
		}(), expect{state: OK, ids: []string{}}},

		{"the clock's error above --max-clock-error, since the first recent sample above it", func() Input {
			in := input(synced(), healthy()...)
			in.Tracking.Val.RootDispersionSeconds = 0.2
			return withHistory(in, History{Recent: []Sample{{T: now.Add(-3 * time.Minute), MaxErrorSeconds: 0.01}, {T: now.Add(-2 * time.Minute), MaxErrorSeconds: 0.15},
				{T: now.Add(-time.Minute), MaxErrorSeconds: 0.2}}})
		}(), expect{state: Failing, ids: []string{"clock-error-high:failing"}, text: []string{"The clock may be 200 ms off", "above 100 ms", "--max-clock-error"},
			since: map[string]string{"clock-error-high": "since 19:58:00 UTC (2 min)"}}},
		{"the offset above --max-offset, per host", func() Input {
			in := input(synced(), healthy()...)
			in.Tracking.Val.CorrectionSeconds = 4e-3
			in.Thresholds = Thresholds{MaxOffset: time.Millisecond}
			return withHistory(in, History{Recent: []Sample{{T: now.Add(-time.Minute), OffsetSeconds: -4e-3}}})
		}(), expect{state: Warning, ids: []string{"offset-high:warning"}, text: []string{"is 4.00 ms slow: more than 1.00 ms"},
			since: map[string]string{"offset-high": "for at least 60 s (every recent sample recorded is above it)"}}},

		{"one usable source: a wrong one cannot be detected", input(synced(), server("time.lan", "192.0.2.10", chrony.StateSelected), dead("192.0.2.20")),
			expect{state: Warning, ids: []string{"no-redundancy", "source-never-answered"}, text: []string{"Only one usable source (time.lan (192.0.2.10))", "192.0.2.20 has never answered"}}},
		{"two usable sources: a disagreement cannot be resolved", input(synced(), healthy()[:2]...),
			expect{state: Warning, ids: []string{"no-redundancy"}, text: []string{"Only two usable sources", "at least three"}}},
		{"a falseticker, marked at a moment the history has", withHistory(input(synced(), append(healthy(), server("bad", "192.0.2.13", chrony.StateFalseticker))...),
			History{Sources: map[string]SourceHistory{"192.0.2.13": {State: chrony.StateFalseticker, StateSince: now.Add(-3 * time.Hour)}}}),
			expect{state: Warning, ids: []string{"falseticker"}, text: []string{"bad (192.0.2.13): its time disagrees with the majority"}, since: map[string]string{"falseticker": "since 17:00:00 UTC (3 h)"}}},
		{"too variable", input(synced(), append(healthy(), server("wobbly", "192.0.2.14", chrony.StateJittery))...),
			expect{state: Warning, ids: []string{"source-jittery"}, text: []string{"vary too much"}}},
		{"never answered and stopped answering, apart", input(synced(), append(healthy(), dead("192.0.2.20"), stopped("old", "192.0.2.21", 2*time.Hour))...),
			expect{state: Warning, ids: []string{"source-never-answered", "source-unreachable"}, text: []string{"typo", "old (192.0.2.21) has stopped answering"},
				since: map[string]string{"source-unreachable": "since 18:00:00 UTC (2 h)"}}},
		{"a reference clock with no sample, a name not resolved", func() Input {
			gps := chrony.Source{Name: "GPS", Mode: chrony.ModeRefClock, State: chrony.StateNonselectable, PollLog2: 4, LastSampleAgo: chrony.NeverSampled}
			u := chrony.Source{Name: "ID#0000000001", Unresolved: true, State: chrony.StateNonselectable, LastSampleAgo: chrony.NeverSampled}
			return input(synced(), append(healthy(), gps, u)...)
		}(), expect{state: Warning, ids: []string{"refclock-no-samples", "source-unresolved"}, text: []string{"Reference clock GPS has given no sample", "getent hosts"}}},
		{"noselect is information", withSelection(input(synced(), append(healthy(), server("spare", "192.0.2.15", chrony.StateNonselectable))...),
			sel("time.lan", "192.0.2.10", '*'), sel("b.lan", "192.0.2.11", '+'), sel("c.lan", "192.0.2.12", '+'), sel("spare", "192.0.2.15", 'N')),
			expect{state: OK, ids: []string{"noselect:info"}, text: []string{"spare (192.0.2.15) has the noselect option"}}},

		{"a leap second announced, for the end of June or December", func() Input {
			in := input(synced(), healthy()...)
			in.Tracking.Val.Leap = chrony.LeapInsert
			return in
		}(), expect{state: Warning, ids: []string{"leap-second"}, text: []string{"inserted at 23:59:60 UTC on 2026-12-31"}}},
		{"NTS failing: key exchanges fail, no cookies", func() Input {
			s := append(healthy(), dead("192.0.2.16"))
			r := sel("192.0.2.16", "192.0.2.16", 'M')
			r.Authenticated = true
			in := withSelection(input(synced(), s...), sel("time.lan", "192.0.2.10", '*'), sel("b.lan", "192.0.2.11", '+'), sel("c.lan", "192.0.2.12", '+'), r)
			in.Auth = map[netip.Addr]Report[chrony.AuthData]{addr("192.0.2.16"): Read(chrony.AuthData{Mode: chrony.AuthNTS, KEAttempts: 5, LastKEAgo: chrony.Never}, now)}
			return in
		}(), expect{state: Warning, ids: []string{"source-never-answered", "nts-failing"}, text: []string{"no key exchange has succeeded (5 tried)", "ntstrustedcerts"}}},
		{"serving: drops and a full client log between two reads", func() Input {
			in := input(synced(), healthy()...)
			in.PrevServerStats = Read(chrony.ServerStats{NTPPackets: 1000, NTPDropped: 10, ClientLogDropped: 0}, now.Add(-10*time.Second))
			in.ServerStats = Read(chrony.ServerStats{NTPPackets: 1500, NTPDropped: 60, ClientLogDropped: 7}, now)
			return in
		}(), expect{state: Warning, ids: []string{"ntp-drops:warning", "client-log-full:warning"}, text: []string{"dropped 50 NTP requests in the last 10 s", "5.0/s", "clientloglimit"}}},
		{"serving: past drops are information", func() Input {
			in := input(synced(), healthy()...)
			in.ServerStats = Read(chrony.ServerStats{NTPPackets: 1500, NTPDropped: 60}, now)
			return in
		}(), expect{state: OK, ids: []string{"ntp-drops:info"}}},
		{"restarted recently: information", withHistory(input(synced(), healthy()...), History{Restart: now.Add(-5 * time.Minute)}),
			expect{state: OK, ids: []string{"restarted:info"}, since: map[string]string{"restarted": "since 19:55:00 UTC (5 min)"}}},
		{"over UDP: the socket-only reports are listed as not checked", func() Input {
			in := input(synced(), healthy()...)
			in.Selection = Failed[[]chrony.Selection](notAuthorised("selectdata"), now)
			in.ServerStats = Failed[chrony.ServerStats](notAuthorised("server statistics"), now)
			return in
		}(), expect{state: OK, ids: []string{}, un: []string{"why each source is or is not used (selectdata)", "serving time (serverstats)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Diagnose(tc.in)
			checkDiagnosis(t, d, tc.want)
		})
	}
}

func checkDiagnosis(t *testing.T, d Diagnosis, want expect) {
	t.Helper()
	if d.State != want.state {
		t.Errorf("state = %v, want %v", d.State, want.state)
	}
	var ids []string
	all := ""
	for _, f := range d.Findings {
		id := f.ID
		if len(want.ids) > 0 && len(ids) < len(want.ids) && strings.Contains(want.ids[len(ids)], ":") {
			id += ":" + f.Severity.String()
		}
		ids = append(ids, id)
		all += f.Text + "\n" + f.Fix + "\n"
		for _, e := range f.Evidence {
			all += e.Label + ": " + e.Value + "\n"
		}
		if !f.Since.Known() && f.Since.Why == "" {
			t.Errorf("%s has neither a moment nor why not", f.ID)
		}
		if f.Fix == "" && f.Severity > Info {
			t.Errorf("%s has no fix", f.ID)
		}
	}
	if got, w := strings.Join(ids, " "), strings.Join(want.ids, " "); got != w {
		t.Errorf("findings = %q, want %q\n%s", got, w, all)
	}
	for _, s := range want.text {
		if !strings.Contains(all, s) {
			t.Errorf("no %q in:\n%s", s, all)
		}
	}
	for id, phrase := range want.since {
		f, ok := d.Finding(id)
		if got := f.Since.Phrase(now); !ok || got != phrase {
			t.Errorf("%s since = %q, want %q", id, got, phrase)
		}
	}
	checked := d.Summary()
	for _, c := range want.check {
		if !strings.Contains(checked, c) {
			t.Errorf("checked %q, want %q in it", checked, c)
		}
	}
	var un []string
	for _, u := range d.Unchecked {
		un = append(un, u.What)
	}
	for _, u := range want.un {
		if !strings.Contains(strings.Join(un, "; "), u) {
			t.Errorf("not checked = %q, want %q in it", un, u)
		}
	}
}

func TestLeapDay(t *testing.T) {
	for _, tc := range []struct{ at, want string }{
		{"2026-06-01T00:00:00Z", "2026-06-30"},
		{"2026-06-30T23:59:59Z", "2026-06-30"},
		{"2026-07-01T00:00:00Z", "2026-12-31"},
		{"2026-12-31T12:00:00Z", "2026-12-31"},
		{"2027-01-01T00:00:01Z", "2027-06-30"},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := LeapDay(at).Format("2006-01-02"); got != tc.want {
			t.Errorf("LeapDay(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}

func TestSincePhrase(t *testing.T) {
	for _, tc := range []struct {
		s    Since
		want string
	}{
		{Since{At: now.Add(-4 * time.Minute), From: "history"}, "since 19:56:00 UTC (4 min)"},
		{Since{At: now.Add(-50 * time.Hour), From: "history"}, "since 2026-11-23 18:00 UTC (2 d)"},
		{Since{At: now.Add(-10 * time.Minute), AtLeast: true, Why: "the record begins then"}, "for at least 10 min (the record begins then)"},
		{Since{Why: "history is off"}, "since when is not known: history is off"},
		{Since{}, ""},
	} {
		if got := tc.s.Phrase(now); got != tc.want {
			t.Errorf("%+v.Phrase = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestStateOrderAndMetric(t *testing.T) {
	var zero Diagnosis
	if zero.State != Unknown {
		t.Errorf("a zero diagnosis says %v, want unknown", zero.State)
	}
	for _, tc := range []struct {
		s            State
		metric, rank int
		word, symbol string
	}{{OK, 0, 3, "OK", "✓"}, {Warning, 1, 1, "Warning", "!"}, {Failing, 2, 0, "Failing", "✕"}, {Unknown, 3, 2, "Unknown", "?"}} {
		if tc.s.Metric() != tc.metric || tc.s.Rank() != tc.rank || tc.s.Word() != tc.word || tc.s.Symbol() != tc.symbol {
			t.Errorf("%v: metric %d rank %d %q %q", tc.s, tc.s.Metric(), tc.s.Rank(), tc.s.Word(), tc.s.Symbol())
		}
	}
}

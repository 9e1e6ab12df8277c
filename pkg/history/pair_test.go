package history

import (
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

// TestPair: an outage of a source and its return are one event with its duration; so are a
// loss of synchronisation and its regain; what the moments say still goes on is open.
func TestPair(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 5, 30, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	events := []Event{ // newest first, as Events gives them
		{T: at(20), End: at(21), Kind: "silent", Bad: true, Text: "chronyd not answering (connection refused)"},
		{T: at(14), Kind: "unreachable", Bad: true, Source: "192.0.2.2", Text: "b unreachable"},
		{T: at(12), Kind: "reachable", Source: "192.0.2.1", Text: "a is reachable again"},
		{T: at(10), Kind: "restart", Text: "chronyd restarted"},
		{T: at(9), Kind: "regained", Text: "Synchronisation regained"},
		{T: at(8), Kind: "unreachable", Bad: true, Source: "192.0.2.1", Text: "a unreachable"},
		{T: at(7), Kind: "lost", Bad: true, Text: "Synchronisation lost"},
		{T: at(2), Kind: "silent", End: at(3), Bad: true, Text: "chronyd not answering (timeout)"},
	}
	h := diagnose.History{Known: true, Silent: at(20), Sources: map[string]diagnose.SourceHistory{"192.0.2.2": {Unreachable: at(14)}}}
	got := Pair(events, h)
	var lines []string
	for _, e := range got {
		line := e.T.Format("15:04") + " " + e.Kind
		if !e.End.IsZero() {
			line += " to " + e.End.Format("15:04")
		}
		if e.Open {
			line += " open"
		}
		lines = append(lines, line)
	}
	want := "05:50 silent to 05:51 open|05:44 unreachable open|05:40 restart|05:38 unreachable to 05:42|05:37 lost to 05:39|05:32 silent to 05:33"
	if g := strings.Join(lines, "|"); g != want {
		t.Errorf("paired:\n%s\nwant\n%s", strings.ReplaceAll(g, "|", "\n"), strings.ReplaceAll(want, "|", "\n"))
	}
	// chronyd answers again, the source is back: nothing open.
	for _, e := range Pair(events, diagnose.History{Known: true}) {
		if e.Open {
			t.Errorf("open with nothing going on: %+v", e)
		}
	}
}

func TestEventTone(t *testing.T) {
	for kind, want := range map[string]diagnose.Tone{"restart": diagnose.Neutral, "reference": diagnose.Neutral, "stratum": diagnose.Neutral,
		"regained": diagnose.Good, "reachable": diagnose.Good, "leap": diagnose.Attention,
		"silent": diagnose.Bad, "lost": diagnose.Bad, "unreachable": diagnose.Bad, "step": diagnose.Bad, "falseticker": diagnose.Bad} {
		e := Event{Kind: kind, Bad: kind == "silent" || kind == "lost" || kind == "unreachable" || kind == "step" || kind == "falseticker"}
		if got := e.Tone(); got != want {
			t.Errorf("%s: tone %v, want %v", kind, got, want)
		}
	}
}

func TestEventSentence(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 5, 38, 34, 0, time.UTC)
	now := t0.Add(3 * time.Minute)
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{T: t0, End: t0.Add(time.Minute), Kind: "silent", Open: true, Detail: "connection refused"},
			"chronyd still not answering, since 05:38 UTC (3 min) (connection refused)"},
		{Event{T: t0, End: t0.Add(24 * time.Second), Kind: "silent", Detail: "timeout"}, "chronyd not answering for 24 s, until 05:38 UTC (timeout)"},
		{Event{T: t0, End: t0.Add(4 * time.Minute), Kind: "unreachable", Name: "a (192.0.2.1)", Detail: "none of its last 8 polls answered"},
			"a (192.0.2.1) unreachable for 4 min, back at 05:42 UTC (none of its last 8 polls answered)"},
		{Event{T: t0, Kind: "unreachable", Name: "b", Open: true}, "b still unreachable, since 05:38 UTC (3 min)"},
		{Event{T: t0, End: t0.Add(2 * time.Minute), Kind: "lost"}, "Synchronisation lost for 2 min, regained at 05:40 UTC"},
		{Event{T: t0, Kind: "lost", Open: true}, "Still not synchronised, since 05:38 UTC (3 min)"},
		{Event{T: t0, Kind: "restart", Text: "chronyd restarted"}, "chronyd restarted"},
	} {
		if got := tc.e.Sentence(now); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.e, got, tc.want)
		}
	}
}

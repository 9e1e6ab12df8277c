package panels

import (
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/history"
)

// TestEventsPanel: the latest three events, newest first, with a link to all of them; each
// says when relatively, with the time itself in a tooltip (hover and focus: it is a link); an
// outage still going on says so with since when; a restart is neutral, not a green tick.
func TestEventsPanel(t *testing.T) {
	t0 := now.Add(-10 * time.Minute)
	events := []history.Event{
		{T: now.Add(-3 * time.Minute), End: now.Add(-5 * time.Second), Kind: "silent", Bad: true, Open: true, Detail: "connection refused"},
		{T: t0, Kind: "restart", Text: "chronyd restarted"},
		{T: t0.Add(-time.Hour), End: t0.Add(-56 * time.Minute), Kind: "unreachable", Bad: true, Name: "a (192.0.2.1)"},
		{T: t0.Add(-2 * time.Hour), Kind: "reference", Text: "Reference changed"},
	}
	html := render(t, EventsPanel(Result[EventsData]{Data: EventsData{Events: events}, At: now, Now: now}))
	mustContain(t, html,
		`data-field="event-time">3 min ago<`, "2026-11-25 19:57:03 UTC · show it in the charts", `role="tooltip"`,
		`data-open="true"`, "chronyd still not answering, since 19:57 UTC (3 min)",
		`class="event event-restart health-neutral"`, `> · <`,
		"a (192.0.2.1) unreachable for 4 min, back at",
		`hx-get="panels/events?all=1"`, "All 4 events")
	mustNotContain(t, html, "Reference changed")
	if strings.Count(html, "<li ") != LatestEvents {
		t.Errorf("%d events listed, want the latest %d", strings.Count(html, "<li "), LatestEvents)
	}
	if i, j := strings.Index(html, "still not answering"), strings.Index(html, "restarted"); i > j {
		t.Error("the events are not newest first")
	}
	all := render(t, EventsPanel(Result[EventsData]{Data: EventsData{Events: events, All: true}, At: now, Now: now}))
	mustContain(t, all, "Reference changed", `hx-get="panels/events?all=1"`, "The latest 3 only")
}

package panels

import (
	"errors"
	"strconv"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
)

// EventsData is what the "what happened" panel shows.
type EventsData struct {
	Events []history.Event // newest first, paired (history.Pair)
	Status history.Status
	Err    error // the record could not be read
	// NotScannedBefore, when set, is where the reading of the record stopped this time.
	NotScannedBefore time.Time
	// All lists every event (up to MaxEvents); else the latest few (LatestEvents).
	All bool
}

// MaxEvents is how many events the panel lists at most, newest first; LatestEvents how many it
// lists until all are asked for.
const (
	MaxEvents    = 100
	LatestEvents = 3
)

// EventsPanel lists what happened, newest first: the latest three, with a link to all. Each
// says when, relatively ("3 min ago", the time itself on hover and focus, and a link that shows
// its moment in the history's charts), a symbol and a sentence.
func EventsPanel(r Result[EventsData]) g.Node {
	m := r.meta()
	if r.Data.All {
		m.query = "all=1"
	}
	return panel(EventsSpec, m, func() g.Node { return eventsBody(r.Data, r.Now) })
}

func eventsBody(d EventsData, now time.Time) g.Node {
	switch {
	case d.Status.Off:
		return empty("History is off (--sample 0): there is no record to tell what happened.")
	case d.Status.Damaged != nil:
		return P(Class("notice health-bad"), Role("status"), g.Text("The history store is damaged: the History panel says how to fix it."))
	case errors.Is(d.Err, history.ErrBusy):
		return busy()
	case d.Err != nil:
		return Div(Class("panel-error health-bad"), Role("alert"), P(Class("error-title"), g.Text("The record cannot be read: "+d.Err.Error())))
	case len(d.Events) == 0 && d.NotScannedBefore.IsZero():
		return empty("Nothing happened in the record: no loss of synchronisation, no change of reference or stratum, no source lost, no silence of chronyd.")
	}
	limit := LatestEvents
	if d.All {
		limit = MaxEvents
	}
	shown := d.Events[:min(len(d.Events), limit)]
	return g.Group{
		g.If(d.Status.Engine != "", P(Class("engine-note"), g.Text("From the changes in the series at "), Code(g.Text(d.Status.Engine)),
			g.Text(", each at the end of the step it happened in: 10 s in the last day, 5 min before."))),
		g.If(len(shown) == 0, empty("Nothing happened in the part of the record read so far.")),
		g.If(len(shown) > 0, Ol(Class("events"), g.Map(indices(len(shown)), func(i int) g.Node { return eventItem(shown[i], now, i) }))),
		g.If(!d.All && len(d.Events) > limit, P(Class("more"), A(ID("events-all"), Href("#panel-events"), hx.Get("panels/events?all=1"), hx.Target("closest section"),
			hx.Swap("outerHTML"), g.Text("All "+strconv.Itoa(len(d.Events))+" events")))),
		g.If(d.All && len(d.Events) > LatestEvents, P(Class("more"), A(ID("events-all"), Href("#panel-events"), hx.Get("panels/events"), hx.Target("closest section"),
			hx.Swap("outerHTML"), g.Text("The latest "+strconv.Itoa(LatestEvents)+" only")))),
		g.If(d.All && len(d.Events) > MaxEvents, P(Class("empty"), g.Text(strconv.Itoa(len(d.Events)-MaxEvents)+" earlier events are in the CSV export."))),
		g.If(!d.NotScannedBefore.IsZero(), P(Class("empty"), Data("field", "not-scanned"),
			g.Text("Older events not scanned: the record before "+utc(d.NotScannedBefore)+" was not read this time, "+
				"so that this panel answers in time; each refresh reads further back."))),
	}
}

// busy is what a history panel says when its view waited its turn for longer than its request
// may: others were being computed.
func busy() g.Node {
	return P(Class("notice health-warn"), Role("status"), Data("field", "busy"),
		g.Text("second-hand is busy computing other views of the history: this one comes at the next refresh, or try again with the reload button."))
}

// eventItem is one event: when (relative, the time itself in a tooltip on hover and focus,
// linking to the moment in the charts), a symbol and its sentence.
func eventItem(e history.Event, now time.Time, i int) g.Node {
	h := health(e.Tone())
	// The link shows the event's moment in the history panel, in the smallest range that
	// holds what lasted.
	rng := history.Ranges[len(history.Ranges)-1]
	end := e.End
	if e.Open {
		end = now
	}
	for _, r := range history.Ranges {
		if end.Sub(e.T) < r.D/2 {
			rng = r
			break
		}
	}
	at := strconv.FormatInt(e.T.UnixMilli(), 10)
	tip := "tip-event-" + strconv.Itoa(i)
	sentence := e.Sentence(now)
	return Li(withHealth("event event-"+e.Kind, h), g.If(e.Open, Data("open", "true")),
		A(Class("when has-tip show"), Href("#panel-history"), hx.Get("panels/history?range="+rng.Name+"&at="+at), hx.Target("#panel-history"),
			hx.Swap("outerHTML"), Aria("describedby", tip),
			Time(DateTime(e.T.UTC().Format(time.RFC3339)), Data("field", "event-time"), g.Text(ago(max(now.Sub(e.T), 0)))),
			Span(Class("visually-hidden"), g.Text(": show in the charts")),
			Span(ID(tip), Class("tip"), Role("tooltip"), g.Text(e.T.UTC().Format("2006-01-02 15:04:05 UTC")+" · show it in the charts"))),
		Span(Class("sym"), Aria("hidden", "true"), g.Text(" "+orDot(h.Symbol())+" ")),
		Span(Class("visually-hidden"), g.Text(toneWord(e.Tone())+": ")),
		Span(Class("event-text"), Data("field", "event"), g.Text(sentence)),
	)
}

// orDot is a neutral event's symbol: a dot where the others have ✓ ! ✕.
func orDot(sym string) string {
	if sym == "" {
		return "·"
	}
	return sym
}

// toneWord says an event's colour in words, for screen readers.
func toneWord(t diagnose.Tone) string {
	switch t {
	case diagnose.Good:
		return "good"
	case diagnose.Attention:
		return "needs a look"
	case diagnose.Bad:
		return "bad"
	}
	return "note"
}

// indices are 0 to n-1.
func indices(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

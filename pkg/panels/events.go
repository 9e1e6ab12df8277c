package panels

import (
	"errors"
	"strconv"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/history"
)

// EventsData is what the "what happened" panel shows.
type EventsData struct {
	Events []history.Event
	Status history.Status
	Err    error // the record could not be read
	// NotScannedBefore, when set, is where the reading of the record stopped this time.
	NotScannedBefore time.Time
}

// MaxEvents is how many events the panel lists, newest first.
const MaxEvents = 100

// EventsPanel lists what happened, newest first: a time, a symbol and a sentence, each with a
// link that shows its moment in the history's charts.
func EventsPanel(r Result[EventsData]) g.Node {
	return panel("events", r.meta(), func() g.Node { return eventsBody(r.Data) })
}

func eventsBody(d EventsData) g.Node {
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
	shown := d.Events
	if len(shown) > MaxEvents {
		shown = shown[:MaxEvents]
	}
	return g.Group{
		g.If(d.Status.Engine != "", P(Class("engine-note"), g.Text("From the changes in the series at "), Code(g.Text(d.Status.Engine)),
			g.Text(", each at the end of the step it happened in: 10 s in the last day, 5 min before."))),
		g.If(len(shown) == 0, empty("Nothing happened in the part of the record read so far.")),
		g.If(len(shown) > 0, Ol(Class("events"), g.Map(shown, func(e history.Event) g.Node { return eventItem(e) }))),
		g.If(len(d.Events) > MaxEvents, P(Class("empty"), g.Text(strconv.Itoa(len(d.Events)-MaxEvents)+" earlier events are in the CSV export."))),
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

func eventItem(e history.Event) g.Node {
	h := Good
	if e.Bad {
		h = Bad
	}
	// The link shows the event's moment in the history panel, in the smallest range that
	// holds what lasted.
	rng := history.Ranges[len(history.Ranges)-1]
	for _, r := range history.Ranges {
		if e.End.Sub(e.T) < r.D/2 {
			rng = r
			break
		}
	}
	at := strconv.FormatInt(e.T.UnixMilli(), 10)
	return Li(withHealth("event event-"+e.Kind, h),
		Time(DateTime(e.T.UTC().Format(time.RFC3339)), Title(e.T.UTC().Format("2006-01-02 15:04:05 UTC")), g.Text(e.T.UTC().Format("Jan 2 15:04"))),
		Span(Class("sym"), Aria("hidden", "true"), g.Text(" "+h.Symbol()+" ")),
		Span(Class("event-text"), g.Text(e.Text)),
		g.Text(" "),
		A(Href("#panel-history"), Class("show"), hx.Get("panels/history?range="+rng.Name+"&at="+at), hx.Target("#panel-history"),
			hx.Swap("outerHTML"), g.Text("show in the charts"), Span(Class("visually-hidden"), g.Text(": "+e.Text))),
	)
}

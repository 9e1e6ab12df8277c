package panels

import (
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
	case d.Err != nil:
		return Div(Class("panel-error health-bad"), Role("alert"), P(Class("error-title"), g.Text("The record cannot be read: "+d.Err.Error())))
	case len(d.Events) == 0:
		return empty("Nothing happened in the record: no loss of synchronisation, no change of reference or stratum, no source lost, no silence of chronyd.")
	}
	shown := d.Events
	if len(shown) > MaxEvents {
		shown = shown[:MaxEvents]
	}
	return g.Group{
		g.If(d.Status.Engine != "", P(Class("engine-note"), g.Text("From the changes in the series at "), Code(g.Text(d.Status.Engine)),
			g.Text(", each at the end of the step it happened in: 10 s in the last day, 5 min before."))),
		Ol(Class("events"), g.Map(shown, func(e history.Event) g.Node { return eventItem(e) })),
		g.If(len(d.Events) > MaxEvents, P(Class("empty"), g.Text(strconv.Itoa(len(d.Events)-MaxEvents)+" earlier events are in the CSV export."))),
	}
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

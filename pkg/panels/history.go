package panels

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/store"
)

// HistoryData is what the history panel shows: a host's record over a range, drawn, and the
// state of the store.
type HistoryData struct {
	View   history.View
	Status history.Status
	Range  history.Range
	// Chosen is true when the range was asked for; else it is the smallest that holds the
	// record (history.RangeFor), chosen again at each refresh as the record grows.
	Chosen bool
	// Full draws each chart to the full scale of its values; else from the 1st to the 99th
	// percentile, values beyond marked at the edge.
	Full bool
	// NoSelect are the sources with the noselect option (by key), as chronyd's selection
	// report says: their offsets start hidden, as a falseticker's do. Empty when it is not read.
	NoSelect map[string]bool
	Err      error // the record could not be read
}

// HistoryPanel draws a host's history over one of the ranges, switched without a page load:
// the system time offset in its error band, frequency, skew, RMS offset, root delay and
// dispersion, each source's offsets and reachability, and ntpviz's statistics of each series
// (folded). Everything is drawn here as SVG; the page's script only shows a column's values
// where the pointer or the keyboard's focus is, and shows or hides a source's offsets.
func HistoryPanel(r Result[HistoryData]) g.Node {
	m := r.meta()
	rng := r.Data.Range
	if rng.Name == "" {
		rng = history.DefaultRange
	}
	var q []string
	if r.Data.Chosen {
		q = append(q, "range="+rng.Name)
	}
	if r.Data.Full {
		q = append(q, "scale=full")
	}
	m.query = strings.Join(q, "&")
	m.controls = historyTools(rng, r.Data.View.At, r.Data.Full, r.Data.Status.Engine != "")
	return panel(HistorySpec, m, func() g.Node { return historyBody(r.Data) })
}

// historyTools are the range buttons, each reloading the panel with its range, the switch
// between the usual and the full scale, and the CSV of the range shown: one toolbar, one stop
// of the keyboard's (arrows go from one to the next). The ranges are the same for the store,
// whose summaries reach years, and an engine; history read from an engine has no CSV (the
// engine exports its own).
//
// A click replaces a refresh of the panel in flight (hx-sync replace): dropped, as a refresh
// drops its successor, the click did nothing; let through beside it, the refresh's answer could
// land after the click's and put the old range back.
func historyTools(current history.Range, at time.Time, full, engine bool) g.Node {
	scaleQ := ""
	if full {
		scaleQ = "&scale=full"
	}
	fullQ := "&scale=full"
	if full {
		fullQ = ""
	}
	return Div(Class("history-tools"), Role("toolbar"), Aria("label", "History: range and scale"), Data("roving", ""),
		g.Map(history.Ranges, func(r history.Range) g.Node {
			pressed := r.Name == current.Name && at.IsZero()
			tabindex := "-1"
			if pressed || (!at.IsZero() && r.Name == current.Name) {
				tabindex = "0"
			}
			return Button(ID("range-"+r.Name), Type("button"), Class("range"), Aria("pressed", strconv.FormatBool(pressed)), TabIndex(tabindex),
				hx.Get("panels/history?range="+r.Name+scaleQ), hx.Target("closest section"), hx.Swap("outerHTML"),
				hx.Sync("closest section:replace"), g.Text(r.Name))
		}),
		Button(ID("history-scale"), Type("button"), Class("range scale"), Aria("pressed", strconv.FormatBool(full)), TabIndex("-1"),
			hx.Get("panels/history?range="+current.Name+fullQ), hx.Target("closest section"), hx.Swap("outerHTML"),
			hx.Sync("closest section:replace"), Aria("describedby", "tip-history-scale"), Span(Class("has-tip"), g.Text("Full scale"),
				Span(ID("tip-history-scale"), Class("tip"), Role("tooltip"),
					g.Text("Each chart to all of its values. Otherwise from the 1st to the 99th percentile, values beyond marked at its edge.")))),
		g.If(!engine, A(ID("csv-history"), Class("csv"), TabIndex("-1"), Href("history.csv?range="+current.Name), g.Attr("download", ""), Title("The record of this range, as CSV"), g.Text("CSV"))),
	)
}

func historyBody(d HistoryData) g.Node {
	st := d.Status
	var notices []g.Node
	if st.Off {
		return empty("History is off: second-hand was started with --sample 0. Start it with --sample 16s (the default) to record.")
	}
	if st.Engine != "" {
		notices = append(notices, engineHistoryNote(st))
	}
	if st.Notice != "" {
		notices = append(notices, P(Class("notice health-warn"), Role("status"), g.Text(st.Notice)))
	}
	if st.Damaged != nil {
		// Said once, here: the record's reads and the recorder's writes fail with the same
		// words until the restart.
		return g.Group(append(notices, damagedStore(st)))
	}
	if st.Err != nil {
		text := "History cannot be recorded: " + st.Err.Error()
		if st.Dropped > 0 {
			text += " " + strconv.Itoa(st.Dropped) + " records read meanwhile could not be kept."
		}
		notices = append(notices, Div(Class("panel-error health-bad"), Role("alert"),
			P(Class("error-title"), g.Text(text)),
			P(Class("error-fix"), Strong(g.Text("Meanwhile: ")), g.Text("the live panels carry on; what was recorded before is kept."))))
	}
	if errors.Is(d.Err, history.ErrBusy) {
		return g.Group(append(notices, busy()))
	}
	if d.Err != nil {
		notices = append(notices, Div(Class("panel-error health-bad"), Role("alert"), P(Class("error-title"), g.Text("The history cannot be read: "+d.Err.Error()))))
		return g.Group(notices)
	}
	v := d.View
	if v.Points == 0 && st.Engine != "" {
		return g.Group(append(notices, empty("The engine has no series of this host's clock in the last "+d.Range.Name+".")))
	}
	if v.Points == 0 {
		return g.Group(append(notices, damageNote(v.Damaged), empty("Nothing recorded in the last "+d.Range.Name+" yet: second-hand records every sample from now on, "+
			"and `second-hand import` reads chronyd's own statistics logs for the time before.")))
	}
	first := true
	return g.Group{
		g.Group(notices),
		damageNote(v.Damaged),
		P(Class("range-note"), g.Text(utc(v.From)+" to "+utc(v.To)+", "+Interval(v.Range.D.Seconds()/history.Columns)+" per column"),
			g.If(!v.At.IsZero(), g.Group{g.Text(", marked at "), Time(DateTime(v.At.UTC().Format(time.RFC3339)), g.Text(utc(v.At)))}),
			g.If(!d.Full, g.Text("; each chart from its 1st to 99th percentile, values beyond marked at its edge"))),
		P(ID("charts-hint"), Class("visually-hidden"), g.Text("Arrow keys left and right move along the chart and show a column's values; up and down go to the chart above or below.")),
		Div(Class("charts"), g.Map(v.Charts, func(c history.Chart) g.Node {
			n := chart(v, c, chartOptions{full: d.Full, first: first && c.ID != "reach", noselect: d.NoSelect})
			if n != nil && c.ID != "reach" {
				first = false
			}
			return n
		})),
		statsTables(v),
		servingNote(st),
	}
}

// servingNote says, in one line, why a host's serving history is not recorded when chronyd
// refuses its server statistics (a socket-only report), as the other socket-only parts do; the
// fix is the serving time panel's, said there once.
func servingNote(st history.Status) g.Node {
	if st.ServerErr == nil || !diagnose.IsSocketOnly(st.ServerErr) {
		return nil
	}
	return P(Class("range-note access-line"), Data("access", "socket-only"), Data("field", "serving-history"),
		g.Text("Serving history (NTP requests, drops, NTS-KE, clients over time) is not recorded: chronyd gives its server statistics only on its Unix socket. How to read them: "),
		A(Href("#panel-server"), g.Text("Serving time")), g.Text("."))
}

// approxNote is what a statistics table says when its range reaches into the rollups.
var approxNote = fmt.Sprintf("; percentiles approximate, within %.1f %%: merged from the 5-minute and hourly summaries "+
	"(count, min, max, mean and std dev exact)", 100*store.HistError)

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// damagedStretches draws the stretches of the record the store could not read.
func damagedStretches(v history.View) []g.Node {
	var out []g.Node
	for _, d := range v.Damaged {
		x0, x1 := column(v, d.Start), column(v, d.End)+1
		out = append(out, g.El("rect", Class("damaged"), g.Attr("x", strconv.Itoa(x0)), g.Attr("y", "0"),
			g.Attr("width", strconv.Itoa(max(x1-x0, 1))), g.Attr("height", strconv.Itoa(chartH)),
			g.El("title", g.Text("damaged in the store, not drawn: the "+d.Series+" from "+utc(d.Start)+" to "+utc(d.End)))))
	}
	return out
}

// damageNote says which stretches of the record were skipped because the store could not read
// them.
func damageNote(ds []store.Damage) g.Node {
	if len(ds) == 0 {
		return nil
	}
	var parts []string
	for i, d := range ds {
		if i == 5 {
			parts = append(parts, strconv.Itoa(len(ds)-5)+" more")
			break
		}
		parts = append(parts, "the "+d.Series+" from "+utc(d.Start)+" to "+utc(d.End))
	}
	return P(Class("notice health-warn"), Role("status"), Data("field", "damaged"),
		g.Text("Part of the record is damaged in the store and is not drawn (the shaded stretches): "+strings.Join(parts, "; ")+
			". The rest is drawn; second-hand's log names each damaged chunk."))
}

// damagedStore is the history panel's one notice of a store SQLite found damaged while it was
// open, with the fix.
func damagedStore(st history.Status) g.Node {
	return Div(Class("panel-error health-bad"), Role("alert"), Data("field", "store-damaged"),
		P(Class("error-title"), g.Text("The history store is damaged: SQLite says “"+damageWords(st.Damaged)+"” reading "+st.Path+".")),
		P(Class("error-fix"), Strong(g.Text("Fix: ")), g.Text("restart second-hand. It moves the damaged file aside, untouched "+
			"(history.db.damaged-DATE, to recover what it can with sqlite3's .recover), and starts a new one. Meanwhile the live panels carry on.")))
}

// damageWords is SQLite's message, without the path and the wrapping of who was reading.
func damageWords(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

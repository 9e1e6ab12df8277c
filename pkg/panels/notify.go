package panels

import (
	"strconv"
	"strings"
	"time"

	g "maragu.dev/gomponents"
	hx "maragu.dev/gomponents-htmx"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/notify"
)

// NotifyNote is the footer's one quiet line about notifications (with --notify): the last
// message that could not be sent (where, how long ago, why, and when it is tried again), else
// where the last one went. It is its own fragment ("notify", relative to the page), reloaded
// with the panels.
func NotifyNote(targets []notify.Status, now time.Time, next time.Duration) g.Node {
	var failed, sent *notify.Status
	waiting, dropped := 0, 0
	var names []string
	for i := range targets {
		t := &targets[i]
		names = append(names, t.Target)
		waiting += t.Waiting
		dropped += t.Dropped
		if !t.LastFailed.IsZero() && (failed == nil || t.LastFailed.After(failed.LastFailed)) {
			failed = t
		}
		if !t.LastSent.IsZero() && (sent == nil || t.LastSent.After(sent.LastSent)) {
			sent = t
		}
	}
	var line g.Node
	switch {
	case failed != nil:
		again := ""
		if d := failed.NextTry.Sub(now); d > 0 {
			again = " Trying again in " + Interval(d.Round(time.Second).Seconds()) + "."
		}
		line = g.Group{
			Span(Class("sym"), Aria("hidden", "true"), g.Text("! ")),
			g.Text("The last message to " + failed.Target + " "), agoSpan(now.Sub(failed.LastFailed), "failed"),
			g.Text(": " + strings.TrimSuffix(failed.Err, ".") + "." + again),
		}
	case sent != nil:
		line = g.Group{g.Text("Notifications: the last message to " + sent.Target + " was "), agoSpan(now.Sub(sent.LastSent), "sent"), g.Text(".")}
	default:
		line = g.Text("Notifications go to " + strings.Join(names, " and ") + "; none sent yet.")
	}
	class := "access notify-note"
	if failed != nil {
		class += " notify-failed"
	}
	return P(ID("notify-note"), Class(class), Data("panel", "notify"), Data("field", "notify"),
		g.If(next > 0, Data("next-ms", strconv.FormatInt(next.Milliseconds(), 10))),
		hx.Get("notify"), hx.Trigger("panel-refresh"), hx.Swap("outerHTML"), hx.Sync("this:drop"),
		line,
		g.If(waiting > 0 && failed != nil, g.Text(" "+strconv.Itoa(waiting)+" waiting.")),
		g.If(dropped > 0, g.Text(" "+strconv.Itoa(dropped)+" given up.")),
	)
}

// agoSpan is how long ago something happened, which the page's script keeps counting.
func agoSpan(d time.Duration, word string) g.Node {
	d = max(d, 0)
	return Span(Class("age"), Data("age-ms", strconv.FormatInt(d.Milliseconds(), 10)), Data("word", word), g.Text(agePhrase(word, d)))
}

// notifyLoader is the footer's place for NotifyNote until it arrives with the page.
func notifyLoader() g.Node {
	return P(ID("notify-note"), Class("access notify-note"), Data("panel", "notify"),
		hx.Get("notify"), hx.Trigger("load"), hx.Swap("outerHTML"), g.Text("Notifications: checking…"))
}

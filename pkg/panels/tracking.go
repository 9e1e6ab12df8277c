package panels

import (
	"fmt"
	"math"
	"strconv"
	"time"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
)

// TrackingPanel shows whether the clock is right: status, offset, stratum, reference, leap
// status and the age of the last clock update, then every other tracking field.
func TrackingPanel(r Result[chrony.Tracking]) g.Node {
	return panel("tracking", r.meta(), func() g.Node { return trackingBody(r) })
}

// The tracking panel's boxes and rows, with what each means.
var (
	statusBox      = newMetric("Status", "Whether chronyd follows a time source, from its leap status and reference ID.")
	systemTimeBox  = newMetric("System time", "How far the system clock is from NTP time now; chronyd is steering it back.")
	stratumBox     = newMetric("Stratum", "Hops from a reference clock: 1 has its own clock, each NTP server in between adds one.")
	referenceBox   = newMetric("Reference", "The source the clock follows: an NTP server, a reference clock, or LOCL for the local clock.")
	leapBox        = newMetric("Leap status", "Normal, or a leap second announced for the end of the day, or Not synchronised.")
	lastUpdateBox  = newMetric("Last update", "When chronyd last corrected the clock from its reference.")
	refTimeRow     = newDetail("Ref time (UTC)", "When the clock was last updated from its reference.")
	lastOffsetRow  = newDetail("Last offset", "Offset measured at the last clock update.")
	rmsOffsetRow   = newDetail("RMS offset", "Long-term average of the offset.")
	frequencyRow   = newDetail("Frequency", "How fast the system clock would run if chronyd did not correct it.")
	residualRow    = newDetail("Residual freq", "Difference between the reference's frequency and the one chronyd uses now.")
	skewRow        = newDetail("Skew", "Estimated error bound of the frequency.")
	rootDelayRow   = newDetail("Root delay", "Total network delay to the stratum-1 clock at the top of the chain.")
	rootDispRow    = newDetail("Root dispersion", "Total error bound accumulated up to the stratum-1 clock.")
	updateInterval = newDetail("Update interval", "Time between the last two clock updates.")
	detailsTable   = framed(func(hole g.Node) g.Node {
		return Table(Class("details"), Caption(g.Text("Tracking details")), TBody(hole))
	})
)

func trackingBody(r Result[chrony.Tracking]) g.Node {
	t, now := r.Data, r.Now
	return g.Group{
		Dl(Class("metrics"),
			syncMetric(t),
			offsetMetric(t, r.Trend, r.Thresholds),
			stratumBox.show(Neutral, textValue("stratum", strconv.Itoa(t.Stratum), strconv.Itoa(t.Stratum))),
			referenceMetric(t),
			leapMetric(t),
			lastUpdateBox.show(health(diagnose.LastUpdateTone(t, r.At, r.RefPollSeconds, r.Thresholds)), lastUpdateValue(t, now)),
		),
		detailsTable.around(
			refTimeRow.show(refTime("ref-time", t.RefTime)),
			lastOffsetRow.show(value("last-offset", t.LastOffsetSeconds, Seconds(t.LastOffsetSeconds, true))),
			rmsOffsetRow.show(value("rms-offset", t.RMSOffsetSeconds, Seconds(t.RMSOffsetSeconds, false))),
			frequencyRow.show(value("frequency", t.FrequencyPPM, fastSlow(PPM(math.Abs(t.FrequencyPPM), false), t.FrequencyPPM, "fast", "slow"))),
			residualRow.show(value("residual-frequency", t.ResidualFrequencyPPM, PPM(t.ResidualFrequencyPPM, true))),
			skewRow.show(value("skew", t.SkewPPM, PPM(t.SkewPPM, false))),
			rootDelayRow.show(value("root-delay", t.RootDelaySeconds, Seconds(t.RootDelaySeconds, false))),
			rootDispRow.show(value("root-dispersion", t.RootDispersionSeconds, Seconds(t.RootDispersionSeconds, false))),
			updateInterval.show(value("update-interval", t.UpdateIntervalSeconds, Interval(t.UpdateIntervalSeconds))),
		),
	}
}

func syncMetric(t chrony.Tracking) g.Node {
	switch {
	case !t.Synchronised():
		return statusBox.show(Bad, textValue("synchronised", "false", "Not synchronised"))
	case t.RefID == chrony.RefIDLocal:
		return statusBox.show(Warning, textValue("synchronised", "local", "Local clock only"),
			Small(g.Text(" no external source")))
	}
	return statusBox.show(Good, textValue("synchronised", "true", "Synchronised"))
}

// offsetMetric shows chronyc's "System time": how far the clock is ahead of NTP time (fast) or
// behind it (slow).
func offsetMetric(t chrony.Tracking, trend *history.Trend, th diagnose.Thresholds) g.Node {
	off := t.SystemTimeOffsetSeconds()
	h := health(diagnose.OffsetTone(off, t.Synchronised(), th))
	v := value("system-time", off, fastSlow(Seconds(math.Abs(off), false), off, "fast", "slow"))
	if trend == nil {
		return systemTimeBox.show(h, v)
	}
	return systemTimeBox.show(h, v, Span(Class("trend-wrap"), Title("The last 24 hours"), Trend(*trend)))
}

// fastSlow appends chronyc's word for the direction of v.
func fastSlow(magnitude string, v float64, pos, neg string) string {
	if v < 0 {
		return magnitude + " " + neg
	}
	return magnitude + " " + pos
}

func referenceMetric(t chrony.Tracking) g.Node {
	switch {
	case t.RefID == 0:
		return referenceBox.show(Neutral, textValue("reference", "", "none"))
	case t.RefID == chrony.RefIDLocal:
		return referenceBox.show(Neutral, textValue("reference", "LOCL", "LOCL"), Small(g.Text(" local clock")))
	case !t.RefAddr.IsValid():
		return referenceBox.show(Neutral, textValue("reference", t.Reference(), t.Reference()), Small(g.Text(" reference clock")))
	}
	name, addr := t.Reference(), t.RefAddr.String()
	return referenceBox.show(Neutral,
		textValue("reference", name, name),
		Small(Class("addr"),
			g.If(name != addr, g.Group{textValue("reference-address", addr, addr), g.Text(" · ")}),
			g.Text("ref ID "+fmt.Sprintf("%08X", t.RefID))))
}

func leapMetric(t chrony.Tracking) g.Node {
	return leapBox.show(health(diagnose.LeapTone(t.Leap)), textValue("leap", t.Leap.String(), t.Leap.String()))
}

// lastUpdateValue is how long ago the clock was last updated, or "never".
func lastUpdateValue(t chrony.Tracking, now time.Time) g.Node {
	if t.RefTime.IsZero() {
		return textValue("last-update", "never", "never")
	}
	age := now.Sub(t.RefTime)
	return value("last-update", age.Seconds(), ago(age))
}

// refTime shows a timestamp chronyd reported, or "never" for its zero.
func refTime(field string, t time.Time) g.Node {
	if t.IsZero() {
		return textValue(field, "0", "never")
	}
	return Time(DateTime(t.UTC().Format(time.RFC3339Nano)), Data("field", field),
		g.Text(t.UTC().Format("2006-01-02 15:04:05.000")))
}

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

// TrackingPanel shows whether the clock is right: status, offset, the bound on its error,
// stratum, reference, leap status and the age of the last clock update, then every other
// tracking field. The status is judged with the host's diagnosis (r.Diagnosis), so that it
// never reads "Synchronised" in green while the reference is lost; what chronyd reports
// unsynchronised in place of measurements is said in words ("unknown", "none yet").
func TrackingPanel(r Result[chrony.Tracking]) g.Node {
	return panel(TrackingSpec, r.meta(), func() g.Node { return trackingBody(r) })
}

// The tracking panel's boxes and facts, with what each means.
var (
	statusBox      = newMetric("status", "Status", "Whether chronyd follows a time source, from its leap status and reference ID, and whether that source still answers (the diagnosis).")
	systemTimeBox  = newMetric("system-time", "System time", "How far the system clock is from NTP time now (+ fast, − slow); chronyd is steering it back.")
	maxErrorBox    = newMetric("max-error", "Max error", "|offset| + root dispersion + root delay / 2: how far the clock may be from true time.")
	stratumBox     = newMetric("stratum", "Stratum", "Hops from a reference clock: 1 has its own clock, each NTP server in between adds one.")
	referenceBox   = newMetric("reference", "Reference", "The source the clock follows: an NTP server, a reference clock, or LOCL for the local clock.")
	leapBox        = newMetric("leap", "Leap status", "Normal, or a leap second announced for the end of the day, or Not synchronised.")
	lastUpdateBox  = newMetric("last-update", "Last clock update", "When chronyd last corrected the clock from its reference.")
	refTimeRow     = newDetail("ref-time", "Ref time (UTC)", "When the clock was last updated from its reference.")
	lastOffsetRow  = newDetail("last-offset", "Last offset", "Offset measured at the last clock update (+ this clock was ahead).")
	rmsOffsetRow   = newDetail("rms-offset", "RMS offset", "Long-term average of the offset.")
	frequencyRow   = newDetail("frequency", "Frequency", "How fast the system clock would run if chronyd did not correct it.")
	residualRow    = newDetail("residual", "Residual freq", "Difference between the reference's frequency and the one chronyd uses now.")
	skewRow        = newDetail("skew", "Skew", "Estimated error bound of the frequency.")
	rootDelayRow   = newDetail("root-delay", "Root delay", "Total network delay to the stratum-1 clock at the top of the chain.")
	rootDispRow    = newDetail("root-dispersion", "Root dispersion", "Total error bound accumulated up to the stratum-1 clock.")
	updateInterval = newDetail("update-interval", "Update interval", "Time between the last two clock updates.")
	detailsList    = framed(func(hole g.Node) g.Node { return Dl(Class("facts"), Aria("label", "Tracking details"), hole) })
)

func trackingBody(r Result[chrony.Tracking]) g.Node {
	t, now := r.Data, r.Now
	measured := t.Measured()
	// A value of chronyd's that is a placeholder while it is not synchronised.
	known := func(field string, v float64, shown string) g.Node {
		if !measured {
			return unknownValue(field, "unknown")
		}
		return value(field, v, shown)
	}
	updated := func(field string, v float64, shown string) g.Node {
		if !measured || !t.Updated() {
			return unknownValue(field, "none yet")
		}
		return value(field, v, shown)
	}
	return g.Group{
		Dl(Class("metrics"),
			syncMetric(t, r.Diagnosis),
			offsetMetric(t, r.Trend, r.Thresholds),
			maxErrorMetric(t, r.Thresholds),
			stratumBox.show(Neutral, stratumValue(t)),
			referenceMetric(t),
			leapMetric(t),
			lastUpdateBox.show(health(diagnose.LastUpdateTone(t, r.At, r.RefPollSeconds, r.Thresholds)), lastUpdateValue(t, now)),
		),
		detailsList.around(
			refTimeRow.show(refTime("ref-time", t.RefTime)),
			lastOffsetRow.show(updated("last-offset", t.LastOffsetSeconds, Seconds(t.LastOffsetSeconds, true))),
			rmsOffsetRow.show(updated("rms-offset", t.RMSOffsetSeconds, Seconds(t.RMSOffsetSeconds, false))),
			frequencyRow.show(value("frequency", t.FrequencyPPM, fastSlow(PPM(math.Abs(t.FrequencyPPM), false), t.FrequencyPPM, "fast", "slow"))),
			residualRow.show(known("residual-frequency", t.ResidualFrequencyPPM, PPM(t.ResidualFrequencyPPM, true))),
			skewRow.show(known("skew", t.SkewPPM, PPM(t.SkewPPM, false))),
			rootDelayRow.show(known("root-delay", t.RootDelaySeconds, Seconds(t.RootDelaySeconds, false))),
			rootDispRow.show(known("root-dispersion", t.RootDispersionSeconds, Seconds(t.RootDispersionSeconds, false))),
			updateInterval.show(updated("update-interval", t.UpdateIntervalSeconds, Interval(t.UpdateIntervalSeconds))),
		),
	}
}

// syncMetric is the clock's state in a word, as the diagnosis judges it (diagnose.Status).
func syncMetric(t chrony.Tracking, d diagnose.Diagnosis) g.Node {
	word, tone := diagnose.Status(t, d)
	raw := "true"
	switch {
	case !t.Synchronised():
		raw = "false"
	case t.RefID == chrony.RefIDLocal:
		return statusBox.show(health(tone), textValue("synchronised", "local", word), Small(g.Text(" no external source")))
	case word != "Synchronised":
		return statusBox.show(health(tone), textValue("synchronised", "true", word), Small(g.Text(" its reference gives no samples")))
	}
	return statusBox.show(health(tone), textValue("synchronised", raw, word))
}

// offsetMetric shows chronyc's "System time": how far the clock is ahead of NTP time (fast) or
// behind it (slow), and its recent past as a sparkline; unknown with no reference.
func offsetMetric(t chrony.Tracking, trend *history.Trend, th diagnose.Thresholds) g.Node {
	if !t.Measured() {
		return systemTimeBox.show(Neutral, unknownValue("system-time", "unknown"), Small(g.Text(" no reference to measure against")))
	}
	off := t.SystemTimeOffsetSeconds()
	h := health(diagnose.OffsetTone(off, true, th))
	v := value("system-time", off, diagnose.FastSlowPhrase(off))
	if trend == nil {
		return systemTimeBox.show(h, v)
	}
	return systemTimeBox.show(h, v, Span(Class("trend-wrap"), Trend(*trend), Small(Class("trend-span"), g.Text(" "+trend.Span()))))
}

// maxErrorMetric is the bound on the clock's error, as the overview shows it.
func maxErrorMetric(t chrony.Tracking, th diagnose.Thresholds) g.Node {
	if !t.Measured() {
		return maxErrorBox.show(Neutral, unknownValue("max-error", "unknown"))
	}
	bound := t.MaxErrorSeconds()
	return maxErrorBox.show(health(diagnose.MaxErrorTone(bound, th)), value("max-error", bound, Seconds(bound, false)))
}

// stratumValue is the stratum, unknown while chronyd has no reference (it reports 0).
func stratumValue(t chrony.Tracking) g.Node {
	if !t.Measured() {
		return unknownValue("stratum", "unknown")
	}
	return textValue("stratum", strconv.Itoa(t.Stratum), strconv.Itoa(t.Stratum))
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
		return referenceBox.show(Neutral, unknownValue("reference", "none"))
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
	if !t.Updated() {
		return Span(Class("empty-value"), textValue("last-update", "never", "never"))
	}
	age := now.Sub(t.RefTime)
	return value("last-update", age.Seconds(), ago(age))
}

// refTime shows a timestamp chronyd reported, or "never" for its zero.
func refTime(field string, t time.Time) g.Node {
	if t.IsZero() {
		return Span(Class("empty-value"), textValue(field, "0", "never"))
	}
	return Time(DateTime(t.UTC().Format(time.RFC3339Nano)), Data("field", field),
		g.Text(t.UTC().Format("2006-01-02 15:04:05.000")))
}

package panels

import (
	"fmt"
	"math"
	"strconv"
	"time"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// Health thresholds of the tracking panel, documented in the README.
const (
	OffsetGood    = 10e-3  // |system time offset| below this is good
	OffsetWarning = 100e-3 // below this a warning, at or above it bad
	UpdateGood    = 20 * time.Minute
	UpdateWarning = 2 * time.Hour
)

// TrackingPanel shows whether the clock is right: status, offset, stratum, reference, leap
// status and the age of the last clock update, then every other tracking field.
func TrackingPanel(r Result[chrony.Tracking]) g.Node {
	return panel("tracking", "Tracking", r.meta(), func() g.Node { return trackingBody(r.Data, r.Now) })
}

func trackingBody(t chrony.Tracking, now time.Time) g.Node {
	return g.Group{
		Dl(Class("metrics"),
			syncMetric(t),
			offsetMetric(t),
			metric("Stratum", Neutral, "Hops from a reference clock: 1 has its own clock, each NTP server in between adds one.",
				textValue("stratum", strconv.Itoa(t.Stratum), strconv.Itoa(t.Stratum))),
			referenceMetric(t),
			leapMetric(t),
			lastUpdateMetric(t, now),
		),
		Table(Class("details"),
			Caption(g.Text("Tracking details")),
			TBody(
				detail("Ref time (UTC)", "When the clock was last updated from its reference.", refTime("ref-time", t.RefTime)),
				detail("Last offset", "Offset measured at the last clock update.",
					value("last-offset", t.LastOffsetSeconds, Seconds(t.LastOffsetSeconds, true))),
				detail("RMS offset", "Long-term average of the offset.",
					value("rms-offset", t.RMSOffsetSeconds, Seconds(t.RMSOffsetSeconds, false))),
				detail("Frequency", "How fast the system clock would run if chronyd did not correct it.",
					value("frequency", t.FrequencyPPM, fastSlow(PPM(math.Abs(t.FrequencyPPM), false), t.FrequencyPPM, "fast", "slow"))),
				detail("Residual freq", "Difference between the reference's frequency and the one chronyd uses now.",
					value("residual-frequency", t.ResidualFrequencyPPM, PPM(t.ResidualFrequencyPPM, true))),
				detail("Skew", "Estimated error bound of the frequency.",
					value("skew", t.SkewPPM, PPM(t.SkewPPM, false))),
				detail("Root delay", "Total network delay to the stratum-1 clock at the top of the chain.",
					value("root-delay", t.RootDelaySeconds, Seconds(t.RootDelaySeconds, false))),
				detail("Root dispersion", "Total error bound accumulated up to the stratum-1 clock.",
					value("root-dispersion", t.RootDispersionSeconds, Seconds(t.RootDispersionSeconds, false))),
				detail("Update interval", "Time between the last two clock updates.",
					value("update-interval", t.UpdateIntervalSeconds, Interval(t.UpdateIntervalSeconds))),
			),
		),
	}
}

func syncMetric(t chrony.Tracking) g.Node {
	const help = "Whether chronyd follows a time source, from its leap status and reference ID."
	switch {
	case !t.Synchronised():
		return metric("Status", Bad, help, textValue("synchronised", "false", "Not synchronised"))
	case t.RefID == chrony.RefIDLocal:
		return metric("Status", Warning, help+" The local clock is no external source.",
			textValue("synchronised", "local", "Local clock only"))
	}
	return metric("Status", Good, help, textValue("synchronised", "true", "Synchronised"))
}

// offsetMetric shows chronyc's "System time": how far the clock is ahead of NTP time (fast) or
// behind it (slow).
func offsetMetric(t chrony.Tracking) g.Node {
	off := t.SystemTimeOffsetSeconds()
	h := Good
	switch a := math.Abs(off); {
	case !t.Synchronised():
		h = Neutral
	case a >= OffsetWarning:
		h = Bad
	case a >= OffsetGood:
		h = Warning
	}
	return metric("System time", h, "How far the system clock is from NTP time now; chronyd is steering it back.",
		value("system-time", off, fastSlow(Seconds(math.Abs(off), false), off, "fast", "slow")))
}

// fastSlow appends chronyc's word for the direction of v.
func fastSlow(magnitude string, v float64, pos, neg string) string {
	if v < 0 {
		return magnitude + " " + neg
	}
	return magnitude + " " + pos
}

func referenceMetric(t chrony.Tracking) g.Node {
	const help = "The source the clock follows: an NTP server, a reference clock, or LOCL for the local clock."
	id := fmt.Sprintf("%08X", t.RefID)
	switch {
	case t.RefID == 0:
		return metric("Reference", Neutral, help, textValue("reference", "", "none"))
	case t.RefID == chrony.RefIDLocal:
		return metric("Reference", Neutral, help, textValue("reference", "LOCL", "LOCL"), Small(g.Text(" local clock")))
	case !t.RefAddr.IsValid():
		return metric("Reference", Neutral, help, textValue("reference", t.Reference(), t.Reference()), Small(g.Text(" reference clock")))
	}
	name := t.Reference()
	return metric("Reference", Neutral, help+" Ref ID "+id+".",
		textValue("reference", name, name),
		g.If(name != t.RefAddr.String(), Small(Class("addr"), textValue("reference-address", t.RefAddr.String(), t.RefAddr.String()))))
}

func leapMetric(t chrony.Tracking) g.Node {
	h := Good
	switch t.Leap {
	case chrony.LeapInsert, chrony.LeapDelete:
		h = Warning
	case chrony.LeapUnsynchronised:
		h = Bad
	case chrony.LeapNormal:
	default:
		h = Warning
	}
	return metric("Leap status", h, "Normal, or a leap second announced for the end of the day, or Not synchronised.",
		textValue("leap", t.Leap.String(), t.Leap.String()))
}

func lastUpdateMetric(t chrony.Tracking, now time.Time) g.Node {
	const help = "When chronyd last corrected the clock from its reference."
	if t.RefTime.IsZero() {
		return metric("Last update", Bad, help, textValue("last-update", "never", "never"))
	}
	age := now.Sub(t.RefTime)
	h := Good
	switch {
	case age >= UpdateWarning:
		h = Bad
	case age >= UpdateGood:
		h = Warning
	}
	return metric("Last update", h, help, value("last-update", age.Seconds(), ago(age)))
}

// refTime shows a timestamp chronyd reported, or "never" for its zero.
func refTime(field string, t time.Time) g.Node {
	if t.IsZero() {
		return textValue(field, "0", "never")
	}
	return Time(DateTime(t.UTC().Format(time.RFC3339Nano)), Data("field", field),
		g.Text(t.UTC().Format("2006-01-02 15:04:05.000")))
}

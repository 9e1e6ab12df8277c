package panels

import (
	"math"
	"strconv"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// RTCPanel shows what chronyd knows of the real-time clock, or how to make it track it.
func RTCPanel(r Result[chrony.RTC]) g.Node {
	return panel("rtc", "RTC", r.meta(), func() g.Node { return rtcBody(r.Data) })
}

func rtcBody(r chrony.RTC) g.Node {
	if !r.Enabled {
		return Div(Class("rtc-off"),
			P(Class("metric-value"), textValue("rtc", "disabled", "RTC tracking not enabled")),
			P(g.Text("chronyd measures how fast or slow the real-time clock runs only with the "),
				Code(g.Text("rtcfile")), g.Text(" directive. Add "), Code(g.Text("rtcfile /var/lib/chrony/rtc")),
				g.Text(" to chrony.conf to enable it (instead of "), Code(g.Text("rtcsync")),
				g.Text(", which it cannot be combined with).")),
		)
	}
	return Dl(Class("metrics"),
		metric("RTC offset", Neutral, "How far the RTC is from the system clock.",
			value("rtc-fast", r.FastSeconds, fastSlow(Seconds(math.Abs(r.FastSeconds), false), r.FastSeconds, "fast", "slow"))),
		metric("Gain rate", Neutral, "How fast the RTC gains (or loses) time.",
			value("rtc-gain", r.GainRatePPM, gainsLoses(r.GainRatePPM))),
		metric("Ref time (UTC)", Neutral, "When the RTC was last measured.", refTime("rtc-ref-time", r.RefTime)),
		metric("Samples", Neutral, "Measurements kept.", textValue("rtc-samples", strconv.Itoa(r.Samples), strconv.Itoa(r.Samples))),
		metric("Runs", Neutral, "Runs of residuals with the same sign.", textValue("rtc-runs", strconv.Itoa(r.Runs), strconv.Itoa(r.Runs))),
		metric("Span", Neutral, "Time between the oldest and newest measurement.",
			value("rtc-span", float64(r.SpanSeconds), Interval(float64(r.SpanSeconds)))),
	)
}

func gainsLoses(ppm float64) string {
	if ppm < 0 {
		return "loses " + PPM(-ppm, false)
	}
	return "gains " + PPM(ppm, false)
}

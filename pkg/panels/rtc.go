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
	return panel("rtc", r.meta(), func() g.Node { return rtcBody(r.Data) })
}

func rtcBody(r chrony.RTC) g.Node {
	if !r.Enabled {
		return rtcOff
	}
	return Dl(Class("metrics"),
		rtcOffsetBox.show(Neutral, value("rtc-fast", r.FastSeconds, fastSlow(Seconds(math.Abs(r.FastSeconds), false), r.FastSeconds, "fast", "slow"))),
		rtcGainBox.show(Neutral, value("rtc-gain", r.GainRatePPM, gainsLoses(r.GainRatePPM))),
		rtcRefTimeBox.show(Neutral, refTime("rtc-ref-time", r.RefTime)),
		rtcSamplesBox.show(Neutral, textValue("rtc-samples", strconv.Itoa(r.Samples), strconv.Itoa(r.Samples))),
		rtcRunsBox.show(Neutral, textValue("rtc-runs", strconv.Itoa(r.Runs), strconv.Itoa(r.Runs))),
		rtcSpanBox.show(Neutral, value("rtc-span", float64(r.SpanSeconds), Interval(float64(r.SpanSeconds)))),
	)
}

var (
	rtcOffsetBox  = newMetric("RTC offset", "How far the RTC is from the system clock.")
	rtcGainBox    = newMetric("Gain rate", "How fast the RTC gains (or loses) time.")
	rtcRefTimeBox = newMetric("Ref time (UTC)", "When the RTC was last measured.")
	rtcSamplesBox = newMetric("Samples", "Measurements kept.")
	rtcRunsBox    = newMetric("Runs", "Runs of residuals with the same sign.")
	rtcSpanBox    = newMetric("Span", "Time between the oldest and newest measurement.")
	rtcOff        = static(Div(Class("rtc-off"),
		P(Class("metric-value"), textValue("rtc", "disabled", "RTC tracking not enabled")),
		P(g.Text("chronyd measures how fast or slow the real-time clock runs only with the "),
			Code(g.Text("rtcfile")), g.Text(" directive. Add "), Code(g.Text("rtcfile /var/lib/chrony/rtc")),
			g.Text(" to chrony.conf to enable it (instead of "), Code(g.Text("rtcsync")),
			g.Text(", which it cannot be combined with).")),
	))
)

func gainsLoses(ppm float64) string {
	if ppm < 0 {
		return "loses " + PPM(-ppm, false)
	}
	return "gains " + PPM(ppm, false)
}

package panels

import (
	"strconv"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
)

// RTCPanel shows what chronyd knows of the real-time clock; when chronyd does not track it (most
// hosts), one line says so and how to make it.
func RTCPanel(r Result[chrony.RTC]) g.Node {
	m := r.meta()
	m.quiet = !r.Loading && r.Err == nil && !r.Data.Enabled
	return panel(RTCSpec, m, func() g.Node { return rtcBody(r.Data) })
}

func rtcBody(r chrony.RTC) g.Node {
	if !r.Enabled {
		return rtcOff
	}
	return Dl(Class("metrics"),
		rtcOffsetBox.show(Neutral, value("rtc-fast", r.FastSeconds, diagnose.FastSlowPhrase(r.FastSeconds))),
		rtcGainBox.show(Neutral, value("rtc-gain", r.GainRatePPM, gainsLoses(r.GainRatePPM))),
		rtcRefTimeBox.show(Neutral, refTime("rtc-ref-time", r.RefTime)),
		rtcSamplesBox.show(Neutral, textValue("rtc-samples", strconv.Itoa(r.Samples), strconv.Itoa(r.Samples))),
		rtcRunsBox.show(Neutral, textValue("rtc-runs", strconv.Itoa(r.Runs), strconv.Itoa(r.Runs))),
		rtcSpanBox.show(Neutral, value("rtc-span", float64(r.SpanSeconds), Interval(float64(r.SpanSeconds)))),
	)
}

var (
	rtcOffsetBox  = newMetric("rtc-offset", "RTC offset", "How far the RTC is from the system clock (+ ahead).")
	rtcGainBox    = newMetric("rtc-gain", "Gain rate", "How fast the RTC gains (or loses) time.")
	rtcRefTimeBox = newMetric("rtc-ref-time", "Ref time (UTC)", "When the RTC was last measured.")
	rtcSamplesBox = newMetric("rtc-samples", "Samples", "Measurements kept.")
	rtcRunsBox    = newMetric("rtc-runs", "Runs", "Runs of residuals with the same sign.")
	rtcSpanBox    = newMetric("rtc-span", "Span", "Time between the oldest and newest measurement.")
	rtcOff        = static(P(Class("quiet-line"),
		textValue("rtc", "disabled", "not tracked"), g.Text(": chronyd measures the real-time clock only with "),
		tipped("tip-rtcfile", Code(g.Text("rtcfile /var/lib/chrony/rtc")),
			"Add it to chrony.conf to track how fast or slow the RTC runs (it cannot be combined with rtcsync, which most systems use instead). Most hosts need neither."),
		g.Text(" in chrony.conf.")))
)

func gainsLoses(ppm float64) string {
	if ppm < 0 {
		return "loses " + PPM(-ppm, false)
	}
	return "gains " + PPM(ppm, false)
}

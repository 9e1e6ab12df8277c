package panels

import (
	"strconv"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
)

// SourceStatsPanel shows, as `chronyc sourcestats` does, what chronyd's regression over each
// source's recent samples says about it. Where chronyd has no estimate yet it says so, rather
// than print chronyd's placeholders (a skew of 2000 ppm, a deviation of 4 s).
func SourceStatsPanel(r Result[[]chrony.SourceStats]) g.Node {
	return panel(SourceStatsSpec, r.meta(), func() g.Node { return sourceStatsBody(r.Data) })
}

func sourceStatsBody(stats []chrony.SourceStats) g.Node {
	if len(stats) == 0 {
		return empty("chronyd has no time sources, so no statistics.")
	}
	// One unit per column: the offsets', the deviations'.
	var offs, devs []float64
	for _, s := range stats {
		if s.OffsetKnown() {
			offs = append(offs, s.OffsetSeconds)
		}
		if s.Estimated() {
			devs = append(devs, s.StdDevSeconds)
		}
	}
	ou, du := diagnose.ColumnUnit(offs...), diagnose.ColumnUnit(devs...)
	return g.Group{
		Div(Class("table-wrap"), Table(Class("sourcestats"), sourceStatsHead(ou, du),
			TBody(g.Map(stats, func(s chrony.SourceStats) g.Node {
				name := nameCell.around(textValue("name", s.Name, s.Name))
				samples := statCells[0].around(textValue("samples", strconv.Itoa(s.Samples), strconv.Itoa(s.Samples)))
				if !s.OffsetKnown() {
					// chronyd's placeholders (2000 ppm skew, 4 s deviation) say nothing: say so.
					return rowFrame.around(name, samples, noSamples)
				}
				freq, skew, dev := notYet, notYet2, notYet2
				if s.Estimated() {
					freq = statCells[3].around(value("frequency", s.FrequencyPPM, PPM(s.FrequencyPPM, true)))
					skew = statCells[4].around(value("frequency-skew", s.FrequencySkewPPM, PPM(s.FrequencySkewPPM, false)))
					dev = statCells[6].around(value("std-dev", s.StdDevSeconds, du.Number(s.StdDevSeconds, false)))
				}
				return rowFrame.around(name, samples,
					statCells[1].around(textValue("runs", strconv.Itoa(s.Runs), strconv.Itoa(s.Runs))),
					statCells[2].around(value("span", float64(s.SpanSeconds), Interval(float64(s.SpanSeconds)))),
					freq, skew,
					statCells[5].around(value("offset", s.OffsetSeconds, ou.Number(s.OffsetSeconds, true))),
					dev,
				)
			})),
		)),
		sourceStatsLegend,
	}
}

// The frames of a statistics row's cells, made once: the panel is rendered at every refresh of
// every open page.
var (
	rowFrame  = framed(func(hole g.Node) g.Node { return Tr(hole) })
	statCells = func() (f [7]frame) {
		for i, label := range []string{"Samples", "Runs", "Span", "Frequency", "Freq skew", "Offset", "Std dev"} {
			f[i] = framed(func(hole g.Node) g.Node { return Td(Class("num"), Data("label", label), hole) })
		}
		return f
	}()
	noSamples = static(Td(ColSpan("6"), Class("c-empty"), Span(Class("empty-value"), Data("field", "no-samples"), g.Text("no samples"))))
	// Before chronyd's first regression (three samples): no frequency, skew or deviation.
	notYet  = static(Td(Class("num"), Data("label", "Frequency"), Span(Class("empty-value"), Data("field", "no-estimate"), Title("chronyd estimates them from three samples"), g.Text("not yet"))))
	notYet2 = static(Td(Class("num"), Span(Class("empty-value"), g.Text("not yet"))))
)

// sourceStatsHead is the table's head, with the units of the offset and deviation columns.
func sourceStatsHead(offset, dev diagnose.Unit) g.Node {
	return THead(Tr(
		sourceStatsHeadStart,
		columnHead("ss-offset", "Offset ("+offset.Name+")", "The source's estimated offset (+ this clock ahead of it)", true),
		columnHead("ss-sd", "Std dev ("+dev.Name+")", "Estimated standard deviation of the samples", true),
	))
}

var sourceStatsHeadStart = static(g.Group{
	columnHead("ss-name", "Name / address", "The source, as in the sources panel", false),
	columnHead("ss-samples", "Samples", "Sample points kept for the source (chronyc: NP)", true),
	columnHead("ss-runs", "Runs", "Runs of residuals with the same sign (NR); few runs for many samples mean a poor fit", true),
	columnHead("ss-span", "Span", "Time between the oldest and newest sample", true),
	columnHead("ss-freq", "Frequency", "The source's estimated residual frequency", true),
	columnHead("ss-skew", "Freq skew", "Estimated error bound of that frequency", true),
})

var sourceStatsLegend = legend("sourcestats",
	[2]string{"Samples, runs", "chronyd fits a line through a source's recent samples. Runs counts sign changes of the residuals: about half the samples is a good fit."},
	[2]string{"Frequency, skew", "How fast the source's time drifts against this clock as chronyd estimates it, and the error bound of that estimate; not yet with fewer than three samples."},
	[2]string{"Offset, std dev", "The source's estimated offset from this clock (+ this clock ahead) and the spread of its samples; each column in the one unit of its head."},
)

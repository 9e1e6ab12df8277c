package panels

import (
	"strconv"

	g "maragu.dev/gomponents"
	. "maragu.dev/gomponents/html"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// SourceStatsPanel shows, as `chronyc sourcestats` does, what chronyd's regression over each
// source's recent samples says about it.
func SourceStatsPanel(r Result[[]chrony.SourceStats]) g.Node {
	return panel("sourcestats", r.meta(), func() g.Node { return sourceStatsBody(r.Data) })
}

func sourceStatsBody(stats []chrony.SourceStats) g.Node {
	if len(stats) == 0 {
		return empty("chronyd has no time sources, so no statistics.")
	}
	return g.Group{
		Div(Class("table-wrap"), Table(Class("sourcestats"), sourceStatsHead,
			TBody(g.Map(stats, func(s chrony.SourceStats) g.Node {
				key := s.Name
				if s.Address.IsValid() {
					key = s.Address.String()
				}
				name := nameCell.around(detailToggle("sourcestats", key, textValue("name", s.Name, s.Name)))
				samples := statCells[0].around(textValue("samples", strconv.Itoa(s.Samples), strconv.Itoa(s.Samples)))
				if s.Samples == 0 {
					// chronyd's placeholders (2000 ppm skew, 4 s deviation) say nothing: say so.
					return g.Group{rowFrame.around(name, samples, noSamples), detailRow("sourcestats", key, 8)}
				}
				return g.Group{rowFrame.around(name, samples,
					statCells[1].around(textValue("runs", strconv.Itoa(s.Runs), strconv.Itoa(s.Runs))),
					statCells[2].around(value("span", float64(s.SpanSeconds), Interval(float64(s.SpanSeconds)))),
					statCells[3].around(value("frequency", s.FrequencyPPM, PPM(s.FrequencyPPM, true))),
					statCells[4].around(value("frequency-skew", s.FrequencySkewPPM, PPM(s.FrequencySkewPPM, false))),
					statCells[5].around(value("offset", s.OffsetSeconds, Seconds(s.OffsetSeconds, true))),
					statCells[6].around(value("std-dev", s.StdDevSeconds, Seconds(s.StdDevSeconds, false))),
				), detailRow("sourcestats", key, 8)}
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
)

var sourceStatsHead = static(THead(Tr(
	columnHead("Name / address", "The source, as in the sources panel", false),
	columnHead("Samples", "Sample points kept for the source (chronyc: NP)", true),
	columnHead("Runs", "Runs of residuals with the same sign (NR); few runs for many samples mean a poor fit", true),
	columnHead("Span", "Time between the oldest and newest sample", true),
	columnHead("Frequency", "The source's estimated residual frequency", true),
	columnHead("Freq skew", "Estimated error bound of that frequency", true),
	columnHead("Offset", "The source's estimated offset", true),
	columnHead("Std dev", "Estimated standard deviation of the samples", true),
)))

var sourceStatsLegend = legend("sourcestats",
	[2]string{"Samples, runs", "chronyd fits a line through a source's recent samples. Runs counts sign changes of the residuals: about half the samples is a good fit."},
	[2]string{"Frequency, skew", "How fast the source's time drifts against this clock as chronyd estimates it, and the error bound of that estimate. 2000 ppm skew means no estimate yet."},
	[2]string{"Offset, std dev", "The source's estimated offset from this clock and the spread of its samples."},
)

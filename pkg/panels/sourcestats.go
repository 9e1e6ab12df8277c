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
				name := Td(Class("name c-name"), detailToggle("sourcestats", key, textValue("name", s.Name, s.Name)))
				samples := Td(Class("num"), Data("label", "Samples"), textValue("samples", strconv.Itoa(s.Samples), strconv.Itoa(s.Samples)))
				if s.Samples == 0 {
					// chronyd's placeholders (2000 ppm skew, 4 s deviation) say nothing: say so.
					return g.Group{Tr(name, samples,
						Td(ColSpan("6"), Class("c-empty"), Span(Class("empty-value"), Data("field", "no-samples"), g.Text("no samples")))),
						detailRow("sourcestats", key, 8)}
				}
				return g.Group{Tr(name, samples,
					Td(Class("num"), Data("label", "Runs"), textValue("runs", strconv.Itoa(s.Runs), strconv.Itoa(s.Runs))),
					Td(Class("num"), Data("label", "Span"), value("span", float64(s.SpanSeconds), Interval(float64(s.SpanSeconds)))),
					Td(Class("num"), Data("label", "Frequency"), value("frequency", s.FrequencyPPM, PPM(s.FrequencyPPM, true))),
					Td(Class("num"), Data("label", "Freq skew"), value("frequency-skew", s.FrequencySkewPPM, PPM(s.FrequencySkewPPM, false))),
					Td(Class("num"), Data("label", "Offset"), value("offset", s.OffsetSeconds, Seconds(s.OffsetSeconds, true))),
					Td(Class("num"), Data("label", "Std dev"), value("std-dev", s.StdDevSeconds, Seconds(s.StdDevSeconds, false))),
				), detailRow("sourcestats", key, 8)}
			})),
		)),
		sourceStatsLegend,
	}
}

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

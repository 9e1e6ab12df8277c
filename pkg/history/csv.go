package history

import (
	"cmp"
	"encoding/csv"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

// CSVHeader names the export's columns, with their units. A row is a sample of the system
// clock, a clock update, a source's point or a gap; the columns that do not apply to it are
// empty.
var CSVHeader = []string{
	"time_utc", "record", "source_name", "source_address",
	"system_offset_s", "max_error_s", "root_delay_s", "root_dispersion_s", "sync_state",
	"last_offset_s", "frequency_ppm", "residual_frequency_ppm", "skew_ppm", "rms_offset_s", "update_interval_s", "stratum", "leap", "reference",
	"offset_s", "error_s", "new_sample", "state", "reach_octal", "poll_log2_s",
	"samples", "runs", "span_s", "source_frequency_ppm", "source_skew_ppm", "est_offset_s", "std_dev_s",
	"gap_end_utc", "gap_error",
}

// WriteCSV writes a record as CSV, in time order.
func WriteCSV(w io.Writer, h store.History) error {
	type row struct {
		t time.Time
		f []string
	}
	var rows []row
	col := func() []string { return make([]string, len(CSVHeader)) }
	idx := map[string]int{}
	for i, name := range CSVHeader {
		idx[name] = i
	}
	set := func(f []string, name, v string) { f[idx[name]] = v }
	for _, s := range h.Samples {
		f := col()
		set(f, "record", "sample")
		set(f, "system_offset_s", num(s.OffsetSeconds))
		set(f, "max_error_s", num(s.MaxErrorSeconds()))
		set(f, "root_delay_s", num(s.RootDelaySeconds))
		set(f, "root_dispersion_s", num(s.RootDispersionSeconds))
		set(f, "sync_state", [...]string{"unsynchronised", "synchronised", "local"}[min(int(s.State), 2)])
		rows = append(rows, row{s.T, f})
	}
	for _, u := range h.Updates {
		f := col()
		set(f, "record", "update")
		set(f, "last_offset_s", num(u.OffsetSeconds))
		set(f, "frequency_ppm", num(u.FrequencyPPM))
		set(f, "residual_frequency_ppm", num(u.ResidualFrequencyPPM))
		set(f, "skew_ppm", num(u.SkewPPM))
		set(f, "rms_offset_s", num(u.RMSOffsetSeconds))
		set(f, "root_delay_s", num(u.RootDelaySeconds))
		set(f, "root_dispersion_s", num(u.RootDispersionSeconds))
		set(f, "update_interval_s", num(u.UpdateIntervalSeconds))
		set(f, "stratum", strconv.Itoa(u.Stratum))
		set(f, "leap", [...]string{"normal", "insert", "delete", "unsynchronised"}[min(int(u.Leap), 3)])
		set(f, "reference", u.Reference)
		rows = append(rows, row{u.T, f})
	}
	for _, src := range h.Sources {
		for _, p := range src.Points {
			f := col()
			set(f, "record", "source")
			set(f, "source_name", src.Name)
			set(f, "source_address", src.Address)
			set(f, "new_sample", strconv.FormatBool(p.NewSample))
			if p.NewSample {
				set(f, "offset_s", num(p.OffsetSeconds))
				set(f, "error_s", num(p.ErrorSeconds))
			}
			if !p.NoStatus {
				set(f, "state", strconv.Itoa(int(p.State)))
				set(f, "reach_octal", strconv.FormatUint(uint64(p.Reach), 8))
			}
			set(f, "stratum", strconv.Itoa(p.Stratum))
			set(f, "poll_log2_s", strconv.Itoa(p.PollLog2))
			if p.HasStats {
				set(f, "samples", strconv.Itoa(p.Samples))
				set(f, "runs", strconv.Itoa(p.Runs))
				set(f, "span_s", strconv.Itoa(p.SpanSeconds))
				set(f, "source_frequency_ppm", num(p.FrequencyPPM))
				set(f, "source_skew_ppm", num(p.SkewPPM))
				set(f, "est_offset_s", num(p.EstOffsetSeconds))
				set(f, "std_dev_s", num(p.StdDevSeconds))
			}
			rows = append(rows, row{p.T, f})
		}
	}
	for _, g := range h.Gaps {
		f := col()
		set(f, "record", "gap")
		set(f, "gap_end_utc", g.End.UTC().Format(time.RFC3339Nano))
		set(f, "gap_error", g.Error)
		rows = append(rows, row{g.Start, f})
	}
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(a.t.UnixNano(), b.t.UnixNano()) })
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, r := range rows {
		r.f[0] = r.t.UTC().Format(time.RFC3339Nano)
		if err := cw.Write(r.f); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// num prints a value in full, and nothing for one that is not known.
func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

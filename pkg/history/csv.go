package history

import (
	"cmp"
	"context"
	"encoding/csv"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

// CSVHeader names the export's columns, with their units. A row is a sample of the system
// clock, a clock update, a source's point, chronyd's server statistics, a gap, or a stretch of the record the store could
// not read ("damaged", with its end and what it held); the columns that do not apply to it are
// empty.
var CSVHeader = []string{
	"time_utc", "record", "source_name", "source_address",
	"system_offset_s", "max_error_s", "root_delay_s", "root_dispersion_s", "sync_state",
	"last_offset_s", "frequency_ppm", "residual_frequency_ppm", "skew_ppm", "rms_offset_s", "update_interval_s", "stratum", "leap", "reference",
	"offset_s", "error_s", "new_sample", "state", "reach_octal", "poll_log2_s",
	"samples", "runs", "span_s", "source_frequency_ppm", "source_skew_ppm", "est_offset_s", "std_dev_s",
	"gap_end_utc", "gap_error",
	// chronyd's server statistics (a "server" row): its counters as read, and the rates since
	// the row before (none across a restart of chronyd, whose counters start over).
	"ntp_requests", "ntp_dropped", "ntske_accepted", "authenticated", "interleaved", "client_log_dropped",
	"clients", "active_clients", "ntp_requests_per_s", "ntp_dropped_per_s",
}

// The columns' places in a row.
var col = func() map[string]int {
	m := map[string]int{}
	for i, name := range CSVHeader {
		m[name] = i
	}
	return m
}()

// exportWindow is how much of the record an export reads at a time: the store keeps a series
// in chunks of an hour.
const exportWindow = time.Hour

// ExportCSV writes host's record from from to to as CSV, in time order, as it reads it: an hour
// at a time, so that a month costs the memory of an hour. next is called before each hour is
// written (the server extends its write deadline there). An error (the store's, next's, or
// the writer's) ends the export where it is; nothing has been written when the store cannot
// be read at all.
func (s *Service) ExportCSV(ctx context.Context, w io.Writer, host string, from, to time.Time, next func() error) error {
	st, err := s.openStore()
	if err != nil {
		return err
	}
	cw := newCSVWriter(w)
	if err := cw.header(); err != nil {
		return err
	}
	for a := from; !a.After(to); {
		b := time.UnixMilli(a.UnixMilli()/exportWindow.Milliseconds()*exportWindow.Milliseconds() + exportWindow.Milliseconds())
		last := b.Add(-time.Millisecond) // the store's ranges hold both ends, to the millisecond
		if last.After(to) {
			last = to
		}
		h, err := st.Range(ctx, host, a, last)
		if err != nil {
			return err
		}
		if err := next(); err != nil {
			return err
		}
		if err := cw.window(h, a.Equal(from)); err != nil {
			return err
		}
		a = b
	}
	return cw.flush()
}

// WriteCSV writes a record read whole as CSV, in time order.
func WriteCSV(w io.Writer, h store.History) error {
	cw := newCSVWriter(w)
	if err := cw.header(); err != nil {
		return err
	}
	if err := cw.window(h, true); err != nil {
		return err
	}
	return cw.flush()
}

// csvWriter writes rows one at a time, into a row it reuses.
type csvWriter struct {
	w    *csv.Writer
	f    []string
	rows []csvRow
	prev *store.ServerSample // the server statistics written last, for rates
}

func newCSVWriter(w io.Writer) *csvWriter {
	return &csvWriter{w: csv.NewWriter(w), f: make([]string, len(CSVHeader))}
}

func (c *csvWriter) header() error { return c.w.Write(CSVHeader) }

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// csvRow is a record of a window, to put the window's rows in time order: which list it is in
// and where.
type csvRow struct {
	t       int64
	kind    int // the order of kinds at one time: samples, updates, sources, gaps, damage
	src, at int
}

// window writes one window's records in time order; ties keep the order samples, updates,
// sources, gaps. A gap is written in the window it starts in, or in the first if it started
// before.
func (c *csvWriter) window(h store.History, first bool) error {
	rows := c.rows[:0]
	for i, s := range h.Samples {
		rows = append(rows, csvRow{s.T.UnixNano(), 0, 0, i})
	}
	for i, u := range h.Updates {
		rows = append(rows, csvRow{u.T.UnixNano(), 1, 0, i})
	}
	for j, src := range h.Sources {
		for i, p := range src.Points {
			rows = append(rows, csvRow{p.T.UnixNano(), 2, j, i})
		}
	}
	for i, r := range h.Servers {
		rows = append(rows, csvRow{r.T.UnixNano(), 5, 0, i})
	}
	for i, g := range h.Gaps {
		if first || !g.Start.Before(h.From) {
			rows = append(rows, csvRow{g.Start.UnixNano(), 3, 0, i})
		}
	}
	for i, d := range h.Damaged {
		if first || !d.Start.Before(h.From) {
			rows = append(rows, csvRow{d.Start.UnixNano(), 4, 0, i})
		}
	}
	slices.SortFunc(rows, func(a, b csvRow) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.kind, b.kind), cmp.Compare(a.src, b.src), cmp.Compare(a.at, b.at))
	})
	c.rows = rows
	for _, r := range rows {
		clear(c.f)
		c.f[0] = time.Unix(0, r.t).UTC().Format(time.RFC3339Nano)
		switch r.kind {
		case 0:
			c.sample(h.Samples[r.at])
		case 1:
			c.update(h.Updates[r.at])
		case 2:
			c.source(h.Sources[r.src].Source, h.Sources[r.src].Points[r.at])
		case 3:
			c.gap(h.Gaps[r.at])
		case 4:
			c.damaged(h.Damaged[r.at])
		case 5:
			c.server(h.Servers[r.at])
		}
		if err := c.w.Write(c.f); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvWriter) set(name, v string) { c.f[col[name]] = v }

// text sets a column of text that came from chronyd or its configuration (a source's name, a
// reference, an error): neutralised, so that a spreadsheet opening the file does not run it.
func (c *csvWriter) text(name, v string) { c.f[col[name]] = NeutralCell(v) }

func (c *csvWriter) sample(s store.Sample) {
	c.set("record", "sample")
	c.set("system_offset_s", num(s.OffsetSeconds))
	c.set("max_error_s", num(s.MaxErrorSeconds()))
	c.set("root_delay_s", num(s.RootDelaySeconds))
	c.set("root_dispersion_s", num(s.RootDispersionSeconds))
	c.set("sync_state", [...]string{"unsynchronised", "synchronised", "local"}[min(int(s.State), 2)])
}

func (c *csvWriter) update(u store.Update) {
	c.set("record", "update")
	c.set("last_offset_s", num(u.OffsetSeconds))
	c.set("frequency_ppm", num(u.FrequencyPPM))
	c.set("residual_frequency_ppm", num(u.ResidualFrequencyPPM))
	c.set("skew_ppm", num(u.SkewPPM))
	c.set("rms_offset_s", num(u.RMSOffsetSeconds))
	c.set("root_delay_s", num(u.RootDelaySeconds))
	c.set("root_dispersion_s", num(u.RootDispersionSeconds))
	c.set("update_interval_s", num(u.UpdateIntervalSeconds))
	c.set("stratum", strconv.Itoa(u.Stratum))
	c.set("leap", [...]string{"normal", "insert", "delete", "unsynchronised"}[min(int(u.Leap), 3)])
	c.text("reference", u.Reference)
}

func (c *csvWriter) source(src store.Source, p store.SourcePoint) {
	c.set("record", "source")
	c.text("source_name", src.Name)
	c.text("source_address", src.Address)
	c.set("new_sample", strconv.FormatBool(p.NewSample))
	if p.NewSample {
		c.set("offset_s", num(p.OffsetSeconds))
		c.set("error_s", num(p.ErrorSeconds))
	}
	if !p.NoStatus {
		c.set("state", strconv.Itoa(int(p.State)))
		c.set("reach_octal", strconv.FormatUint(uint64(p.Reach), 8))
	}
	c.set("stratum", strconv.Itoa(p.Stratum))
	c.set("poll_log2_s", strconv.Itoa(p.PollLog2))
	if p.HasStats {
		c.set("samples", strconv.Itoa(p.Samples))
		c.set("runs", strconv.Itoa(p.Runs))
		c.set("span_s", strconv.Itoa(p.SpanSeconds))
		c.set("source_frequency_ppm", num(p.FrequencyPPM))
		c.set("source_skew_ppm", num(p.SkewPPM))
		c.set("est_offset_s", num(p.EstOffsetSeconds))
		c.set("std_dev_s", num(p.StdDevSeconds))
	}
}

func (c *csvWriter) server(r store.ServerSample) {
	c.set("record", "server")
	u := func(name string, v uint64) { c.set(name, strconv.FormatUint(v, 10)) }
	u("ntp_requests", r.NTP)
	u("ntp_dropped", r.NTPDropped)
	u("client_log_dropped", r.ClientLogDropped)
	if r.Version >= 2 {
		u("ntske_accepted", r.NTSKE)
		u("authenticated", r.Authenticated)
	}
	if r.Version >= 3 {
		u("interleaved", r.Interleaved)
	}
	if r.Clients >= 0 {
		c.set("clients", strconv.Itoa(int(r.Clients)))
	}
	if r.Active >= 0 {
		c.set("active_clients", strconv.Itoa(int(r.Active)))
	}
	if c.prev != nil {
		if rate, ok := store.ServerRates(*c.prev, r); ok {
			c.set("ntp_requests_per_s", num(rate.NTP))
			c.set("ntp_dropped_per_s", num(rate.NTPDropped))
		}
	}
	c.prev = &r
}

func (c *csvWriter) gap(g store.Gap) {
	c.set("record", "gap")
	c.set("gap_end_utc", g.End.UTC().Format(time.RFC3339Nano))
	c.text("gap_error", g.Error)
}

func (c *csvWriter) damaged(d store.Damage) {
	c.set("record", "damaged")
	c.set("gap_end_utc", d.End.UTC().Format(time.RFC3339Nano))
	c.text("gap_error", "damaged in the store, not exported: the "+d.Series)
}

// NeutralCell keeps a cell of text from being taken for a formula by a spreadsheet, as OWASP
// recommends against CSV injection: a cell that begins with '=', '+', '-', '@', a tab or a
// carriage return gets a single quote in front. Only text goes through it: the numeric
// columns are written by strconv, and a number such as -0.0001 stays a number.
func NeutralCell(v string) string {
	if v != "" && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r') {
		return "'" + v
	}
	return v
}

// num prints a value in full, and nothing for one that is not known.
func num(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

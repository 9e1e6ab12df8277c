package history

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/monitor/monitortest"
	"github.com/second-hand/second-hand/pkg/store"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// TestStatsAreExact: the percentiles are values of the series (as kept, in float32), the ones
// sorting would find.
func TestStatsAreExact(t *testing.T) {
	for _, n := range []int{1, 2, 7, 100, 1001, 54321} {
		var vals []float32
		for range n {
			vals = append(vals, float32(rand.NormFloat64()*1e-5))
		}
		s := statsOf(slices.Clone(vals))
		slices.Sort(vals)
		at := func(q float64) float64 { return float64(vals[rank(n, q)]) }
		want := Stats{N: n, Min: float64(vals[0]), P1: at(0.01), P5: at(0.05), P50: at(0.5), P95: at(0.95), P99: at(0.99), Max: float64(vals[n-1])}
		got := s
		got.Mean, got.StdDev = 0, 0
		if got != want {
			t.Errorf("n=%d: %+v\nwant %+v", n, got, want)
		}
	}
	s := statsOf([]float32{1, 2, 3, 4})
	if s.Mean != 2.5 || math.Abs(s.StdDev-math.Sqrt(1.25)) > 1e-12 {
		t.Errorf("mean %v, sd %v", s.Mean, s.StdDev)
	}
}

// TestColumnsKeepEverySpike: a month of samples every 16 s, one of them a spike; the chart's
// columns hold it whole, and a gap breaks the line.
func TestColumnsKeepEverySpike(t *testing.T) {
	h := store.History{Host: "h", From: t0, To: t0.Add(30 * 24 * time.Hour)}
	for i := 0; i < 30*24*225; i++ {
		s := store.Sample{T: t0.Add(time.Duration(i) * 16 * time.Second), OffsetSeconds: 1e-6 * math.Sin(float64(i)), State: store.Synchronised}
		if i == 77777 {
			s.OffsetSeconds = -3e-3
		}
		h.Samples = append(h.Samples, s)
	}
	h.Gaps = []store.Gap{{Start: t0.Add(10 * 24 * time.Hour), End: t0.Add(10*24*time.Hour + time.Hour), Error: "timed out"}}
	v := BuildView(h, Ranges[4], time.Time{})
	off := v.Charts[0]
	lo := math.Inf(1)
	broken := 0
	for _, c := range off.Series[0].Cols {
		if c.Has {
			lo = math.Min(lo, c.Min)
		}
		if c.Broken {
			broken++
		}
	}
	if lo != -3e-3 || off.Min > -3e-3 {
		t.Errorf("the spike of -3 ms: least column value %v, chart from %v", lo, off.Min)
	}
	if broken < 1 {
		t.Error("the gap breaks no column")
	}
	if off.Series[0].Stats.N != len(h.Samples) || off.Series[0].Stats.Min != float64(float32(-3e-3)) {
		t.Errorf("stats over %d values, min %v", off.Series[0].Stats.N, off.Series[0].Stats.Min)
	}
}

func TestEvents(t *testing.T) {
	sample := func(m int, st store.SyncState) store.Sample {
		return store.Sample{T: t0.Add(time.Duration(m) * time.Minute), State: st}
	}
	update := func(m int, ref string, stratum int, leap uint8, off, interval float64) store.Update {
		return store.Update{T: t0.Add(time.Duration(m) * time.Minute), Reference: ref, Stratum: stratum, Leap: leap, OffsetSeconds: off, UpdateIntervalSeconds: interval}
	}
	point := func(m int, reach, state uint8, samples int) store.SourcePoint {
		return store.SourcePoint{T: t0.Add(time.Duration(m) * time.Minute), Reach: reach, State: state, HasStats: true, Samples: samples}
	}
	h := store.History{
		Samples: []store.Sample{sample(0, store.Synchronised), sample(10, store.Unsynchronised), sample(20, store.Synchronised)},
		Updates: []store.Update{update(1, "nas", 2, 0, 0, 64), update(2, "pi-gps", 1, 0, 0, 64), update(3, "pi-gps", 2, 0, 0, 64),
			update(4, "pi-gps", 2, 1, 0, 64), update(5, "pi-gps", 2, 0, 2.5, 64), update(31, "pi-gps", 2, 0, 0, 0)},
		Sources: []store.SourceHistory{{Source: store.Source{Name: "nas", Address: "192.168.1.10"}, Points: []store.SourcePoint{
			point(0, 0o377, 0, 8), point(6, 0, 1, 8), point(7, 0o1, 1, 8), point(8, 0o3, 2, 8), point(9, 0o7, 3, 8), point(32, 0o1, 1, 1)}}},
		Gaps: []store.Gap{{Start: t0.Add(25 * time.Minute), End: t0.Add(30 * time.Minute), Error: "chronyd is not answering"}},
	}
	var got []string
	for _, e := range Events(h) {
		got = append(got, e.T.Format("04")+" "+e.Kind)
	}
	want := []string{"31 restart", "30 restart", "25 silent", "20 regained", "10 lost", "09 jittery", "08 falseticker", "07 reachable",
		"06 unreachable", "05 step", "05 leap", "04 leap", "03 stratum", "02 reference"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("events:\n%s\nwant\n%s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	for _, e := range Events(h) {
		if e.Kind == "reference" && e.Text != "Reference changed from nas (stratum 2) to pi-gps (stratum 1)" {
			t.Errorf("reference event: %q", e.Text)
		}
	}
}

func TestCSV(t *testing.T) {
	h := store.History{
		Samples: []store.Sample{{T: t0, OffsetSeconds: 1e-6, RootDelaySeconds: 2e-3, RootDispersionSeconds: 1e-3, State: store.Synchronised}},
		Updates: []store.Update{{T: t0.Add(-time.Second), FrequencyPPM: 12.5, Reference: "nas", Stratum: 2, RMSOffsetSeconds: math.NaN()}},
		Sources: []store.SourceHistory{{Source: store.Source{Name: "nas", Address: "192.168.1.10"},
			Points: []store.SourcePoint{{T: t0.Add(time.Second), NewSample: true, OffsetSeconds: 3e-6, Reach: 0o377}}}},
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, h); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "time_utc" || !slices.Contains(rows[0], "system_offset_s") || !slices.Contains(rows[0], "frequency_ppm") {
		t.Fatalf("rows = %v", rows)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	if rows[1][col("record")] != "update" || rows[1][col("frequency_ppm")] != "12.5" || rows[1][col("rms_offset_s")] != "" {
		t.Errorf("update row = %v", rows[1])
	}
	if rows[2][col("record")] != "sample" || rows[2][col("max_error_s")] != "0.002001" {
		t.Errorf("sample row = %v", rows[2])
	}
	if rows[3][col("reach_octal")] != "377" || rows[3][col("source_address")] != "192.168.1.10" {
		t.Errorf("source row = %v", rows[3])
	}
}

// fakeReporter answers tracking and sources with whatever the test set last.
type fakeReporter struct {
	monitortest.NoSocketReports
	tracking chrony.Tracking
	trackErr error
	sources  []chrony.Source
	stats    []chrony.SourceStats
}

func (f *fakeReporter) Tracking(context.Context) (chrony.Tracking, error) {
	return f.tracking, f.trackErr
}
func (f *fakeReporter) NumSources(context.Context) (int, error) { return len(f.sources), nil }
func (f *fakeReporter) SourcesN(context.Context, int) ([]chrony.Source, error) {
	return slices.Clone(f.sources), nil
}
func (f *fakeReporter) SourceStatsN(context.Context, int) ([]chrony.SourceStats, error) {
	return slices.Clone(f.stats), nil
}
func (f *fakeReporter) RTC(context.Context) (chrony.RTC, error) { return chrony.RTC{}, nil }
func (f *fakeReporter) Endpoint() string                        { return "udp://fake:323" }
func (f *fakeReporter) Close() error                            { return nil }

// memWriter keeps what a recorder writes, and can fail.
type memWriter struct {
	batches []store.Batch
	fail    error
}

func (w *memWriter) Append(_ context.Context, _ string, b store.Batch) error {
	if w.fail != nil {
		return w.fail
	}
	w.batches = append(w.batches, b)
	return nil
}

// TestRecorderStoresWhatIsNew: samples at every read, an update only when the reference time
// moves, a source's point only when something of it changed, a gap while chronyd is silent,
// and nothing lost while the store fails.
func TestRecorderStoresWhatIsNew(t *testing.T) {
	clock := t0
	f := &fakeReporter{
		tracking: chrony.Tracking{RefID: 1, Stratum: 2, RefTime: t0.Add(-10 * time.Second), CorrectionSeconds: -1e-6},
		sources:  []chrony.Source{{Name: "nas", State: chrony.StateSelected, Reach: 0o377, LastSampleAgo: 10 * time.Second, MeasuredOffsetSeconds: 2e-6}},
		stats:    []chrony.SourceStats{{Name: "nas", Samples: 8}},
	}
	m := monitor.New("h", f, monitor.Config{Now: func() time.Time { return clock }})
	w := &memWriter{}
	r := NewRecorder(m, w, 16*time.Second, nil)
	ctx := context.Background()
	step := func() {
		clock = clock.Add(16 * time.Second)
		f.sources[0].LastSampleAgo += 16 * time.Second // as chronyd's does, until a new sample
		r.Sample(ctx)
	}

	r.Sample(ctx)
	step() // nothing new but the sample
	f.tracking.RefTime = clock.Add(5 * time.Second)
	f.sources[0].LastSampleAgo, f.sources[0].MeasuredOffsetSeconds = time.Second, 3e-6
	step() // an update and a source's sample
	f.trackErr = &chrony.Error{Kind: chrony.KindTimeout, Op: "tracking", Addr: "udp://fake:323"}
	step()
	step() // a gap of two samples
	f.trackErr = nil
	w.fail = &chrony.Error{Kind: chrony.KindClosed}
	f.sources[0].Reach = 0o376
	step() // the gap closes, the reach changes; the store fails
	w.fail = nil
	step() // everything kept is written

	var samples, updates, points int
	var gaps []store.Gap
	for _, b := range w.batches {
		samples += len(b.Samples)
		updates += len(b.Updates)
		points += len(b.Sources)
		gaps = append(gaps, b.Gaps...)
	}
	if samples != 5 || updates != 2 || points != 3 {
		t.Errorf("%d samples, %d updates, %d source points; want 5, 2, 3", samples, updates, points)
	}
	last := gaps[len(gaps)-1]
	if last.Start != t0.Add(48*time.Second) || last.End != t0.Add(80*time.Second) || !strings.Contains(last.Error, "did not answer") {
		t.Errorf("gap = %+v", last)
	}
	if dropped, err := r.Failing(); err != nil || dropped != 0 {
		t.Errorf("after the store came back: %v, %d dropped", err, dropped)
	}
}

func (f *fakeReporter) Activity(context.Context) (chrony.Activity, error) {
	return chrony.Activity{Online: 1}, nil
}
func (f *fakeReporter) ServerStats(context.Context) (chrony.ServerStats, error) {
	return chrony.ServerStats{Version: 4}, nil
}
func (f *fakeReporter) Counts() chrony.Counts { return chrony.Counts{} }

package chronylog

import (
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

const rule = "===================================================================================================================================\n"

// These lines are written by hand in chronyd 4.3's layout (see TestImportRealLogs in
// cmd/second-hand for logs written by a real chronyd).
const trackingHeader = rule +
	"   Date (UTC) Time     IP Address   St   Freq ppm   Skew ppm     Offset L Co  Offset sd Rem. corr. Root delay Root disp. Max. error\n" + rule

func TestTrackingRepeatedHeaders(t *testing.T) {
	log := trackingHeader +
		"2026-11-26 06:13:11 0.0.0.0          0      0.000 1000000.000  0.000e+00 ?  0  0.000e+00 -0.000e+00  1.000e+00  1.000e+00  1.500e+00\n" +
		"2026-11-26 06:13:11 127.0.0.1        9      5.841    511.036  3.012e-06 N  1  1.038e-07 -0.000e+00  8.909e-06  2.036e-04  1.500e+00\n" +
		trackingHeader +
		"2026-11-26 06:13:12 127.0.0.1        9     -0.033      2.389 -1.752e-07 +  2  2.845e-07 -2.703e-06  8.571e-06  3.270e-06  1.250e-05\n"
	f, err := Parse(strings.NewReader(log), "anything")
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != TrackingLog || len(f.Tracking) != 3 || len(f.Problems) != 0 {
		t.Fatalf("kind %v, %d lines, problems %v", f.Kind, len(f.Tracking), f.Problems)
	}
	want := Tracking{T: time.Date(2026, 11, 26, 6, 13, 12, 0, time.UTC), Reference: "127.0.0.1", Stratum: 9, FrequencyPPM: -0.033,
		SkewPPM: 2.389, OffsetSeconds: -1.752e-07, Leap: '+', Combined: 2, OffsetSDSeconds: 2.845e-07, RemainingCorrection: -2.703e-06,
		RootDelaySeconds: 8.571e-06, RootDispersionSeconds: 3.270e-06, MaxErrorSeconds: 1.250e-05}
	if f.Tracking[2] != want {
		t.Errorf("line = %+v\nwant  %+v", f.Tracking[2], want)
	}
}

func TestMeasurementsAndStatistics(t *testing.T) {
	m, _ := Parse(strings.NewReader(rule+
		"   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. Peer disp.  Root del. Root disp. Refid     MTxRx\n"+rule+
		"2026-11-26 06:13:11 127.0.0.1       N  8 111 111 1111  -2  0 1.00 -2.111e-06  8.256e-06  2.016e-07  0.000e+00  0.000e+00 7F7F0101 4B K K\n"), "x")
	if m.Kind != MeasurementsLog || len(m.Measurements) != 1 || len(m.Problems) != 0 {
		t.Fatalf("%+v", m)
	}
	if got := m.Measurements[0]; got.Address != "127.0.0.1" || got.OffsetSeconds != -2.111e-06 || got.RefID != 0x7F7F0101 ||
		got.LocalPoll != -2 || got.Tests != "111 111 1111" || got.PeerDelaySeconds != 8.256e-06 {
		t.Errorf("measurement = %+v", got)
	}
	s, _ := Parse(strings.NewReader(rule+
		"   Date (UTC) Time     IP Address    Std dev'n Est offset  Offset sd  Diff freq   Est skew  Stress  Ns  Bs  Nr  Asym\n"+rule+
		"2026-11-26 06:13:11 GPS              9.119e-08  3.010e-06  1.038e-07  5.841e-06  5.109e-04 2.9e-03   3   0   3  0.00\n"), "x")
	if s.Kind != StatisticsLog || len(s.Statistics) != 1 {
		t.Fatalf("%+v", s)
	}
	if got := s.Statistics[0]; got.Source != "GPS" || math.Abs(got.FrequencyPPM-5.841) > 1e-9 || math.Abs(got.SkewPPM-510.9) > 1e-9 || got.Samples != 3 || got.Runs != 3 {
		t.Errorf("statistic = %+v (frequency and skew in ppm)", got)
	}
}

// TestBadLinesAreReportedAndSkipped: a cut-short last line, a garbled line, and lines before
// any header in a file whose name says nothing are each reported with their number; the other
// lines are read.
func TestBadLinesAreReportedAndSkipped(t *testing.T) {
	log := trackingHeader +
		"2026-11-26 06:13:11 127.0.0.1        9      5.841    511.036  3.012e-06 N  1  1.038e-07 -0.000e+00  8.909e-06  2.036e-04  1.500e+00\n" +
		"2026-11-26 06:13:12 127.0.0.1        9      five     511.036  3.012e-06 N  1  1.038e-07 -0.000e+00  8.909e-06  2.036e-04  1.500e+00\n" +
		"2026-11-26 06:13:13 127.0.0.1        9      5.841    511.036  3.012e-06 N\n" +
		"2026-11-26 06:13:14 127.0.0.1        9      5.841    511.036  3.012e-06 N  1  1.038e-07 -0.000e+00  8.909e-06  2.036e-04  1.500e+00\n" +
		"2026-11-26 06:13:15 127.0.0.1        9      5.841    511.036  3.0"
	f, err := Parse(strings.NewReader(log), "tracking.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tracking) != 2 {
		t.Errorf("%d lines read, want 2", len(f.Tracking))
	}
	var lines []int
	for _, p := range f.Problems {
		lines = append(lines, p.Line)
	}
	if len(lines) != 3 || lines[0] != 5 || lines[1] != 6 || lines[2] != 8 {
		t.Errorf("problems on lines %v, want 5, 6 and 8: %v", lines, f.Problems)
	}
	if !strings.Contains(f.Problems[0].Err.Error(), `"five" is not a number`) || !strings.Contains(f.Problems[2].Err.Error(), "cut short") {
		t.Errorf("problems: %v", f.Problems)
	}

	// No header and a name that says nothing: every line is a problem, none is misread.
	g, _ := Parse(strings.NewReader("2026-11-26 06:13:14 127.0.0.1 9 5.841\n"), "/var/log/chrony/old.1")
	if g.Lines() != 0 || len(g.Problems) != 1 {
		t.Errorf("headerless file: %+v", g)
	}
	// No header, but the name says which log: read with chronyd's usual columns.
	h, _ := Parse(strings.NewReader("2026-11-26 06:13:14 127.0.0.1        9      5.841    511.036  3.012e-06 N  1  1.038e-07 -0.000e+00  8.909e-06  2.036e-04  1.500e+00\n"),
		"/var/log/chrony/tracking.log.1")
	if len(h.Tracking) != 1 || len(h.Problems) != 0 {
		t.Errorf("headerless tracking.log.1: %+v", h)
	}
}

// TestUnknownColumnsAreSkipped: a header with a column this does not know (as a newer chronyd
// might add) is read by name: the known columns are found wherever they are.
func TestUnknownColumnsAreSkipped(t *testing.T) {
	log := rule +
		"   Date (UTC) Time     IP Address   St   Freq ppm   Skew ppm   Novelty     Offset L Co  Offset sd Rem. corr. Root delay Root disp. Max. error Extra\n" + rule +
		"2026-11-26 06:13:11 127.0.0.1        9      5.841    511.036    42  3.012e-06 N  1  1.038e-07 -1.000e-06  8.909e-06  2.036e-04  1.500e+00 x\n"
	f, _ := Parse(strings.NewReader(log), "tracking.log")
	if len(f.Tracking) != 1 || len(f.Problems) != 0 {
		t.Fatalf("%+v", f)
	}
	if got := f.Tracking[0]; got.OffsetSeconds != 3.012e-06 || got.RemainingCorrection != -1e-6 || got.MaxErrorSeconds != 1.5 {
		t.Errorf("line = %+v", got)
	}
}

func TestHeaderOfAnotherLogMidFile(t *testing.T) {
	log := trackingHeader +
		"2026-11-26 06:13:11 127.0.0.1        9      5.841    511.036  3.012e-06 N  1  1.038e-07 -0.000e+00  8.909e-06  2.036e-04  1.500e+00\n" +
		rule + "   Date (UTC) Time     IP Address    Std dev'n Est offset  Offset sd  Diff freq   Est skew  Stress  Ns  Bs  Nr  Asym\n"
	if _, err := Parse(strings.NewReader(log), "tracking.log"); err == nil {
		t.Error("a statistics header in a tracking log is not an error")
	}
}

// zeros is a reader of n NUL bytes that holds none of them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// TestOverlongLineIsSkippedInLittleMemory: a 400 MB line of NUL bytes between two good lines
// is reported with its number and length and skipped, in a few kilobytes: the lines around it
// are read.
func TestOverlongLineIsSkippedInLittleMemory(t *testing.T) {
	good := "2026-11-26 06:13:11 127.0.0.1        9      5.841    511.036  3.012e-06 N  1  1.038e-07 -0.000e+00  8.909e-06  2.036e-04  1.500e+00\n"
	log := io.MultiReader(strings.NewReader(trackingHeader+good), &zeros{400 << 20}, strings.NewReader("\n"+good))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r := NewReader(log, "tracking.log")
	var problems []Problem
	r.Problem = func(p Problem) { problems = append(problems, p) }
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	runtime.ReadMemStats(&after)
	if n != 2 || len(problems) != 1 || problems[0].Line != 5 || !strings.Contains(problems[0].Err.Error(), "419430400 bytes long") ||
		len(problems[0].Text) > MaxProblemText+len("…") {
		t.Errorf("%d records, problems %v; want 2 and line 5 of 419430400 bytes", n, problems)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
		t.Errorf("reading past a 400 MB line allocated %d bytes", allocated)
	}
}

// TestValuesOutOfRangeAreSkipped: numbers that are no measurement (NaN, infinities, a
// stratum of 99, a negative count, a year 9999) are reported with their column and skipped.
func TestValuesOutOfRangeAreSkipped(t *testing.T) {
	line := func(date, st, freq, offset string) string {
		return date + " 127.0.0.1 " + st + " " + freq + " 511.036 " + offset + " N  1  1.038e-07 -0.000e+00  8.909e-06  2.036e-04  1.500e+00\n"
	}
	for _, tc := range []struct {
		line, want string
	}{
		{line("2026-11-26 06:13:11", "9", "5.841", "NaN"), `Offset "NaN" is not a finite number`},
		{line("2026-11-26 06:13:11", "9", "5.841", "+Inf"), `Offset "+Inf" is not a finite number`},
		{line("2026-11-26 06:13:11", "9", "-Inf", "3e-6"), `Freq ppm "-Inf" is not a finite number`},
		{line("2026-11-26 06:13:11", "9", "5.841", "1e300"), "Offset 1e300 is out of range"},
		{line("2026-11-26 06:13:11", "99", "5.841", "3e-6"), "St 99 is out of range"},
		{line("2026-11-26 06:13:11", "-1", "5.841", "3e-6"), "St -1 is out of range"},
		{line("9999-11-26 06:13:11", "9", "5.841", "3e-6"), "out of range (years 1990 to 2200)"},
		{line("2026-11-26 06:13:11", "9", "5.841", "3e-6"), ""},
	} {
		f, err := Parse(strings.NewReader(trackingHeader+tc.line), "tracking.log")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.want == "" && (len(f.Problems) != 0 || len(f.Tracking) != 1):
			t.Errorf("%q: %v", tc.line, f.Problems)
		case tc.want != "" && (len(f.Tracking) != 0 || len(f.Problems) != 1 || !strings.Contains(f.Problems[0].Err.Error(), tc.want)):
			t.Errorf("%q: %d records, problems %v; want it skipped saying %q", tc.line, len(f.Tracking), f.Problems, tc.want)
		}
	}
}

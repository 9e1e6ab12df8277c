package chrony

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony/chronytest"
	"github.com/second-hand/second-hand/pkg/chronylab"
)

// The replies in testdata/lab/ are the selection lab's (pkg/chronylab: a good upstream, an NTS
// one, a falseticker read with "offset 1.0", a noselect one, a server nobody answers and a
// reference clock with no device), captured from Debian bookworm's chronyd 4.3 on its socket
// once the lab had settled, with chronyc -c of the same reports beside them:
//
//	CHRONY_CAPTURE_LAB=1 go test -run TestCaptureLab ./pkg/chrony   (as root)
//
// The placeholder rules and the sign convention are tested against them.

const labDir = "testdata/lab"

func TestCaptureLab(t *testing.T) {
	if os.Getenv("CHRONY_CAPTURE_LAB") == "" {
		t.Skip("set CHRONY_CAPTURE_LAB=1 (as root) to capture the selection lab's replies")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	lab, err := chronylab.StartSelection(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	if err := lab.WaitSettled(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := ParseAddress(lab.Monitored.SocketAddress())
	c, err := New(a, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := os.MkdirAll(labDir, 0o755); err != nil {
		t.Fatal(err)
	}
	capture := func(name string, req request) {
		err := c.roundTrip(ctx, req, func(reply []byte) error {
			b := append([]byte(nil), reply...)
			copy(b[16:20], []byte{0, 0, 0, 0}) // the sequence number
			return os.WriteFile(filepath.Join(labDir, name+".bin"), b, 0o644)
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	n, err := c.NumSources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	capture("tracking", trackingRequest())
	for i := range n {
		capture(fmt.Sprintf("source_data_%d", i), sourceDataRequest(i))
		capture(fmt.Sprintf("sourcestats_%d", i), sourceStatsRequest(i))
		capture(fmt.Sprintf("selectdata_%d", i), selectDataRequest(i))
	}
	for _, addr := range []string{lab.GoodAddr, lab.NTSAddr, lab.FalseAddr, lab.NoSelectAddr, lab.DeadAddr} {
		capture("ntpdata_"+addr, ntpDataRequest(wireAddrFrom(mustAddr(addr))))
	}
	for _, r := range []string{"tracking", "sources", "sourcestats", "selectdata", "ntpdata"} {
		out, err := lab.Monitored.Chronyc(ctx, "-c", "-n", r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(labDir, "chronyc_"+r+".csv"), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func loadLab(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(labDir, name+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// labSources decodes the lab's sources, their statistics and selection rows, by key.
func labSources(t *testing.T) (map[string]Source, map[string]SourceStats, map[string]Selection) {
	t.Helper()
	src, stats, sel := map[string]Source{}, map[string]SourceStats{}, map[string]Selection{}
	for i := 0; ; i++ {
		name := fmt.Sprintf("source_data_%d", i)
		if _, err := os.Stat(filepath.Join(labDir, name+".bin")); err != nil {
			break
		}
		s, _, err := decodeSourceData(loadLab(t, name))
		if err != nil {
			t.Fatal(err)
		}
		key := s.Name
		if s.Address.IsValid() {
			key = s.Address.String()
		}
		src[key] = s
		st, _, err := decodeSourceStats(loadLab(t, fmt.Sprintf("sourcestats_%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		stats[key] = st
		se, _, err := decodeSelectData(loadLab(t, fmt.Sprintf("selectdata_%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		sel[key] = se
	}
	if len(src) != 6 {
		t.Fatalf("the lab's capture has %d sources, want 6", len(src))
	}
	return src, stats, sel
}

// TestPlaceholders: each rule that tells chronyd's placeholders from measurements, against
// replies captured from a real chronyd: an unsynchronised one (chronytest's capture), and the
// selection lab's sources, one of each kind.
func TestPlaceholders(t *testing.T) {
	unsync, err := decodeTracking(chronytest.Captured("tracking_unsync"))
	if err != nil {
		t.Fatal(err)
	}
	synced, err := decodeTracking(loadLab(t, "tracking"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := decodeTracking(chronytest.Captured("tracking_local"))
	if err != nil {
		t.Fatal(err)
	}
	// What chronyd reports unsynchronised, and why each value is no measurement.
	if unsync.Stratum != 0 || unsync.RootDelaySeconds != 1 || unsync.RootDispersionSeconds != 1 || !unsync.RefTime.IsZero() {
		t.Fatalf("the unsynchronised capture is not what the rules describe: %+v", unsync)
	}
	for _, tc := range []struct {
		name              string
		t                 Tracking
		measured, updated bool
	}{{"unsynchronised", unsync, false, false}, {"synchronised", synced, true, true}, {"local clock", local, true, true}} {
		if got := tc.t.Measured(); got != tc.measured {
			t.Errorf("%s: Measured() = %v, want %v", tc.name, got, tc.measured)
		}
		if got := tc.t.Updated(); got != tc.updated {
			t.Errorf("%s: Updated() = %v, want %v", tc.name, got, tc.updated)
		}
	}

	src, stats, sel := labSources(t)
	for _, tc := range []struct {
		key                                      string
		sampled, stratum, estimated, hasInterval bool
		received                                 bool // ntpdata; reference clocks have none
	}{
		{"127.0.0.1", true, true, true, true, true},      // the good upstream
		{"127.0.0.2", true, true, true, true, true},      // NTS
		{"127.0.0.4", true, true, true, true, true},      // the falseticker: measured, its interval far off
		{"127.0.0.6", true, true, true, false, true},     // noselect: measured, never in the selection
		{"127.0.0.3", false, false, false, false, false}, // nobody answers
		{"GPS", false, false, false, false, false},       // a reference clock with no device
	} {
		s, ok := src[tc.key]
		if !ok {
			t.Fatalf("no source %s in the capture", tc.key)
		}
		if got := s.Sampled(); got != tc.sampled {
			t.Errorf("%s: Sampled() = %v, want %v (%+v)", tc.key, got, tc.sampled, s)
		}
		if got := s.StratumKnown(); got != tc.stratum {
			t.Errorf("%s: StratumKnown() = %v (stratum %d), want %v", tc.key, got, s.Stratum, tc.stratum)
		}
		if !s.Sampled() && (s.AdjustedOffsetSeconds != 0 || s.MeasuredOffsetSeconds != 0 || s.ErrorSeconds != 0) {
			t.Errorf("%s: a source with no sample reports offsets %+v, not the placeholders", tc.key, s)
		}
		if got := stats[tc.key].Estimated(); got != tc.estimated {
			t.Errorf("%s: Estimated() = %v, want %v (%+v)", tc.key, got, tc.estimated, stats[tc.key])
		}
		if got := sel[tc.key].HasInterval(); got != tc.hasInterval {
			t.Errorf("%s: HasInterval() = %v, want %v (%+v)", tc.key, got, tc.hasInterval, sel[tc.key])
		}
		if !s.Address.IsValid() {
			continue
		}
		d, err := decodeNTPData(loadLab(t, "ntpdata_"+tc.key))
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Received(); got != tc.received {
			t.Errorf("%s: Received() = %v, want %v (%+v)", tc.key, got, tc.received, d)
		}
		if !d.Received() && (d.Version != 0 || d.Mode != 0 || d.Stratum != 0 || !d.RefTime.IsZero() || d.TotalTX == 0) {
			t.Errorf("%s: a source that never answered: %+v, want the placeholders and packets sent", tc.key, d)
		}
	}
	// The statistics' placeholders: a skew of 2000 ppm and a deviation of 4 s.
	if st := stats["127.0.0.3"]; st.FrequencySkewPPM != NoEstimateSkewPPM || st.StdDevSeconds != 4 {
		t.Errorf("127.0.0.3's statistics: %+v, want chronyd's placeholders", st)
	}
}

// TestSignConvention: every offset of the lab's falseticker (its time read 1 s ahead with
// "offset 1.0") says this clock is 1 s behind it, whichever report it comes from, once ntpdata's
// is turned round; and a healthy source's values agree in sign with its interval.
func TestSignConvention(t *testing.T) {
	src, stats, sel := labSources(t)
	d, err := decodeNTPData(loadLab(t, "ntpdata_127.0.0.4"))
	if err != nil {
		t.Fatal(err)
	}
	s, st, se := src["127.0.0.4"], stats["127.0.0.4"], sel["127.0.0.4"]
	for name, v := range map[string]float64{
		"sources: adjusted offset": s.AdjustedOffsetSeconds, "sources: measured offset": s.MeasuredOffsetSeconds,
		"sourcestats: offset": st.OffsetSeconds, "selectdata: interval's middle": (se.Lo + se.Hi) / 2,
		"ntpdata: LocalOffsetSeconds": d.LocalOffsetSeconds(),
	} {
		if math.Abs(v+1) > 0.01 {
			t.Errorf("%s = %.6f s, want about -1 s (this clock behind the source)", name, v)
		}
	}
	if d.OffsetSeconds < 0.99 {
		t.Errorf("ntpdata's own offset = %.6f s: NTP's sign, want about +1 s", d.OffsetSeconds)
	}
	// chronyc prints the same: the falseticker's row of sources, -1 s.
	rows, err := os.ReadFile(filepath.Join(labDir, "chronyc_sources.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range chronylab.ParseCSV(string(rows)) {
		if len(row) > 8 && row[2] == "127.0.0.4" && !strings.HasPrefix(row[7], "-0.99") && !strings.HasPrefix(row[7], "-1.00") {
			t.Errorf("chronyc's adjusted offset of the falseticker is %s, want about -1", row[7])
		}
	}
	// The system time offset is chronyc's "fast" when positive: the opposite of the correction
	// the tracking report carries.
	tr, err := decodeTracking(loadLab(t, "tracking"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.SystemTimeOffsetSeconds() != -tr.CorrectionSeconds {
		t.Errorf("system time offset %g, correction %g", tr.SystemTimeOffsetSeconds(), tr.CorrectionSeconds)
	}
}

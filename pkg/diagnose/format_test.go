package diagnose

import (
	"math"
	"testing"
	"time"
)

func TestSeconds(t *testing.T) {
	for _, tc := range []struct {
		v      float64
		signed bool
		want   string
	}{
		{0, true, "+0 ns"},
		{0, false, "0 ns"},
		{5.92e-7, true, "+592 ns"},
		{-7.61e-7, true, "-761 ns"},
		{4.705e-6, false, "4.71 µs"},
		{-2.196e-6, true, "-2.20 µs"},
		{9.995e-6, false, "10.0 µs"},
		{999.4e-9, false, "999 ns"},
		{999.6e-9, false, "1.00 µs"},
		{12.34e-3, true, "+12.3 ms"},
		{-0.1234, true, "-123 ms"},
		{0.9996, false, "1.00 s"},
		{4.0, false, "4.00 s"},
		{1234.5, true, "+1234 s"},
		{-1e-10, true, "+0 ns"}, // rounds to zero: no minus sign on zero
	} {
		if got := Seconds(tc.v, tc.signed); got != tc.want {
			t.Errorf("Seconds(%g, %v) = %q, want %q", tc.v, tc.signed, got, tc.want)
		}
	}
}

func TestPPM(t *testing.T) {
	for _, tc := range []struct {
		v      float64
		signed bool
		want   string
	}{
		{0.012, false, "0.012 ppm"},
		{-0.032, true, "-0.032 ppm"},
		{0.0001, true, "+0.000 ppm"},
		{-0.0001, true, "+0.000 ppm"},
		{2000, false, "2000.000 ppm"},
	} {
		if got := PPM(tc.v, tc.signed); got != tc.want {
			t.Errorf("PPM(%g, %v) = %q, want %q", tc.v, tc.signed, got, tc.want)
		}
	}
}

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "now", 900 * time.Millisecond: "now", 8 * time.Second: "8 s", 119 * time.Second: "119 s",
		5 * time.Minute: "5 min", 3 * time.Hour: "3 h", 50 * time.Hour: "2 d",
	} {
		if got := Ago(d); got != want {
			t.Errorf("Ago(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestInterval(t *testing.T) {
	for sec, want := range map[float64]string{
		0.25: "250 ms", 0.5: "500 ms", 1: "1 s", 2.0: "2 s", 16.3: "16 s", 0.3: "300 ms", 2.5: "2.5 s",
		64: "64 s", 1024: "1024 s", 65536: "65536 s", 131072: "36.4 h", 3600 * 24 * 7: "7.0 d",
	} {
		if got := Interval(sec); got != want {
			t.Errorf("Interval(%g) = %q, want %q", sec, got, want)
		}
	}
}

func TestAgoPhrase(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "just now", 999 * time.Millisecond: "just now", 8 * time.Second: "8 s ago", 5 * time.Minute: "5 min ago"} {
		if got := AgoPhrase(d); got != want {
			t.Errorf("AgoPhrase(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestColumnUnit: a column of values prints in one unit, the one of its median magnitude, so
// that one far-off value does not flatten the others; decimals give the smallest three figures.
func TestColumnUnit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []float64
		unit   string
		shown  []string // Number of each value, signed
	}{
		{"healthy sources and a falseticker", []float64{2.64e-7, -1.5e-6, 4.7e-6, -0.15}, "µs", []string{"+0.26", "-1.50", "+4.70", "-150000.00"}},
		{"nanoseconds", []float64{5.92e-7, -7.61e-7, 1e-8}, "ns", []string{"+592", "-761", "+10"}},
		{"milliseconds", []float64{0.0123, 0.0456, -0.5}, "ms", []string{"+12.3", "+45.6", "-500.0"}},
		{"zeros and NaN left out", []float64{0, math.NaN(), 2e-3, 3e-3}, "ms", []string{"+0.00", "NaN", "+2.00", "+3.00"}},
		{"nothing to go by", []float64{0}, "µs", []string{"+0"}},
		{"rounds to zero: no minus sign", []float64{-1e-9, 5e-6}, "µs", []string{"+0.00", "+5.00"}},
	} {
		u := ColumnUnit(tc.values...)
		if u.Name != tc.unit {
			t.Errorf("%s: unit %s, want %s", tc.name, u.Name, tc.unit)
			continue
		}
		for i, v := range tc.values {
			if got := u.Number(v, true); got != tc.shown[i] {
				t.Errorf("%s: %g shown %q, want %q", tc.name, v, got, tc.shown[i])
			}
		}
	}
	if got := ColumnUnit(4.705e-6).Format(4.705e-6, false); got != "4.71 µs" {
		t.Errorf("Format = %q", got)
	}
}

func TestFastSlow(t *testing.T) {
	if FastSlow(1e-6) != "fast" || FastSlow(-1e-6) != "slow" || FastSlow(0) != "fast" {
		t.Error("FastSlow does not follow the sign convention: positive is this clock ahead (fast)")
	}
	if got := FastSlowPhrase(-1.5); got != "1.50 s slow" {
		t.Errorf("FastSlowPhrase(-1.5) = %q, want 1.50 s slow", got)
	}
	if got := FastSlowPhrase(12e-6); got != "12.0 µs fast" {
		t.Errorf("FastSlowPhrase(12e-6) = %q, want 12.0 µs fast", got)
	}
}

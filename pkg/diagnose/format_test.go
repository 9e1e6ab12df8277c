package diagnose

import (
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
		{4.705e-6, false, "4.71 us"},
		{-2.196e-6, true, "-2.20 us"},
		{9.995e-6, false, "10.0 us"},
		{999.4e-9, false, "999 ns"},
		{999.6e-9, false, "1.00 us"},
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

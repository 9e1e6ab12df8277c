package diagnose

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Seconds prints a time offset or interval in the unit that suits its size, as chronyc does
// (ns, us, ms, s), with three significant figures: "592 ns", "4.71 us", "12.3 ms". signed
// adds "+" to positive values, for offsets. The panels print chronyc's units, so that their
// values read as chronyc's.
func Seconds(v float64, signed bool) string { return seconds(v, signed, "us") }

// Micro is Seconds with microseconds written µs, as the diagnosis' sentences write them.
func Micro(v float64, signed bool) string { return seconds(v, signed, "µs") }

func seconds(v float64, signed bool, micro string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	a := math.Abs(v)
	unit, scale := "s", 1.0
	switch {
	case a < 999.5e-9:
		unit, scale = "ns", 1e9
	case a < 999.5e-6:
		unit, scale = micro, 1e6
	case a < 999.5e-3:
		unit, scale = "ms", 1e3
	}
	x := a * scale
	decimals := 0
	switch {
	case unit == "ns":
		// chronyd's resolution ends at nanoseconds.
	case x < 9.995:
		decimals = 2
	case x < 99.95:
		decimals = 1
	}
	s := strconv.FormatFloat(x, 'f', decimals, 64)
	switch {
	case v < 0 && s != "0" && s != "0.00" && s != "0.0":
		s = "-" + s
	case signed:
		s = "+" + s
	}
	return s + " " + unit
}

// PPM prints a frequency in parts per million with chronyc's three decimals.
func PPM(v float64, signed bool) string {
	f := "%.3f ppm"
	if signed {
		f = "%+.3f ppm"
	}
	s := fmt.Sprintf(f, v)
	if s == "-0.000 ppm" {
		s = "0.000 ppm"
		if signed {
			s = "+0.000 ppm"
		}
	}
	return s
}

// Ago prints how long ago something happened, coarsely: "now", "8 s", "5 min", "3 h", "2 d".
func Ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "now"
	case d < 120*time.Second:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < 120*time.Minute:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
}

// Interval prints a duration given in seconds: milliseconds below a second, then seconds up
// to 100000 (so that polling intervals read as chrony users know them: 64 s, 1024 s), then
// hours and days.
func Interval(sec float64) string {
	a := math.Abs(sec)
	switch {
	case a == 0:
		return "0 s"
	case a < 0.9995:
		return strconv.FormatFloat(sec*1e3, 'f', 0, 64) + " ms"
	case a < 9.95 && a != math.Trunc(a):
		return strconv.FormatFloat(sec, 'f', 1, 64) + " s"
	case a < 100000:
		return strconv.FormatFloat(sec, 'f', 0, 64) + " s"
	case a < 48*3600:
		return strconv.FormatFloat(sec/3600, 'f', 1, 64) + " h"
	}
	return strconv.FormatFloat(sec/86400, 'f', 1, 64) + " d"
}

// Raw is a value as a machine reads it, for the value attribute of <data>: full precision.
func Raw(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

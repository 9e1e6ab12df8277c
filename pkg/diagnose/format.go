package diagnose

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Seconds prints a time offset or interval in the unit that suits its size (ns, µs, ms, s),
// with three significant figures: "592 ns", "4.71 µs", "12.3 ms". signed adds "+" to positive
// values, for offsets (see SignConvention). Microseconds are written µs, never "us".
func Seconds(v float64, signed bool) string { return seconds(v, signed, "µs") }

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
// For a sentence, AgoPhrase says it whole.
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

// AgoPhrase is how long ago something happened, as a sentence says it: "just now" under a
// second (never "now ago"), else "8 s ago", "5 min ago".
func AgoPhrase(d time.Duration) string {
	if d < time.Second {
		return "just now"
	}
	return Ago(d) + " ago"
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

// SignConvention is the one sign convention of offsets on every page, said once in words:
// positive means this clock is ahead of (fast compared with) the reference or the source. It is
// chronyc's for tracking, sources, source statistics and selection; chronyd's ntpdata counts the
// other way and is turned round (chrony.NTPData.LocalOffsetSeconds).
const SignConvention = "+ means this clock is ahead of (fast compared with) its reference or the source, − behind (slow)"

// FastSlow is the word for the direction of an offset in the sign convention: "fast" when this
// clock is ahead, "slow" when it is behind.
func FastSlow(v float64) string {
	if v < 0 {
		return "slow"
	}
	return "fast"
}

// FastSlowPhrase is an offset said in words, its size then its direction, with no sign to read
// twice: "12.0 µs fast", "1.50 s slow".
func FastSlowPhrase(v float64) string { return Seconds(math.Abs(v), false) + " " + FastSlow(v) }

// Unit is the one unit of time a table column prints its values in (UI.md: one unit per
// column), so that the column's values compare at a glance.
type Unit struct {
	Name     string  // "ns", "µs", "ms" or "s"
	Scale    float64 // values are multiplied by it
	Decimals int
}

// ColumnUnit is the unit a column of values in seconds prints in: the one that suits the median
// of its magnitudes (zeros and values not known, NaN, left out), so that one far-off value (a
// falseticker a second away) does not turn every healthy microsecond into 0.000 ms; with enough
// decimals for three figures of the smallest magnitude, at most two (none for ns).
func ColumnUnit(values ...float64) Unit {
	var mags []float64
	for _, v := range values {
		if a := math.Abs(v); a > 0 && !math.IsNaN(a) && !math.IsInf(a, 0) {
			mags = append(mags, a)
		}
	}
	if len(mags) == 0 {
		return Unit{Name: "µs", Scale: 1e6}
	}
	slices.Sort(mags)
	u := unitOf(mags[len(mags)/2])
	if u.Name == "ns" {
		return u
	}
	switch x := mags[0] * u.Scale; {
	case x < 9.995:
		u.Decimals = 2
	case x < 99.95:
		u.Decimals = 1
	}
	return u
}

func unitOf(a float64) Unit {
	switch {
	case a < 999.5e-9:
		return Unit{Name: "ns", Scale: 1e9}
	case a < 999.5e-6:
		return Unit{Name: "µs", Scale: 1e6}
	case a < 999.5e-3:
		return Unit{Name: "ms", Scale: 1e3}
	}
	return Unit{Name: "s", Scale: 1}
}

// Number prints v in the unit, without the unit's name (the column's head says it); signed adds
// "+" to positive values.
func (u Unit) Number(v float64, signed bool) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprint(v)
	}
	s := strconv.FormatFloat(math.Abs(v)*u.Scale, 'f', u.Decimals, 64)
	zero := strings.Trim(s, "0.") == ""
	switch {
	case v < 0 && !zero:
		s = "-" + s
	case signed:
		s = "+" + s
	}
	return s
}

// Format prints v in the unit, with its name: "+12.30 µs".
func (u Unit) Format(v float64, signed bool) string { return u.Number(v, signed) + " " + u.Name }

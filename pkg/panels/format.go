package panels

import (
	"time"

	"github.com/second-hand/second-hand/pkg/diagnose"
)

// The panels print numbers as the diagnosis' sentences do: one set of formatters, in package
// diagnose. These are their short names here.

// Seconds prints an offset or interval in chronyc's units (ns, us, ms, s).
func Seconds(v float64, signed bool) string { return diagnose.Seconds(v, signed) }

// PPM prints a frequency in parts per million.
func PPM(v float64, signed bool) string { return diagnose.PPM(v, signed) }

// Ago prints how long ago something happened, coarsely.
func Ago(d time.Duration) string { return diagnose.Ago(d) }

// Interval prints a duration given in seconds.
func Interval(sec float64) string { return diagnose.Interval(sec) }

// Raw is a value as a machine reads it.
func Raw(v float64) string { return diagnose.Raw(v) }

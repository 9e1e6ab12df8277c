package history

import (
	"math"
	"slices"
)

// Stats describe a series over a range, as ntpviz does: the extremes, percentiles, mean and
// standard deviation of every value in it (not of the columns drawn).
type Stats struct {
	N                          int
	Min, P1, P5, P50, P95, P99 float64
	Max, Mean, StdDev          float64
	// Approx is set when the range reaches beyond the raw records into the rollups: the
	// percentiles come from the summaries' histograms, each within store.HistError of the
	// value; N, the extremes, the mean and the deviation are exact.
	Approx bool
}

// statsOf describes vals, which it reorders. The values are kept as float32 while a view is
// made (a month of a host is a million of them: half the memory), which keeps 7 significant
// digits, more than the page shows; sums are made in float64.
func statsOf(vals []float32) Stats {
	if len(vals) == 0 {
		return Stats{}
	}
	var sum float64
	for _, v := range vals {
		sum += float64(v)
	}
	mean := sum / float64(len(vals))
	var sq float64
	for _, v := range vals {
		d := float64(v) - mean
		sq += d * d
	}
	s := Stats{N: len(vals), Mean: mean, StdDev: math.Sqrt(sq / float64(len(vals)))}
	// Percentiles by selection, not by sorting: a month of samples is a few hundred thousand
	// values, and each selection is one pass over them.
	// Each selection looks only where the next percentile can be: below the median for p5,
	// below p5 for p1, above the median for p95, above p95 for p99.
	n := len(vals)
	k50, k5, k1, k95, k99 := rank(n, 0.50), rank(n, 0.05), rank(n, 0.01), rank(n, 0.95), rank(n, 0.99)
	s.P50 = float64(selectAt(vals, k50))
	s.P5 = float64(selectAt(vals[:k50+1], k5))
	s.P1 = float64(selectAt(vals[:k5+1], k1))
	upper := vals[k50:]
	s.P95 = float64(selectAt(upper, k95-k50))
	s.P99 = float64(selectAt(upper[k95-k50:], k99-k95))
	s.Min, s.Max = float64(slices.Min(vals)), float64(slices.Max(vals))
	return s
}

// rank is the index of the q-quantile in n sorted values (nearest rank).
func rank(n int, q float64) int {
	return min(max(int(math.Ceil(q*float64(n)))-1, 0), n-1)
}

// quantile is the q-quantile of vals, which it reorders.
func quantile(vals []float64, q float64) float64 {
	if len(vals) == 0 {
		return 0
	}
	return selectAt(vals, rank(len(vals), q))
}

// selectAt puts the k-th smallest of vals at index k, the smaller before it and the larger
// after it, and returns it (Hoare's selection, with the median of three as pivot).
func selectAt[T float32 | float64](vals []T, k int) T {
	lo, hi := 0, len(vals)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if vals[mid] < vals[lo] {
			vals[mid], vals[lo] = vals[lo], vals[mid]
		}
		if vals[hi] < vals[lo] {
			vals[hi], vals[lo] = vals[lo], vals[hi]
		}
		if vals[hi] < vals[mid] {
			vals[hi], vals[mid] = vals[mid], vals[hi]
		}
		pivot := vals[mid]
		i, j := lo, hi
		for i <= j {
			for vals[i] < pivot {
				i++
			}
			for vals[j] > pivot {
				j--
			}
			if i <= j {
				vals[i], vals[j] = vals[j], vals[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return vals[k]
		}
	}
	return vals[k]
}

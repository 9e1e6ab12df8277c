package store

import (
	"encoding/binary"
	"math"
	"slices"
)

// The rollups keep, for each interval, a histogram of its values on a fixed log scale: eight
// bins per power of two for either sign, from 2^-40 (about 1e-12) to 2^40, and one bin for the
// values nearer zero than that. Histograms of intervals merge by adding their counts, in any
// order, so that a day's, a year's or a column's percentiles come from its intervals'. A
// percentile read back is the middle of its bin (on the log scale), within HistError of the
// value it stands for (or 1e-12 of it, near zero).
//
// Written here rather than taken from a library: the bins are part of the store's format, so
// they must never change under it; a t-digest (github.com/caio/go-tdigest) merges in an order
// that changes its result and keeps rank accuracy, where the page wants values within a stated
// relative error; a DDSketch library (DataDog's sketches-go) is this same idea with its own
// serialisation. This is a hundred lines.
const (
	histPerOctave = 8
	histMinExp    = -40
	histMaxExp    = 40
	histBins      = (histMaxExp - histMinExp) * histPerOctave // on each side of zero
)

// HistError is the largest relative error of a percentile read from a histogram: half a bin,
// 2^(1/16) - 1, on a log scale.
var HistError = math.Exp2(1.0/(2*histPerOctave)) - 1

// binOf is the bin of v: 0 near zero, 1 to histBins above it, their negatives below.
func binOf(v float64) int {
	a := math.Abs(v)
	var i int
	switch {
	case !(a >= 0x1p-40): // NaN too
		return 0
	case a >= 0x1p40: // infinities too
		i = histBins
	default:
		i = min(1+int((math.Log2(a)-histMinExp)*histPerOctave), histBins)
	}
	if v < 0 {
		return -i
	}
	return i
}

// binValue is the value a bin stands for: the middle of its range on the log scale.
func binValue(i int) float64 {
	if i == 0 {
		return 0
	}
	a := math.Exp2(histMinExp + (float64(abs(i))-0.5)/histPerOctave)
	if i < 0 {
		return -a
	}
	return a
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// appendHist encodes the bins of values (which it sorts by bin) as pairs of the bin's
// distance from the previous one (zigzag varint) and its count (varint).
func appendHist(b []byte, bins []int) []byte {
	slices.Sort(bins)
	prev := 0
	for i := 0; i < len(bins); {
		j := i
		for j < len(bins) && bins[j] == bins[i] {
			j++
		}
		b = binary.AppendVarint(b, int64(bins[i]-prev))
		b = binary.AppendUvarint(b, uint64(j-i))
		prev = bins[i]
		i = j
	}
	return b
}

// Hist adds up encoded histograms; its percentiles are the merged histograms'.
type Hist struct {
	counts [2*histBins + 1]uint64
	n      uint64
}

// AddEncoded adds an encoded histogram's counts.
func (h *Hist) AddEncoded(b []byte) {
	prev := int64(0)
	for len(b) > 0 {
		d, k := binary.Varint(b)
		if k <= 0 {
			return
		}
		c, k2 := binary.Uvarint(b[k:])
		if k2 <= 0 {
			return
		}
		b = b[k+k2:]
		prev += d
		if prev >= -histBins && prev <= histBins {
			h.counts[prev+histBins] += c
			h.n += c
		}
	}
}

// Add counts one value.
func (h *Hist) Add(v float64) {
	h.counts[binOf(v)+histBins]++
	h.n++
}

// N is how many values were counted.
func (h *Hist) N() uint64 { return h.n }

// Rank is the value of the k-th smallest (from 0) of the values counted, as its bin's middle.
func (h *Hist) Rank(k uint64) float64 {
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > k {
			return binValue(i - histBins)
		}
	}
	return math.NaN()
}

// Encode is the histogram's encoding.
func (h *Hist) Encode(b []byte) []byte {
	prev := 0
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		bin := i - histBins
		b = binary.AppendVarint(b, int64(bin-prev))
		b = binary.AppendUvarint(b, c)
		prev = bin
	}
	return b
}

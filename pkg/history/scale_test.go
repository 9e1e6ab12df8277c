package history

import (
	"testing"
	"time"
)

// TestRangeFor: the history opens on the smallest range that holds the record, so that a fresh
// install does not show its few minutes as a sliver at the right of 24 hours; up to 30 days
// (the summaries' longer ranges are a click away).
func TestRangeFor(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		recorded time.Duration
		want     string
	}{
		{14 * time.Minute, "1h"}, {time.Hour, "1h"}, {61 * time.Minute, "6h"}, {7 * time.Hour, "24h"},
		{3 * 24 * time.Hour, "7d"}, {20 * 24 * time.Hour, "30d"}, {90 * 24 * time.Hour, "30d"}, {800 * 24 * time.Hour, "30d"},
	} {
		if got := RangeFor(now.Add(-tc.recorded), now); got.Name != tc.want {
			t.Errorf("%v recorded: %s, want %s", tc.recorded, got.Name, tc.want)
		}
	}
	if got := RangeFor(time.Time{}, now); got.Name != DefaultRange.Name {
		t.Errorf("nothing known of the record: %s, want %s", got.Name, DefaultRange.Name)
	}
}

// TestUsualScale: the usual scale spans the 1st to the 99th percentile of the series shown, so a
// falseticker 150 ms away (hidden) does not flatten three sources a few µs apart; a quantity
// that cannot be negative does not go below zero.
func TestUsualScale(t *testing.T) {
	healthy := func(name string, p1, p99 float64) Series {
		return Series{Name: name, Stats: Stats{N: 100, Min: p1 - 1e-6, P1: p1, P99: p99, Max: p99 + 1e-6}}
	}
	c := Chart{ID: "sources", Series: []Series{
		healthy("a", -3e-6, 4e-6), healthy("b", -2e-6, 5e-6), healthy("c", -1e-6, 2e-6),
		{Name: "liar", Hidden: true, Stats: Stats{N: 100, Min: -0.151, P1: -0.150, P99: -0.149, Max: -0.148}},
	}}
	lo, hi, ok := c.UsualScale(func(s Series) bool { return !s.Hidden })
	if !ok || lo > -3e-6 || hi < 5e-6 || hi-lo > 20e-6 {
		t.Errorf("usual scale with the falseticker hidden: %g to %g (ok %v), want about -3 µs to +5 µs", lo, hi, ok)
	}
	lo, _, _ = c.UsualScale(func(Series) bool { return true })
	if lo > -0.150 {
		t.Errorf("with the falseticker shown the scale must hold it: lo %g", lo)
	}
	if _, _, ok := (Chart{Series: []Series{{Stats: Stats{}}}}).UsualScale(func(Series) bool { return true }); ok {
		t.Error("a chart with no values has a usual scale")
	}
	skew := Chart{NonNegative: true, Series: []Series{healthy("a", 0, 3e-6)}}
	if lo, _, _ := skew.UsualScale(func(Series) bool { return true }); lo < 0 {
		t.Errorf("a non-negative quantity's scale goes below zero: %g", lo)
	}
}

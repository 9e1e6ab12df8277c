// Package storetest makes history for the store's benchmarks and tests.
package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

// FillHistory writes days of made-up but plausible history for host into st, ending at end, as
// a recorder sampling every 16 s would have written it for a chronyd with sources NTP sources
// polled every 64 s: a sample every 16 s, a clock update and a point per source every 64 s.
// The offsets wander; one day in ten has a spike. For benchmarks of the store and the charts.
func FillHistory(ctx context.Context, st *store.Store, host string, end time.Time, days, sources int) error {
	rng := rand.New(rand.NewPCG(uint64(days), uint64(sources)))
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	var b store.Batch
	off, freq := 0.0, 12.0
	for t := start; t.Before(end); t = t.Add(16 * time.Second) {
		off += rng.NormFloat64() * 2e-7
		off *= 0.99
		v := off
		if rng.IntN(5400) == 0 {
			v += 5e-3 * rng.NormFloat64()
		}
		b.Samples = append(b.Samples, store.Sample{T: t, OffsetSeconds: v, RootDelaySeconds: 2e-3 + 1e-4*rng.Float64(),
			RootDispersionSeconds: 5e-4 + 1e-4*rng.Float64(), State: store.Synchronised})
		if t.Unix()%64 < 16 {
			freq += rng.NormFloat64() * 1e-3
			b.Updates = append(b.Updates, store.Update{T: t.Add(-time.Second), OffsetSeconds: v, FrequencyPPM: freq, ResidualFrequencyPPM: 1e-3 * rng.NormFloat64(),
				SkewPPM: 0.02 + 0.01*rng.Float64(), RMSOffsetSeconds: math.Abs(off) + 1e-6, RootDelaySeconds: 2e-3, RootDispersionSeconds: 5e-4,
				UpdateIntervalSeconds: 64, Stratum: 2, Leap: 0, RefID: 0xC0A80001, Reference: "ntp1.lan"})
			for i := range sources {
				src := store.Source{Name: fmt.Sprintf("ntp%d.lan", i+1), Address: fmt.Sprintf("192.168.1.%d", i+1)}
				so := v + 1e-5*rng.NormFloat64() + float64(i)*1e-6
				b.Sources = append(b.Sources, store.SourceRecord{Source: src, Point: store.SourcePoint{T: t.Add(-time.Duration(i) * time.Second),
					NewSample: true, HasStats: true, OffsetSeconds: so, ErrorSeconds: 1e-4 + 1e-5*rng.Float64(), State: 4, Reach: 0o377,
					Stratum: 1, PollLog2: 6, Samples: 8 + rng.IntN(20), Runs: 5, SpanSeconds: 1000, FrequencyPPM: 1e-3 * rng.NormFloat64(),
					SkewPPM: 0.05, EstOffsetSeconds: so, StdDevSeconds: 1e-5}})
			}
		}
		if len(b.Samples) >= 5400 { // a day at a time
			if err := st.Append(ctx, host, b); err != nil {
				return err
			}
			b = store.Batch{}
		}
	}
	if err := st.Append(ctx, host, b); err != nil {
		return err
	}
	return st.Compact(ctx, end.Add(time.Hour))
}

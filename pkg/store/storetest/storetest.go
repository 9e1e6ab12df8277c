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

// Options shape Generate's history.
type Options struct {
	Sources int  // NTP sources, polled every 64 s
	Serving bool // chronyd serves time: its server statistics at every sample
	// Restarts is how often chronyd restarts (its counters start over); 0 for never.
	Restarts time.Duration
}

// Generate makes the history a recorder sampling every 16 s would have written from from to
// to, a day per call of write, as FillHistory does, with opts.Sources sources and, with
// opts.Serving, chronyd's server statistics (about 50 NTP requests a second, rising and
// falling over the day, a few dropped, a fifth authenticated, a tenth interleaved, three
// quarters of the timestamps the kernel's, a hundred clients).
func Generate(from, to time.Time, opts Options, write func(store.Batch) error) error {
	rng := rand.New(rand.NewPCG(uint64(from.Unix()), uint64(opts.Sources)))
	var b store.Batch
	off, freq := 0.0, 12.0
	var srv store.ServerSample
	lastRestart := from
	for t := from; t.Before(to); t = t.Add(16 * time.Second) {
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
			for i := range opts.Sources {
				src := store.Source{Name: fmt.Sprintf("ntp%d.lan", i+1), Address: fmt.Sprintf("192.168.1.%d", i+1)}
				so := v + 1e-5*rng.NormFloat64() + float64(i)*1e-6
				reach := uint8(0o377)
				if rng.IntN(2000) == 0 {
					reach = 0o376
				}
				b.Sources = append(b.Sources, store.SourceRecord{Source: src, Point: store.SourcePoint{T: t.Add(-time.Duration(i) * time.Second),
					NewSample: true, HasStats: true, OffsetSeconds: so, ErrorSeconds: 1e-4 + 1e-5*rng.Float64(), State: 4, Reach: reach,
					Stratum: 1, PollLog2: 6, Samples: 8 + rng.IntN(20), Runs: 5, SpanSeconds: 1000, FrequencyPPM: 1e-3 * rng.NormFloat64(),
					SkewPPM: 0.05, EstOffsetSeconds: so, StdDevSeconds: 1e-5}})
			}
		}
		if opts.Serving {
			if opts.Restarts > 0 && t.Sub(lastRestart) >= opts.Restarts {
				srv, lastRestart = store.ServerSample{}, t
			}
			hour := float64(t.Hour()) + float64(t.Minute())/60
			reqs := uint64(16 * 50 * (1 + 0.5*math.Sin(hour/24*2*math.Pi)) * (0.9 + 0.2*rng.Float64()))
			srv.T, srv.Version = t, 4
			srv.NTP += reqs
			srv.NTPDropped += uint64(rng.IntN(3))
			srv.Authenticated += reqs / 5
			srv.Interleaved += reqs / 10
			srv.NTSKE += uint64(rng.IntN(2))
			srv.KernelRX += reqs * 3 / 4
			srv.DaemonRX += reqs - reqs*3/4
			srv.Clients, srv.Active = int32(100+rng.IntN(10)), int32(40+rng.IntN(20))
			b.Servers = append(b.Servers, srv)
		}
		if len(b.Samples) >= 5400 { // a day at a time
			if err := write(b); err != nil {
				return err
			}
			b = store.Batch{}
		}
	}
	if b.Empty() {
		return nil
	}
	return write(b)
}

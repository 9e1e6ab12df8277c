// Command makev1 wrote v1/history.db and v1/history.json: a small store in the format of the
// release before store versions (main at 91b94ad, "format 1"), and what that release's Range
// read from it, for the migration tests. It was run once, at that commit:
//
//	go run ./pkg/store/testdata/makev1 pkg/store/testdata/v1
//
// It is kept for the record; run today it would write today's format.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var start = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func batch(host string, i int) store.Batch {
	t := start.Add(time.Duration(i) * 16 * time.Second)
	f := float64(i%97) - 48
	b := store.Batch{Samples: []store.Sample{{T: t, OffsetSeconds: 1e-7 * f, RootDelaySeconds: 2e-3 + 1e-6*f, RootDispersionSeconds: 5e-4, State: store.Synchronised}}}
	if i%4 == 0 {
		b.Updates = append(b.Updates, store.Update{T: t.Add(-time.Second), OffsetSeconds: -1e-7 * f, FrequencyPPM: 12.5 + 1e-3*f, ResidualFrequencyPPM: 0.01,
			SkewPPM: 0.02, RMSOffsetSeconds: 3e-6, RootDelaySeconds: 2e-3, RootDispersionSeconds: 5e-4, UpdateIntervalSeconds: 64, Stratum: 2,
			RefID: 0xC0A80101, Reference: "ntp1.lan"})
		for k, src := range []store.Source{{Name: "ntp1.lan", Address: "192.168.1.1"}, {Name: "ntp2.lan", Address: "192.168.1.2"}} {
			b.Sources = append(b.Sources, store.SourceRecord{Source: src, Point: store.SourcePoint{T: t.Add(-time.Duration(k+2) * time.Second), NewSample: true,
				HasStats: true, OffsetSeconds: 1e-6*f + float64(k)*1e-5, ErrorSeconds: 1e-4, State: uint8(4 * k), Reach: 0o377, Stratum: 1, PollLog2: 6,
				Samples: 8 + i%5, Runs: 4, SpanSeconds: 512, FrequencyPPM: 1e-3 * f, SkewPPM: 0.05, EstOffsetSeconds: 1e-6 * f, StdDevSeconds: 1e-5}})
		}
	}
	if i%50 == 0 {
		b.Sources = append(b.Sources, store.SourceRecord{Source: store.Source{Name: "GPS"}, Point: store.SourcePoint{T: t, State: 1, Reach: uint8(i), PollLog2: 4}})
	}
	return b
}

func run(dir string) error {
	ctx := context.Background()
	st, err := store.Open(dir, nil)
	if err != nil {
		return err
	}
	// nas: three hours; the first two written a quarter of an hour at a time and compacted,
	// the last one a sample at a time, as the recorder writes.
	for q := range 8 {
		var all store.Batch
		for i := q * 56; i < (q+1)*56; i++ {
			b := batch("nas", i)
			all.Samples, all.Updates, all.Sources = append(all.Samples, b.Samples...), append(all.Updates, b.Updates...), append(all.Sources, b.Sources...)
		}
		if err := st.Append(ctx, "nas", all); err != nil {
			return err
		}
	}
	if err := st.Compact(ctx, start.Add(2*time.Hour)); err != nil {
		return err
	}
	for i := 448; i < 675; i++ {
		if err := st.Append(ctx, "nas", batch("nas", i)); err != nil {
			return err
		}
	}
	gap := store.Gap{Start: start.Add(150 * time.Minute), End: start.Add(152 * time.Minute), Error: "chronyd at udp://192.168.1.10:323 did not answer in 7 s"}
	if err := st.Append(ctx, "nas", store.Batch{Gaps: []store.Gap{gap}}); err != nil {
		return err
	}
	// pi: a few minutes, unsynchronised.
	for i := range 20 {
		b := batch("pi", i)
		b.Samples[0].State = store.Unsynchronised
		if err := st.Append(ctx, "pi", b); err != nil {
			return err
		}
	}
	out := map[string]store.History{}
	for _, host := range []string{"nas", "pi"} {
		h, err := st.Range(ctx, host, start.Add(-time.Hour), start.Add(4*time.Hour))
		if err != nil {
			return err
		}
		out[host] = h
	}
	if err := st.Close(); err != nil {
		return err
	}
	os.Remove(filepath.Join(dir, store.LockName))
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "history.json"), b, 0o644)
}

// Command makev2 wrote v2/history.db and v2/history.json: a small store in format 2 (records,
// server statistics and rollups), and what that release read from it (each host's records and
// every rollup interval), for the tests of the migration that comes next. It was run once, at
// the commit that added it:
//
//	go run ./pkg/store/testdata/makev2 pkg/store/testdata/v2
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

var start = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// Dump is what the release read: each host's records, and the rollup intervals (the hourly
// ones of every metric, the 5-minute ones of the offset) by metric, level and start.
type Dump struct {
	Records map[string]store.History
	Rollups map[string]store.Summary
}

func run(dir string) error {
	ctx := context.Background()
	st, err := store.Open(dir, nil)
	if err != nil {
		return err
	}
	// nas: 26 hours, a sample and the server statistics every 128 s, a clock update and two
	// sources' points every 512 s.
	var b store.Batch
	for i := range 26 * 3600 / 128 {
		t := start.Add(time.Duration(i) * 128 * time.Second)
		f := float64(i%97) - 48
		b.Samples = append(b.Samples, store.Sample{T: t, OffsetSeconds: 1e-7 * f, RootDelaySeconds: 2e-3, RootDispersionSeconds: 5e-4, State: store.Synchronised})
		b.Servers = append(b.Servers, store.ServerSample{T: t, Version: 4, NTP: uint64(100 * i), NTPDropped: uint64(i / 10), Authenticated: uint64(20 * i),
			DaemonRX: uint64(25 * i), KernelRX: uint64(75 * i), Clients: 12, Active: int32(i % 9)})
		if i%4 == 0 {
			b.Updates = append(b.Updates, store.Update{T: t.Add(-time.Second), OffsetSeconds: -1e-7 * f, FrequencyPPM: 12.5 + 1e-3*f, SkewPPM: 0.02,
				RMSOffsetSeconds: 3e-6, RootDelaySeconds: 2e-3, RootDispersionSeconds: 5e-4, UpdateIntervalSeconds: 256, Stratum: 2, RefID: 0xC0A80101, Reference: "ntp1.lan"})
			for k, src := range []store.Source{{Name: "ntp1.lan", Address: "192.168.1.1"}, {Name: "GPS"}} {
				b.Sources = append(b.Sources, store.SourceRecord{Source: src, Point: store.SourcePoint{T: t.Add(-time.Duration(k+2) * time.Second), NewSample: k == 0,
					HasStats: k == 0, OffsetSeconds: 1e-6 * f, ErrorSeconds: 1e-4, State: uint8(k), Reach: uint8(0o377 >> uint(k*(i%3))), Stratum: 1, PollLog2: 8,
					Samples: 8, Runs: 4, SpanSeconds: 2048, FrequencyPPM: 1e-3 * f, SkewPPM: 0.05, EstOffsetSeconds: 1e-6 * f, StdDevSeconds: 1e-5}})
			}
		}
	}
	if err := st.Append(ctx, "nas", b); err != nil {
		return err
	}
	if err := st.Append(ctx, "nas", store.Batch{Gaps: []store.Gap{{Start: start.Add(20 * time.Hour), End: start.Add(20*time.Hour + 3*time.Minute), Error: "chronyd did not answer"}}}); err != nil {
		return err
	}
	now := start.Add(50 * time.Hour)
	st.MaintainOnce(ctx, now, store.Retention{Raw: 400 * 24 * time.Hour, FiveMin: 400 * 24 * time.Hour, Hour: 730 * 24 * time.Hour})
	d := Dump{Records: map[string]store.History{}, Rollups: map[string]store.Summary{}}
	h, err := st.Range(ctx, "nas", start.Add(-time.Hour), now)
	if err != nil {
		return err
	}
	d.Records["nas"] = h
	for _, level := range []int{store.Level5m, store.Level1h} {
		err := st.WalkRollups(ctx, "nas", level, start, now, false, func(k store.MetricKey, r store.RollupDay) {
			if level == store.Level5m && k.Name != store.MetricOffset {
				return // the hourly summaries of every metric, the 5-minute ones of the offset
			}
			for i := range r.Len() {
				t, s := r.Bucket(i)
				d.Rollups[fmt.Sprintf("%s %s %d %s", k.Name, k.Source.Name, level, t.Format(time.RFC3339))] = s
			}
		})
		if err != nil {
			return err
		}
	}
	if err := st.Close(); err != nil {
		return err
	}
	os.Remove(filepath.Join(dir, store.LockName))
	out, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "history.json"), out, 0o644)
}

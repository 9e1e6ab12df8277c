package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// BenchmarkRollupDay summarises one day of a host with 8 sources sampled every 16 s (their
// points every 64 s) and serving statistics, at both levels: each round writes a record into
// the day (with the timer stopped), so that the pass summarises it again.
//
//	go test -run '^$' -bench RollupDay ./pkg/store
func BenchmarkRollupDay(b *testing.B) {
	ctx := context.Background()
	s, err := store.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := day.Add(26 * time.Hour)
	if err := storetest.Generate(day, day.Add(24*time.Hour), storetest.Options{Sources: 8, Serving: true},
		func(batch store.Batch) error { return s.Append(ctx, "h", batch) }); err != nil {
		b.Fatal(err)
	}
	if err := s.Compact(ctx, now); err != nil {
		b.Fatal(err)
	}
	if err := s.Rollup(ctx, now, store.DefaultRetention); err != nil {
		b.Fatal(err)
	}
	late := store.Batch{Samples: []store.Sample{{T: day.Add(time.Hour), OffsetSeconds: 1e-6}}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := s.Append(ctx, "h", late); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.RollupHost(ctx, "h", now, store.DefaultRetention); err != nil {
			b.Fatal(err)
		}
	}
}

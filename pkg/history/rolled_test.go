package history

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// TestViewsReachIntoTheRollups: four days of a host with two sources that serves time, the
// raw records kept two days and the 5-minute summaries four. The 30-day and 1-year views draw
// the days before from the rollups (hourly beyond two days): every value counted once, the
// extremes and the mean exact, the percentiles within store.HistError of the exact ones (which
// the raw records gave before upkeep removed them), the serving charts with their rates; the
// 24-hour view is read raw, its statistics exact.
func TestViewsReachIntoTheRollups(t *testing.T) {
	ctx := context.Background()
	keep := store.Retention{Raw: 24 * time.Hour, FiveMin: 2 * 24 * time.Hour, Hour: 730 * 24 * time.Hour}
	s := Open(Config{Dir: t.TempDir(), Sample: 16 * time.Second, Retention: keep})
	t.Cleanup(func() { s.Close() })
	st, err := s.openStore()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	now := end.Add(2 * time.Hour)
	if err := storetest.Generate(end.Add(-4*24*time.Hour), now, storetest.Options{Sources: 2, Serving: true},
		func(b store.Batch) error { return st.Append(ctx, "h", b) }); err != nil {
		t.Fatal(err)
	}
	raw, err := st.Range(ctx, "h", end.Add(-9*24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	st.MaintainOnce(ctx, now, keep)
	if left, _ := st.Range(ctx, "h", end.Add(-9*24*time.Hour), now); len(left.Samples) >= len(raw.Samples)/2 {
		t.Fatalf("upkeep left %d of %d samples; want the raw records of a day or so", len(left.Samples), len(raw.Samples))
	}
	offsets := make([]float64, len(raw.Samples))
	for i, r := range raw.Samples {
		offsets[i] = r.OffsetSeconds
	}
	var rates []float64
	for i := 1; i < len(raw.Servers); i++ {
		if r, ok := store.ServerRates(raw.Servers[i-1], raw.Servers[i]); ok {
			rates = append(rates, r.NTP)
		}
	}
	for _, name := range []string{"30d", "1y"} {
		t.Run(name, func(t *testing.T) {
			rng, _ := ParseRange(name)
			v, err := s.View(ctx, "h", rng, time.Time{}, now)
			if err != nil {
				t.Fatal(err)
			}
			off := chartOf(t, v, "offset").Series[0]
			checkStats(t, "offset", off.Stats, offsets, 0)
			drawn := 0
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, c := range off.Cols {
				if c.Has {
					drawn++
					lo, hi = math.Min(lo, c.Min), math.Max(hi, c.Max)
				}
			}
			if want := int(4 * 24 * time.Hour * Columns / rng.D); drawn < want-2 {
				t.Errorf("%d columns drawn, want about %d: the four days", drawn, want)
			}
			if float32(lo) != float32(slices.Min(offsets)) || float32(hi) != float32(slices.Max(offsets)) {
				t.Errorf("the columns span %g to %g, the values %g to %g", lo, hi, slices.Min(offsets), slices.Max(offsets))
			}
			served := chartOf(t, v, "served").Series[0]
			// A rate is lost where the raw records begin (its sample before is summarised).
			checkStats(t, "requests/s", served.Stats, rates, 1)
			if src := chartOf(t, v, "sources"); len(src.Series) != 2 || src.Series[0].Stats.N < 4*24*3600/64-2 {
				t.Errorf("sources: %d series, the first of %d values", len(src.Series), src.Series[0].Stats.N)
			}
			if reach := chartOf(t, v, "reach"); len(reach.Strips) != 2 {
				t.Errorf("%d reachability strips, want 2", len(reach.Strips))
			}
			for _, id := range []string{"shares", "stamps", "clients"} {
				chartOf(t, v, id)
			}
			// A new sample: the view is made again, its rollups' part from the cache.
			if err := s.Append(ctx, "h", store.Batch{Samples: []store.Sample{{T: now.Add(-time.Duration(len(name)) * time.Second), OffsetSeconds: 1e-7}}}); err != nil {
				t.Fatal(err)
			}
			offsets = append(offsets, 1e-7)
			again, err := s.View(ctx, "h", rng, time.Time{}, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := chartOf(t, again, "offset").Series[0].Stats.N; got != off.Stats.N+1 {
				t.Errorf("after one more sample the offset counts %d values, want %d", got, off.Stats.N+1)
			}
			if got := chartOf(t, again, "sources").Series[0].Stats; got.N != chartOf(t, v, "sources").Series[0].Stats.N {
				t.Errorf("the sources' statistics changed with a sample of the clock: %+v", got)
			}
		})
	}
	v, err := s.View(ctx, "h", Ranges[0], time.Time{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if st := chartOf(t, v, "offset").Series[0].Stats; st.Approx || st.N == 0 {
		t.Errorf("1h: %+v, want exact statistics of the raw records", st)
	}
}

func chartOf(t *testing.T, v View, id string) Chart {
	t.Helper()
	for _, c := range v.Charts {
		if c.ID == id && (len(c.Series) > 0 || len(c.Strips) > 0) {
			return c
		}
	}
	t.Fatalf("no %s chart in the view of %s", id, v.Range.Name)
	return Chart{}
}

// checkStats compares statistics from the rollups with the exact ones of vals: counts (within
// slack), extremes and mean, deviation, and each percentile within store.HistError.
func checkStats(t *testing.T, what string, got Stats, vals []float64, slack int) {
	t.Helper()
	vals = slices.Clone(vals)
	slices.Sort(vals)
	if !got.Approx {
		t.Errorf("%s: not said approximate", what)
	}
	if n := len(vals); got.N < n-slack || got.N > n {
		t.Fatalf("%s: %d values counted, want %d", what, got.N, n)
	}
	var sum float64
	for _, v := range vals {
		sum += v
	}
	mean := sum / float64(len(vals))
	near := func(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Abs(b)+1e-12 }
	if !near(got.Mean, mean, 1e-3) || float32(got.Max) != float32(vals[len(vals)-1]) && slack == 0 {
		t.Errorf("%s: mean %g, max %g; want %g, %g", what, got.Mean, got.Max, mean, vals[len(vals)-1])
	}
	for _, p := range []struct {
		q   float64
		got float64
	}{{0.01, got.P1}, {0.05, got.P5}, {0.5, got.P50}, {0.95, got.P95}, {0.99, got.P99}} {
		want := vals[rank(len(vals), p.q)]
		// Within the bin's error, or the neighbouring rank's value where counts differ by a few.
		if !near(p.got, want, 1.001*store.HistError) && !near(p.got, vals[min(rank(len(vals), p.q)+slack, len(vals)-1)], 1.001*store.HistError) {
			t.Errorf("%s: p%g = %g, want %g within %.1f%%", what, p.q*100, p.got, want, 100*store.HistError)
		}
	}
}

// TestCloseWaitsAndNothingReopens: writes race Close; Close waits for what Start started,
// and after it every write and read fails with ErrClosed and no store is open: another
// process's store opens the directory (its lock is free) and stays the only one.
func TestCloseWaitsAndNothingReopens(t *testing.T) {
	dir := t.TempDir()
	s := Open(Config{Dir: dir, Sample: time.Second})
	fleet := replayFleet(t)
	s.Start(context.Background(), fleet)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 8 {
		wg.Go(func() {
			<-start
			for k := range 50 {
				b := store.Batch{Samples: []store.Sample{{T: t0.Add(time.Duration(i*1000+k) * time.Second)}}}
				if err := s.Append(ctx, "h", b); err != nil && !errors.Is(err, ErrClosed) && !isClosedDB(err) {
					t.Errorf("a write racing Close: %v", err)
				}
				s.View(ctx, "h", Ranges[0], time.Time{}, t0)
			}
		})
	}
	close(start)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := s.Append(ctx, "h", store.Batch{Samples: []store.Sample{{T: t0}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("a write after Close: %v, want ErrClosed", err)
	}
	if _, err := s.View(ctx, "h", Ranges[0], time.Time{}, t0); !errors.Is(err, ErrClosed) {
		t.Errorf("a view after Close: %v, want ErrClosed", err)
	}
	other, err := store.Open(dir, nil)
	if err != nil {
		t.Fatalf("the directory after Close: %v", err)
	}
	defer other.Close()
	if err := s.Append(ctx, "h", store.Batch{Samples: []store.Sample{{T: t0}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("a write after Close, another store open: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		t.Error(err)
	}
}

// isClosedDB is database/sql's error for a store closed under a write in flight.
func isClosedDB(err error) bool {
	return err != nil && strings.Contains(err.Error(), "database is closed")
}

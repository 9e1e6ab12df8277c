package server

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/store"
)

// prepareRanges keeps the month of BenchmarkHistoryRanges as this version's upkeep keeps it an
// hour after its end, with the default retention: every day over summarised, the raw records
// of the last 7 days.
func prepareRanges(b *testing.B, st *store.Store, end time.Time) {
	b.Helper()
	st.MaintainOnce(context.Background(), end.Add(time.Hour), store.DefaultRetention)
}

// BenchmarkLongHistoryFragment renders the history panel of a year and of two years from the
// store in SECOND_HAND_BENCH_LONG_STORE (the bench's part "longterm" makes it: two years of a
// host with 8 sources and serving statistics, imported) as of SECOND_HAND_BENCH_LONG_END (Unix
// ms), each time from the store (a write between requests, as in BenchmarkHistoryFragment).
// Skipped without them.
func BenchmarkLongHistoryFragment(b *testing.B) {
	dir := os.Getenv("SECOND_HAND_BENCH_LONG_STORE")
	endMS, _ := strconv.ParseInt(os.Getenv("SECOND_HAND_BENCH_LONG_END"), 10, 64)
	if dir == "" || endMS == 0 {
		b.Skip("SECOND_HAND_BENCH_LONG_STORE and SECOND_HAND_BENCH_LONG_END name the store (bench's part longterm)")
	}
	end := time.UnixMilli(endMS)
	for _, name := range []string{"90d", "1y", "2y"} {
		rng, _ := history.ParseRange(name)
		b.Run(name, func(b *testing.B) {
			hist := history.Open(history.Config{Dir: dir, Sample: 16 * time.Second})
			defer hist.Close()
			h := fleetHandler(b, []monitor.Host{{Name: "h", Reporter: &fakeReports{}}}, monitor.Config{},
				Config{History: hist, Now: func() time.Time { return end }})
			req := httptest.NewRequest("GET", "/panels/history?range="+rng.Name, nil)
			old := store.Batch{Samples: []store.Sample{{T: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}}}
			var size int
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				old.Samples[0].T = old.Samples[0].T.Add(time.Duration(i) * time.Second)
				if err := hist.Append(context.Background(), "h", old); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), `data-chart="served"`) {
					b.Fatalf("%d\n%.3000s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/fragment")
		})
	}
}

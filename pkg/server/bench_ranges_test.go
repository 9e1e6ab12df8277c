package server

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/store"
	"github.com/second-hand/second-hand/pkg/store/storetest"
)

// BenchmarkHistoryRanges renders the history panel of 24 hours and of 30 days from a month of
// a host with 8 sources (storetest.FillHistory, the same in every version), through the
// handler, a write between requests (out of the range, the timer stopped) making each view a
// new one. prepareRanges (bench_long_test.go) keeps the store as this version's upkeep keeps it
// with the default retention. The bench's part "longterm" copies this file into a worktree of
// main with a prepareRanges that does nothing, and runs the two side by side: it uses only what
// both versions have.
//
//	go test -run '^$' -bench HistoryRanges ./pkg/server
func BenchmarkHistoryRanges(b *testing.B) {
	dir := b.TempDir()
	st, err := store.Open(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	end := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if err := storetest.FillHistory(context.Background(), st, "local", end, 30, 8); err != nil {
		b.Fatal(err)
	}
	prepareRanges(b, st, end)
	st.Close()
	for _, name := range []string{"24h", "30d"} {
		rng, _ := history.ParseRange(name)
		b.Run(name, func(b *testing.B) {
			hist := history.Open(history.Config{Dir: dir, Sample: 16 * time.Second})
			defer hist.Close()
			h := fleetHandler(b, []monitor.Host{{Name: "local", Reporter: &fakeReports{}}}, monitor.Config{},
				Config{History: hist, Now: func() time.Time { return end }})
			req := httptest.NewRequest("GET", "/panels/history?range="+rng.Name, nil)
			old := store.Batch{Samples: []store.Sample{{T: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}}}
			var size int
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				old.Samples[0].T = old.Samples[0].T.Add(time.Duration(i) * time.Second)
				if err := hist.Append(context.Background(), "local", old); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), `class="line s0"`) {
					b.Fatalf("%d\n%.3000s", rec.Code, rec.Body)
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/fragment")
		})
	}
}

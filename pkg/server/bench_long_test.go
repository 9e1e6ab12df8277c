package server

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
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

// BenchmarkLongHistoryFragment renders the history panel of 90 days, a year and two years from
// the store in SECOND_HAND_BENCH_LONG_STORE (the bench's part "longterm" makes it: two years of
// a host with 8 sources and serving statistics, imported) as of SECOND_HAND_BENCH_LONG_END
// (Unix ms). "cold": nothing computed is kept between requests (Forget, the timer stopped);
// "steady": a recorder's write between requests, as at every sample, so that the view is made
// again from the raw records after the summarised days and the summaries' part kept (it
// changes once a day); "afterupkeep": the first request after an upkeep pass that changed the
// summaries (everything kept forgotten, then the warmer's round, history.Warm, as the service
// runs it after each pass: the timer stopped for both). Besides the time, cpu-ns/op is the processor time the process spent
// in the requests (every thread's, a figure other work on the machine does not inflate as it
// does the time). Skipped without the store.
func BenchmarkLongHistoryFragment(b *testing.B) {
	dir := os.Getenv("SECOND_HAND_BENCH_LONG_STORE")
	endMS, _ := strconv.ParseInt(os.Getenv("SECOND_HAND_BENCH_LONG_END"), 10, 64)
	if dir == "" || endMS == 0 {
		b.Skip("SECOND_HAND_BENCH_LONG_STORE and SECOND_HAND_BENCH_LONG_END name the store (bench's part longterm)")
	}
	end := time.UnixMilli(endMS)
	hist := history.Open(history.Config{Dir: dir, Sample: 16 * time.Second})
	defer hist.Close()
	h := fleetHandler(b, []monitor.Host{{Name: "h", Reporter: &fakeReports{}}}, monitor.Config{},
		Config{History: hist, Now: func() time.Time { return end }})
	for _, name := range []string{"90d", "1y", "2y"} {
		for _, mode := range []string{"cold", "afterupkeep", "steady"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				req := httptest.NewRequest("GET", "/panels/history?range="+name, nil)
				var size int
				var cpu time.Duration
				var warmed int64 // bytes the warmer's round left in the caches
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					b.StopTimer()
					switch mode {
					case "cold":
						hist.Forget()
					case "afterupkeep":
						// The upkeep changed the summaries (what was drawn from them is
						// stale: forgotten) and the warmer drew the long views ahead.
						hist.Forget()
						hist.Warm(context.Background(), end, "h")
						_, warmed = hist.CacheUsage()
					default:
						sample := store.Batch{Samples: []store.Sample{{T: end.Add(-time.Minute + time.Duration(i)*time.Millisecond), OffsetSeconds: 1e-6}}}
						if err := hist.Append(context.Background(), "h", sample); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					rec := httptest.NewRecorder()
					before := cpuTime()
					h.ServeHTTP(rec, req)
					cpu += cpuTime() - before
					if rec.Code != 200 || !strings.Contains(rec.Body.String(), `data-chart="served"`) {
						b.Fatalf("%d\n%.3000s", rec.Code, rec.Body)
					}
					size = rec.Body.Len()
				}
				b.ReportMetric(float64(size), "bytes/fragment")
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
				if mode == "afterupkeep" {
					b.ReportMetric(float64(warmed), "warmed-bytes")
				}
			})
		}
	}
}

// cpuTime is the processor time this process has used, user and system, every thread's.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

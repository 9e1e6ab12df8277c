package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// TestHistogramPercentiles: percentiles read from the histogram are within HistError of the
// exact ones (nearest rank), for values of either sign over many decades, and merging the
// histograms of parts gives the whole's.
func TestHistogramPercentiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() float64
	}{
		{"offsets around zero", func() float64 { return rng.NormFloat64() * 1e-6 }},
		{"frequency", func() float64 { return 12.5 + rng.NormFloat64()*0.01 }},
		{"rates over decades", func() float64 { return math.Exp(rng.Float64() * 20) }},
		{"negative", func() float64 { return -math.Exp(rng.NormFloat64()) * 1e-3 }},
		{"beyond the bins, infinities", func() float64 {
			return []float64{math.Inf(1), math.Inf(-1), 1e300, -1e300, 1e-300, 0, math.NaN()}[rng.IntN(7)]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals := make([]float64, 10000)
			var whole, parts Hist
			var bins []int
			for i := range vals {
				vals[i] = tc.gen()
				whole.Add(vals[i])
				bins = append(bins, binOf(vals[i]))
				if len(bins) == 100 {
					parts.AddEncoded(appendHist(nil, bins))
					bins = bins[:0]
				}
			}
			if whole.counts != parts.counts {
				t.Fatal("the parts' histograms merged differ from the whole's")
			}
			slices.Sort(vals)
			if tc.name == "beyond the bins, infinities" {
				return // counted without a panic; the extreme bins stand for them
			}
			for _, q := range []float64{0.01, 0.05, 0.5, 0.95, 0.99} {
				k := int(math.Ceil(q*float64(len(vals)))) - 1
				got, want := whole.Rank(uint64(k)), vals[k]
				if math.Abs(got-want) > HistError*math.Abs(want)+1e-12 {
					t.Errorf("p%v = %g, want %g within %.1f%%", q*100, got, want, 100*HistError)
				}
			}
			var round Hist
			round.AddEncoded(whole.Encode(nil))
			if round.counts != whole.counts {
				t.Error("the encoding does not read back")
			}
		})
	}
}

// TestServerRates: rates between two samples, none across a restart (a counter went down),
// none from a reply without the field.
func TestServerRates(t *testing.T) {
	at := func(s int) time.Time { return day0.Add(time.Duration(s) * time.Second) }
	base := ServerSample{T: at(0), Version: 4, NTP: 1000, NTPDropped: 10, NTSKE: 5, Authenticated: 100, Interleaved: 50, DaemonRX: 500, KernelRX: 400, HwRX: 100}
	nan := math.NaN()
	for _, tc := range []struct {
		name    string
		prev    ServerSample
		cur     func(ServerSample) ServerSample
		want    ServerRate
		wantOK  bool
		compare bool
	}{
		{"16 s of serving", base, func(s ServerSample) ServerSample {
			s.T, s.NTP, s.NTPDropped, s.NTSKE, s.Authenticated, s.Interleaved = at(16), 1160, 26, 21, 180, 90
			s.DaemonRX, s.KernelRX, s.HwRX = 500, 520, 140
			return s
		}, ServerRate{NTP: 10, NTPDropped: 1, NTSKE: 1, Authenticated: 50, Interleaved: 25, Kernel: 75, Hardware: 25}, true, true},
		{"chronyd restarted", base, func(s ServerSample) ServerSample { s.T, s.NTP = at(16), 3; return s }, ServerRate{}, false, false},
		{"the same time", base, func(s ServerSample) ServerSample { return s }, ServerRate{}, false, false},
		{"an hour and more apart", base, func(s ServerSample) ServerSample { s.T = at(3601); return s }, ServerRate{}, false, false},
		{"chrony 3: no NTS-KE, shares", ServerSample{T: at(0), Version: 1, NTP: 10}, func(s ServerSample) ServerSample { s.T, s.NTP = at(10), 30; return s },
			ServerRate{NTP: 2, NTSKE: nan, Authenticated: nan, Interleaved: nan, Kernel: nan, Hardware: nan}, true, true},
		{"no request: no share", base, func(s ServerSample) ServerSample { s.T = at(16); return s },
			ServerRate{NTSKE: 0, Authenticated: nan, Interleaved: nan, Kernel: nan, Hardware: nan}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ServerRates(tc.prev, tc.cur(tc.prev))
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if tc.compare && fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// fillPerDay is how many of batch's records fillDays writes a day: one every 64 s.
const fillPerDay = 1350

// fillDays writes days of batch's records (a sample, an update and two sources' points every
// 64 s) and server statistics from a minute after day0, a day per write.
func fillDays(t testing.TB, s *Store, host string, days int) {
	t.Helper()
	var all Batch
	for i := range days * fillPerDay {
		at := day0.Add(time.Minute + time.Duration(i)*64*time.Second)
		b := batch(at, i)
		all.Samples, all.Updates, all.Sources = append(all.Samples, b.Samples...), append(all.Updates, b.Updates...), append(all.Sources, b.Sources...)
		n := uint64(i)
		all.Servers = append(all.Servers, ServerSample{T: at, Version: 4, NTP: 160 * n, NTPDropped: n, Authenticated: 16 * n, DaemonRX: 100 * n, KernelRX: 60 * n,
			Clients: int32(20 + i%7), Active: int32(i % 5)})
		if len(all.Samples) == fillPerDay {
			if err := s.Append(ctx, host, all); err != nil {
				t.Fatal(err)
			}
			all = Batch{}
		}
	}
}

// rollupRows reads every row of host at level, as the store keeps them.
func rollupRows(t *testing.T, s *Store, host string, level int) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := s.WalkRollups(ctx, host, level, day0.Add(-day), day0.Add(1000*day), true, func(k MetricKey, r RollupDay) {
		out[fmt.Sprintf("%s %s %s", k.Name, k.Source.Name, r.Day.Format("01-02"))] = append(append([]byte{}, r.data...), r.hists...)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRollupSummarisesEachInterval: after two days and a half of records, the two whole days
// are summarised at both levels (the half day is not over); each interval's count, extremes,
// mean and spread equal those of the records in it, and so do each source's error bars and
// its worst reachability; the day's histogram counts every value.
func TestRollupSummarisesEachInterval(t *testing.T) {
	s := openStore(t, t.TempDir())
	fillDays(t, s, "nas", 3)
	now := day0.Add(2*day + 12*time.Hour)
	if err := s.Rollup(ctx, now, DefaultRetention); err != nil {
		t.Fatal(err)
	}
	if got := s.RolledUntil("nas"); !got.Equal(day0.Add(2 * day)) {
		t.Fatalf("rolled until %v, want the end of the second day", got)
	}
	h, err := s.Range(ctx, "nas", day0, day0.Add(2*day-time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range []int{Level5m, Level1h} {
		span := LevelSpan[level]
		want := map[string]Summary{} // by metric and interval start
		add := func(key string, t time.Time, v, lo, hi float64, lvl int8) {
			k := key + " " + t.Truncate(span).Format(time.RFC3339)
			sm, ok := want[k]
			if !ok {
				sm = Summary{Min: math.Inf(1), Max: math.Inf(-1), Lo: math.Inf(1), Hi: math.Inf(-1), Level: -1}
			}
			sm.Merge(Summary{N: 1, Min: v, Max: v, Mean: v, Lo: lo, Hi: hi, Level: lvl})
			want[k] = sm
		}
		for _, r := range h.Samples {
			add(MetricOffset, r.T, r.OffsetSeconds, r.OffsetSeconds, r.OffsetSeconds, -1)
		}
		for _, src := range h.Sources {
			for _, p := range src.Points {
				k := MetricSource + " " + src.Name
				if p.NewSample {
					add(k, p.T, p.OffsetSeconds, p.OffsetSeconds-p.ErrorSeconds, p.OffsetSeconds+p.ErrorSeconds, ReachLevel(p.Reach))
				} else {
					k += " " + p.T.Truncate(span).Format(time.RFC3339)
					sm, ok := want[k]
					if !ok {
						sm = Summary{Level: -1}
					}
					sm.Merge(Summary{Level: ReachLevel(p.Reach)})
					want[k] = sm
				}
			}
		}
		got := map[string]Summary{}
		days := 0
		err := s.WalkRollups(ctx, "nas", level, day0, now, true, func(k MetricKey, r RollupDay) {
			if k.Name != MetricOffset && k.Name != MetricSource {
				return
			}
			if k.Name == MetricOffset {
				days++
				var dh Hist
				dh.AddEncoded(r.DayHist())
				var buckets uint64
				r.BucketHists(func(i int, b []byte) { var bh Hist; bh.AddEncoded(b); buckets += bh.N() })
				if dh.N() != buckets || dh.N() < fillPerDay-30 {
					t.Errorf("level %d %v: the day's histogram counts %d, its intervals' %d", level, r.Day, dh.N(), buckets)
				}
			}
			for i := range r.Len() {
				start, sm := r.Bucket(i)
				key := k.Name
				if k.Name == MetricSource {
					key += " " + k.Source.Name
				}
				got[key+" "+start.Format(time.RFC3339)] = sm
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if days != 2 || len(got) != len(want) {
			t.Fatalf("level %d: %d days, %d intervals summarised; want 2 days and %d intervals", level, days, len(got), len(want))
		}
		for k, w := range want {
			g := got[k]
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Abs(b)+1e-15 }
			if g.Level != w.Level {
				t.Errorf("level %d %s: reachability %d, want %d", level, k, g.Level, w.Level)
			}
			if w.N == 0 {
				if g.N != 0 {
					t.Errorf("level %d %s: %d values, want none", level, k, g.N)
				}
				continue
			}
			if g.N != w.N || !near(g.Min, w.Min) || !near(g.Max, w.Max) || !near(g.Mean, w.Mean) || !near(g.M2, w.M2) ||
				!near(g.Lo, w.Lo) || !near(g.Hi, w.Hi) {
				t.Errorf("level %d %s: %+v, want %+v", level, k, g, w)
			}
		}
	}
}

// TestRollupRedoesWhatIsWrittenBehind: a record written into a summarised day (an import, a
// late point) has its day summarised again at the next pass, and nothing else changes.
func TestRollupRedoesWhatIsWrittenBehind(t *testing.T) {
	s := openStore(t, t.TempDir())
	fillDays(t, s, "nas", 3)
	now := day0.Add(3*day + 2*time.Hour)
	if err := s.Rollup(ctx, now, DefaultRetention); err != nil {
		t.Fatal(err)
	}
	before := rollupRows(t, s, "nas", Level5m)
	spike := Sample{T: day0.Add(day + 7*time.Hour + 2*time.Minute + 500*time.Millisecond), OffsetSeconds: 0.25, State: Synchronised}
	if err := s.Append(ctx, "nas", Batch{Samples: []Sample{spike}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Rollup(ctx, now, DefaultRetention); err != nil {
		t.Fatal(err)
	}
	after := rollupRows(t, s, "nas", Level5m)
	changed := 0
	for k, b := range after {
		if string(b) != string(before[k]) {
			changed++
			if !slices.Contains([]string{MetricOffset, MetricMaxError, MetricRootDelay, MetricRootDispersion}, k[:len(k)-7]) || k[len(k)-5:] != "11-02" {
				t.Errorf("%s changed", k)
			}
		}
	}
	if changed != 4 {
		t.Errorf("%d rows changed, want those of the samples' four metrics of that day", changed)
	}
	var found bool
	s.WalkRollups(ctx, "nas", Level5m, day0.Add(day), day0.Add(day), false, func(k MetricKey, r RollupDay) {
		for i := range r.Len() {
			if start, sm := r.Bucket(i); k.Name == MetricOffset && start.Equal(day0.Add(day+7*time.Hour)) && sm.Max == float64(float32(0.25)) {
				found = true
			}
		}
	})
	if !found {
		t.Error("the spike is not in its interval's summary")
	}
}

// TestExpireKeepsWhatIsNotSummarised: raw records past their retention stay until their day is
// summarised; then they go, and the summaries stay for theirs.
func TestExpireKeepsWhatIsNotSummarised(t *testing.T) {
	s := openStore(t, t.TempDir())
	fillDays(t, s, "nas", 3)
	keep := Retention{Raw: day, FiveMin: 2 * day, Hour: 10 * day}
	now := day0.Add(3*day + 2*time.Hour)
	if _, err := s.ExpireLevels(ctx, now, keep); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.Range(ctx, "nas", day0, now); len(h.Samples) != 3*fillPerDay {
		t.Fatalf("%d samples left before any summary; want all %d", len(h.Samples), 3*fillPerDay)
	}
	s.MaintainOnce(ctx, now, keep)
	h, _ := s.Range(ctx, "nas", day0, now)
	if len(h.Samples) == 0 || h.Samples[0].T.Before(now.Add(-keep.Raw-time.Hour)) {
		t.Errorf("after upkeep the raw record starts at %v, want within a day of %v", h.Samples[0].T, now)
	}
	if n := len(rollupRows(t, s, "nas", Level1h)); n == 0 {
		t.Error("no hourly summaries kept")
	}
	rows := rollupRows(t, s, "nas", Level5m)
	for k := range rows {
		if k[len(k)-5:] == "11-01" {
			t.Errorf("a 5-minute summary past its retention is kept: %s", k)
		}
	}
	if len(rows) == 0 {
		t.Error("no 5-minute summaries kept")
	}
}

// TestKill9DuringRollup: a process summarising three days is killed with SIGKILL inside the
// second day's transaction (its rows written, not committed). The store opens with every raw
// record, the first day summarised and not the second; the next pass makes the same summaries
// as a pass never interrupted.
func TestKill9DuringRollup(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fillDays(t, s, "nas", 3)
	raw, _ := s.Range(ctx, "nas", day0, day0.Add(3*day))
	s.Close()
	runHelper(t, "rollup", dir)

	s = openStore(t, dir)
	if got, _ := s.Range(ctx, "nas", day0, day0.Add(3*day)); !reflect.DeepEqual(got, raw) {
		t.Error("the raw record changed")
	}
	if got := s.RolledUntil("nas"); !got.Equal(day0.Add(day)) {
		t.Errorf("rolled until %v after the kill, want the first day's end", got)
	}
	if err := s.Rollup(ctx, helperNow, DefaultRetention); err != nil {
		t.Fatal(err)
	}
	whole := openStore(t, t.TempDir())
	fillDays(t, whole, "nas", 3)
	if err := whole.Rollup(ctx, helperNow, DefaultRetention); err != nil {
		t.Fatal(err)
	}
	for _, level := range []int{Level5m, Level1h} {
		if got, want := rollupRows(t, s, "nas", level), rollupRows(t, whole, "nas", level); !reflect.DeepEqual(got, want) {
			t.Errorf("level %d: %d rows after the kill and another pass, %d without the kill, not the same", level, len(got), len(want))
		}
	}
}

var helperNow = day0.Add(3*day + 2*time.Hour)

// rollupHelper summarises the store in dir and blocks inside the second day's transaction.
func rollupHelper(dir string, block func()) error {
	rollupHook = func(_ string, d time.Time) {
		if d.Equal(day0.Add(day)) {
			block()
		}
	}
	s, err := Open(dir, nil)
	if err != nil {
		return err
	}
	return s.Rollup(context.Background(), helperNow, DefaultRetention)
}

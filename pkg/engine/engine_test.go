package engine

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/enginelab"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/testkit"
)

// The made-up history both engines are loaded with: two hours of a host scraped every 10 s,
// with everything the views and events are made of happening at known times.
const (
	every    = 10 * time.Second
	span     = 2 * time.Hour
	gapFrom  = 50 * time.Minute // chronyd not answering (chrony_up 0) for 5 minutes
	gapTo    = 55 * time.Minute
	stratum4 = 70 * time.Minute  // the stratum goes from 3 to 4 (same reference)
	newRef   = 90 * time.Minute  // the reference goes from nas.lan to pi.lan (stratum 2)
	unreach  = 100 * time.Minute // nas.lan stops answering
	spikeAt  = 200               // the point whose offset is +2 ms
)

// labData is the history: alpha as second-hand exports it (host label, leap status, max
// error), beta as chrony_exporter does (no host label, never-sampled age 2^32 - 1).
type labData struct {
	start   time.Time
	series  []enginelab.Series
	offsets []float64 // alpha's system time offsets, for the expected statistics
	freqs   []float64
}

func makeData(end time.Time) labData {
	d := labData{start: end.Add(-span)}
	alpha := map[string]string{"host": "alpha", "job": "second-hand", "instance": "127.0.0.1:8080"}
	beta := map[string]string{"job": "chrony", "instance": "beta:9123"}
	byKey := map[string]*enginelab.Series{}
	var order []string
	add := func(t time.Time, metric string, base map[string]string, v float64, more ...string) {
		labels := map[string]string{}
		for k, v := range base {
			labels[k] = v
		}
		for i := 0; i+1 < len(more); i += 2 {
			labels[more[i]] = more[i+1]
		}
		key := metric + "|" + strings.Join(more, ",") + "|" + base["instance"]
		s := byKey[key]
		if s == nil {
			s = &enginelab.Series{Metric: metric, Labels: labels}
			byKey[key] = s
			order = append(order, key)
		}
		s.Points = append(s.Points, enginelab.Point{T: t, V: v})
	}
	src := func(addr, name string) []string { return []string{"source_address", addr, "source_name", name} }
	for i := 0; d.start.Add(time.Duration(i) * every).Before(end); i++ {
		t := d.start.Add(time.Duration(i) * every)
		since := t.Sub(d.start)
		up := since < gapFrom || since >= gapTo
		add(t, "chrony_up", alpha, b2f(up))
		add(t, "chrony_up", beta, 1)
		add(t, "chrony_tracking_system_time_seconds", beta, 1e-6)
		add(t, "chrony_tracking_root_delay_seconds", beta, 2e-3)
		add(t, "chrony_tracking_root_dispersion_seconds", beta, 1e-4)
		add(t, "chrony_tracking_stratum", beta, 2)
		add(t, "chrony_tracking_info", beta, 1, "tracking_address", "10.0.0.1", "tracking_name", "10.0.0.1", "tracking_refid", "0A000001")
		add(t, "chrony_sources_last_sample_age_seconds", beta, math.MaxUint32, src("GPS", "GPS")...)
		add(t, "chrony_sources_reachability_ratio", beta, 0, src("GPS", "GPS")...)
		if !up {
			continue
		}
		sys := -1e-6 * float64(i%50)
		if i == spikeAt {
			sys = -2e-3
		}
		d.offsets = append(d.offsets, -sys)
		freq := -12.5
		if since >= span/2 {
			freq = -13
		}
		d.freqs = append(d.freqs, freq)
		add(t, "chrony_tracking_system_time_seconds", alpha, sys)
		add(t, "chrony_tracking_max_error_seconds", alpha, math.Abs(sys)+1e-3+4e-3/2)
		add(t, "chrony_tracking_root_delay_seconds", alpha, 4e-3)
		add(t, "chrony_tracking_root_dispersion_seconds", alpha, 1e-3)
		add(t, "chrony_tracking_frequency_ppms", alpha, freq)
		add(t, "chrony_tracking_skew_ppms", alpha, 0.05)
		add(t, "chrony_tracking_rms_offset_seconds", alpha, 3e-6)
		add(t, "chrony_tracking_leap_status", alpha, 0)
		add(t, "chrony_tracking_reference_timestamp_seconds", alpha, float64(t.Add(-every).UnixMilli())/1000)
		add(t, "chrony_serverstats_ntp_packets_received_total", alpha, float64(i*10))
		stratum, ref := 3.0, []string{"tracking_address", "192.168.1.10", "tracking_name", "nas.lan", "tracking_refid", "C0A8010A"}
		if since >= stratum4 {
			stratum = 4
		}
		if since >= newRef {
			stratum, ref = 2, []string{"tracking_address", "192.168.1.20", "tracking_name", "pi.lan", "tracking_refid", "C0A80114"}
		}
		add(t, "chrony_tracking_stratum", alpha, stratum)
		add(t, "chrony_tracking_info", alpha, 1, ref...)
		nasReach, nasState, piState := 1.0, "sync", "candidate"
		if since >= newRef {
			nasState, piState = "outlier", "sync"
		}
		if since >= unreach {
			nasReach, nasState = 0, "unreach"
		}
		nas, pi := src("192.168.1.10", "nas.lan"), src("192.168.1.20", "pi.lan")
		add(t, "chrony_sources_reachability_ratio", alpha, nasReach, nas...)
		add(t, "chrony_sources_state_info", alpha, 1, append(nas, "source_state", nasState, "source_mode", "client")...)
		add(t, "chrony_sources_last_sample_offset_seconds", alpha, 5e-6+1e-6*float64(i%3), nas...)
		add(t, "chrony_sources_last_sample_error_margin_seconds", alpha, 1e-4, nas...)
		nasAge := 12.0 // and growing once it stops answering
		if since >= unreach {
			nasAge += (since - unreach).Seconds()
		}
		add(t, "chrony_sources_last_sample_age_seconds", alpha, nasAge, nas...)
		add(t, "chrony_sourcestats_samples", alpha, 8, nas...)
		add(t, "chrony_sources_reachability_ratio", alpha, 1, pi...)
		add(t, "chrony_sources_state_info", alpha, 1, append(pi, "source_state", piState, "source_mode", "client")...)
		add(t, "chrony_sources_last_sample_offset_seconds", alpha, -3e-6, pi...)
		add(t, "chrony_sources_last_sample_error_margin_seconds", alpha, 2e-4, pi...)
		add(t, "chrony_sources_last_sample_age_seconds", alpha, 5, pi...)
		add(t, "chrony_sources_peer_delay_seconds", alpha, 3e-4, pi...)
		gps := src("GPS", "GPS")
		add(t, "chrony_sources_reachability_ratio", alpha, 0, gps...)
		add(t, "chrony_sources_state_info", alpha, 1, append(gps, "source_state", "unreach", "source_mode", "reference clock")...)
		add(t, "chrony_sources_last_sample_offset_seconds", alpha, 0, gps...)
	}
	for _, k := range order {
		d.series = append(d.series, *byKey[k])
	}
	return d
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// startEngine runs kind loaded with the made-up history ending now, or skips (fails with
// SECOND_HAND_STRICT_TESTS) when it is not installed.
func startEngine(t *testing.T, kind enginelab.Kind, now time.Time) (*enginelab.Engine, labData) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts a time-series engine")
	}
	d := makeData(now)
	lab, err := enginelab.Start(context.Background(), kind, enginelab.Options{Dir: t.TempDir(), Backfill: d.series})
	if errors.Is(err, enginelab.ErrMissing) && !testkit.Strict() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Stop() })
	return lab, d
}

func newEngine(t *testing.T, url, label string) *Engine {
	t.Helper()
	e, err := New(Config{URL: url, HostLabel: label, Timeout: 20 * time.Second, Reuse: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestHistoryFromEngines: with the same history in each engine, the views, their statistics,
// the events, the fleet and a host's report are what the history says.
func TestHistoryFromEngines(t *testing.T) {
	now := time.Now().Truncate(time.Minute)
	for _, kind := range enginelab.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			lab, d := startEngine(t, kind, now)
			e := newEngine(t, lab.URL, "host")
			h := e.History(nil)
			ctx := context.Background()

			t.Run("view", func(t *testing.T) {
				rng, _ := history.ParseRange("6h")
				v, err := h.View(ctx, "alpha", rng, time.Time{}, now)
				if err != nil {
					t.Fatal(err)
				}
				checkView(t, v, d)
			})
			t.Run("events", func(t *testing.T) {
				l, err := h.Events(ctx, "alpha", now)
				if err != nil {
					t.Fatal(err)
				}
				checkEvents(t, l.Events, d)
			})
			t.Run("events shared across a step", func(t *testing.T) {
				// A page's events panel and its diagnosis, asked a moment apart across the end
				// of a 10 s step, within the reuse window (an hour here): one read.
				es, err := New(Config{URL: lab.URL, HostLabel: "host", Timeout: 20 * time.Second, Reuse: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				hs := es.History(nil)
				if _, err := hs.Events(ctx, "alpha", now.Add(-time.Second)); err != nil {
					t.Fatal(err)
				}
				asked := es.Counts().QueryRange.Load()
				if asked != EventQueries {
					t.Fatalf("the events asked %d ranges, want %d", asked, EventQueries)
				}
				hs.Moments(ctx, "alpha", now.Add(time.Second))
				if l, err := hs.Events(ctx, "alpha", now.Add(time.Second)); err != nil || len(l.Events) == 0 {
					t.Fatalf("the events of the next step: %v, %v", l.Events, err)
				}
				if got := es.Counts().QueryRange.Load(); got != asked {
					t.Errorf("the next step's events and moments asked %d more ranges, want none", got-asked)
				}
				// Two steps on, the record is read again.
				if _, err := hs.Events(ctx, "alpha", now.Add(11*time.Second)); err != nil {
					t.Fatal(err)
				}
				if got := es.Counts().QueryRange.Load(); got != asked+EventQueries {
					t.Errorf("two steps on, %d more ranges, want %d", got-asked, EventQueries)
				}
			})
			t.Run("a host by its name, without the fleet", func(t *testing.T) {
				// A host's page and panels find the host by its name in one labels query:
				// never every host's latest values.
				es, err := New(Config{URL: lab.URL, HostLabel: "host", Timeout: 20 * time.Second, Reuse: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				h, ok, err := es.HostNamed(ctx, "alpha")
				if err != nil || !ok || h.Label != "alpha" {
					t.Fatalf("alpha: %+v, %v, %v", h, ok, err)
				}
				if _, ok, err := es.HostNamed(ctx, "nobody"); err != nil || ok {
					t.Errorf("a host the engine does not have: found %v, %v", ok, err)
				}
				if q, l := es.Counts().Query.Load(), es.Counts().Labels.Load(); q != 0 || l != 1 {
					t.Errorf("%d queries and %d labels queries, want none and one", q, l)
				}
				if es.LastFleet() != nil {
					t.Error("the fleet was read")
				}
			})
			t.Run("sparklines of a new column at once", func(t *testing.T) {
				// The overview's sparklines: read once; in the next column, the last
				// answer comes at once and the new one is read behind it.
				es, err := New(Config{URL: lab.URL, HostLabel: "host", Timeout: 20 * time.Second, Reuse: time.Hour})
				if err != nil {
					t.Fatal(err)
				}
				first, err := es.Trends(ctx, now)
				if err != nil || len(first["alpha"].Cols) == 0 {
					t.Fatalf("alpha's sparkline: %+v, %v", first["alpha"], err)
				}
				if got := es.Counts().QueryRange.Load(); got != TrendQueries {
					t.Fatalf("the sparklines asked %d ranges, want %d", got, TrendQueries)
				}
				col := 24 * time.Hour / history.TrendColumns
				next, err := es.Trends(ctx, now.Add(col))
				if err != nil || !reflect.DeepEqual(next, first) {
					t.Errorf("the next column's first answer: %v, want the last column's", err)
				}
				testkit.Eventually(t, time.Minute, "the next column's sparklines read behind", func() bool {
					_, ok := es.answer("trend||" + strconv.FormatInt(now.Truncate(col).Add(2*col).UnixMilli(), 10))
					return ok
				})
				if got := es.Counts().QueryRange.Load(); got != 2*TrendQueries {
					t.Errorf("%d ranges asked, want %d", got, 2*TrendQueries)
				}
			})
			t.Run("fleet", func(t *testing.T) {
				f, err := e.Fleet(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(f.Hosts) != 1 {
					t.Fatalf("hosts %+v, want alpha only (beta has no host label)", f.Hosts)
				}
				a, ok := f.Lookup("alpha")
				if !ok || !a.Up || !a.Fresh || a.Tracking.RefName != "pi.lan" || a.Tracking.Stratum != 2 || a.Sources != 3 || a.Reachable != 1 || !a.HasLeap {
					t.Errorf("alpha = %+v", a)
				}
				if off := a.Tracking.SystemTimeOffsetSeconds(); math.Abs(off-d.offsets[len(d.offsets)-1]) > 1e-12 {
					t.Errorf("alpha's offset %v, want the last, %v", off, d.offsets[len(d.offsets)-1])
				}
			})
			t.Run("fleet by instance", func(t *testing.T) {
				ei := newEngine(t, lab.URL, "instance")
				f, err := ei.Fleet(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, h := range f.Hosts {
					names = append(names, h.Name+"="+h.Label)
				}
				if want := []string{"127.0.0.1-8080=127.0.0.1:8080", "beta-9123=beta:9123"}; !slices.Equal(names, want) {
					t.Errorf("hosts %v, want %v", names, want)
				}
				b, _ := f.Lookup("beta-9123")
				if b.HasLeap || b.Tracking.Stratum != 2 || !b.Tracking.Synchronised() || b.Sources != 1 || b.Reachable != 0 {
					t.Errorf("beta = %+v", b)
				}
				// chrony_exporter's series have no maximum error: it is computed.
				rng, _ := history.ParseRange("6h")
				v, err := ei.History(nil).View(ctx, "beta-9123", rng, time.Time{}, now)
				if err != nil {
					t.Fatal(err)
				}
				if me := v.Charts[0].Series[1].Stats; me.N == 0 || math.Abs(me.Max-(1e-6+1e-4+2e-3/2)) > 1e-12 || v.Charts[0].Band == nil {
					t.Errorf("beta's maximum error: %+v, band %v; want 1.101 ms from the offset, root delay and dispersion", me, v.Charts[0].Band != nil)
				}
			})
			t.Run("host report", func(t *testing.T) {
				r, err := e.HostReport(ctx, "alpha", "alpha")
				if err != nil {
					t.Fatal(err)
				}
				var srcs []string
				for _, s := range r.SourceList {
					srcs = append(srcs, s.Name+":"+s.StateName)
				}
				if want := []string{"GPS:unreach", "nas.lan:unreach", "pi.lan:sync"}; !slices.Equal(srcs, want) {
					t.Errorf("sources %v, want %v", srcs, want)
				}
				pi := r.SourceList[2]
				if !pi.Sampled || pi.Answered != 8 || pi.Peer == nil || pi.Peer.DelaySeconds != 3e-4 || pi.OffsetSeconds != -3e-6 || pi.PollLog2 != 0 {
					t.Errorf("pi.lan = %+v", pi)
				}
				if gps := r.SourceList[0]; gps.Sampled || gps.Mode != 2 {
					t.Errorf("GPS = %+v, want a reference clock never sampled", gps)
				}
				if len(r.Stats) != 1 || r.Stats[0].Samples != 8 {
					t.Errorf("source statistics %+v", r.Stats)
				}
				// 10 packets a scrape, every 10 s: one a second, between the scrapes the two are from.
				if rate := float64(r.Server.NTPPackets-r.Prev.NTPPackets) / r.At.Sub(r.PrevAt).Seconds(); !r.HasServer || rate != 1 {
					t.Errorf("server statistics %+v at %v, 5 minutes before %+v at %v: %v a second, want 1", r.Server, r.At, r.Prev, r.PrevAt, rate)
				}
				if !r.HasMaxError || !r.HasPeer {
					t.Errorf("has max error %v, has peer %v", r.HasMaxError, r.HasPeer)
				}
			})
			t.Run("diagnosis", func(t *testing.T) {
				r, err := e.HostReport(ctx, "alpha", "alpha")
				if err != nil {
					t.Fatal(err)
				}
				in := r.Input(lab.URL, now, diagnose.DefaultThresholds())
				in.History = h.Moments(ctx, "alpha", now)
				nas := in.History.Sources["192.168.1.10"]
				if !in.History.Known || nas.Unreachable.Sub(d.start.Add(unreach)).Abs() > 2*EventsRecentStep || nas.State != 1 || !in.History.Silent.IsZero() {
					t.Errorf("moments %+v; want nas.lan unreachable since %v, chronyd answering", in.History, d.start.Add(unreach))
				}
				dg := diagnose.Diagnose(in)
				// nas.lan stopped answering 20 minutes before the end: a finding, since then.
				f, ok := dg.Finding(diagnose.IDSourceUnreachable)
				if !ok || dg.State == diagnose.Unknown {
					t.Fatalf("diagnosis %s, findings %+v; want nas.lan unreachable", dg.State, dg.Findings)
				}
				if want := dg.At.Add(-span + unreach); f.Since.At.Sub(dg.At.Add(-span+unreach)).Abs() > 2*EventsRecentStep+every {
					t.Errorf("since %v (%s), want about %v", f.Since.At, f.Since.From, want)
				}
				var unchecked []string
				for _, u := range dg.Unchecked {
					unchecked = append(unchecked, u.What)
				}
				if !slices.ContainsFunc(unchecked, func(s string) bool { return strings.Contains(s, "selectdata") }) {
					t.Errorf("not checked: %v; want the selection report, which the series do not carry", unchecked)
				}
				// The overview's row: its tracking judged, its sources not read.
				f0, _ := e.Fleet(ctx)
				a, _ := f0.Lookup("alpha")
				if row := diagnose.Diagnose(a.Input(lab.URL, now, diagnose.DefaultThresholds())); row.State == diagnose.Unknown || !row.Synchronised {
					t.Errorf("alpha's row: %+v", row)
				}
			})
			t.Run("trend", func(t *testing.T) {
				tr, ok := h.Trend(ctx, "alpha", now)
				if !ok || len(tr.Cols) != history.TrendColumns {
					t.Fatalf("trend %v %+v", ok, tr)
				}
				hi := math.Inf(-1)
				for _, c := range tr.Cols {
					if c.Has {
						hi = math.Max(hi, c.Max)
					}
				}
				if hi != 2e-3 {
					t.Errorf("the trend's greatest offset %v, want the spike's 2 ms", hi)
				}
			})
		})
	}
}

// checkView: the offset's columns hold every value whole (the spike), the gap is a gap, and
// each statistic is the data's, within one rank for the percentiles (the engines interpolate).
func checkView(t *testing.T, v history.View, d labData) {
	t.Helper()
	charts := map[string]history.Chart{}
	for _, c := range v.Charts {
		charts[c.ID] = c
	}
	off := charts["offset"].Series[0]
	hi := math.Inf(-1)
	for _, c := range off.Cols {
		if c.Has {
			hi = math.Max(hi, c.Max)
		}
	}
	if hi != 2e-3 {
		t.Errorf("the greatest offset drawn is %v, want the spike's 2 ms", hi)
	}
	checkStats(t, "offset", off.Stats, d.offsets)
	checkStats(t, "frequency", charts["frequency"].Series[0].Stats, d.freqs)
	if band := charts["offset"].Band; band == nil {
		t.Error("no band of the maximum error")
	} else if me := charts["offset"].Series[1].Stats; math.Abs(me.Max-(2e-3+3e-3)) > 1e-12 {
		t.Errorf("max error's greatest %v, want 5 ms", me.Max)
	}
	if len(v.Gaps) != 1 {
		t.Fatalf("gaps %+v, want the one of chrony_up 0", v.Gaps)
	}
	col := v.Range.D / history.Columns
	g := v.Gaps[0]
	if want := d.start.Add(gapFrom); g.Start.Sub(want).Abs() > 2*col {
		t.Errorf("the gap starts at %v, want %v (one column: %v)", g.Start, want, col)
	}
	if want := d.start.Add(gapTo); g.End.Sub(want).Abs() > 2*col {
		t.Errorf("the gap ends at %v, want %v", g.End, want)
	}
	i := int(d.start.Add(gapFrom+time.Minute).Sub(v.From) / col)
	if c := off.Cols[i]; !c.Broken || c.Has {
		t.Errorf("a column inside the gap: %+v, want broken and empty", c)
	}
	var srcs []string
	for _, s := range charts["sources"].Series {
		srcs = append(srcs, s.Name)
		if s.Stats.N == 0 {
			t.Errorf("%s has no statistics", s.Name)
		}
	}
	if want := []string{"nas.lan (192.168.1.10)", "pi.lan (192.168.1.20)"}; !slices.Equal(srcs, want) {
		t.Errorf("sources drawn %v, want %v (GPS was never sampled)", srcs, want)
	}
	var strips []string
	for _, s := range charts["reach"].Strips {
		strips = append(strips, s.Name)
	}
	if len(strips) != 3 {
		t.Errorf("reachability strips %v, want 3", strips)
	}
}

func checkStats(t *testing.T, name string, got history.Stats, vals []float64) {
	t.Helper()
	s := slices.Clone(vals)
	sort.Float64s(s)
	if got.N != len(s) || got.Min != s[0] || got.Max != s[len(s)-1] {
		t.Errorf("%s: n %d min %v max %v, want %d %v %v", name, got.N, got.Min, got.Max, len(s), s[0], s[len(s)-1])
	}
	mean := 0.0
	for _, v := range s {
		mean += v
	}
	mean /= float64(len(s))
	if math.Abs(got.Mean-mean) > 1e-9*math.Max(1, math.Abs(mean)) {
		t.Errorf("%s: mean %v, want %v", name, got.Mean, mean)
	}
	sd := 0.0 // the population's, as stddev_over_time
	for _, v := range s {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(len(s)))
	if math.Abs(got.StdDev-sd) > 1e-6*math.Max(sd, 1e-12) {
		t.Errorf("%s: std dev %v, want %v", name, got.StdDev, sd)
	}
	for q, v := range map[float64]float64{0.01: got.P1, 0.05: got.P5, 0.5: got.P50, 0.95: got.P95, 0.99: got.P99} {
		r := q * float64(len(s)-1)
		lo, hi := s[int(math.Floor(r))], s[int(math.Ceil(r))]
		if v < lo-1e-12 || v > hi+1e-12 {
			t.Errorf("%s: %g-quantile %v, want between %v and %v", name, q, v, lo, hi)
		}
	}
}

func checkEvents(t *testing.T, ev []history.Event, d labData) {
	t.Helper()
	want := []struct {
		kind, text string
		at         time.Duration
	}{
		{"silent", "chronyd not answering", gapFrom},
		{"stratum", "Stratum changed from 3 to 4", stratum4},
		{"reference", "Reference changed from nas.lan (stratum 4) to pi.lan (stratum 2)", newRef},
		{"unreachable", "nas.lan (192.168.1.10) unreachable", unreach},
	}
	for _, w := range want {
		found := false
		for _, e := range ev {
			if e.Kind == w.kind && strings.Contains(e.Text, w.text) && e.T.Sub(d.start.Add(w.at)).Abs() <= 2*EventsRecentStep {
				found = true
			}
		}
		if !found {
			t.Errorf("no event %q near %v in:\n%s", w.text, d.start.Add(w.at), eventList(ev))
		}
	}
	if !slices.IsSortedFunc(ev, func(a, b history.Event) int { return b.T.Compare(a.T) }) {
		t.Error("events not newest first")
	}
	for _, e := range ev {
		if e.Kind == "restart" || e.Kind == "lost" {
			t.Errorf("an event that did not happen: %+v", e)
		}
	}
}

func eventList(ev []history.Event) string {
	var b strings.Builder
	for _, e := range ev {
		b.WriteString(e.T.Format(time.RFC3339) + " " + e.Kind + " " + e.Text + "\n")
	}
	return b.String()
}

// TestErrorsNameTheURL: each way a query fails is told with the URL and what failed: the
// engine's own message for a query it refuses (a real engine), a timeout, a 5xx (a fake: an
// engine cannot be made slow or failing on demand), and nothing listening.
func TestErrorsNameTheURL(t *testing.T) {
	ctx := context.Background()
	r := v1.Range{Start: time.Now().Add(-time.Hour), End: time.Now(), Step: time.Minute}
	check := func(t *testing.T, err error, kind Kind, status int, words ...string) {
		t.Helper()
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T), want an *engine.Error", err, err)
		}
		if e.Kind != kind || e.Status != status {
			t.Errorf("kind %v status %d, want %v %d: %v", e.Kind, e.Status, kind, status, err)
		}
		for _, w := range append(words, e.URL) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q does not say %q", err, w)
			}
		}
	}
	for _, kind := range enginelab.Kinds {
		t.Run("refused by "+string(kind), func(t *testing.T) {
			lab, _ := startEngine(t, kind, time.Now())
			e := newEngine(t, lab.URL, "host")
			_, err := e.ranged(ctx, "rate(chrony_up[5m]", r)
			var ee *Error
			if !errors.As(err, &ee) || ee.Kind != KindRejected || ee.Status < 400 || ee.Status > 499 || ee.Message == "" {
				t.Fatalf("error %v, want the engine's refusal with its words", err)
			}
			t.Logf("%s says: %v", kind, err)
		})
	}
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(func() { close(release); slow.Close() })
		e, err := New(Config{URL: slow.URL, HostLabel: "host", Timeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.ranged(ctx, "chrony_up", r)
		check(t, err, KindTimeout, 0, "did not answer a query_range within")
	})
	t.Run("5xx", func(t *testing.T) {
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"error","errorType":"unavailable","error":"too many concurrent queries"}`))
		}))
		t.Cleanup(failing.Close)
		e, err := New(Config{URL: failing.URL, HostLabel: "host", Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.instant(ctx, "chrony_up", time.Now())
		check(t, err, KindFailed, 503, "failed a query", "too many concurrent queries")
	})
	t.Run("nothing listening", func(t *testing.T) {
		e, err := New(Config{URL: "http://127.0.0.1:" + testkit.FreePort(t), HostLabel: "host", Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Fleet(ctx)
		check(t, err, KindUnreachable, 0, "is not answering", "connection refused")
	})
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		url, label, err string
	}{
		{"http://prometheus:9090", "host", ""},
		{"https://vm.example/select/0/prometheus", "instance", ""},
		{"prometheus:9090", "host", "want the engine's HTTP API as a URL"},
		{"http://prometheus:9090", "9host", "not a Prometheus label name"},
		{"http://prometheus:9090", "__name__", "not a Prometheus label name"},
	} {
		_, err := New(Config{URL: tc.url, HostLabel: tc.label})
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%q, %q) = %v, want %q", tc.url, tc.label, err, tc.err)
		}
	}
}

func TestRegister(t *testing.T) {
	for _, tc := range []struct {
		answered int
		last     bool
		want     uint8
	}{{8, true, 0o377}, {0, false, 0}, {1, true, 1}, {1, false, 2}, {3, false, 0o16}, {7, true, 0o177}, {7, false, 0o376}} {
		if got := register(tc.answered, tc.last); got != tc.want {
			t.Errorf("register(%d, %v) = %o, want %o", tc.answered, tc.last, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	got := names([]string{"nas:9123", "pi.lan", "nas/9123", "", "a b"})
	want := [][2]string{{"host-0", ""}, {"a-b", "a b"}, {"nas-9123", "nas/9123"}, {"nas-9123-2", "nas:9123"}, {"pi.lan", "pi.lan"}}
	if !slices.Equal(got, want) {
		t.Errorf("names = %v, want %v", got, want)
	}
}

package metrics

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/monitor/monitortest"
)

// fixed is a monitor.Reporter that answers with fixed reports, or fails those in fail.
type fixed struct {
	monitortest.NoSocketReports
	tracking chrony.Tracking
	sources  []chrony.Source
	stats    []chrony.SourceStats
	rtc      chrony.RTC
	server   chrony.ServerStats
	ntp      map[netip.Addr]chrony.NTPData
	fail     map[string]error
}

var _ monitor.Reporter = (*fixed)(nil)

func (r *fixed) Tracking(context.Context) (chrony.Tracking, error) {
	return r.tracking, r.fail["tracking"]
}
func (r *fixed) NumSources(context.Context) (int, error) { return len(r.sources), nil }
func (r *fixed) SourcesN(context.Context, int) ([]chrony.Source, error) {
	return r.sources, r.fail["sources"]
}
func (r *fixed) SourceStatsN(context.Context, int) ([]chrony.SourceStats, error) {
	return r.stats, r.fail["sourcestats"]
}
func (r *fixed) RTC(context.Context) (chrony.RTC, error) { return r.rtc, r.fail["rtc"] }
func (r *fixed) Activity(context.Context) (chrony.Activity, error) {
	return chrony.Activity{Online: 3, Unresolved: 1}, r.fail["activity"]
}
func (r *fixed) ServerStats(context.Context) (chrony.ServerStats, error) {
	return r.server, r.fail["serverstats"]
}
func (r *fixed) NTPData(_ context.Context, a netip.Addr) (chrony.NTPData, error) {
	if err := r.fail["ntpdata"]; err != nil {
		return chrony.NTPData{}, err
	}
	d, ok := r.ntp[a]
	if !ok {
		return d, &chrony.Error{Kind: chrony.KindStatus, Op: "ntpdata", Status: chrony.StatusNoSuchSource}
	}
	return d, nil
}
func (r *fixed) Endpoint() string { return "udp://fake:323" }
func (r *fixed) Counts() chrony.Counts {
	return chrony.Counts{Requests: 42, Failures: map[chrony.Kind]uint64{chrony.KindTimeout: 2}}
}
func (r *fixed) Close() error { return nil }

var refTime = time.Date(2026, 11, 26, 10, 0, 0, 500_000_000, time.UTC)

func sample() *fixed {
	return &fixed{
		tracking: chrony.Tracking{RefID: 0xC0A8010A, RefAddr: netip.MustParseAddr("192.168.1.10"), RefName: "nas.lan", Stratum: 3,
			RefTime: refTime, CorrectionSeconds: -2e-6, LastOffsetSeconds: 1e-6, RMSOffsetSeconds: 3e-6, FrequencyPPM: -12.5,
			ResidualFrequencyPPM: 0.01, SkewPPM: 0.05, RootDelaySeconds: 4e-3, RootDispersionSeconds: 1e-3, UpdateIntervalSeconds: 64},
		sources: []chrony.Source{
			{Name: "nas.lan", Address: netip.MustParseAddr("192.168.1.10"), Mode: chrony.ModeServer, State: chrony.StateSelected, Stratum: 2,
				PollLog2: 6, Reach: 0o377, LastSampleAgo: 12 * time.Second, AdjustedOffsetSeconds: 5e-6, MeasuredOffsetSeconds: 6e-6, ErrorSeconds: 1e-4},
			{Name: "GPS", Mode: chrony.ModeRefClock, State: chrony.StateNonselectable, PollLog2: 4, LastSampleAgo: chrony.NeverSampled},
			{Name: "ID#0000000001", Unresolved: true, Mode: chrony.ModeServer, LastSampleAgo: chrony.NeverSampled},
			{Name: "pi.lan", Address: netip.MustParseAddr("192.168.1.20"), Mode: chrony.ModeServer, State: chrony.StateUnselected, Stratum: 1,
				PollLog2: 4, Reach: 0o376, LastSampleAgo: 3 * time.Second},
		},
		stats: []chrony.SourceStats{
			{Name: "nas.lan", Address: netip.MustParseAddr("192.168.1.10"), Samples: 8, Runs: 5, SpanSeconds: 448, FrequencyPPM: 0.002,
				FrequencySkewPPM: 0.05, OffsetSeconds: 4e-6, StdDevSeconds: 2e-6},
			{Name: "GPS", RefID: 0x47505300, Samples: 0, FrequencySkewPPM: 2000, StdDevSeconds: 4},
		},
		server: chrony.ServerStats{Version: 3, NTPPackets: 100, CommandPackets: 50, InterleavedNTP: 7},
		ntp: map[netip.Addr]chrony.NTPData{
			netip.MustParseAddr("192.168.1.10"): {OffsetSeconds: 6e-6, PeerDelaySeconds: 3e-4, PeerDispersionSeconds: 2e-6, ResponseTimeSeconds: 4e-5, JitterAsymmetry: -0.25},
			netip.MustParseAddr("192.168.1.20"): {OffsetSeconds: -1e-5, PeerDelaySeconds: 5e-4, PeerDispersionSeconds: 3e-6, ResponseTimeSeconds: 6e-5, JitterAsymmetry: 0.5},
		},
	}
}

// scrape collects hosts and returns each series as "name{labels}" → value.
func scrape(t *testing.T, hosts ...*monitor.Monitor) map[string]float64 {
	t.Helper()
	families, err := NewHosts(diagnose.Gatherer{}, hosts...).Gather()
	if err != nil {
		t.Fatal(err)
	}
	return series(families)
}

func series(families []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

func TestCompatibleNames(t *testing.T) {
	got := scrape(t, monitor.New("nas", sample(), monitor.Config{}))
	for series, want := range map[string]float64{
		"chrony_up{host=nas}": 1,
		"chrony_tracking_info{host=nas,tracking_address=192.168.1.10,tracking_name=nas.lan,tracking_refid=C0A8010A}":                 1,
		"chrony_tracking_last_offset_seconds{host=nas}":                                                                              1e-6,
		"chrony_tracking_reference_timestamp_seconds{host=nas}":                                                                      float64(refTime.UnixNano()) / 1e9,
		"chrony_tracking_system_time_seconds{host=nas}":                                                                              -2e-6,
		"chrony_tracking_remote_reference{host=nas}":                                                                                 1,
		"chrony_tracking_rms_offset_seconds{host=nas}":                                                                               3e-6,
		"chrony_tracking_root_delay_seconds{host=nas}":                                                                               4e-3,
		"chrony_tracking_root_dispersion_seconds{host=nas}":                                                                          1e-3,
		"chrony_tracking_frequency_ppms{host=nas}":                                                                                   -12.5,
		"chrony_tracking_residual_frequency_ppms{host=nas}":                                                                          0.01,
		"chrony_tracking_skew_ppms{host=nas}":                                                                                        0.05,
		"chrony_tracking_update_interval_seconds{host=nas}":                                                                          64,
		"chrony_tracking_stratum{host=nas}":                                                                                          3,
		"chrony_sources_last_sample_age_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                           12,
		"chrony_sources_reachability_ratio{host=nas,source_address=192.168.1.20,source_name=pi.lan}":                                 7.0 / 8,
		"chrony_sources_reachability_success{host=nas,source_address=192.168.1.20,source_name=pi.lan}":                               0,
		"chrony_sources_last_sample_offset_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                        5e-6,
		"chrony_sources_last_sample_error_margin_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                  1e-4,
		"chrony_sources_polling_interval_seconds{host=nas,source_address=GPS,source_name=GPS}":                                       16,
		"chrony_sources_state_info{host=nas,source_address=192.168.1.10,source_mode=client,source_name=nas.lan,source_state=sync}":   1,
		"chrony_sources_state_info{host=nas,source_address=GPS,source_mode=reference clock,source_name=GPS,source_state=unreach}":    1,
		"chrony_sources_state_info{host=nas,source_address=192.168.1.20,source_mode=client,source_name=pi.lan,source_state=outlier}": 1,
		"chrony_sources_stratum{host=nas,source_address=192.168.1.20,source_name=pi.lan}":                                            1,
		"chrony_sourcestats_samples{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                                       8,
		"chrony_sourcestats_runs{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                                          5,
		"chrony_sourcestats_span_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                                  448,
		"chrony_sourcestats_stddev{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                                        2e-6,
		"chrony_sourcestats_frequency_ppms{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                                0.002,
		"chrony_sourcestats_frequency_skew_ppms{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                           0.05,
		"chrony_sourcestats_offset{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                                        4e-6,
		"chrony_sourcestats_frequency_skew_ppms{host=nas,source_address=GPS,source_name=GPS}":                                        2000, // reference clocks are in
		"chrony_serverstats_ntp_packets_received_total{host=nas}":                                                                    100,
		"chrony_serverstats_command_packets_received_total{host=nas}":                                                                50,
		"chrony_serverstats_interleaved_ntp_packets_total{host=nas}":                                                                 7,
		"chrony_tracking_leap_status{host=nas}":                                                                                      0,
		"chrony_tracking_synchronised{host=nas}":                                                                                     1,
		"chrony_tracking_max_error_seconds{host=nas}":                                                                                2e-6 + 1e-3 + 2e-3,
		"chrony_activity_sources{host=nas,state=online}":                                                                             3,
		"chrony_activity_sources{host=nas,state=unresolved}":                                                                         1,
		"chrony_scrape_collector_success{collector=serverstats,host=nas}":                                                            1,
		"chrony_scrape_collector_success{collector=ntpdata,host=nas}":                                                                1,
		"chrony_sources_peer_offset_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                               6e-6,
		"chrony_sources_peer_delay_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                                3e-4,
		"chrony_sources_peer_dispersion_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                           2e-6,
		"chrony_sources_peer_response_time_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                        4e-5,
		"chrony_sources_peer_jitter_asymmetry_seconds{host=nas,source_address=192.168.1.10,source_name=nas.lan}":                     -0.25,
		"chrony_sources_peer_offset_seconds{host=nas,source_address=192.168.1.20,source_name=pi.lan}":                                -1e-5,
		"chrony_sources_peer_jitter_asymmetry_seconds{host=nas,source_address=192.168.1.20,source_name=pi.lan}":                      0.5,
		"second_hand_chronyd_requests_total{host=nas}":                                                                               42,
		"second_hand_chronyd_request_failures_total{host=nas,kind=timeout}":                                                          2,
	} {
		if v, ok := got[series]; !ok {
			t.Errorf("no %s", series)
		} else if diff := v - want; diff > 1e-12 || diff < -1e-12 {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
	for series := range got {
		switch {
		case strings.Contains(series, "ID#"):
			t.Errorf("an unresolved source is exported: %s", series)
		case strings.HasPrefix(series, "chrony_sources_last_sample_age_seconds") && strings.Contains(series, "GPS"):
			t.Errorf("a source never sampled has an age: %s", series)
		case strings.HasPrefix(series, "chrony_serverstats_ntp_daemon"):
			t.Errorf("a version 3 reply has no daemon timestamps: %s", series)
		case strings.HasPrefix(series, "chrony_rtc_"):
			t.Errorf("no rtcfile, yet %s", series)
		case strings.HasPrefix(series, "chrony_sources_peer_") && strings.Contains(series, "GPS"):
			t.Errorf("a reference clock has no NTP packets: %s", series)
		}
	}
}

// TestOneFailingReportIsNotDown: a report that fails is its collector's failure, not chrony_up.
func TestOneFailingReportIsNotDown(t *testing.T) {
	r := sample()
	r.fail = map[string]error{"serverstats": &chrony.Error{Kind: chrony.KindNotAuthorised, Status: chrony.StatusUnauth}}
	got := scrape(t, monitor.New("nas", r, monitor.Config{}))
	if got["chrony_up{host=nas}"] != 1 || got["chrony_scrape_collector_success{collector=serverstats,host=nas}"] != 0 ||
		got["chrony_scrape_collector_success{collector=sources,host=nas}"] != 1 {
		t.Errorf("up %v, serverstats %v, sources %v", got["chrony_up{host=nas}"], got["chrony_scrape_collector_success{collector=serverstats,host=nas}"],
			got["chrony_scrape_collector_success{collector=sources,host=nas}"])
	}
}

// TestNTPDataRefused: over UDP chronyd refuses ntpdata (socket only): no peer series, its
// collector failed, chronyd asked once rather than once per source, and up stays 1.
func TestNTPDataRefused(t *testing.T) {
	r := sample()
	asked := 0
	refusing := &countingNTP{fixed: r, asked: &asked}
	r.fail = map[string]error{"ntpdata": &chrony.Error{Kind: chrony.KindNotAuthorised, Op: "ntpdata", Status: chrony.StatusUnauth}}
	got := scrape(t, monitor.New("nas", refusing, monitor.Config{}))
	if got["chrony_up{host=nas}"] != 1 || got["chrony_scrape_collector_success{collector=ntpdata,host=nas}"] != 0 {
		t.Errorf("up %v, ntpdata collector %v; want 1 and 0", got["chrony_up{host=nas}"], got["chrony_scrape_collector_success{collector=ntpdata,host=nas}"])
	}
	for series := range got {
		if strings.HasPrefix(series, "chrony_sources_peer_") {
			t.Errorf("%s although chronyd refused ntpdata", series)
		}
	}
	// The scrape's own reads (the diagnosis reads what its findings need besides).
	asked = 0
	if s := read(context.Background(), monitor.New("nas", refusing, monitor.Config{})); s.errs[6] == nil || len(s.ntpData) != 0 || asked != 1 {
		t.Errorf("the scrape's reads: ntpdata error %v, %d answers, asked %d times; want refused, none, once", s.errs[6], len(s.ntpData), asked)
	}
}

type countingNTP struct {
	*fixed
	asked *int
}

func (c *countingNTP) NTPData(ctx context.Context, a netip.Addr) (chrony.NTPData, error) {
	*c.asked++
	return c.fixed.NTPData(ctx, a)
}

// TestDownIsDownWithNoValues: chronyd not answering tracking is chrony_up 0 and no report's
// values, not old ones.
func TestDownIsDownWithNoValues(t *testing.T) {
	r := sample()
	r.fail = map[string]error{"tracking": errors.New("silent")}
	got := scrape(t, monitor.New("nas", r, monitor.Config{}))
	if got["chrony_up{host=nas}"] != 0 {
		t.Errorf("up = %v", got["chrony_up{host=nas}"])
	}
	for series := range got {
		if strings.HasPrefix(series, "chrony_tracking") || strings.HasPrefix(series, "chrony_sources") {
			t.Errorf("%s exported while chronyd is down", series)
		}
	}
}

func TestHostLabel(t *testing.T) {
	got := scrape(t, monitor.New("nas", sample(), monitor.Config{}), monitor.New("pi", sample(), monitor.Config{}))
	if got["chrony_tracking_stratum{host=nas}"] != 3 || got["chrony_tracking_stratum{host=pi}"] != 3 {
		t.Errorf("stratum per host: %v %v", got["chrony_tracking_stratum{host=nas}"], got["chrony_tracking_stratum{host=pi}"])
	}
}

// TestReuseWindowGathersOnce: scrapes inside the reuse window give the same chronyd values
// without reading chronyd, while second-hand's own counters move; once the window has passed,
// the values are read anew.
func TestReuseWindowGathersOnce(t *testing.T) {
	r := sample()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	m := monitor.New("nas", r, monitor.Config{Reuse: 5 * time.Second, Now: func() time.Time { return now }})
	h := NewHost(diagnose.Gatherer{}, m)
	gather := func() map[string]float64 {
		fams, err := h.Gather()
		if err != nil {
			t.Fatal(err)
		}
		return series(fams)
	}
	first := gather()
	r.tracking.Stratum = 4
	second := gather()
	if second["chrony_tracking_stratum{host=nas}"] != 3 {
		t.Errorf("inside the window: stratum %v, want the 3 read before", second["chrony_tracking_stratum{host=nas}"])
	}
	if first["second_hand_reads_reused_total{host=nas}"] >= second["second_hand_reads_reused_total{host=nas}"] {
		t.Errorf("reused reads: %v then %v, want them counted", first["second_hand_reads_reused_total{host=nas}"], second["second_hand_reads_reused_total{host=nas}"])
	}
	now = now.Add(6 * time.Second)
	if got := gather()["chrony_tracking_stratum{host=nas}"]; got != 4 {
		t.Errorf("after the window: stratum %v, want 4", got)
	}
	r.fail = map[string]error{"tracking": errors.New("silent")}
	now = now.Add(6 * time.Second)
	if got := gather(); got["chrony_up{host=nas}"] != 0 || got["chrony_tracking_stratum{host=nas}"] != 0 {
		t.Errorf("chronyd gone: up %v, stratum %v; want 0 and no stratum", got["chrony_up{host=nas}"], got["chrony_tracking_stratum{host=nas}"])
	}
}

// Package metrics exports every host's chronyd to Prometheus, with the names, labels and units
// of chrony_exporter (so that its dashboards and alert rules work unchanged), a host label on
// every series, and what that exporter lacks: leap status, synchronisation, the maximum clock
// error, activity, the RTC, and second-hand's own counters. Over chronyd's Unix socket it adds
// what chrony_exporter gives with --collector.sources.with-ntpdata: each NTP source's last
// packet (chrony_sources_peer_*), from the ntpdata report.
//
// A scrape reads through the hosts' monitors: the same shared reads and reuse window as the
// pages, so that ten Prometheus servers scraping at once cost chronyd what one does, and a
// scrape never waits longer than a request's timeout and retries.
package metrics

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/engine"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/notify"
)

const namespace = "chrony"

// desc is a metric's description and type.
type desc struct {
	d *prometheus.Desc
	t prometheus.ValueType
}

func gauge(subsystem, name, help string, labels ...string) desc {
	return desc{prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help, append([]string{"host"}, labels...), nil), prometheus.GaugeValue}
}

func counter(subsystem, name, help string, labels ...string) desc {
	d := gauge(subsystem, name, help, labels...)
	d.t = prometheus.CounterValue
	return d
}

func own(name, help string, labels ...string) desc {
	d := desc{prometheus.NewDesc("second_hand_"+name, help, append([]string{"host"}, labels...), nil), prometheus.CounterValue}
	return d
}

func ownGauge(name, help string, labels ...string) desc {
	d := own(name, help, labels...)
	d.t = prometheus.GaugeValue
	return d
}

var (
	up               = gauge("", "up", "Whether chronyd answered the tracking report.")
	collectorSuccess = gauge("scrape", "collector_success", "Whether each report was read.", "collector")

	trackingInfo           = gauge("tracking", "info", "Chrony tracking info", "tracking_address", "tracking_name", "tracking_refid")
	trackingLastOffset     = gauge("tracking", "last_offset_seconds", "Chrony tracking last offset in seconds")
	trackingRefTime        = gauge("tracking", "reference_timestamp_seconds", "Chrony tracking Reference timestamp")
	trackingSystemTime     = gauge("tracking", "system_time_seconds", "Chrony tracking System time: the correction chronyd is still applying (positive: the clock is slow)")
	trackingRemote         = gauge("tracking", "remote_reference", "Chrony tracking is connected to a remote source")
	trackingRMSOffset      = gauge("tracking", "rms_offset_seconds", "Chrony tracking long-term average of the offset")
	trackingRootDelay      = gauge("tracking", "root_delay_seconds", "The total of the network path delays to the stratum-1 computer from which the computer is ultimately synchronised")
	trackingRootDispersion = gauge("tracking", "root_dispersion_seconds", "Chrony tracking total of all measurement errors to the NTP root")
	trackingFrequency      = gauge("tracking", "frequency_ppms", "Rate by which the system's clock would be wrong if chronyd was not correcting it, in PPMs")
	trackingResidual       = gauge("tracking", "residual_frequency_ppms", "For the currently selected reference source, the difference between the frequency it suggests and the one currently in use, in PPMs")
	trackingSkew           = gauge("tracking", "skew_ppms", "The estimated error bound on the frequency, in PPMs")
	trackingUpdateInterval = gauge("tracking", "update_interval_seconds", "The time elapsed between the last two clock updates, in seconds")
	trackingStratum        = gauge("tracking", "stratum", "Chrony tracking client stratum")
	// What chrony_exporter lacks.
	trackingLeap         = gauge("tracking", "leap_status", "Leap status: 0 normal, 1 a second to be inserted, 2 deleted, 3 not synchronised")
	trackingSynchronised = gauge("tracking", "synchronised", "Whether chronyd is synchronised to a source (1), its local clock counting as one")
	trackingMaxError     = gauge("tracking", "max_error_seconds", "The bound on the clock's error: |system time offset| + root dispersion + root delay / 2")

	sourcesAge          = gauge("sources", "last_sample_age_seconds", "Chrony sources last good sample age in seconds", "source_address", "source_name")
	sourcesReachRatio   = gauge("sources", "reachability_ratio", "Chrony sources ratio of packet reachability", "source_address", "source_name")
	sourcesReachSuccess = gauge("sources", "reachability_success", "Chrony sources last poll reachability success", "source_address", "source_name")
	sourcesOffset       = gauge("sources", "last_sample_offset_seconds", "Chrony sources last sample offset in seconds", "source_address", "source_name")
	sourcesError        = gauge("sources", "last_sample_error_margin_seconds", "Chrony sources last sample margin of error in seconds", "source_address", "source_name")
	sourcesPoll         = gauge("sources", "polling_interval_seconds", "Chrony sources polling interval in seconds", "source_address", "source_name")
	sourcesStateInfo    = gauge("sources", "state_info", "Chrony sources state info", "source_address", "source_name", "source_state", "source_mode")
	sourcesStratum      = gauge("sources", "stratum", "Chrony sources stratum", "source_address", "source_name")
	// From ntpdata: the last valid packet of each NTP source (not reference clocks), on the
	// socket only; chrony_exporter's names, labels and units (the asymmetry is a ratio, though
	// its name says seconds, as the exporter has it).
	peerOffset          = gauge("sources", "peer_offset_seconds", "Chrony sources peer offset: the offset measured from the last valid packet (ntpdata)", "source_address", "source_name")
	peerDelay           = gauge("sources", "peer_delay_seconds", "Chrony sources peer delay: the round-trip delay of the last valid packet (ntpdata)", "source_address", "source_name")
	peerDispersion      = gauge("sources", "peer_dispersion_seconds", "Chrony sources peer dispersion of the last valid packet (ntpdata)", "source_address", "source_name")
	peerResponseTime    = gauge("sources", "peer_response_time_seconds", "Chrony sources peer response time: how long the server took to answer the last valid packet (ntpdata)", "source_address", "source_name")
	peerJitterAsymmetry = gauge("sources", "peer_jitter_asymmetry_seconds", "Chrony sources peer jitter asymmetry: chronyd's estimate of the asymmetry of the network jitter, from -0.5 to 0.5 (ntpdata)", "source_address", "source_name")

	statsSamples = gauge("sourcestats", "samples", "The number of sample points currently being retained for the server. (NP)", "source_address", "source_name")
	statsRuns    = gauge("sourcestats", "runs", "The number of runs of residuals having the same sign following the last regression. (NR)", "source_address", "source_name")
	statsSpan    = gauge("sourcestats", "span_seconds", "The interval between the oldest and newest samples in seconds", "source_address", "source_name")
	statsStdDev  = gauge("sourcestats", "stddev", "The estimated sample standard deviation.", "source_address", "source_name")
	statsFreq    = gauge("sourcestats", "frequency_ppms", "The estimated residual frequency for the server, in parts per million.", "source_address", "source_name")
	statsSkew    = gauge("sourcestats", "frequency_skew_ppms", "The estimated error bounds on Freq (again in parts per million).", "source_address", "source_name")
	statsOffset  = gauge("sourcestats", "offset", "The estimated offset of the source.", "source_address", "source_name")

	activitySources = gauge("activity", "sources", "Sources by what chronyd does with them: online, offline, burst_online, burst_offline, unresolved", "state")

	rtcOffset  = gauge("rtc", "offset_seconds", "How far the RTC is ahead of the system clock (negative: behind)")
	rtcGain    = gauge("rtc", "gain_rate_ppms", "How fast the RTC gains time (negative: loses), in ppm")
	rtcRefTime = gauge("rtc", "reference_timestamp_seconds", "When the RTC was last measured")
	rtcSamples = gauge("rtc", "samples", "RTC measurements kept")
	rtcRuns    = gauge("rtc", "runs", "Runs of residuals with the same sign")
	rtcSpan    = gauge("rtc", "span_seconds", "Time between the oldest and newest RTC measurement")

	serverNTP         = counter("serverstats", "ntp_packets_received_total", "The number of valid NTP requests received by the server.")
	serverNKE         = counter("serverstats", "nts_ke_connections_accepted_total", "The number of NTS-KE connections accepted by the server.")
	serverCmd         = counter("serverstats", "command_packets_received_total", "The number of command requests received by the server.")
	serverNTPDrops    = counter("serverstats", "ntp_packets_dropped_total", "The number of NTP requests dropped by the server due to rate limiting.")
	serverNKEDrops    = counter("serverstats", "nts_ke_connections_dropped_total", "The number of NTS-KE connections dropped by the server due to rate limiting.")
	serverCmdDrops    = counter("serverstats", "command_packets_dropped_total", "The number of command requests dropped by the server due to rate limiting.")
	serverLogDrops    = counter("serverstats", "client_log_records_dropped_total", "The number of client log records dropped by the server to limit the memory use.")
	serverAuth        = counter("serverstats", "authenticated_ntp_packets_total", "The number of received authenticated NTP requests.")
	serverInterleaved = counter("serverstats", "interleaved_ntp_packets_total", "The number of received interleaved NTP requests.")
	serverTimestamps  = gauge("serverstats", "ntp_timestamps_held", "The number of pairs of receive and transmit timestamps that the server is currently holding in memory for clients using the interleaved mode.")
	serverSpan        = gauge("serverstats", "ntp_timestamp_span_seconds", "The interval covered by the currently held NTP timestamps.")
	serverDaemonRX    = counter("serverstats", "ntp_daemon_rx_timestamps_total", "The number of NTP responses which included a receive timestamp captured by the daemon.")
	serverDaemonTX    = counter("serverstats", "ntp_daemon_tx_timestamps_total", "The number of NTP responses which included a transmit timestamp captured by the daemon.")
	serverKernelRX    = counter("serverstats", "ntp_kernel_rx_timestamps_total", "The number of NTP responses which included a receive timestamp captured by the kernel.")
	serverKernelTX    = counter("serverstats", "ntp_kernel_tx_timestamps_total", "The number of NTP responses (in the interleaved mode) which included a transmit timestamp captured by the kernel.")
	serverHWRX        = counter("serverstats", "ntp_hw_rx_timestamps_total", "The number of NTP responses which included a receive timestamp captured by the NIC.")
	serverHWTX        = counter("serverstats", "ntp_hw_tx_timestamps_total", "The number of NTP responses (in the interleaved mode) which included a transmit timestamp captured by the NIC.")

	ownRequests = own("chronyd_requests_total", "Requests second-hand sent to chronyd (each once, whatever its retries).")
	ownFailures = own("chronyd_request_failures_total", "Requests to chronyd that failed, by kind.", "kind")
	ownReads    = own("chronyd_reads_total", "Reports read from chronyd.")
	ownShared   = own("reads_shared_total", "Readers of a report that joined a read of chronyd already in flight.")
	ownReused   = own("reads_reused_total", "Readers of a report answered from the reuse window, without asking chronyd.")

	// The host's diagnosis (package diagnose), made from the same reads as the scrape.
	diagnosisState = ownGauge("diagnosis_state", "The host's diagnosis: 0 ok, 1 warning, 2 failing, 3 unknown.")
	finding        = ownGauge("finding", "1 for each finding of the host's diagnosis, by its stable id and severity (info, warning, failing).", "finding", "severity")
)

var all = []desc{up, collectorSuccess, trackingInfo, trackingLastOffset, trackingRefTime, trackingSystemTime, trackingRemote,
	trackingRMSOffset, trackingRootDelay, trackingRootDispersion, trackingFrequency, trackingResidual, trackingSkew,
	trackingUpdateInterval, trackingStratum, trackingLeap, trackingSynchronised, trackingMaxError,
	sourcesAge, sourcesReachRatio, sourcesReachSuccess, sourcesOffset, sourcesError, sourcesPoll, sourcesStateInfo, sourcesStratum,
	peerOffset, peerDelay, peerDispersion, peerResponseTime, peerJitterAsymmetry,
	statsSamples, statsRuns, statsSpan, statsStdDev, statsFreq, statsSkew, statsOffset, activitySources,
	rtcOffset, rtcGain, rtcRefTime, rtcSamples, rtcRuns, rtcSpan,
	serverNTP, serverNKE, serverCmd, serverNTPDrops, serverNKEDrops, serverCmdDrops, serverLogDrops, serverAuth, serverInterleaved,
	serverTimestamps, serverSpan, serverDaemonRX, serverDaemonTX, serverKernelRX, serverKernelTX, serverHWRX, serverHWTX,
}

// Host gathers one host's metrics. What chronyd said is turned into metric families again
// only when one of its reports was read anew: scrapes answered from the reuse window (ten
// Prometheus servers, or a scrape right after a page load) cost a comparison of read times,
// and second-hand's own counters, which change at every scrape, are gathered each time.
type Host struct {
	m    *monitor.Monitor
	own  *prometheus.Registry
	diag diagnose.Gatherer

	ownMu sync.Mutex // one gathering of own at a time: it carries the scrape's diagnosis
	dc    *diagnosisCollector

	mu   sync.Mutex
	snap *snapCollector // what reg gathers: set under mu
	reg  *prometheus.Registry
	key  [len(reports)]time.Time
	fams []*dto.MetricFamily
}

// NewHost gathers m's metrics, and its diagnosis made by g.
func NewHost(g diagnose.Gatherer, m *monitor.Monitor) *Host {
	h := &Host{m: m, diag: g, own: prometheus.NewRegistry(), reg: prometheus.NewRegistry(), snap: &snapCollector{host: m.Name()},
		dc: &diagnosisCollector{host: m.Name()}}
	h.own.MustRegister(ownCollector{m}, h.dc)
	h.reg.MustRegister(h.snap)
	return h
}

// Name is the host's name.
func (h *Host) Name() string { return h.m.Name() }

// Gather reads the host's reports through its monitor and returns its metric families, sorted
// by name.
func (h *Host) Gather() ([]*dto.MetricFamily, error) {
	snap := read(context.Background(), h.m)
	h.mu.Lock()
	if h.fams == nil || snap.at != h.key {
		h.snap.snap = snap
		fams, err := h.reg.Gather()
		h.snap.snap = nil
		if err != nil {
			h.mu.Unlock()
			return nil, err
		}
		h.key, h.fams = snap.at, fams
	}
	fams := h.fams
	h.mu.Unlock()
	// The diagnosis of the reads this scrape made (Since: the same tracking read, whatever the
	// reuse window), made at each scrape: it depends on the time as well as on the reports.
	d := h.diag.Diagnose(context.Background(), h.m, monitor.Want{Since: snap.at[0]})
	h.ownMu.Lock()
	h.dc.d = &d
	own, err := h.own.Gather()
	h.dc.d = nil
	h.ownMu.Unlock()
	// Every name of fams starts with chrony_ and every one of own with second_hand_: the
	// two lists joined are still sorted.
	return append(slices.Clip(fams), own...), err
}

// Hosts gathers several hosts, all at once: a silent chronyd delays a scrape by its own
// timeout only.
type Hosts []*Host

// NewHosts gathers the metrics of ms, with their diagnoses made by g.
func NewHosts(g diagnose.Gatherer, ms ...*monitor.Monitor) Hosts {
	hs := make(Hosts, len(ms))
	for i, m := range ms {
		hs[i] = NewHost(g, m)
	}
	return hs
}

// Gather gathers every host and merges their families.
func (hs Hosts) Gather() ([]*dto.MetricFamily, error) {
	each := make(prometheus.Gatherers, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Go(func() {
			fams, err := h.Gather()
			each[i] = prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return fams, err })
		})
	}
	wg.Wait()
	return each.Gather()
}

// reports are the reports a scrape reads, tracking first.
var reports = [...]string{"tracking", "sources", "sourcestats", "activity", "rtc", "serverstats", "ntpdata"}

// snapshot is what one scrape read of a host: each report, its error, and when it was read
// (at, in the order of reports; zero for a report not read).
type snapshot struct {
	at          [len(reports)]time.Time
	errs        [len(reports)]error
	tracking    chrony.Tracking
	sources     []chrony.Source
	sourceStats []chrony.SourceStats
	activity    chrony.Activity
	rtc         chrony.RTC
	serverStats chrony.ServerStats
	ntpData     map[netip.Addr]chrony.NTPData // of the NTP sources that answered
}

// read reads a host's reports: tracking first, and when chronyd answers it the others at
// once. chronyd not answering tracking is chrony_up 0, and then nothing else is read, so that
// a dead chronyd costs a scrape one timeout, not one per report.
func read(ctx context.Context, m *monitor.Monitor) *snapshot {
	s := &snapshot{}
	s.tracking, s.at[0], s.errs[0] = m.Tracking(ctx, monitor.Want{})
	if s.errs[0] != nil {
		return s
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		s.sources, s.at[1], s.errs[1] = m.Sources(ctx, monitor.Want{})
		if s.errs[1] == nil {
			s.ntpData, s.at[6], s.errs[6] = readNTPData(ctx, m, s.sources)
		} else {
			s.errs[6] = s.errs[1]
		}
	})
	wg.Go(func() { s.sourceStats, s.at[2], s.errs[2] = m.SourceStats(ctx, monitor.Want{}) })
	wg.Go(func() { s.activity, s.at[3], s.errs[3] = m.Activity(ctx, monitor.Want{}) })
	wg.Go(func() { s.rtc, s.at[4], s.errs[4] = m.RTC(ctx, monitor.Want{}) })
	s.serverStats, s.at[5], s.errs[5] = m.ServerStats(ctx, monitor.Want{})
	wg.Wait()
	return s
}

// readNTPData reads the ntpdata report of every NTP source in sources, all at once; at is the
// latest read. The first is asked alone: chronyd answers ntpdata only on its socket (or with
// opencommands), and over UDP it refuses every source alike, so one refusal is enough to
// know, and costs chronyd one request rather than one per source.
func readNTPData(ctx context.Context, m *monitor.Monitor, sources []chrony.Source) (map[netip.Addr]chrony.NTPData, time.Time, error) {
	var addrs []netip.Addr
	for _, s := range sources {
		if s.Mode != chrony.ModeRefClock && !s.Unresolved && s.Address.IsValid() {
			addrs = append(addrs, s.Address)
		}
	}
	out := map[netip.Addr]chrony.NTPData{}
	if len(addrs) == 0 {
		return out, time.Time{}, nil
	}
	first, at, err := m.NTPData(ctx, addrs[0], monitor.Want{})
	if err != nil {
		return out, at, err
	}
	out[addrs[0]] = first
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, a := range addrs[1:] {
		wg.Go(func() {
			d, dat, err := m.NTPData(ctx, a, monitor.Want{})
			mu.Lock()
			defer mu.Unlock()
			if dat.After(at) {
				at = dat
			}
			if err != nil {
				errs = append(errs, err) // that source only: a source removed since the list was read
				return
			}
			out[a] = d
		})
	}
	wg.Wait()
	return out, at, errors.Join(errs...)
}

// snapCollector sends the metrics of one snapshot.
type snapCollector struct {
	host string
	snap *snapshot
}

func (c *snapCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range all {
		ch <- d.d
	}
}

func (c *snapCollector) Collect(ch chan<- prometheus.Metric) {
	e, s := emitter{ch: ch, host: c.host}, c.snap
	if s.errs[0] != nil {
		e.send(up, 0)
		for _, name := range reports {
			e.send(collectorSuccess, 0, name)
		}
		return
	}
	e.send(up, 1)
	for i, name := range reports {
		e.send(collectorSuccess, b2f(s.errs[i] == nil), name)
	}
	e.tracking(s.tracking)
	if s.errs[1] == nil {
		e.sources(s.sources, s.ntpData)
	}
	if s.errs[2] == nil {
		e.sourceStats(s.sourceStats)
	}
	if s.errs[3] == nil {
		e.activity(s.activity)
	}
	if s.errs[4] == nil {
		e.rtc(s.rtc)
	}
	if s.errs[5] == nil {
		e.serverStats(s.serverStats)
	}
}

// emitter sends one host's metrics.
type emitter struct {
	ch   chan<- prometheus.Metric
	host string
}

func (e emitter) send(d desc, v float64, labels ...string) {
	e.ch <- prometheus.MustNewConstMetric(d.d, d.t, v, append([]string{e.host}, labels...)...)
}

func (e emitter) tracking(t chrony.Tracking) {
	address, name := t.RefAddr.String(), t.Reference()
	if !t.RefAddr.IsValid() {
		address = name
	}
	if t.RefID == chrony.RefIDLocal {
		address, name = "127.127.1.1", "LOCL"
	}
	e.send(trackingInfo, 1, address, name, chrony.RefIDHex(t.RefID))
	e.send(trackingLastOffset, t.LastOffsetSeconds)
	e.send(trackingRefTime, timestamp(t.RefTime))
	e.send(trackingSystemTime, t.CorrectionSeconds)
	remote := 1.0
	if t.RefID == chrony.RefIDLocal {
		remote = 0
	}
	e.send(trackingRemote, remote)
	e.send(trackingRMSOffset, t.RMSOffsetSeconds)
	e.send(trackingRootDelay, t.RootDelaySeconds)
	e.send(trackingRootDispersion, t.RootDispersionSeconds)
	e.send(trackingFrequency, t.FrequencyPPM)
	e.send(trackingResidual, t.ResidualFrequencyPPM)
	e.send(trackingSkew, t.SkewPPM)
	e.send(trackingUpdateInterval, t.UpdateIntervalSeconds)
	e.send(trackingStratum, float64(t.Stratum))
	e.send(trackingLeap, float64(t.Leap))
	e.send(trackingSynchronised, b2f(t.Synchronised()))
	e.send(trackingMaxError, t.MaxErrorSeconds())
}

// sourceLabels are a source's source_address and source_name: its address and its name as
// chronyd has it (not reverse DNS); a reference clock's letters for both.
func sourceLabels(name string, addr string) (string, string) {
	if addr == "" {
		return name, name
	}
	return addr, name
}

// stateNames are chrony_exporter's names of the selection states (those of the facebook/time
// library it uses).
var stateNames = map[chrony.SourceState]string{chrony.StateSelected: "sync", chrony.StateNonselectable: "unreach",
	chrony.StateFalseticker: "falseticker", chrony.StateJittery: "jittery", chrony.StateSelectable: "candidate", chrony.StateUnselected: "outlier"}

var modeNames = map[chrony.SourceMode]string{chrony.ModeServer: "client", chrony.ModePeer: "peer", chrony.ModeRefClock: "reference clock"}

func (e emitter) sources(sources []chrony.Source, ntp map[netip.Addr]chrony.NTPData) {
	for _, s := range sources {
		if s.Unresolved {
			continue // no address to name it by yet
		}
		addr := ""
		if s.Address.IsValid() {
			addr = s.Address.String()
		}
		a, n := sourceLabels(s.Name, addr)
		if s.LastSampleAgo != chrony.NeverSampled {
			e.send(sourcesAge, s.LastSampleAgo.Seconds(), a, n)
		}
		e.send(sourcesReachRatio, float64(bits.OnesCount8(s.Reach))/8, a, n)
		e.send(sourcesReachSuccess, float64(s.Reach&1), a, n)
		e.send(sourcesOffset, s.AdjustedOffsetSeconds, a, n)
		e.send(sourcesError, s.ErrorSeconds, a, n)
		e.send(sourcesPoll, math.Ldexp(1, s.PollLog2), a, n)
		e.send(sourcesStateInfo, 1, a, n, name(stateNames, s.State), name(modeNames, s.Mode))
		e.send(sourcesStratum, float64(s.Stratum), a, n)
		if d, ok := ntp[s.Address]; ok && s.Mode != chrony.ModeRefClock {
			e.send(peerOffset, d.OffsetSeconds, a, n)
			e.send(peerDelay, d.PeerDelaySeconds, a, n)
			e.send(peerDispersion, d.PeerDispersionSeconds, a, n)
			e.send(peerResponseTime, d.ResponseTimeSeconds, a, n)
			e.send(peerJitterAsymmetry, d.JitterAsymmetry, a, n)
		}
	}
}

func name[K comparable](names map[K]string, k K) string {
	if n, ok := names[k]; ok {
		return n
	}
	return "unknown"
}

func (e emitter) sourceStats(stats []chrony.SourceStats) {
	for _, s := range stats {
		addr := ""
		if s.Address.IsValid() {
			addr = s.Address.String()
		}
		if addr == "" && strings.HasPrefix(s.Name, "ID#") {
			continue // an unresolved source
		}
		a, n := sourceLabels(s.Name, addr)
		e.send(statsSamples, float64(s.Samples), a, n)
		e.send(statsRuns, float64(s.Runs), a, n)
		e.send(statsSpan, float64(s.SpanSeconds), a, n)
		e.send(statsStdDev, s.StdDevSeconds, a, n)
		e.send(statsFreq, s.FrequencyPPM, a, n)
		e.send(statsSkew, s.FrequencySkewPPM, a, n)
		e.send(statsOffset, s.OffsetSeconds, a, n)
	}
}

func (e emitter) activity(a chrony.Activity) {
	e.send(activitySources, float64(a.Online), "online")
	e.send(activitySources, float64(a.Offline), "offline")
	e.send(activitySources, float64(a.BurstOnline), "burst_online")
	e.send(activitySources, float64(a.BurstOffline), "burst_offline")
	e.send(activitySources, float64(a.Unresolved), "unresolved")
}

// rtc exports the RTC report when chronyd tracks the RTC; without rtcfile there is nothing.
func (e emitter) rtc(r chrony.RTC) {
	if !r.Enabled {
		return
	}
	e.send(rtcOffset, r.FastSeconds)
	e.send(rtcGain, r.GainRatePPM)
	e.send(rtcRefTime, timestamp(r.RefTime))
	e.send(rtcSamples, float64(r.Samples))
	e.send(rtcRuns, float64(r.Runs))
	e.send(rtcSpan, float64(r.SpanSeconds))
}

// serverStats exports what the reply's version has.
func (e emitter) serverStats(s chrony.ServerStats) {
	e.send(serverNTP, float64(s.NTPPackets))
	e.send(serverCmd, float64(s.CommandPackets))
	e.send(serverNTPDrops, float64(s.NTPDropped))
	e.send(serverCmdDrops, float64(s.CommandDropped))
	e.send(serverLogDrops, float64(s.ClientLogDropped))
	if s.Version >= 2 {
		e.send(serverNKE, float64(s.NTSKEAccepted))
		e.send(serverNKEDrops, float64(s.NTSKEDropped))
		e.send(serverAuth, float64(s.AuthenticatedNTP))
	}
	if s.Version >= 3 {
		e.send(serverInterleaved, float64(s.InterleavedNTP))
		e.send(serverTimestamps, float64(s.TimestampsHeld))
		e.send(serverSpan, float64(s.TimestampSpanSeconds))
	}
	if s.Version >= 4 {
		e.send(serverDaemonRX, float64(s.DaemonRX))
		e.send(serverDaemonTX, float64(s.DaemonTX))
		e.send(serverKernelRX, float64(s.KernelRX))
		e.send(serverKernelTX, float64(s.KernelTX))
		e.send(serverHWRX, float64(s.HardwareRX))
		e.send(serverHWTX, float64(s.HardwareTX))
	}
}

// ownCollector sends second-hand's counters of a host.
type ownCollector struct{ m *monitor.Monitor }

func (c ownCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []desc{ownRequests, ownFailures, ownReads, ownShared, ownReused} {
		ch <- d.d
	}
}

func (c ownCollector) Collect(ch chan<- prometheus.Metric) {
	e, m := emitter{ch: ch, host: c.m.Name()}, c.m
	cnt := m.Counts()
	e.send(ownRequests, float64(cnt.Requests))
	for _, k := range chrony.Kinds {
		e.send(ownFailures, float64(cnt.Failures[k]), strings.ReplaceAll(k.String(), " ", "_"))
	}
	st := m.Stats()
	e.send(ownReads, float64(st.Reads.Load()))
	e.send(ownShared, float64(st.Shared.Load()))
	e.send(ownReused, float64(st.Reused.Load()))
}

// diagnosisCollector sends a scrape's diagnosis of a host: its state, and a series per
// finding (one per id: the worst severity when a finding is made for several sources).
type diagnosisCollector struct {
	host string
	d    *diagnose.Diagnosis // set while own is gathered
}

func (c *diagnosisCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- diagnosisState.d
	ch <- finding.d
}

func (c *diagnosisCollector) Collect(ch chan<- prometheus.Metric) {
	if c.d == nil {
		return
	}
	e := emitter{ch: ch, host: c.host}
	e.send(diagnosisState, float64(c.d.State.Metric()))
	worst := map[string]diagnose.Severity{}
	var ids []string
	for _, f := range c.d.Findings {
		if s, ok := worst[f.ID]; !ok || f.Severity > s {
			if !ok {
				ids = append(ids, f.ID)
			}
			worst[f.ID] = f.Severity
		}
	}
	for _, id := range ids {
		e.send(finding, 1, id, worst[id].String())
	}
}

func timestamp(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// notificationsTotal counts what became of the notifications (package notify).
var notificationsTotal = prometheus.NewDesc("second_hand_notifications_total",
	"Notifications by result, for each notification URL: sent (a message reached it), failed (an attempt failed; the message is tried again), dropped (a message given up).",
	[]string{"result"}, nil)

// Notifications exports second_hand_notifications_total{result} from a notifier's counts.
func Notifications(counts func() notify.Counts) prometheus.Collector {
	return notificationsCollector(counts)
}

type notificationsCollector func() notify.Counts

func (c notificationsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- notificationsTotal }

func (c notificationsCollector) Collect(ch chan<- prometheus.Metric) {
	n := c()
	for _, r := range []struct {
		name string
		v    uint64
	}{{"sent", n.Sent}, {"failed", n.Failed}, {"dropped", n.Dropped}} {
		ch <- prometheus.MustNewConstMetric(notificationsTotal, prometheus.CounterValue, float64(r.v), r.name)
	}
}

// Of the time-series engine second-hand reads (--prometheus).
var (
	engineQueries  = prometheus.NewDesc("second_hand_engine_queries_total", "Queries second-hand sent to the time-series engine, by endpoint.", []string{"endpoint"}, nil)
	engineFailures = prometheus.NewDesc("second_hand_engine_query_failures_total", "Queries to the time-series engine that failed, by kind.", []string{"kind"}, nil)
)

// EngineCollector exports second-hand's counts of the queries it sent the engine: what a page
// load and a refresh cost it.
type EngineCollector struct{ E *engine.Engine }

func (c EngineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- engineQueries
	ch <- engineFailures
}

func (c EngineCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.E.Counts()
	ch <- prometheus.MustNewConstMetric(engineQueries, prometheus.CounterValue, float64(n.Query.Load()), "query")
	ch <- prometheus.MustNewConstMetric(engineQueries, prometheus.CounterValue, float64(n.QueryRange.Load()), "query_range")
	ch <- prometheus.MustNewConstMetric(engineQueries, prometheus.CounterValue, float64(n.Labels.Load()), "labels")
	for _, k := range engine.Kinds {
		ch <- prometheus.MustNewConstMetric(engineFailures, prometheus.CounterValue, float64(n.Failures[k].Load()), strings.ReplaceAll(k.String(), " ", "_"))
	}
}

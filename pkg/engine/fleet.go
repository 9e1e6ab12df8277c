package engine

import (
	"context"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/history"
)

// HostsSeen is how far back a host's chrony_up series make it one of the fleet: a host whose
// exporter stopped answering an hour ago is shown as such, not forgotten.
const HostsSeen = 24 * time.Hour

// Host is a host the engine has chrony_up series of, with its latest values.
type Host struct {
	Name  string // as second-hand names it: the label's value, made safe for a URL
	Label string // the host label's value
	// Job and Instance are the scrape the values come from (the latest, when several
	// scrape the host).
	Job, Instance string
	// Fresh is false when the host has no series within the engine's lookback (5 minutes
	// in Prometheus): its exporter or its scrape stopped.
	Fresh bool
	At    time.Time // when it was last scraped: chrony_up's timestamp
	Up    bool      // chronyd answered that scrape (chrony_up 1)

	Tracking chrony.Tracking // from the chrony_tracking_* series
	// HasLeap is set when the series carry chronyd's leap status (second-hand's do,
	// chrony_exporter's do not: the leap status is then derived from the reference).
	HasLeap bool
	// Sources and Reachable count the host's sources and those that answered at least one
	// of their last 8 polls.
	Sources, Reachable int
}

// Fleet is every host the engine has chrony_up series of, by name.
type Fleet struct {
	At     time.Time // when it was asked
	Hosts  []Host
	byName map[string]int
}

// Lookup finds a host by second-hand's name of it.
func (f *Fleet) Lookup(name string) (Host, bool) {
	if f == nil {
		return Host{}, false
	}
	i, ok := f.byName[name]
	if !ok {
		return Host{}, false
	}
	return f.Hosts[i], true
}

// FleetQueries is how many queries the fleet takes: the hosts with chrony_up series in the
// last 24 hours, and every host's latest values.
const FleetQueries = 2

// Fleet is every host with chrony_up series, with its latest values, shared by the viewers who
// ask within the reuse window; after it, the last answer is given at once while it is asked
// again (a thousand hosts' latest values take the engine a moment).
func (e *Engine) Fleet(ctx context.Context) (*Fleet, error) {
	return revalidated(ctx, e, "fleet", e.cfg.Reuse, e.fleet)
}

// overviewMetrics are the series the overview's rows need.
var overviewMetrics = []string{mUp, mInfo, mSystemTime, mRootDelay, mRootDisp, mRefTime, mStratum, mLeap, mSrcReach}

func (e *Engine) fleet(ctx context.Context) (*Fleet, error) {
	defer e.wide()()
	now := time.Now()
	var labels []string
	var lerr error
	var wg sync.WaitGroup
	wg.Go(func() { labels, lerr = e.labelValues(ctx, e.cfg.HostLabel, mUp, now.Add(-HostsSeen), now) })
	scraped, err := e.sampleTime(ctx, e.sel(mUp, ""), "")
	if err != nil {
		return nil, err
	}
	q := or(`{__name__=~"`+strings.Join(overviewMetrics, "|")+`",`+e.cfg.HostLabel+`!=""}`, tagged("scraped", scraped))
	vec, err := e.instant(ctx, q, now)
	wg.Wait()
	if lerr != nil {
		return nil, lerr
	}
	if err != nil {
		return nil, err
	}
	latest := e.latest(vec)
	f := &Fleet{At: now, byName: map[string]int{}}
	e.storeNames(labels)
	for _, name := range names(labels) {
		h := Host{Name: name[0], Label: name[1]}
		if r, ok := latest[name[1]]; ok {
			h = r.host(h)
		}
		f.byName[h.Name] = len(f.Hosts)
		f.Hosts = append(f.Hosts, h)
	}
	e.last.Store(f)
	return f, nil
}

// LastFleet is the fleet as last read, without asking the engine; nil before the first.
func (e *Engine) LastFleet() *Fleet { return e.last.Load() }

// Label is the host label's value of the host second-hand names name: from the hosts' names
// last read (with the fleet, or alone), else the name itself.
func (e *Engine) Label(name string) string {
	if label, ok := e.labelOf(name); ok {
		return label
	}
	return name
}

// labelOf is name's label value in the hosts' names last read.
func (e *Engine) labelOf(name string) (string, bool) {
	m := e.named.Load()
	if m == nil {
		return "", false
	}
	label, ok := (*m)[name]
	return label, ok
}

// storeNames keeps the hosts' names made from the label's values, for Label and HostNamed.
func (e *Engine) storeNames(labels []string) map[string]string {
	m := map[string]string{}
	for _, n := range names(labels) {
		m[n[0]] = n[1]
	}
	e.named.Store(&m)
	return m
}

// HostNamed is the host second-hand names name, and whether the engine has it: from the hosts'
// names last read (with the fleet, or alone), else from one label values query, shared like
// the fleet, so that a host's page and panels never wait for every host's latest values (the
// fleet of 1,000 hosts is a quarter of a second of the engine's).
func (e *Engine) HostNamed(ctx context.Context, name string) (Host, bool, error) {
	if label, ok := e.labelOf(name); ok {
		return Host{Name: name, Label: label}, true, nil
	}
	named, err := revalidated(ctx, e, "names", e.cfg.Reuse, func(ctx context.Context) (map[string]string, error) {
		now := time.Now()
		labels, err := e.labelValues(ctx, e.cfg.HostLabel, mUp, now.Add(-HostsSeen), now)
		if err != nil {
			return nil, err
		}
		return e.storeNames(labels), nil
	})
	if err != nil {
		return Host{}, false, err
	}
	label, ok := named[name]
	return Host{Name: name, Label: label}, ok, nil
}

// names makes second-hand's names of the hosts from the label's values: [name, value], in the
// order of the values. A name is the value with every character a URL or a host name would
// need escaped made "-" (an instance's "nas:9123" is "nas-9123"), and a number after it when
// two values come to the same name.
func names(values []string) [][2]string {
	sort.Strings(values)
	seen := map[string]bool{}
	var out [][2]string
	for _, v := range values {
		base := NameOf(v)
		name := base
		for i := 2; seen[name]; i++ {
			name = base + "-" + strconv.Itoa(i)
		}
		seen[name] = true
		out = append(out, [2]string{name, v})
	}
	return out
}

// NameOf is second-hand's name of a host label's value: letters, digits, '.', '-' and '_'
// kept, anything else made '-', at most 63 characters.
func NameOf(v string) string {
	b := []byte(v)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	if s := string(b); s != "" && s != "." && s != ".." {
		return s
	}
	return "host-" + strconv.Itoa(len(v))
}

// origin is one scrape's series of a host: a job and an instance.
type origin struct {
	job, instance string
	scraped       time.Time
	up            *float64
	values        map[string]float64 // by metric name, for the series with no labels of their own
	info          model.Metric       // chrony_tracking_info's labels
	series        []*model.Sample
}

// latest sorts the series of vec by host and scrape, and keeps each host's latest scrape.
func (e *Engine) latest(vec model.Vector) map[string]*origin {
	byHost := map[string]map[[2]string]*origin{}
	for _, s := range vec {
		host := string(s.Metric[model.LabelName(e.cfg.HostLabel)])
		key := [2]string{string(s.Metric["job"]), string(s.Metric["instance"])}
		if byHost[host] == nil {
			byHost[host] = map[[2]string]*origin{}
		}
		o := byHost[host][key]
		if o == nil {
			o = &origin{job: key[0], instance: key[1], values: map[string]float64{}}
			byHost[host][key] = o
		}
		v, ok := valid(s.Value)
		if !ok {
			continue
		}
		name := string(s.Metric[model.MetricNameLabel])
		switch {
		case s.Metric[tag] == "scraped":
			o.scraped = time.Unix(0, int64(v*1e9)).UTC()
		case name == mUp:
			o.up = &v
		case name == mInfo:
			o.info = s.Metric
		}
		if _, ok := s.Metric[lSourceAddress]; !ok && name != "" && s.Metric[tag] == "" {
			o.values[name] = v
		}
		o.series = append(o.series, s)
	}
	out := map[string]*origin{}
	for host, origins := range byHost {
		var best *origin
		for _, o := range origins {
			if best == nil || o.scraped.After(best.scraped) || o.scraped.Equal(best.scraped) && o.instance < best.instance {
				best = o
			}
		}
		out[host] = best
	}
	return out
}

// host fills h from the origin's series.
func (o *origin) host(h Host) Host {
	h.Job, h.Instance, h.At, h.Fresh = o.job, o.instance, o.scraped, true
	h.Up = o.up != nil && *o.up == 1
	if !h.Up {
		return h
	}
	t := &h.Tracking
	if o.info != nil {
		id, _ := strconv.ParseUint(string(o.info["tracking_refid"]), 16, 32)
		t.RefID = uint32(id)
		t.RefName = string(o.info["tracking_name"])
		if a, err := netip.ParseAddr(string(o.info["tracking_address"])); err == nil && t.RefID != chrony.RefIDLocal {
			t.RefAddr = a
		}
		if t.RefName == "" && t.RefAddr.IsValid() {
			t.RefName = t.RefAddr.String()
		}
	}
	v := o.values
	t.Stratum = int(v[mStratum])
	t.CorrectionSeconds = v[mSystemTime]
	t.LastOffsetSeconds = v[mLastOffset]
	t.RMSOffsetSeconds = v[mRMSOffset]
	t.FrequencyPPM = v[mFrequency]
	t.ResidualFrequencyPPM = v[mResidual]
	t.SkewPPM = v[mSkew]
	t.RootDelaySeconds = v[mRootDelay]
	t.RootDispersionSeconds = v[mRootDisp]
	t.UpdateIntervalSeconds = v[mUpdateInterval]
	if ref := v[mRefTime]; ref > 0 {
		t.RefTime = time.Unix(0, int64(ref*1e9)).UTC()
	}
	if leap, ok := v[mLeap]; ok {
		h.HasLeap, t.Leap = true, chrony.LeapStatus(leap)
	} else if t.RefID == 0 {
		t.Leap = chrony.LeapUnsynchronised
	}
	for _, s := range o.series {
		if string(s.Metric[model.MetricNameLabel]) == mSrcReach {
			h.Sources++
			if s.Value > 0 {
				h.Reachable++
			}
		}
	}
	return h
}

// HostReport is what the engine's series say of one host: its latest values, each source,
// the sources' statistics, what it serves, and what of it cannot be known from them.
type HostReport struct {
	Host
	SourceList []Source
	Stats      []chrony.SourceStats
	// Server is the server statistics when the series have them (second-hand's over the
	// socket, chrony_exporter's serverstats collector), Prev the same 5 minutes before, as
	// scraped at PrevAt (zero when there was no scrape then).
	Server, Prev  chrony.ServerStats
	HasServer     bool
	PrevAt        time.Time
	Activity      *chrony.Activity // second-hand's chrony_activity_sources
	RTC           *chrony.RTC      // second-hand's chrony_rtc_*, with rtcfile
	HasPeer       bool             // some source has the ntpdata series (chrony_sources_peer_*)
	HasMaxError   bool             // the series have second-hand's chrony_tracking_max_error_seconds
	HostQueryTime time.Duration    // how long the query took
}

// Source is one source as the series have it: chronyc's columns but the reachability
// register, of which the series carry how many of the last 8 polls were answered and whether
// the last one was.
type Source struct {
	Name, Address string // source_name and source_address; the same for a reference clock
	Mode          chrony.SourceMode
	State         chrony.SourceState
	ModeName      string // chrony_exporter's names, as the series have them
	StateName     string
	Stratum       int
	PollLog2      int
	Answered      int  // of the last 8 polls
	LastAnswered  bool // the last poll was answered
	Sampled       bool // it has a sample: the others are not measurements
	LastSampleAgo time.Duration
	OffsetSeconds float64 // the last sample's, adjusted (chronyc's first offset)
	ErrorSeconds  float64
	Peer          *Peer // from ntpdata, when the exporter reads it
}

// Peer is a source's last NTP packet, from chrony_sources_peer_*.
type Peer struct {
	OffsetSeconds, DelaySeconds, DispersionSeconds, ResponseTimeSeconds, JitterAsymmetry float64
}

// HostQueries is how many queries a host's page takes for its latest values (its panels share
// them).
const HostQueries = 1

// HostReport is everything the engine has of host now (by the host label's value), shared by
// the host page's panels and viewers within the reuse window.
func (e *Engine) HostReport(ctx context.Context, name, label string) (HostReport, error) {
	return shared(ctx, e, "host|"+label, e.cfg.Reuse, func(ctx context.Context) (HostReport, error) {
		return e.hostReport(ctx, name, label)
	})
}

// modeCodes and stateCodes are chronyd's by chrony_exporter's names (second-hand's /metrics
// uses the same).
var modeCodes = map[string]chrony.SourceMode{"client": chrony.ModeServer, "peer": chrony.ModePeer, "reference clock": chrony.ModeRefClock, "ref": chrony.ModeRefClock}

func (e *Engine) hostReport(ctx context.Context, name, label string) (HostReport, error) {
	now := time.Now()
	scraped, err := e.sampleTime(ctx, e.sel(mUp, label), "")
	if err != nil {
		return HostReport{}, err
	}
	prevAt, err := e.sampleTime(ctx, e.sel(mUp, label), " offset 5m")
	if err != nil {
		return HostReport{}, err
	}
	q := or(`{__name__=~"chrony_.+",`+e.cfg.HostLabel+"="+strconv.Quote(label)+"}",
		tagged("scraped", scraped), tagged("prev_at", prevAt),
		tagged("prev", `{__name__=~"chrony_serverstats_.+",`+e.cfg.HostLabel+"="+strconv.Quote(label)+"} offset 5m"))
	vec, err := e.instant(ctx, q, now)
	if err != nil {
		return HostReport{}, err
	}
	r := HostReport{Host: Host{Name: name, Label: label}, HostQueryTime: time.Since(now)}
	o, ok := e.latest(vec)[label]
	if !ok {
		return r, nil
	}
	r.Host = o.host(r.Host)
	if !r.Up {
		return r, nil
	}
	_, r.HasMaxError = o.values[mMaxError]
	type key struct{ addr, name string }
	sources := map[key]*Source{}
	stats := map[key]*chrony.SourceStats{}
	var order []key
	src := func(m model.Metric) *Source {
		k := key{string(m[lSourceAddress]), string(m[lSourceName])}
		s := sources[k]
		if s == nil {
			s = &Source{Name: k.name, Address: k.addr}
			sources[k] = s
			order = append(order, k)
		}
		return s
	}
	stat := func(m model.Metric) *chrony.SourceStats {
		k := key{string(m[lSourceAddress]), string(m[lSourceName])}
		s := stats[k]
		if s == nil {
			s = &chrony.SourceStats{Name: k.name}
			if a, err := netip.ParseAddr(k.addr); err == nil {
				s.Address = a
			}
			stats[k] = s
		}
		return s
	}
	server := map[string]float64{}
	prev := map[string]float64{}
	activity := map[string]float64{}
	rtc := map[string]float64{}
	for _, s := range o.series {
		v, ok := valid(s.Value)
		if !ok {
			continue
		}
		m := s.Metric
		metric := string(m[model.MetricNameLabel])
		switch {
		case m[tag] == "prev":
			prev[metric] = v
		case m[tag] == "prev_at":
			r.PrevAt = time.Unix(0, int64(v*1e9)).UTC()
		case m[tag] != "":
		case strings.HasPrefix(metric, "chrony_serverstats_"):
			server[metric] = v
		case metric == "chrony_activity_sources":
			activity[string(m["state"])] = v
		case strings.HasPrefix(metric, "chrony_rtc_"):
			rtc[metric] = v
		case strings.HasPrefix(metric, "chrony_sourcestats_"):
			st := stat(m)
			switch strings.TrimPrefix(metric, "chrony_sourcestats_") {
			case "samples":
				st.Samples = int(v)
			case "runs":
				st.Runs = int(v)
			case "span_seconds":
				st.SpanSeconds = int(v)
			case "stddev":
				st.StdDevSeconds = v
			case "frequency_ppms":
				st.FrequencyPPM = v
			case "frequency_skew_ppms":
				st.FrequencySkewPPM = v
			case "offset":
				st.OffsetSeconds = v
			}
		case strings.HasPrefix(metric, "chrony_sources_"):
			s := src(m)
			peer := func(f func(p *Peer)) {
				if s.Peer == nil {
					s.Peer = &Peer{}
					r.HasPeer = true
				}
				f(s.Peer)
			}
			switch metric {
			case mSrcState:
				s.StateName, s.ModeName = string(m[lSourceState]), string(m[lSourceMode])
				s.State = chrony.SourceState(stateCodes[s.StateName])
				s.Mode = modeCodes[s.ModeName]
			case mSrcStratum:
				s.Stratum = int(v)
			case mSrcPoll:
				if v > 0 {
					s.PollLog2 = int(math.Round(math.Log2(v)))
				}
			case mSrcReach:
				s.Answered = int(math.Round(v * 8))
			case mSrcSuccess:
				s.LastAnswered = v == 1
			case mSrcAge:
				if v < neverSampled {
					s.Sampled, s.LastSampleAgo = true, time.Duration(v*float64(time.Second))
				}
			case mSrcOffset:
				s.OffsetSeconds = v
			case mSrcError:
				s.ErrorSeconds = v
			case "chrony_sources_peer_offset_seconds":
				peer(func(p *Peer) { p.OffsetSeconds = v })
			case "chrony_sources_peer_delay_seconds":
				peer(func(p *Peer) { p.DelaySeconds = v })
			case "chrony_sources_peer_dispersion_seconds":
				peer(func(p *Peer) { p.DispersionSeconds = v })
			case "chrony_sources_peer_response_time_seconds":
				peer(func(p *Peer) { p.ResponseTimeSeconds = v })
			case "chrony_sources_peer_jitter_asymmetry_seconds":
				peer(func(p *Peer) { p.JitterAsymmetry = v })
			}
		}
	}
	for _, k := range order {
		s := *sources[k]
		if s.StateName == "" {
			// No chrony_sources_state_info: nothing says the source is used.
			s.State, s.StateName = chrony.StateNonselectable, "unknown"
		}
		r.SourceList = append(r.SourceList, s)
	}
	sort.SliceStable(r.SourceList, func(i, j int) bool { return r.SourceList[i].Name < r.SourceList[j].Name })
	for _, s := range stats {
		r.Stats = append(r.Stats, *s)
	}
	sort.Slice(r.Stats, func(i, j int) bool { return r.Stats[i].Name < r.Stats[j].Name })
	if len(server) > 0 {
		r.HasServer = true
		r.Server, r.Prev = serverStats(server), serverStats(prev)
	}
	if len(activity) > 0 {
		r.Activity = &chrony.Activity{Online: int(activity["online"]), Offline: int(activity["offline"]), BurstOnline: int(activity["burst_online"]),
			BurstOffline: int(activity["burst_offline"]), Unresolved: int(activity["unresolved"])}
	}
	if len(rtc) > 0 {
		r.RTC = &chrony.RTC{Enabled: true, Samples: int(rtc["chrony_rtc_samples"]), Runs: int(rtc["chrony_rtc_runs"]), SpanSeconds: int(rtc["chrony_rtc_span_seconds"]),
			FastSeconds: rtc["chrony_rtc_offset_seconds"], GainRatePPM: rtc["chrony_rtc_gain_rate_ppms"]}
		if ref := rtc["chrony_rtc_reference_timestamp_seconds"]; ref > 0 {
			r.RTC.RefTime = time.Unix(0, int64(ref*1e9)).UTC()
		}
	}
	return r, nil
}

// serverStats reads chrony_serverstats_* into chronyd's report; its version is the newest
// whose fields the series have.
func serverStats(v map[string]float64) chrony.ServerStats {
	u := func(name string) uint64 { return uint64(v["chrony_serverstats_"+name]) }
	has := func(name string) bool { _, ok := v["chrony_serverstats_"+name]; return ok }
	s := chrony.ServerStats{Version: 1, NTPPackets: u("ntp_packets_received_total"), NTPDropped: u("ntp_packets_dropped_total"),
		CommandPackets: u("command_packets_received_total"), CommandDropped: u("command_packets_dropped_total"),
		ClientLogDropped: u("client_log_records_dropped_total"), NTSKEAccepted: u("nts_ke_connections_accepted_total"),
		NTSKEDropped: u("nts_ke_connections_dropped_total"), AuthenticatedNTP: u("authenticated_ntp_packets_total"),
		InterleavedNTP: u("interleaved_ntp_packets_total"), TimestampsHeld: u("ntp_timestamps_held"), TimestampSpanSeconds: u("ntp_timestamp_span_seconds"),
		DaemonRX: u("ntp_daemon_rx_timestamps_total"), DaemonTX: u("ntp_daemon_tx_timestamps_total"), KernelRX: u("ntp_kernel_rx_timestamps_total"),
		KernelTX: u("ntp_kernel_tx_timestamps_total"), HardwareRX: u("ntp_hw_rx_timestamps_total"), HardwareTX: u("ntp_hw_tx_timestamps_total")}
	switch {
	case has("ntp_daemon_rx_timestamps_total"):
		s.Version = 4
	case has("interleaved_ntp_packets_total"):
		s.Version = 3
	case has("authenticated_ntp_packets_total"):
		s.Version = 2
	}
	return s
}

// Trend is host's sparkline: the last 24 hours of its system time offset, a quarter of an hour
// per column, reused for a minute.
func (h *History) Trend(ctx context.Context, host string, now time.Time) (history.Trend, bool) {
	trends, err := h.e.trends(ctx, h.label(host), now)
	if err != nil {
		return history.Trend{}, false
	}
	t, ok := trends[h.label(host)]
	return t, ok
}

// Trends are every host's sparklines, by the host label's value, in one query. Within a
// column, once they have been read, the last answer is given at once while they are read
// again behind it (as the fleet is): every load of the overview then has its sparklines,
// instead of one a minute waiting for the query and, when it is slower than a row may wait,
// coming without them.
func (e *Engine) Trends(ctx context.Context, now time.Time) (map[string]history.Trend, error) {
	return e.trends(ctx, "", now)
}

// TrendQueries is how many queries the overview's sparklines take, at most once a minute.
const TrendQueries = 1

func (e *Engine) trends(ctx context.Context, label string, now time.Time) (map[string]history.Trend, error) {
	col := 24 * time.Hour / history.TrendColumns
	to := now.Truncate(col).Add(col)
	from := to.Add(-24 * time.Hour)
	key := func(to time.Time) string { return "trend|" + label + "|" + strconv.FormatInt(to.UnixMilli(), 10) }
	answer := shared[map[string]history.Trend]
	if label == "" {
		answer = revalidated[map[string]history.Trend]
		// A new column: the last column's answer at once, this one's read behind it.
		if _, ok := e.answer(key(to)); !ok {
			if last, ok := e.answer(key(to.Add(-col))); ok && last.err == nil {
				go answer(context.WithoutCancel(ctx), e, key(to), TrendReuse, func(ctx context.Context) (map[string]history.Trend, error) {
					return e.readTrends(ctx, label, from, to, col)
				})
				v, _ := last.val.(map[string]history.Trend)
				return v, nil
			}
		}
	}
	return answer(ctx, e, key(to), TrendReuse, func(ctx context.Context) (map[string]history.Trend, error) {
		return e.readTrends(ctx, label, from, to, col)
	})
}

// readTrends asks the engine for the sparklines of label's host (every host's for "") from
// from to to, a column of col each.
func (e *Engine) readTrends(ctx context.Context, label string, from, to time.Time, col time.Duration) (map[string]history.Trend, error) {
	if label == "" {
		defer e.wide()()
	}
	w, sel := dur(col), e.sel(mSystemTime, label)
	m, err := e.ranged(ctx, or(tagged("min", "min "+e.by()+" (min_over_time("+sel+"["+w+"]))"), tagged("max", "max "+e.by()+" (max_over_time("+sel+"["+w+"]))")),
		v1.Range{Start: from.Add(col), End: to, Step: col})
	if err != nil {
		return nil, err
	}
	g := grid{from: from, col: col}
	lo, hi := map[string][]model.SamplePair{}, map[string][]model.SamplePair{}
	for _, s := range m {
		host := string(s.Metric[model.LabelName(e.cfg.HostLabel)])
		if s.Metric[tag] == "min" {
			lo[host] = s.Values
		} else {
			hi[host] = s.Values
		}
	}
	out := map[string]history.Trend{}
	for host, l := range lo {
		cols := make([]history.Col, history.TrendColumns)
		set := func(points []model.SamplePair, f func(c *history.Col, v float64)) {
			for _, p := range points {
				if v, ok := valid(p.Value); ok {
					i := min(max(int(p.Timestamp.Time().Sub(g.from)/g.col)-1, 0), history.TrendColumns-1)
					cols[i].Has = true
					f(&cols[i], -v) // the offset is the system time's opposite
				}
			}
		}
		set(l, func(c *history.Col, v float64) { c.Max = v })
		set(hi[host], func(c *history.Col, v float64) { c.Min = v })
		out[host] = history.TrendOf(cols)
	}
	return out, nil
}

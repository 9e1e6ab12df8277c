package history

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/store"
)

// Writer is where a Recorder writes: *store.Store, through the Service, which may not have
// one open.
type Writer interface {
	Append(ctx context.Context, host string, b store.Batch) error
}

// Recorder reads one host's chronyd on a schedule, through its Monitor (so that a recorder's
// read and a viewer's at the same moment are one read of chronyd), and writes what chronyd
// newly measured: a sample of the system clock each time, a clock update when the reference
// time moves, a source's point when its last sample or its state changes, and gaps while
// chronyd does not answer.
type Recorder struct {
	m    *monitor.Monitor
	w    Writer
	log  *slog.Logger
	want monitor.Want // the reads a sample takes: shared, none older than half a sample

	sampling sync.Mutex                   // one Sample at a time; held while chronyd is read
	lastRead time.Time                    // when the last tracking report recorded was read
	lastRef  time.Time                    // the last clock update recorded
	sources  map[store.Source]sourceState // each source as last recorded
	gap      *store.Gap                   // chronyd has not answered since gap.Start
	pending  store.Batch                  // read, not yet written (the store was failing)

	serverAsk  time.Time // when to ask for the server statistics again, after chronyd refused them
	lastServer time.Time // when the last server statistics recorded were read

	mu        sync.Mutex // guards err, dropped and serverErr, for the page, which must not wait for chronyd
	err       error      // the last write's error
	dropped   int        // records given up while the store failed
	serverErr error      // why the server statistics are not recorded
}

// serverAskAgain is how long a recorder leaves the server statistics alone after chronyd
// refused them (over UDP chronyd answers them only with opencommands, 4.7 and later): one
// request an hour rather than one a sample.
const serverAskAgain = time.Hour

type sourceState struct {
	sampleT  time.Time
	offset   float64
	errBound float64
	state    chrony.SourceState
	reach    uint8
	stratum  int
	poll     int
}

// maxPending bounds what a Recorder keeps while the store fails: about an hour of a host with
// a few sources sampled every 16 s.
const maxPending = 2000

// NewRecorder records m's chronyd into w, a sample every every.
func NewRecorder(m *monitor.Monitor, w Writer, every time.Duration, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{m: m, w: w, log: log, want: monitor.Want{MaxAge: every / 2}, sources: map[store.Source]sourceState{}}
}

// Run samples every interval, on the interval's grid of the wall clock, until ctx ends. A
// read of chronyd finished since the grid's moment is this sample's, whoever made it: the
// background diagnosis (package alerting) reads on the same moments, and the two share one read
// even with no reuse window.
func (r *Recorder) Run(ctx context.Context, every time.Duration) {
	for {
		now := time.Now()
		next := now.Truncate(every).Add(every)
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Sub(now)):
		}
		r.sample(ctx, next)
	}
}

// ServerFailing is why the host's server statistics are not recorded; nil when they are.
func (r *Recorder) ServerFailing() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.serverErr
}

// Failing reports how many records were given up while the store failed, and the last
// write's error (nil when the last write succeeded).
func (r *Recorder) Failing() (dropped int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped, r.err
}

// Sample reads chronyd once and writes what is new.
func (r *Recorder) Sample(ctx context.Context) { r.sample(ctx, time.Time{}) }

// sample is Sample at the grid's moment tick (zero: none).
func (r *Recorder) sample(ctx context.Context, tick time.Time) {
	r.sampling.Lock()
	defer r.sampling.Unlock()
	var b store.Batch
	want := r.want
	want.Since = tick
	t, at, err := r.m.Tracking(ctx, want)
	if err != nil {
		if errors.Is(err, monitor.ErrStillReading) || ctx.Err() != nil {
			return
		}
		if r.gap == nil {
			r.gap = &store.Gap{Start: at, Error: err.Error()}
		}
		r.gap.End, r.gap.Error = at, err.Error()
		b.Gaps = append(b.Gaps, *r.gap)
		r.write(ctx, b)
		return
	}
	if r.gap == nil {
		// chronyd was silent between two samples, as another reader saw it (a restart quicker
		// than a sample interval): a gap all the same.
		if o, ok := r.m.TrackingOutage(); ok && !o.Open && !r.lastRead.IsZero() && o.From.After(r.lastRead) && !o.To.After(at) {
			r.gap = &store.Gap{Start: o.From, Error: o.Err.Error()}
		}
	}
	if r.gap != nil {
		r.gap.End = at
		b.Gaps = append(b.Gaps, *r.gap)
		r.gap = nil
	}
	if !at.After(r.lastRead) {
		r.write(ctx, b) // the same read as last time (from the reuse window): nothing new
		return
	}
	r.lastRead = at
	b.Samples = append(b.Samples, sampleOf(t, at))
	if !t.RefTime.IsZero() && !t.RefTime.Equal(r.lastRef) {
		b.Updates = append(b.Updates, updateOf(t))
		r.lastRef = t.RefTime
	}
	sources, sat, serr := r.m.Sources(ctx, want)
	stats, _, sterr := r.m.SourceStats(ctx, want)
	if serr == nil {
		byKey := map[store.Source]chrony.SourceStats{}
		if sterr == nil {
			for _, st := range stats {
				byKey[store.Source{Name: st.Name, Address: addr(st.Address)}] = st
			}
		}
		for _, s := range sources {
			key := store.Source{Name: s.Name, Address: addr(s.Address)}
			st, hasStats := byKey[key]
			if p, ok := r.sourcePoint(key, s, st, hasStats, sat); ok {
				b.Sources = append(b.Sources, store.SourceRecord{Source: key, Point: p})
			}
		}
	}
	if srv, ok := r.serverSample(ctx); ok {
		b.Servers = append(b.Servers, srv)
	}
	r.write(ctx, b)
}

// serverSample reads chronyd's server statistics, and its clients when it serves anyone: the
// counters as they are (rates are taken when the record is read), how many clients its log
// lists and how many of them sent a request since the last sample. ok is false when chronyd
// serves no one (its counters are zero: nothing to record) or refuses the report.
func (r *Recorder) serverSample(ctx context.Context) (store.ServerSample, bool) {
	if time.Now().Before(r.serverAsk) {
		return store.ServerSample{}, false
	}
	st, at, err := r.m.ServerStats(ctx, r.want)
	r.mu.Lock()
	r.serverErr = err
	r.mu.Unlock()
	if err != nil {
		var e *chrony.Error
		if errors.As(err, &e) && e.Kind == chrony.KindNotAuthorised {
			r.serverAsk = time.Now().Add(serverAskAgain)
		}
		return store.ServerSample{}, false
	}
	if st.NTPPackets == 0 && st.NTSKEAccepted == 0 {
		return store.ServerSample{}, false
	}
	out := store.ServerSample{T: at, Version: uint8(st.Version), NTP: st.NTPPackets, NTPDropped: st.NTPDropped, NTSKE: st.NTSKEAccepted,
		NTSKEDropped: st.NTSKEDropped, Authenticated: st.AuthenticatedNTP, Interleaved: st.InterleavedNTP, ClientLogDropped: st.ClientLogDropped,
		DaemonRX: st.DaemonRX, KernelRX: st.KernelRX, HwRX: st.HardwareRX, Clients: -1, Active: -1}
	if clients, _, err := r.m.Clients(ctx, r.want); err == nil {
		out.Clients = int32(len(clients))
		if !r.lastServer.IsZero() {
			since := at.Sub(r.lastServer)
			out.Active = 0
			for _, c := range clients {
				if c.LastNTPAgo != chrony.NeverSampled && c.LastNTPAgo <= since {
					out.Active++
				}
			}
		}
	}
	r.lastServer = at
	return out, true
}

func addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// sourcePoint is the source's point to record, if anything about it changed: a new sample
// (its offset or error bound, or the time of its last sample), its state, reach, stratum or
// polling interval.
func (r *Recorder) sourcePoint(key store.Source, s chrony.Source, st chrony.SourceStats, hasStats bool, at time.Time) (store.SourcePoint, bool) {
	prev, seen := r.sources[key]
	cur := sourceState{offset: s.MeasuredOffsetSeconds, errBound: s.ErrorSeconds, state: s.State, reach: s.Reach, stratum: s.Stratum, poll: s.PollLog2}
	newSample := false
	if s.LastSampleAgo != chrony.NeverSampled {
		// chronyd says how long ago in whole seconds: the sample's time is known to a second.
		cur.sampleT = at.Add(-s.LastSampleAgo).Truncate(time.Second)
		newSample = !seen || cur.offset != prev.offset || cur.errBound != prev.errBound || cur.sampleT.Sub(prev.sampleT) > 2*time.Second
		if !newSample {
			cur.sampleT = prev.sampleT
		}
	}
	changed := !seen || cur.state != prev.state || cur.reach != prev.reach || cur.stratum != prev.stratum || cur.poll != prev.poll
	if !newSample && !changed {
		return store.SourcePoint{}, false
	}
	r.sources[key] = cur
	p := store.SourcePoint{T: at, NewSample: newSample, HasStats: hasStats,
		OffsetSeconds: s.MeasuredOffsetSeconds, ErrorSeconds: s.ErrorSeconds, State: uint8(s.State), Reach: s.Reach,
		Stratum: s.Stratum, PollLog2: s.PollLog2}
	if newSample {
		p.T = cur.sampleT
	}
	if hasStats {
		p.Samples, p.Runs, p.SpanSeconds = st.Samples, st.Runs, st.SpanSeconds
		p.FrequencyPPM, p.SkewPPM, p.EstOffsetSeconds, p.StdDevSeconds = st.FrequencyPPM, st.FrequencySkewPPM, st.OffsetSeconds, st.StdDevSeconds
	}
	return p, true
}

// write writes b and whatever earlier writes could not; on failure it keeps them for the
// next, up to maxPending.
func (r *Recorder) write(ctx context.Context, b store.Batch) {
	p := &r.pending
	p.Samples = append(p.Samples, b.Samples...)
	p.Updates = append(p.Updates, b.Updates...)
	p.Sources = append(p.Sources, b.Sources...)
	p.Servers = append(p.Servers, b.Servers...)
	p.Gaps = append(p.Gaps, b.Gaps...)
	if p.Empty() {
		return
	}
	err := r.w.Append(ctx, r.m.Name(), *p)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		if r.err != nil {
			r.log.Info("history recording again", "host", r.m.Name())
		}
		r.pending, r.err = store.Batch{}, nil
		return
	}
	if r.err == nil || r.err.Error() != err.Error() {
		r.log.Error("history: cannot record", "host", r.m.Name(), "error", err)
	}
	r.err = err
	for n := len(p.Samples) + len(p.Updates) + len(p.Sources) + len(p.Servers); n > maxPending; n-- {
		switch {
		case len(p.Servers) > 0:
			p.Servers = p.Servers[1:]
		case len(p.Sources) > 0:
			p.Sources = p.Sources[1:]
		case len(p.Samples) > 0:
			p.Samples = p.Samples[1:]
		default:
			p.Updates = p.Updates[1:]
		}
		r.dropped++
	}
}

func sampleOf(t chrony.Tracking, at time.Time) store.Sample {
	state := store.Synchronised
	switch {
	case !t.Synchronised():
		state = store.Unsynchronised
	case t.RefID == chrony.RefIDLocal:
		state = store.LocalClock
	}
	return store.Sample{T: at, OffsetSeconds: t.SystemTimeOffsetSeconds(), RootDelaySeconds: t.RootDelaySeconds,
		RootDispersionSeconds: t.RootDispersionSeconds, State: state}
}

func updateOf(t chrony.Tracking) store.Update {
	return store.Update{T: t.RefTime, OffsetSeconds: t.LastOffsetSeconds, FrequencyPPM: t.FrequencyPPM,
		ResidualFrequencyPPM: t.ResidualFrequencyPPM, SkewPPM: t.SkewPPM, RMSOffsetSeconds: t.RMSOffsetSeconds,
		RootDelaySeconds: t.RootDelaySeconds, RootDispersionSeconds: t.RootDispersionSeconds,
		UpdateIntervalSeconds: t.UpdateIntervalSeconds, Stratum: t.Stratum, Leap: uint8(t.Leap), RefID: t.RefID, Reference: t.Reference()}
}

package diagnose

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/monitor"
)

// Gatherer makes diagnoses of monitored hosts: it reads their reports through each host's
// Monitor (the reads every page, the recorder and Prometheus share), adds what the history
// knows and the host's thresholds, and judges. It is the only part of this package that knows
// where reports come from.
type Gatherer struct {
	// History is what the record knows of a host; nil for none.
	History    func(host string) History
	Thresholds HostThresholds
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Memo, when set, keeps each host's last diagnosis, so that many viewers between two reads
	// cost one judgement a second.
	Memo *Memo
	// OnlyShared makes Gather ask chronyd for what the history recorder reads at each sample
	// alone (tracking, sources and source statistics, as its Want says, so that it shares the
	// recorder's reads) and take the other reports from what others (pages, Prometheus) read
	// within SlowReports, leaving them unread otherwise: a diagnosis in the background then
	// costs chronyd nothing more than recording does.
	OnlyShared bool
}

// SlowReports is how old a report a diagnosis accepts besides tracking and sources: the
// source statistics, activity and server statistics (which the host page's panels read at
// every refresh anyway), and the reports chronyd gives only on its socket (selectdata,
// ntpdata, authdata), which nothing else reads at every refresh. So a diagnosis costs chronyd
// at most one read of each of them a minute, whoever asks and however often, and the overview's
// rows cost what they did before: tracking and sources at each refresh.
const SlowReports = time.Minute

func (g Gatherer) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// Diagnose reads what m's diagnosis needs (with w for tracking and sources) and judges it.
func (g Gatherer) Diagnose(ctx context.Context, m *monitor.Monitor, w monitor.Want) Diagnosis {
	return g.Judge(g.Gather(ctx, m, w))
}

// Judge is Diagnose(in), through the memo when there is one.
func (g Gatherer) Judge(in Input) Diagnosis {
	if g.Memo != nil {
		return g.Memo.Diagnose(in)
	}
	return Diagnose(in)
}

// Gather reads a host's reports for its diagnosis. Tracking comes first: a chronyd that does
// not answer it is not asked anything else, so that a dead chronyd costs one timeout. Then
// sources as w asks, the rest no older than SlowReports (or fresh, with w.Fresh); ntpdata and
// authdata only of the sources whose finding needs them.
// A read still going on when ctx ends is ErrNotYet.
func (g Gatherer) Gather(ctx context.Context, m *monitor.Monitor, w monitor.Want) Input {
	in := g.base(m)
	in.Tracking = report(m.Tracking(ctx, w))
	if in.Tracking.Err != nil {
		in.Unanswered = unanswered(m)
		return in
	}
	slow := monitor.Want{Fresh: w.Fresh, Since: in.Now.Add(-SlowReports), Cached: g.OnlyShared}
	if !w.Since.IsZero() && w.Since.Before(slow.Since) {
		slow.Since = w.Since
	}
	stats := slow
	if g.OnlyShared {
		stats = w // the recorder reads them at each sample
	}
	// One after another: they are almost always in the reuse window (a minute), where a read
	// costs a lock; when they are not, they are read once a minute for everyone.
	in.Sources = report(m.Sources(ctx, w))
	in.SourceStats = report(m.SourceStats(ctx, stats))
	in.Activity = report(m.Activity(ctx, slow))
	in.ServerStats = report(m.ServerStats(ctx, slow))
	if p, ok := m.PreviousServerStats(); ok && in.ServerStats.OK() {
		in.PrevServerStats = Read(p.Val, p.At)
	}
	in.Selection = report(m.Selection(ctx, slow))
	ntp, auth := in.Wanted()
	if len(ntp)+len(auth) == 0 {
		return in
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	in.NTP, in.Auth = map[netip.Addr]Report[chrony.NTPData]{}, map[netip.Addr]Report[chrony.AuthData]{}
	for _, a := range ntp {
		wg.Go(func() {
			r := report(m.NTPData(ctx, a, slow))
			mu.Lock()
			in.NTP[a] = r
			mu.Unlock()
		})
	}
	for _, a := range auth {
		wg.Go(func() {
			r := report(m.AuthData(ctx, a, slow))
			mu.Lock()
			in.Auth[a] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return in
}

// Last is the diagnosis of what m last read, without asking chronyd (for a page's first
// render); ok is false when nothing has been read yet.
func (g Gatherer) Last(m *monitor.Monitor) (Diagnosis, bool) {
	t, at, err, ok := m.LastTracking()
	if !ok {
		return Diagnosis{Host: m.Name(), State: Unknown}, false
	}
	in := g.base(m)
	in.Tracking = Report[chrony.Tracking]{Val: t, At: at, Err: err}
	if err != nil {
		in.Unanswered = unanswered(m)
	}
	if s, sat, serr, ok := m.LastSources(); ok {
		in.Sources = Report[[]chrony.Source]{Val: s, At: sat, Err: serr}
	}
	return Diagnose(in), true // not through the memo: it holds the whole diagnoses
}

// unanswered is when m's reads of tracking began to fail, if none has answered since.
func unanswered(m *monitor.Monitor) time.Time {
	if o, ok := m.TrackingOutage(); ok && o.Open {
		return o.From
	}
	return time.Time{}
}

func (g Gatherer) base(m *monitor.Monitor) Input {
	in := Input{Host: m.Name(), Endpoint: m.Endpoint(), Now: g.now(), Thresholds: g.Thresholds.For(m.Name())}
	if g.History != nil {
		in.History = g.History(m.Name())
	} else {
		in.History = History{Why: "history is off"}
	}
	return in
}

// report turns a monitor's answer into a Report; a report nobody read recently (Want.Cached) is
// not read; a read the caller stopped waiting for is
// ErrNotYet, unless the caller's budget for chronyd ended (chrony.WithBudget): then chronyd did
// not answer in time, which is a failure to say.
func report[T any](v T, at time.Time, err error) Report[T] {
	if errors.Is(err, monitor.ErrNotRead) {
		return Report[T]{} // not read: neither a finding nor unchecked
	}
	var b *chrony.BudgetError
	if errors.Is(err, monitor.ErrStillReading) && !errors.As(err, &b) {
		err = fmt.Errorf("%w (%v)", ErrNotYet, err)
	}
	return Report[T]{Val: v, At: at, Err: err}
}

// Wanted are the sources whose ntpdata and authdata a diagnosis needs, by what the other
// reports say: the last packet of an NTP source that answers but is not used, or whose
// samples stopped (which of chronyd's tests fail); the authentication of a source with NTS
// (its selection row says so) that is not used or does not answer (whether NTS-KE fails).
// None when chronyd refused the selection report as socket-only: it refuses these too.
func (in Input) Wanted() (ntp, auth []netip.Addr) {
	if !in.Sources.OK() || in.Selection.Err != nil && IsSocketOnly(in.Selection.Err) {
		return nil, nil
	}
	var rows []chrony.Selection
	if in.Selection.OK() {
		rows = in.Selection.Val
	}
	for i, s := range in.Sources.Val {
		if s.Mode == chrony.ModeRefClock || !s.Address.IsValid() {
			continue
		}
		f := fact{s: s}
		var sel *chrony.Selection
		if k := SelectionFor(rows, i, s.Address, s.Name); k >= 0 {
			sel = &rows[k]
			f.sel = sel
		}
		if s.Reach != 0 && (!f.used() || f.stale()) {
			ntp = append(ntp, s.Address)
		}
		if sel != nil && sel.Authenticated && (!f.used() || f.stale() || s.Reach == 0) {
			auth = append(auth, s.Address)
		}
	}
	return ntp, auth
}

package history

import (
	"context"
	"sync"
	"time"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/store"
)

// moments keeps, for one host, what its record knows of when things happened (the diagnosis'
// History): when synchronisation was lost, when each source last answered or became
// unreachable, when chronyd last restarted or stopped answering, and the last samples of the
// clock. It is read from the store once, then kept up to date with every batch written, so
// that a diagnosis reads it in microseconds rather than walking a month of records.
//
// Records are taken in time order within each series; one not newer than the last of its
// series is skipped, so that a batch seen twice (written while the store was being read)
// counts once.
type moments struct {
	mu      sync.Mutex
	seeded  bool
	pending []store.Batch // written while the store was being read
	snap    *diagnose.History
	version uint64 // batches taken, for the diagnoses' memo

	start      time.Time
	lastSample time.Time
	unsync     time.Time
	restart    time.Time // the last restart seen by a first clock update, or every source starting over
	lastUpdate *store.Update
	gaps       []gapVote // the gaps seen, newest last; the open one, if any, is the last
	sources    map[store.Source]*sourceMoments
	recent     []diagnose.Sample // a ring of the last maxRecent samples
	next       int
}

// maxRecent is how many samples a host's moments keep: an hour at the default 16 s.
const maxRecent = 225

type sourceMoments struct {
	diagnose.SourceHistory
	last       time.Time // the last point taken
	reach      uint8
	seenStatus bool
	statsT     time.Time // the last point with statistics, and its sample count
	samples    int
}

// gapVote is a gap of chronyd's answers, and whether each source's statistics started over
// across it: chronyd restarted when some did and none did not.
type gapVote struct {
	store.Gap
	seen, not int
}

func newMoments() *moments { return &moments{sources: map[store.Source]*sourceMoments{}} }

// history is the snapshot a diagnosis reads; it is shared, so that nobody may change it.
func (m *moments) history() diagnose.History {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.seeded {
		return diagnose.History{Why: "the history is still being read"}
	}
	if m.snap == nil {
		m.snap = m.build()
	}
	return *m.snap
}

func (m *moments) build() *diagnose.History {
	h := &diagnose.History{Known: true, Version: m.version, Start: m.start, Unsynchronised: m.unsync, Restart: m.lastRestart(),
		Sources: make(map[string]diagnose.SourceHistory, len(m.sources))}
	if h.Start.IsZero() {
		h.Known, h.Why = false, "the history has no record of this host yet"
	}
	if n := len(m.gaps); n > 0 && m.gaps[n-1].End.After(m.lastSample) {
		h.Silent = m.gaps[n-1].Start
	}
	for key, s := range m.sources {
		name := key.Name
		if key.Address != "" {
			name = key.Address
		}
		h.Sources[name] = s.SourceHistory
	}
	h.Recent = make([]diagnose.Sample, 0, len(m.recent))
	if len(m.recent) == maxRecent {
		h.Recent = append(h.Recent, m.recent[m.next:]...)
		h.Recent = append(h.Recent, m.recent[:m.next]...)
	} else {
		h.Recent = append(h.Recent, m.recent...)
	}
	return h
}

// apply takes a batch as written; before the store has been read, it is kept for after.
func (m *moments) apply(b store.Batch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.seeded {
		m.pending = append(m.pending, b)
		return
	}
	m.applyLocked(b)
}

func (m *moments) applyLocked(b store.Batch) {
	for _, g := range b.Gaps {
		m.gap(g)
	}
	for _, s := range b.Samples {
		m.sample(s)
	}
	for _, u := range b.Updates {
		m.update(u)
	}
	// A restart too quick for the recorder to see chronyd silent: every source that had kept
	// its statistics (chronyd keeps at least minsamples, 6, of a source once it has them)
	// starts over at once.
	reset, kept := time.Time{}, false
	for _, r := range b.Sources {
		prev := 0
		if s := m.sources[r.Source]; s != nil {
			prev = s.samples
		}
		m.source(r.Source, r.Point)
		switch p := r.Point; {
		case !p.HasStats || prev < minSamples:
		case p.Samples < minSamples && p.Samples < prev:
			if reset.IsZero() || p.T.Before(reset) {
				reset = p.T
			}
		default:
			kept = true
		}
	}
	if !reset.IsZero() && !kept && reset.After(m.restart) {
		m.restart = reset
	}
	m.snap = nil
	m.version++
}

// minSamples is chronyd's default minsamples: once a source has this many samples, chronyd
// keeps at least as many until the source is reset (or chronyd restarts).
const minSamples = 6

// seed reads what the store holds of host into m, then what was written meanwhile.
func (m *moments) seed(ctx context.Context, walk func(context.Context, store.Visitor) error) {
	fresh := newMoments()
	// Gaps first: whether chronyd restarted across one depends on the source points after it.
	err := walk(ctx, store.Visitor{Gap: fresh.gap})
	if err == nil {
		err = walk(ctx, store.Visitor{Sample: fresh.sample, Update: fresh.update, Source: fresh.source})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		m.start, m.lastSample, m.unsync, m.restart, m.lastUpdate = fresh.start, fresh.lastSample, fresh.unsync, fresh.restart, fresh.lastUpdate
		m.gaps, m.sources, m.recent, m.next = fresh.gaps, fresh.sources, fresh.recent, fresh.next
	}
	m.seeded = true
	m.version++
	for _, b := range m.pending {
		m.applyLocked(b)
	}
	m.pending, m.snap = nil, nil
}

// seen notes a record: the record begins at its first sample (or gap) of chronyd; an update
// or a source's sample bears chronyd's own, earlier, time.
func (m *moments) seen(t time.Time) {
	if m.start.IsZero() || t.Before(m.start) {
		m.start = t
	}
}

func (m *moments) gap(g store.Gap) {
	m.seen(g.Start)
	// The recorder writes an open gap again at each failed sample, with a later end.
	for i := range m.gaps {
		if m.gaps[i].Start.Equal(g.Start) {
			if g.End.After(m.gaps[i].End) {
				m.gaps[i].End, m.gaps[i].Error = g.End, g.Error
			}
			return
		}
	}
	m.gaps = append(m.gaps, gapVote{Gap: g})
	// Only the recent gaps matter for restarts and silence.
	if len(m.gaps) > 64 {
		m.gaps = m.gaps[len(m.gaps)-64:]
	}
}

func (m *moments) sample(s store.Sample) {
	if !s.T.After(m.lastSample) {
		return
	}
	m.seen(s.T)
	m.lastSample = s.T
	switch {
	case s.State != store.Unsynchronised:
		m.unsync = time.Time{}
	case m.unsync.IsZero():
		m.unsync = s.T
	}
	r := diagnose.Sample{T: s.T, OffsetSeconds: s.OffsetSeconds, MaxErrorSeconds: s.MaxErrorSeconds(), Synchronised: s.State != store.Unsynchronised}
	if len(m.recent) < maxRecent {
		m.recent = append(m.recent, r)
		return
	}
	m.recent[m.next] = r
	m.next = (m.next + 1) % maxRecent
}

// update: chronyd's first clock update after it starts has an update interval of 0.
func (m *moments) update(u store.Update) {
	prev := m.lastUpdate
	if prev != nil && !u.T.After(prev.T) {
		return
	}
	m.lastUpdate = &u
	if prev != nil && u.UpdateIntervalSeconds == 0 && prev.UpdateIntervalSeconds != 0 && u.T.After(m.restart) {
		m.restart = u.T
	}
}

func (m *moments) source(key store.Source, p store.SourcePoint) {
	s := m.sources[key]
	if s == nil {
		s = &sourceMoments{}
		s.FirstSeen = p.T
		m.sources[key] = s
	}
	if !s.last.IsZero() && !p.T.After(s.last) {
		return
	}
	s.last = p.T
	if p.NewSample && p.T.After(s.LastSample) {
		s.LastSample = p.T
	}
	if p.HasStats {
		m.restartVote(s, p)
		s.statsT, s.samples = p.T, p.Samples
	}
	if p.NoStatus {
		return
	}
	state := chrony.SourceState(p.State)
	switch {
	case !s.seenStatus:
		s.StateSince, s.State = p.T, state
	case state != s.State:
		s.StateSince, s.State = p.T, state
	}
	switch {
	case p.Reach == 0 && s.seenStatus && s.reach != 0:
		s.Unreachable = p.T
	case p.Reach != 0:
		s.Unreachable = time.Time{}
	}
	s.reach, s.seenStatus = p.Reach, true
}

// restartVote: a gap lies between a source's last statistics and these. If chronyd kept
// samples from before the gap (their span reaches back past its start), it did not restart;
// otherwise every sample it holds is newer than the gap, as after a restart. A sample's time is
// kept to the second (chronyd reports its age in seconds), hence a second of slack each way.
func (m *moments) restartVote(s *sourceMoments, p store.SourcePoint) {
	if s.statsT.IsZero() || s.samples < 2 {
		return
	}
	for i := range m.gaps {
		g := &m.gaps[i]
		// The gap lies between the two: the previous statistics from before it, these from
		// after chronyd answered again (a sample taken after the gap began is after its end,
		// whatever its time).
		if g.Start.Before(s.statsT) || !p.T.Add(time.Second).After(g.Start) {
			continue
		}
		if time.Duration(p.SpanSeconds)*time.Second > p.T.Sub(g.Start)+2*time.Second {
			g.not++
		} else {
			g.seen++
		}
	}
}

// lastRestart is the last restart seen: by a first clock update, or across a gap where some
// source's statistics started over and none did not.
func (m *moments) lastRestart() time.Time {
	out := m.restart
	for _, g := range m.gaps {
		if g.not == 0 && g.seen > 0 && g.End.After(out) {
			out = g.End
		}
	}
	return out
}

package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	g "maragu.dev/gomponents"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/panels"
)

// hostPanels are the panels of a host's page, in the page's order: the diagnosis, what happened
// lately, tracking, sources, then the rest. Each row is a panel's identity (panels.Spec: its id,
// title and the query parameters its fragment takes), how its data is read, and the function
// that draws it. The page draws their loading shells in this order, the route panels/:panel
// serves each by its id with its query parameters, and nothing else lists them: a new panel is
// a row here, with its Spec and its drawing in package panels.
var hostPanels = []hostPanel{
	panelOf(panels.DiagnosisSpec, readDiagnosis, panels.DiagnosisPanel),
	panelOf(panels.EventsSpec, readEvents, panels.EventsPanel),
	panelOf(panels.TrackingSpec, readTracking, panels.TrackingPanel),
	panelOf(panels.SourcesSpec, readSources, panels.SourcesPanel),
	panelOf(panels.SourceStatsSpec, readReport((*monitor.Monitor).SourceStats, (*monitor.Monitor).GoodSourceStats), panels.SourceStatsPanel),
	panelOf(panels.ServerSpec, readServer, panels.ServerPanel),
	panelOf(panels.RTCSpec, readReport((*monitor.Monitor).RTC, (*monitor.Monitor).GoodRTC), panels.RTCPanel),
	panelOf(panels.HistorySpec, readHistory, panels.HistoryPanel),
}

// hostPanelByID is the table by the id in the panels' URLs.
var hostPanelByID = func() map[string]hostPanel {
	m := map[string]hostPanel{}
	for _, p := range hostPanels {
		if _, dup := m[p.ID]; dup {
			panic("server: two host panels have the id " + p.ID)
		}
		m[p.ID] = p
	}
	return m
}()

// hostPanel is one row of the table: a panel's identity, its fragment (read, then drawn), and
// its loading shell, drawn once.
type hostPanel struct {
	panels.Spec
	// fragment reads the panel's data and draws it, or its error; the error is chronyd's, for
	// the log.
	fragment func(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time, next time.Duration) (g.Node, error)
	shell    g.Node
}

// A reader reads a panel's data for its fragment: the result (its data, when it was read, its
// error) and the error to log, nil when what failed is not chronyd's fault.
type reader[T any] func(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time) (panels.Result[T], error)

// panelOf is a row of the table: spec, how its data is read, how it is drawn.
func panelOf[T any](spec panels.Spec, read reader[T], draw func(panels.Result[T]) g.Node) hostPanel {
	return hostPanel{Spec: spec,
		fragment: func(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time, next time.Duration) (g.Node, error) {
			r, err := read(ctx, s, m, q, now)
			r.Now, r.Next, r.Endpoint = now, next, m.Endpoint()
			return draw(r), err
		},
		shell: staticNode(draw(panels.Result[T]{Loading: true})),
	}
}

// staticNode renders a tree once: the loading shells are the same for every page.
func staticNode(n g.Node) g.Node {
	var b strings.Builder
	if err := n.Render(&b); err != nil {
		panic("server: rendering a loading shell: " + err.Error())
	}
	return g.Raw(b.String())
}

// readReport reads one of chronyd's reports; while chronyd does not answer, its last good read
// stands in, marked stale.
func readReport[T any](read func(*monitor.Monitor, context.Context, monitor.Want) (T, time.Time, error),
	good func(*monitor.Monitor) (monitor.Stamped[T], bool)) reader[T] {
	return func(ctx context.Context, _ *Server, m *monitor.Monitor, q query, _ time.Time) (panels.Result[T], error) {
		data, at, err := read(m, ctx, monitor.Want{Fresh: q.fresh})
		return stale(panels.Result[T]{Data: data, Err: err, At: at}, func() (monitor.Stamped[T], bool) { return good(m) }), err
	}
}

// stale puts a report's last good read in a failed result when the failure is chronyd not
// answering at all: the panel shows it greyed, with its age. A report that fails for its own
// reason (chronyd refuses it) keeps its error.
func stale[T any](r panels.Result[T], good func() (monitor.Stamped[T], bool)) panels.Result[T] {
	if r.Err == nil || !diagnose.NotAnswering(r.Err) {
		return r
	}
	if g, ok := good(); ok {
		r.Data, r.At, r.Stale = g.Val, g.At, true
	}
	return r
}

// readTracking is the tracking report, with the host's recent offsets when there is history and
// its diagnosis (the status box judges as the diagnosis does), from the reads the diagnosis
// block shares.
func readTracking(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time) (panels.Result[chrony.Tracking], error) {
	w := monitor.Want{Fresh: q.fresh}
	t, at, err := m.Tracking(ctx, w)
	r := stale(panels.Result[chrony.Tracking]{Data: t, Err: err, At: at, Thresholds: s.cfg.Thresholds.For(m.Name())}, m.GoodTracking)
	if err == nil {
		// The tracking just read, and the other reports as the diagnosis block reads them: no
		// second tracking request.
		r.Diagnosis = s.diag.Judge(s.diag.Gather(ctx, m, monitor.Want{Since: at}))
	}
	if sources, _, err, ok := m.LastSources(); ok && err == nil {
		r.RefPollSeconds = diagnose.RefPoll(r.Data, sources)
	}
	if trend, ok := s.historyOf(m.Name()).Trend(ctx, m.Name(), now); ok {
		r.Trend = &trend
	}
	return r, err
}

// readSources is the sources report, with chronyd's activity report for the panel's head.
func readSources(ctx context.Context, s *Server, m *monitor.Monitor, q query, _ time.Time) (panels.Result[[]chrony.Source], error) {
	w := monitor.Want{Fresh: q.fresh}
	var act chrony.Activity
	var actErr error
	var wg sync.WaitGroup
	wg.Go(func() { act, _, actErr = m.Activity(ctx, w) })
	data, at, err := m.Sources(ctx, w)
	wg.Wait()
	r := stale(panels.Result[[]chrony.Source]{Data: data, Err: err, At: at, History: s.history.Moments(m.Name())}, m.GoodSources)
	if actErr == nil {
		r.Activity = &act
	} else if a, ok := m.GoodActivity(); ok && r.Stale {
		r.Activity = &a.Val
	}
	return r, err
}

// readServer is the server statistics (and the read before, for rates) and the clients, each
// with its own error; while chronyd does not answer, the last good reads, stale.
func readServer(ctx context.Context, _ *Server, m *monitor.Monitor, q query, _ time.Time) (panels.Result[panels.ServerData], error) {
	w := monitor.Want{Fresh: q.fresh}
	var d panels.ServerData
	var wg sync.WaitGroup
	wg.Go(func() { d.Clients, _, d.ClientsErr = m.Clients(ctx, w) })
	var at time.Time
	d.Stats, at, d.StatsErr = m.ServerStats(ctx, w)
	wg.Wait()
	if p, ok := m.PreviousServerStats(); ok && d.StatsErr == nil {
		d.Prev, d.PrevAt, d.HavePrev = p.Val, p.At, true
	}
	err := d.StatsErr
	if diagnose.IsSocketOnly(err) {
		err = nil // a matter of access, said in the panel; not a failing chronyd
	}
	r := panels.Result[panels.ServerData]{Data: d, Err: err, At: at}
	if diagnose.NotAnswering(d.StatsErr) {
		if st, ok := m.GoodServerStats(); ok {
			r.Data = panels.ServerData{Stats: st.Val, ClientsErr: d.ClientsErr}
			r.At, r.Stale = st.At, true
			if c, ok := m.GoodClients(); ok {
				r.Data.Clients, r.Data.ClientsErr = c.Val, nil
			}
		}
	}
	return r, err
}

// readDiagnosis is the host page's first block: the host's diagnosis, from the reads the other
// panels share. chronyd not answering is its first finding, not the panel's error.
func readDiagnosis(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time) (panels.Result[panels.DiagnosisData], error) {
	in := s.diag.Gather(ctx, m, monitor.Want{Fresh: q.fresh})
	d := s.diag.Judge(in)
	// No diagnosis could be made, for a reason that is not chronyd's (second-hand shutting
	// down): the panel's own error.
	var err error
	if d.State == diagnose.Unknown && in.Tracking.Err != nil && !errors.Is(in.Tracking.Err, diagnose.ErrNotYet) {
		err = in.Tracking.Err
	}
	name := "chronyd"
	if s.fleet.Len() > 1 {
		name = m.Name()
	}
	at := d.At
	if at.IsZero() {
		at = now
	}
	return panels.Result[panels.DiagnosisData]{Data: panels.DiagnosisData{Diagnosis: d, TitleName: name}, Err: err, At: at}, err
}

// readEvents is what happened to the host, paired (an outage with its end) and marked as still
// going on where the record's moments say so; the latest few, or all with ?all=1.
func readEvents(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time) (panels.Result[panels.EventsData], error) {
	return panels.Result[panels.EventsData]{Data: eventsData(ctx, s.historyOf(m.Name()), m.Name(), q, now), At: now}, nil
}

// eventsData is what happened to host, from r, wherever its history is kept; paired, and open
// where the store's moments say it goes on (an engine's history has none: nothing is open).
func eventsData(ctx context.Context, r history.Reader, host string, q query, now time.Time) panels.EventsData {
	d := panels.EventsData{Status: r.Status(host), All: q.all}
	if d.Status.Off {
		return d
	}
	var l history.EventLog
	l, d.Err = r.Events(ctx, host, now)
	var moments diagnose.History
	if mr, ok := r.(interface{ Moments(string) diagnose.History }); ok {
		moments = mr.Moments(host)
	}
	d.Events, d.NotScannedBefore = history.Pair(l.Events, moments), l.NotScannedBefore
	return d
}

// eventsPanel lists what happened to host, from r (an engine host's page).
func eventsPanel(ctx context.Context, r history.Reader, host string, q query, now time.Time, next time.Duration) g.Node {
	return panels.EventsPanel(panels.Result[panels.EventsData]{Data: eventsData(ctx, r, host, q, now), At: now, Now: now, Next: next})
}

// readHistory is the host's record over the range asked (?range=), else the smallest that holds
// it, around a moment (?at=), to the usual or the full scale (?scale=full).
func readHistory(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time) (panels.Result[panels.HistoryData], error) {
	d := historyData(ctx, s.historyOf(m.Name()), m.Name(), q, now)
	if !d.Status.Off {
		// The noselect sources, from the selection report the diagnosis reads (once a minute):
		// none over UDP, where chronyd gives it only on its socket.
		if rows, _, err := m.Selection(ctx, monitor.Want{Since: now.Add(-diagnose.SlowReports)}); err == nil {
			d.NoSelect = map[string]bool{}
			for _, r := range rows {
				if r.Configured&chrony.OptNoSelect != 0 {
					d.NoSelect[diagnose.Key(r.Name, r.Address)] = true
				}
			}
		}
	}
	return panels.Result[panels.HistoryData]{Data: d, At: now}, nil
}

// historyData is host's history from r, wherever it is kept, over the range asked, else the
// smallest that holds the record where r knows it (the store; an engine's history opens on
// the default range).
func historyData(ctx context.Context, r history.Reader, host string, q query, now time.Time) panels.HistoryData {
	d := panels.HistoryData{Range: q.rng, Chosen: q.chosen, Full: q.full, Status: r.Status(host)}
	if !q.chosen {
		d.Range = history.DefaultRange
		if rr, ok := r.(interface {
			DefaultRange(string, time.Time) history.Range
		}); ok {
			d.Range = rr.DefaultRange(host, now)
		}
	}
	if !d.Status.Off {
		d.View, d.Err = r.View(ctx, host, d.Range, q.at, now)
	}
	return d
}

// historyPanel draws host's history from r (an engine host's page).
func historyPanel(ctx context.Context, r history.Reader, host string, q query, now time.Time, next time.Duration) g.Node {
	return panels.HistoryPanel(panels.Result[panels.HistoryData]{Data: historyData(ctx, r, host, q, now), At: now, Now: now, Next: next})
}

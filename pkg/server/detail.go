package server

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	g "maragu.dev/gomponents"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/panels"
)

// sourcesView is the sources panel, with chronyd's activity report in its head.
func sourcesView(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time, next time.Duration) (g.Node, error) {
	w := monitor.Want{Fresh: q.fresh}
	var act chrony.Activity
	var actErr error
	var wg sync.WaitGroup
	wg.Go(func() { act, _, actErr = m.Activity(ctx, w) })
	data, at, err := m.Sources(ctx, w)
	wg.Wait()
	r := panels.Result[[]chrony.Source]{Data: data, Err: err, At: at, Now: now, Endpoint: m.Endpoint(), Next: next,
		History: s.history.Moments(m.Name())}
	if actErr == nil {
		r.Activity = &act
	}
	return panels.SourcesPanel(r), err
}

// serverView is the server panel: the server statistics (and the read before, for rates) and
// the clients, each with its own error.
func serverView(ctx context.Context, _ *Server, m *monitor.Monitor, q query, now time.Time, next time.Duration) (g.Node, error) {
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
	return panels.ServerPanel(panels.Result[panels.ServerData]{Data: d, At: at, Now: now, Endpoint: m.Endpoint(), Next: next}), err
}

// handleSource serves a source's detail: hosts/NAME/sources/ADDRESS (sources/ADDRESS with one
// host), a reference clock by its ref ID. Like a panel it answers 200 with chronyd's errors
// inside; an unknown host is 404.
func (s *Server) handleSource(pick func(*gin.Context) (*monitor.Monitor, bool)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.isEngineHost(c) {
			s.handleEngineSource(c)
			return
		}
		m, q, ok := s.hostRequest(c, pick, "fresh", "in")
		if !ok {
			return
		}
		key, ok := panels.KeyOfSegment(c.Param("address"))
		if !ok {
			s.notFound(c, "There is no source at this address.")
			return
		}
		now := s.cfg.Now()
		d, at := readSource(c.Request.Context(), m, key, monitor.Want{Fresh: q.fresh})
		d.History = s.history.Moments(m.Name())
		if q.in == "" {
			q.in = "sources"
		}
		d.Panel, d.URL = q.in, panels.SourceURL(key)+"?in="+q.in
		s.noteResult(m.Name(), "source", d.SourcesErr)
		s.render(c, http.StatusOK, panels.SourceDetailFragment(panels.Result[panels.SourceDetail]{
			Data: d, At: at, Now: now, Endpoint: m.Endpoint(), Next: panels.NextRefresh(now, s.cfg.Refresh)}))
	}
}

// readSource gathers what chronyd says of the source key: its rows of sources and source
// statistics, the selection report (every source's, for the intervals), and for an NTP
// source its ntpdata and authdata, the three socket-only reports at once.
func readSource(ctx context.Context, m *monitor.Monitor, key string, w monitor.Want) (panels.SourceDetail, time.Time) {
	d := panels.SourceDetail{Key: key, URL: panels.SourceURL(key), Index: -1}
	sources, at, err := m.Sources(ctx, w)
	if err != nil {
		d.SourcesErr = err
		return d, at
	}
	index := -1
	for i, src := range sources {
		if !src.Unresolved && (src.Address.IsValid() && src.Address.String() == key || !src.Address.IsValid() && src.Name == key) {
			index = i
			break
		}
	}
	if index < 0 {
		return d, at
	}
	d.Found, d.Source = true, sources[index]
	addr := d.Source.Address
	var wg sync.WaitGroup
	wg.Go(func() {
		if stats, _, err := m.SourceStats(ctx, w); err == nil {
			for i := range stats {
				if stats[i].Address == addr && (addr.IsValid() || stats[i].Name == key) {
					d.Stats = &stats[i]
				}
			}
		}
	})
	wg.Go(func() {
		d.Selection, _, d.SelectionErr = m.Selection(ctx, w)
		if d.SelectionErr == nil {
			d.Index = diagnose.SelectionFor(d.Selection, index, addr, key)
		}
	})
	if d.Source.Mode != chrony.ModeRefClock && addr.IsValid() {
		wg.Go(func() {
			n, _, err := m.NTPData(ctx, addr, w)
			d.NTP, d.NTPErr = &n, err
		})
		wg.Go(func() {
			a, _, err := m.AuthData(ctx, addr, w)
			d.Auth, d.AuthErr = &a, err
		})
	}
	wg.Wait()
	return d, at
}

// reportAccess probes which of chronyd's reports this second-hand can read from m, through
// the reuse window: the dashboard's reports and the socket-only ones (ntpdata and authdata are
// asked of the first NTP source). Only chronyd saying no counts against a report: a timeout
// is the host's failure, which the panels show.
func reportAccess(ctx context.Context, m *monitor.Monitor) []panels.Access {
	w := monitor.Want{}
	sources, _, srcErr := m.Sources(ctx, w)
	var ntpAddr netip.Addr
	for _, src := range sources {
		if src.Mode != chrony.ModeRefClock && src.Address.IsValid() {
			ntpAddr = src.Address
			break
		}
	}
	probes := []struct {
		name string
		read func() error
	}{
		{"tracking", func() error { _, _, err := m.Tracking(ctx, w); return err }},
		{"sources", func() error { return srcErr }},
		{"sourcestats", func() error { _, _, err := m.SourceStats(ctx, w); return err }},
		{"rtcdata", func() error { _, _, err := m.RTC(ctx, w); return err }},
		{"activity", func() error { _, _, err := m.Activity(ctx, w); return err }},
		{"selectdata", func() error { _, _, err := m.Selection(ctx, w); return err }},
		{"ntpdata", func() error {
			if !ntpAddr.IsValid() {
				return errNoNTPSource
			}
			_, _, err := m.NTPData(ctx, ntpAddr, w)
			return err
		}},
		{"authdata", func() error {
			if !ntpAddr.IsValid() {
				return errNoNTPSource
			}
			_, _, err := m.AuthData(ctx, ntpAddr, w)
			return err
		}},
		{"serverstats", func() error { _, _, err := m.ServerStats(ctx, w); return err }},
		{"clients", func() error { _, _, err := m.Clients(ctx, w); return err }},
	}
	out := make([]panels.Access, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() {
			err := p.read()
			out[i] = panels.Access{Report: p.name, Readable: err == nil}
			switch {
			case err == errNoNTPSource:
				out[i].Readable, out[i].Unknown, out[i].Reason = false, true, "no NTP source to ask about"
			case err != nil:
				out[i].Reason = diagnose.Explain(err, m.Endpoint()).Title
				out[i].SocketOnly = diagnose.IsSocketOnly(err)
			}
		})
	}
	wg.Wait()
	return out
}

var errNoNTPSource = errors.New("no NTP source")

// handleAccess serves the page footer's note of which reports this second-hand can read.
func (s *Server) handleAccess(pick func(*gin.Context) (*monitor.Monitor, bool)) gin.HandlerFunc {
	return func(c *gin.Context) {
		m, _, ok := s.hostRequest(c, pick)
		if !ok {
			return
		}
		s.render(c, http.StatusOK, panels.AccessNote(m.Endpoint(), reportAccess(c.Request.Context(), m)))
	}
}

package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	g "maragu.dev/gomponents"

	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/engine"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/panels"
)

// The hosts of a time-series engine (--prometheus): the overview's panel of them, and the
// page of a host second-hand knows only from its series.

// historyOf is where host's history is read: this second-hand's own store when it records the
// host, else the engine, when there is one.
func (s *Server) historyOf(host string) history.Reader {
	if s.engine == nil {
		return s.history
	}
	if _, polled := s.fleet.Lookup(host); polled && !s.history.Status(host).Off {
		return s.history
	}
	return s.engineHistory
}

// handleEngineHosts serves the overview's panel of the engine's hosts: those second-hand
// does not read itself, worst first, from one set of queries shared by every viewer.
func (s *Server) handleEngineHosts() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.engine == nil {
			s.handleNotFound()(c)
			return
		}
		c.Header("Cache-Control", "no-store")
		if _, msg := parseQuery(c.Request.URL.RawQuery, "fresh"); msg != "" {
			c.String(http.StatusBadRequest, msg+"\n")
			return
		}
		ctx, now := c.Request.Context(), s.cfg.Now()
		// The sparklines (one query for every host's last 24 hours, reused a minute) wait as
		// long as a row waits for its chronyd: the rows come without them meanwhile, and the
		// query goes on for the next refresh.
		var trends map[string]history.Trend
		var wg sync.WaitGroup
		wg.Go(func() {
			tctx, cancel := context.WithTimeout(ctx, s.cfg.RowWait)
			defer cancel()
			trends, _ = s.engine.Trends(tctx, now)
		})
		f, err := s.engine.Fleet(ctx)
		wg.Wait()
		d := panels.EngineFleetData{URL: s.engine.URL(), HostLabel: s.engine.HostLabel()}
		at := now
		if err == nil {
			at = f.At
			for _, h := range f.Hosts {
				if _, polled := s.fleet.Lookup(h.Name); polled {
					d.Polled++
					continue
				}
				th := s.cfg.Thresholds.For(h.Name)
				row := panels.HostSummary{Host: h.Name, Endpoint: s.engine.URL(), Tracking: h.Tracking, TrackingErr: h.Err(s.engine.URL()),
					At: h.At, Now: now, InPanel: true, Counted: true, Reachable: h.Reachable, Total: h.Sources,
					Diagnosis: diagnose.Diagnose(h.Input(s.engine.URL(), now, th)), Thresholds: th}
				if t, ok := trends[h.Label]; ok {
					row.Trend = &t
				}
				d.Rows = append(d.Rows, row)
			}
			panels.SortSummaries(d.Rows)
		}
		s.noteResult("engine", "hosts", err)
		s.renderLarge(c, http.StatusOK, panels.EngineFleetPanel(panels.Result[panels.EngineFleetData]{Data: d, Err: err, At: at, Now: now,
			Next: panels.NextRefresh(now, s.cfg.Refresh)}))
	}
}

// engineHost is the host the URL names when second-hand knows it only from the engine. When
// the engine does not answer, a host it may have gets its page, whose panels say why.
func (s *Server) engineHost(c *gin.Context) (engine.Host, bool) {
	name := c.Param("host")
	if s.engine == nil || name == "" || monitor.ValidateName(name) != nil {
		return engine.Host{}, false
	}
	if _, polled := s.fleet.Lookup(name); polled {
		return engine.Host{}, false
	}
	h, ok, err := s.engine.HostNamed(c.Request.Context(), name)
	if err != nil {
		// The engine failed: the panels say so, each in its own.
		return engine.Host{Name: name, Label: name}, true
	}
	return h, ok
}

// isEngineHost reports whether the URL names a host known only from the engine.
func (s *Server) isEngineHost(c *gin.Context) bool {
	if s.engine == nil || c.Param("host") == "" {
		return false
	}
	_, polled := s.fleet.Lookup(c.Param("host"))
	return !polled
}

func (s *Server) renderEngineHostPage(c *gin.Context) {
	h, ok := s.engineHost(c)
	if !ok {
		s.unknownHost(c)
		return
	}
	c.Header("Cache-Control", "no-cache")
	var hosts []string
	if s.fleet.Len() > 0 {
		hosts = s.fleet.Names()
	}
	s.render(c, http.StatusOK, panels.EngineHostPage(panels.EngineHostPageProps{Chrome: s.chrome(c.Request.URL.Path), Host: h,
		URL: s.engine.URL(), HostLabel: s.engine.HostLabel(), Hosts: hosts}))
}

// engineViews are the panels of an engine host's page, with the query parameters each takes.
var engineViews = map[string]struct {
	view  func(ctx context.Context, s *Server, h engine.Host, q query, now time.Time, next time.Duration) g.Node
	query []string
}{
	"diagnosis":   {engineDiagnosis, []string{"fresh"}},
	"tracking":    {engineTracking, []string{"fresh"}},
	"sources":     {engineSources, []string{"fresh"}},
	"sourcestats": {engineSourceStats, []string{"fresh"}},
	"server":      {engineServer, []string{"fresh"}},
	"history": {func(ctx context.Context, s *Server, h engine.Host, q query, now time.Time, next time.Duration) g.Node {
		return historyPanel(ctx, s.engineHistory, h.Name, q, now, next)
	}, panels.HistorySpec.Query},
	"events": {func(ctx context.Context, s *Server, h engine.Host, q query, now time.Time, next time.Duration) g.Node {
		return eventsPanel(ctx, s.engineHistory, h.Name, q, now, next)
	}, panels.EventsSpec.Query},
}

// handleEnginePanel serves a panel of an engine host's page; like every panel, 200 with the
// engine's failure inside.
func (s *Server) handleEnginePanel(c *gin.Context) {
	p, known := engineViews[c.Param("panel")]
	h, ok := s.engineHost(c)
	if !known || !ok {
		s.unknownHost(c)
		return
	}
	c.Header("Cache-Control", "no-store")
	q, msg := parseQuery(c.Request.URL.RawQuery, p.query...)
	if msg != "" {
		c.String(http.StatusBadRequest, msg+"\n")
		return
	}
	now := s.cfg.Now()
	n := p.view(c.Request.Context(), s, h, q, now, panels.NextRefresh(now, s.cfg.Refresh))
	s.render(c, http.StatusOK, g.Group{n, panels.EndpointUpdate(s.engine.URL())})
}

// report is what the engine has of h now, or why there is nothing: the engine failed, or
// chronyd did not answer the last scrape.
func (s *Server) report(ctx context.Context, h engine.Host) (engine.HostReport, error) {
	r, err := s.engine.HostReport(ctx, h.Name, h.Label)
	if err == nil {
		err = r.Host.Err(s.engine.URL())
	}
	s.noteResult(h.Name, "engine", err)
	return r, err
}

// engineDiagnosis is the first block of an engine host's page: its diagnosis from what the
// series carry (the same rules as for a host read directly), with what they do not carry
// listed as not checked, and since when from the series' record.
func engineDiagnosis(ctx context.Context, s *Server, h engine.Host, _ query, now time.Time, next time.Duration) g.Node {
	d, err := s.engineDiagnose(ctx, h, now)
	at := d.At
	if at.IsZero() {
		at = now
	}
	return panels.DiagnosisPanel(panels.Result[panels.DiagnosisData]{Data: panels.DiagnosisData{Diagnosis: d, TitleName: h.Name},
		Err: err, At: at, Now: now, Endpoint: s.engine.URL(), Next: next})
}

// engineDiagnose judges an engine host; err is the engine's failure, when nothing could be
// read of it.
func (s *Server) engineDiagnose(ctx context.Context, h engine.Host, now time.Time) (diagnose.Diagnosis, error) {
	r, err := s.engine.HostReport(ctx, h.Name, h.Label)
	if err != nil {
		return diagnose.Diagnosis{Host: h.Name}, err
	}
	in := r.Input(s.engine.URL(), now, s.cfg.Thresholds.For(h.Name))
	in.History = s.engineHistory.Moments(ctx, h.Name, now)
	return diagnose.Diagnose(in), nil
}

func engineTracking(ctx context.Context, s *Server, h engine.Host, _ query, now time.Time, next time.Duration) g.Node {
	r, err := s.report(ctx, h)
	res := panels.Result[chrony.Tracking]{Data: r.Tracking, Err: err, At: r.At, Now: now, Endpoint: s.engine.URL(), Next: next}
	if trend, ok := s.engineHistory.Trend(ctx, h.Name, now); ok {
		res.Trend = &trend
	}
	return panels.TrackingPanel(res)
}

func engineSources(ctx context.Context, s *Server, h engine.Host, _ query, now time.Time, next time.Duration) g.Node {
	r, err := s.report(ctx, h)
	return panels.EngineSourcesPanel(panels.Result[engine.HostReport]{Data: r, Err: err, At: r.At, Now: now, Endpoint: s.engine.URL(), Next: next})
}

func engineSourceStats(ctx context.Context, s *Server, h engine.Host, _ query, now time.Time, next time.Duration) g.Node {
	r, err := s.report(ctx, h)
	return panels.SourceStatsPanel(panels.Result[[]chrony.SourceStats]{Data: r.Stats, Err: err, At: r.At, Now: now, Endpoint: s.engine.URL(), Next: next})
}

func engineServer(ctx context.Context, s *Server, h engine.Host, _ query, now time.Time, next time.Duration) g.Node {
	r, err := s.report(ctx, h)
	d := panels.ServerData{Stats: r.Server, StatsErr: err, Prev: r.Prev, PrevAt: r.PrevAt, HavePrev: !r.PrevAt.IsZero(),
		ClientsErr: &engine.NotExported{Report: "The list of chronyd's clients",
			Why: "It comes from chronyd's clients report, which no exporter exports; a second-hand that reads this chronyd on its socket shows it."}}
	if err == nil && !r.HasServer {
		d.StatsErr = &engine.NotExported{Report: "What chronyd serves",
			Why: "Its server statistics come from chronyd's socket only: second-hand exports them when it reads the socket, chrony_exporter with its serverstats collector."}
	}
	return panels.ServerPanel(panels.Result[panels.ServerData]{Data: d, At: r.At, Now: now, Endpoint: s.engine.URL(), Next: next})
}

// handleEngineSource answers a source's detail on an engine host's page: what cannot be known
// from the series, and how to see it.
func (s *Server) handleEngineSource(c *gin.Context) {
	h, ok := s.engineHost(c)
	if !ok {
		s.unknownHost(c)
		return
	}
	c.Header("Cache-Control", "no-store")
	q, msg := parseQuery(c.Request.URL.RawQuery, "fresh", "in")
	if msg != "" {
		c.String(http.StatusBadRequest, msg+"\n")
		return
	}
	if q.in == "" {
		q.in = "sources"
	}
	key, now := c.Param("address"), s.cfg.Now()
	d := panels.SourceDetail{Key: key, Panel: q.in, URL: panels.SourceURL(key) + "?in=" + q.in, Index: -1,
		SourcesErr: &engine.NotExported{Report: "Why " + key + " is or is not used",
			Why: "A source's detail comes from chronyd's selectdata, ntpdata and authdata reports, which chronyd gives only to a client that asks it; second-hand reads " +
				h.Name + " from the series at " + s.engine.URL() + ". To see it, add this host to a second-hand that reaches its chronyd."}}
	s.render(c, http.StatusOK, panels.SourceDetailFragment(panels.Result[panels.SourceDetail]{Data: d, At: now, Now: now,
		Endpoint: s.engine.URL(), Next: panels.NextRefresh(now, s.cfg.Refresh)}))
}

// handleEngineDiagnosisJSON is an engine host's diagnosis for scripts: 200 with it, or 503
// naming the engine's failure when nothing could be read.
func (s *Server) handleEngineDiagnosisJSON(c *gin.Context) {
	h, ok := s.engineHost(c)
	if !ok {
		s.unknownHost(c)
		return
	}
	c.Header("Cache-Control", "no-store")
	if _, msg := parseQuery(c.Request.URL.RawQuery, "fresh"); msg != "" {
		c.String(http.StatusBadRequest, msg+"\n")
		return
	}
	d, err := s.engineDiagnose(c.Request.Context(), h, s.cfg.Now())
	if err != nil {
		c.String(http.StatusServiceUnavailable, "%s\n", diagnose.Explain(err, s.engine.URL()).Title)
		return
	}
	b, err := d.JSON()
	if err != nil {
		c.String(http.StatusInternalServerError, "internal error: the diagnosis could not be written\n")
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", append(b, '\n'))
}

package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	g "maragu.dev/gomponents"

	"github.com/second-hand/second-hand/assets"
	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/panels"
)

// handleIndex is the root: the only host's page, or the overview of several.
func (s *Server) handleIndex() gin.HandlerFunc {
	return func(c *gin.Context) {
		if m, ok := s.fleet.Single(); ok && s.engine == nil {
			s.renderHostPage(c, m)
			return
		}
		c.Header("Cache-Control", "no-cache")
		rows := make([]panels.HostSummary, 0, s.fleet.Len())
		for _, m := range s.fleet.Monitors() {
			rows = append(rows, s.lastSummary(m))
		}
		// Worst first from what is known already (the page's title and icon too); the page's
		// script keeps the order as the rows load.
		panels.SortSummaries(rows)
		props := panels.OverviewProps{Chrome: s.chrome(c.Request.URL.Path), Rows: rows}
		props.Chrome.Notify = s.cfg.Notify != nil
		if s.engine != nil {
			props.Engine = s.engine.URL()
		}
		s.render(c, http.StatusOK, panels.Overview(props))
	}
}

// lastSummary is a host's row as last read, without asking chronyd: the page shows it at once
// and the row asks for its fragment as soon as the page loads.
func (s *Server) lastSummary(m *monitor.Monitor) panels.HostSummary {
	row := panels.HostSummary{Host: m.Name(), Endpoint: m.Endpoint(), InPage: true, Loading: true, Now: s.cfg.Now(),
		Thresholds: s.cfg.Thresholds.For(m.Name())}
	if t, at, err, ok := m.LastTracking(); ok {
		row.Loading, row.Tracking, row.At, row.TrackingErr = false, t, at, err
		row.Sources, _, row.SourcesErr, _ = m.LastSources()
		row.Diagnosis, _ = s.diag.Last(m)
	}
	return row
}

// rootHost is the host of the root's routes: the only one, when there is one.
func (s *Server) rootHost(*gin.Context) (*monitor.Monitor, bool) { return s.fleet.Single() }

// namedHost is the host named in the URL.
func (s *Server) namedHost(c *gin.Context) (*monitor.Monitor, bool) {
	return s.fleet.Lookup(c.Param("host"))
}

// handleHostRedirect sends hosts/NAME to hosts/NAME/, relatively, so that the page's relative
// links resolve under the host and a proxy's sub-path is kept.
func (s *Server) handleHostRedirect() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.isEngineHost(c) {
			if h, ok := s.engineHost(c); ok {
				c.Header("Location", h.Name+"/")
				c.Status(http.StatusMovedPermanently)
				return
			}
		}
		m, ok := s.namedHost(c)
		if !ok {
			s.unknownHost(c)
			return
		}
		c.Header("Location", m.Name()+"/")
		c.Status(http.StatusMovedPermanently)
	}
}

func (s *Server) handleHostPage() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.isEngineHost(c) {
			s.renderEngineHostPage(c)
			return
		}
		m, ok := s.namedHost(c)
		if !ok {
			s.unknownHost(c)
			return
		}
		s.renderHostPage(c, m)
	}
}

func (s *Server) renderHostPage(c *gin.Context, m *monitor.Monitor) {
	c.Header("Cache-Control", "no-cache")
	var hosts []string
	if s.fleet.Len() > 1 {
		hosts = s.fleet.Names()
	}
	chrome := s.chrome(c.Request.URL.Path)
	chrome.Notify = s.cfg.Notify != nil
	// The title and icon of what was last read, without asking chronyd; the diagnosis block
	// updates them when it arrives.
	if d, ok := s.diag.Last(m); ok {
		chrome.State = d.State
	}
	shells := make([]g.Node, len(hostPanels))
	for i, p := range hostPanels {
		shells[i] = p.shell
	}
	s.render(c, http.StatusOK, panels.HostPage(panels.HostPageProps{
		Chrome:   chrome,
		Host:     m.Name(),
		Hosts:    hosts,
		Endpoint: m.Endpoint(),
		Panels:   shells,
	}))
}

// hostRequest begins a handler of a host's data: the host the URL names (404 with the list of
// hosts when it names none), no caching, and the query, which may hold only the parameters
// allowed (400 saying which otherwise). ok is false when the answer has been given.
func (s *Server) hostRequest(c *gin.Context, pick func(*gin.Context) (*monitor.Monitor, bool), allowed ...string) (m *monitor.Monitor, q query, ok bool) {
	m, ok = pick(c)
	if !ok {
		s.unknownHost(c)
		return nil, q, false
	}
	c.Header("Cache-Control", "no-store")
	q, msg := parseQuery(c.Request.URL.RawQuery, allowed...)
	if msg != "" {
		c.String(http.StatusBadRequest, msg+"\n")
		return nil, q, false
	}
	return m, q, true
}

// handlePanel serves one panel's fragment: read the report, render it or its error. It never
// answers an error status because of chronyd: htmx swaps only 2xx responses, and the error
// belongs inside the panel.
func (s *Server) handlePanel(pick func(*gin.Context) (*monitor.Monitor, bool)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.isEngineHost(c) {
			s.handleEnginePanel(c)
			return
		}
		p, known := hostPanelByID[c.Param("panel")]
		if !known {
			s.unknownHost(c)
			return
		}
		m, q, ok := s.hostRequest(c, pick, p.Query...)
		if !ok {
			return
		}
		now := s.cfg.Now()
		n, err := p.fragment(c.Request.Context(), s, m, q, now, panels.NextRefresh(now, s.cfg.Refresh))
		s.noteResult(m.Name(), c.Param("panel"), err)
		s.render(c, http.StatusOK, g.Group{n, panels.EndpointUpdate(m.Endpoint())})
	}
}

// handleCSV exports a host's record over a range (?range=, 24 h by default) as CSV, written as
// it is read: a month costs the memory of an hour of it. Each hour of the record extends the
// write deadline, so a long export or a slow client completes; an error after the first byte
// breaks the connection, so that the client sees a cut transfer rather than a file that looks
// whole.
func (s *Server) handleCSV(pick func(*gin.Context) (*monitor.Monitor, bool)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.isEngineHost(c) {
			c.String(http.StatusNotFound, "%s is read from the Prometheus API at %s: export its series there (VictoriaMetrics: /api/v1/export; Prometheus: /api/v1/query_range)\n",
				c.Param("host"), s.engine.URL())
			return
		}
		m, q, ok := s.hostRequest(c, pick, "range")
		if !ok {
			return
		}
		now := s.cfg.Now()
		c.Header("Content-Disposition", `attachment; filename="`+m.Name()+"-"+q.rng.Name+`.csv"`)
		c.Header("Content-Type", "text/csv; charset=utf-8")
		if c.Request.Method == http.MethodHead {
			c.Status(http.StatusOK)
			return
		}
		rc := http.NewResponseController(c.Writer)
		next := func() error { return rc.SetWriteDeadline(time.Now().Add(exportWriteTimeout)) }
		err := s.history.ExportCSV(c.Request.Context(), c.Writer, m.Name(), now.Add(-q.rng.D), now, next)
		switch {
		case err == nil:
		case !c.Writer.Written():
			c.Header("Content-Disposition", "")
			c.Header("Content-Type", "")
			c.String(http.StatusServiceUnavailable, "the history of %s cannot be read: %v\n", m.Name(), err)
		default:
			if c.Request.Context().Err() == nil {
				s.log.Warn("CSV export broken off", "host", m.Name(), "range", q.rng.Name, "error", err)
			}
			// net/http's way to end a response as broken: the connection is closed without
			// the end of the chunked body.
			panic(http.ErrAbortHandler)
		}
	}
}

// handleNotify is the footer's line about notifications: how the last one went. It reads what
// the notifier keeps and never waits for a send. 404 without --notify.
func (s *Server) handleNotify() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := s.namedHost(c); s.cfg.Notify == nil || c.Param("host") != "" && !ok {
			s.unknownHost(c)
			return
		}
		c.Header("Cache-Control", "no-store")
		if _, msg := parseQuery(c.Request.URL.RawQuery); msg != "" {
			c.String(http.StatusBadRequest, msg+"\n")
			return
		}
		now := s.cfg.Now()
		s.render(c, http.StatusOK, panels.NotifyNote(s.cfg.Notify.Status(), now, panels.NextRefresh(now, s.cfg.Refresh)))
	}
}

// exportWriteTimeout is how long each hour of an export has to reach the client.
const exportWriteTimeout = 30 * time.Second

// handleSummary serves a host's row of the overview. It waits for chronyd at most RowWait:
// a silent chronyd's row answers "waiting" and asks again shortly, for the same read, so that
// the browser's few connections are never held by dead hosts while the others' rows wait.
func (s *Server) handleSummary() gin.HandlerFunc {
	return func(c *gin.Context) {
		m, q, ok := s.hostRequest(c, s.namedHost, "fresh", "since")
		if !ok {
			return
		}
		asked := s.cfg.Now()
		if !q.since.IsZero() && q.since.Before(asked) {
			asked = q.since
		}
		w := monitor.Want{Fresh: q.fresh, Since: q.since}
		// A host that failed last time is likely to fail again, slowly: its row answers at once
		// with that failure while it is asked again.
		wait := s.cfg.RowWait
		_, _, lastErr, known := m.LastTracking()
		if known && lastErr != nil {
			wait = 0
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), wait)
		defer cancel()
		// The row's diagnosis, from the same reads as its cells: tracking and sources as asked,
		// the rest as the diagnosis reads them (see diagnose.SlowReports).
		in := s.diag.Gather(ctx, m, w)
		row := panels.HostSummary{Host: m.Name(), Endpoint: m.Endpoint(), Thresholds: in.Thresholds,
			Tracking: in.Tracking.Val, At: in.Tracking.At, TrackingErr: in.Tracking.Err,
			Sources: in.Sources.Val, SourcesErr: in.Sources.Err}
		row.Now = s.cfg.Now()
		row.Next = panels.NextRefresh(row.Now, s.cfg.Refresh)
		if errors.Is(row.TrackingErr, diagnose.ErrNotYet) || errors.Is(row.SourcesErr, diagnose.ErrNotYet) {
			row.Waiting, row.WaitingSince, row.Next = true, asked, time.Second
			row.Tracking, row.At, row.TrackingErr, row.Sources, row.SourcesErr = chrony.Tracking{}, time.Time{}, nil, nil, nil
			if t, at, err, ok := m.LastTracking(); ok {
				row.Stale, row.Tracking, row.At, row.TrackingErr = true, t, at, err
				row.Sources, _, row.SourcesErr, _ = m.LastSources()
				row.Diagnosis, _ = s.diag.Last(m)
			}
		} else {
			row.Diagnosis = s.diag.Judge(in)
			s.noteResult(m.Name(), "summary", row.TrackingErr)
		}
		if trend, ok := s.historyOf(m.Name()).Trend(c.Request.Context(), m.Name(), row.Now); ok {
			row.Trend = &trend
		}
		s.render(c, http.StatusOK, panels.SummaryRow(row))
	}
}

// query is what a fragment or probe accepts in its query string.
type query struct {
	fresh bool          // fresh=1: read chronyd now (the reload button)
	since time.Time     // since=UNIX_MS: a read finished since then will do (a row that was waiting)
	host  string        // host=NAME: one host (/readyz)
	rng   history.Range // range=1h|6h|24h|7d|30d|90d|1y|2y: the history's range
	// chosen is true when range was given: else the history panel shows the smallest range
	// that holds the record.
	chosen bool
	full   bool      // scale=full: the history's charts to the full scale of their values
	all    bool      // all=1: every event, not only the latest
	at     time.Time // at=UNIX_MS: a moment to show in the history
	in     string    // in=sources|sourcestats: the panel a source's detail opens in
}

// parseQuery accepts only the named parameters, each once, and says what is wrong otherwise.
func parseQuery(raw string, allowed ...string) (query, string) {
	q := query{rng: history.DefaultRange}
	if raw == "" {
		return q, ""
	}
	takes := "takes only " + strings.Join(allowed, ", ")
	values, err := url.ParseQuery(raw)
	if err != nil {
		return q, "bad request: malformed query string (this address " + takes + ")"
	}
	for key, vals := range values {
		if !slices.Contains(allowed, key) {
			return q, fmt.Sprintf("bad request: unknown query parameter %q (this address %s)", key, takes)
		}
		if len(vals) != 1 {
			return q, fmt.Sprintf("bad request: %s is given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "fresh":
			if v != "1" && v != "0" {
				return q, "bad request: fresh must be 1 or 0"
			}
			q.fresh = v == "1"
		case "since":
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms <= 0 {
				return q, "bad request: since must be a time in Unix milliseconds"
			}
			q.since = time.UnixMilli(ms)
		case "host":
			q.host = v
		case "range":
			r, ok := history.ParseRange(v)
			if !ok {
				return q, "bad request: range must be 1h, 6h, 24h, 7d, 30d, 90d, 1y or 2y"
			}
			q.rng, q.chosen = r, true
		case "scale":
			if v != "full" {
				return q, "bad request: scale must be full (or left out for the usual scale)"
			}
			q.full = true
		case "all":
			if v != "1" && v != "0" {
				return q, "bad request: all must be 1 or 0"
			}
			q.all = v == "1"
		case "at":
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms <= 0 {
				return q, "bad request: at must be a time in Unix milliseconds"
			}
			q.at = time.UnixMilli(ms)
		case "in":
			if v != "sources" && v != "sourcestats" {
				return q, "bad request: in must be sources or sourcestats"
			}
			q.in = v
		}
	}
	return q, ""
}

func (s *Server) handleHealthz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		c.String(http.StatusOK, "ok\n")
	}
}

// handleReadyz is ready when every host's chronyd answers a tracking request; ?host=NAME asks
// about that one only. The body has a line per host, and for a ready one which of chronyd's
// reports second-hand can read.
func (s *Server) handleReadyz() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		q, msg := parseQuery(c.Request.URL.RawQuery, "host")
		if msg != "" {
			c.String(http.StatusBadRequest, msg+"\n")
			return
		}
		hosts := s.fleet.Monitors()
		if len(hosts) == 0 && q.host == "" && s.engine != nil {
			c.String(http.StatusOK, "ready: no chronyd read directly; every host is read from the Prometheus API at %s\n", s.engine.URL())
			return
		}
		if q.host != "" {
			m, ok := s.fleet.Lookup(q.host)
			if !ok {
				c.String(http.StatusNotFound, "unknown host %q; the hosts are: %s\n", q.host, strings.Join(s.fleet.Names(), ", "))
				return
			}
			hosts = []*monitor.Monitor{m}
		}
		ctx := c.Request.Context()
		lines := make([]string, len(hosts))
		ready := make([]bool, len(hosts))
		var wg sync.WaitGroup
		for i, m := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lines[i], ready[i] = s.hostReadiness(ctx, m)
			}()
		}
		wg.Wait()
		status := http.StatusOK
		if slices.Contains(ready, false) {
			status = http.StatusServiceUnavailable
		}
		c.String(status, strings.Join(lines, "\n")+"\n")
	}
}

// hostReadiness is a host's line of /readyz, and whether its chronyd answers tracking.
func (s *Server) hostReadiness(ctx context.Context, m *monitor.Monitor) (string, bool) {
	// A probe asks about now: a fresh read, which the monitor still limits to one a second.
	t, _, err := m.Tracking(ctx, monitor.Want{Fresh: true})
	if err != nil {
		x := diagnose.Explain(err, m.Endpoint())
		line := m.Name() + ": not ready: " + x.Title
		if x.Detail != "" {
			line += ": " + x.Detail
		}
		if x.Fix != "" {
			line += "\n  fix: " + x.Fix
		}
		return line + "\n" + diagnosisLines(s.diag.Diagnose(ctx, m, monitor.Want{})), false
	}
	state := "synchronised"
	switch {
	case !t.Synchronised():
		state = "not synchronised"
	case t.RefID == chrony.RefIDLocal:
		state = "synchronised to its local clock"
	}
	return fmt.Sprintf("%s: ready: chronyd at %s answers (%s)\n%s\n  access: %s", m.Name(), m.Endpoint(), state,
		diagnosisLines(s.diag.Diagnose(ctx, m, monitor.Want{})), panels.AccessLine(reportAccess(ctx, m))), true
}

// diagnosisLines is a host's diagnosis in /readyz's body: its state, each finding with its
// id and severity, and what was checked.
func diagnosisLines(d diagnose.Diagnosis) string {
	var b strings.Builder
	b.WriteString("  diagnosis: " + d.State.String())
	for _, f := range d.Findings {
		b.WriteString("\n  - " + f.Severity.String() + " " + f.ID + ": " + f.Text)
	}
	if len(d.Checked) > 0 {
		b.WriteString("\n  checked: " + d.Summary())
	}
	return b.String()
}

func (s *Server) handleAsset() gin.HandlerFunc {
	return func(c *gin.Context) {
		a, ok := assets.Lookup(c.Param("name"))
		if !ok {
			s.handleNotFound()(c)
			return
		}
		h := c.Writer.Header()
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", a.ETag)
		h.Set("Vary", "Accept-Encoding")
		if c.GetHeader("If-None-Match") == a.ETag {
			c.Status(http.StatusNotModified)
			return
		}
		body := a.Body
		if a.Gzip != nil && acceptsGzip(c.GetHeader("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			body = a.Gzip
		}
		c.Data(http.StatusOK, a.ContentType, body)
	}
}

// acceptsGzip reads Accept-Encoding: gzip is welcome unless its quality is 0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			v, err := strconv.ParseFloat(q, 64)
			return err == nil && v > 0
		}
		return true
	}
	return false
}

// unknownHost answers 404 with the page that lists the configured hosts.
func (s *Server) unknownHost(c *gin.Context) {
	text := "There is nothing at this address."
	if name := c.Param("host"); name != "" {
		if _, ok := s.fleet.Lookup(name); !ok {
			text = "second-hand watches no host named “" + name + "”."
		}
	}
	s.notFound(c, text)
}

func (s *Server) handleNotFound() gin.HandlerFunc {
	return func(c *gin.Context) { s.notFound(c, "There is nothing at this address.") }
}

func (s *Server) notFound(c *gin.Context, text string) {
	s.render(c, http.StatusNotFound, panels.NotFound(panels.NotFoundProps{
		Chrome: s.chrome(c.Request.URL.Path), Title: "Not found", Text: text, Hosts: s.fleet.Names()}))
}

func (s *Server) handleMethodNotAllowed() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Allow", "GET, HEAD")
		s.render(c, http.StatusMethodNotAllowed, panels.NotFound(panels.NotFoundProps{
			Chrome: s.chrome(c.Request.URL.Path), Title: "Method not allowed",
			Text: "second-hand only reads: it answers GET and HEAD."}))
	}
}

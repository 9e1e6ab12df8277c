// Package server is second-hand's HTTP side: Gin routes that serve the pages, one htmx
// fragment per panel and per overview row, the health probes and the assets. A chronyd failure
// is a panel state, never an HTTP error: a fragment whose report failed answers 200 with the
// panel's error variant.
package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	g "maragu.dev/gomponents"

	"github.com/second-hand/second-hand/assets"
	"github.com/second-hand/second-hand/pkg/chrony"
	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/engine"
	"github.com/second-hand/second-hand/pkg/history"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/notify"
	"github.com/second-hand/second-hand/pkg/panels"
)

// Config is what the server needs besides the hosts.
type Config struct {
	Refresh time.Duration    // how often the page reloads its panels
	Logger  *slog.Logger     // nil discards
	Now     func() time.Time // the clock; time.Now when nil
	// RowWait is how long an overview row waits for its chronyd before it answers "waiting"
	// and asks again, so that a silent chronyd holds no connection of the browser's for
	// long; DefaultRowWait when 0.
	RowWait time.Duration
	// History is the hosts' record; nil for none (as with --sample 0).
	History *history.Service
	// Engine is the time-series engine whose hosts the overview shows too, and whose series
	// are the history of the hosts this second-hand does not record (--prometheus); nil for
	// none.
	Engine *engine.Engine
	// Thresholds are the limits each host's clock is held to, for its diagnosis.
	Thresholds diagnose.HostThresholds
	// Budget is how long a request may spend on chronyd in all, waiting in line behind other
	// requests to the same chronyd included: then it answers with the panel's error. The
	// client's longest exchange (chrony.Options.MaxWait) when 0; keep it well inside the HTTP
	// server's write timeout, so that the answer is never cut off.
	Budget time.Duration
	// AllowedHosts, when not nil, are the names (HostName) the Host header may give besides
	// localhost and loopback addresses; a request for any other is answered 421. nil answers
	// every name, for a second-hand that listens beyond loopback.
	AllowedHosts []string
	// Notify sends the notifications (--notify); nil for none. The pages' footers say how the
	// last one went, and /metrics counts them.
	Notify *notify.Notifier
}

// DefaultRowWait: a chronyd that answers at all answers within milliseconds.
const DefaultRowWait = 250 * time.Millisecond

// Server holds the handlers' dependencies.
type Server struct {
	fleet         *monitor.Fleet
	history       *history.Service
	diag          diagnose.Gatherer
	engine        *engine.Engine
	engineHistory *engine.History
	metrics       *metricsHandlers
	cfg           Config
	log           *slog.Logger
	health        panelHealth
	assets        panels.AssetNames
}

// New returns the HTTP handler of second-hand for the hosts of fleet.
func New(fleet *monitor.Fleet, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Second
	}
	if cfg.RowWait <= 0 {
		cfg.RowWait = DefaultRowWait
	}
	if cfg.Budget <= 0 {
		cfg.Budget = chrony.DefaultOptions().MaxWait()
	}
	if cfg.History == nil {
		cfg.History = history.Open(history.Config{}) // off: no store, no recording
	}
	diag := diagnose.Gatherer{History: cfg.History.Moments, Thresholds: cfg.Thresholds, Now: cfg.Now, Memo: diagnose.NewMemo()}
	s := &Server{fleet: fleet, history: cfg.History, diag: diag, engine: cfg.Engine, metrics: newMetricsHandlers(fleet, diag, cfg.Engine, cfg.Notify), cfg: cfg, log: cfg.Logger,
		health: panelHealth{failing: map[string]string{}},
		assets: panels.AssetNames{Style: assets.Style.Name, Script: assets.Script.Name, HTMX: assets.HTMX.Name, Icon: assets.Icon.Name},
	}
	for i, a := range assets.StateIcons {
		s.assets.StateIcons[i] = a.Name
	}

	if s.engine != nil {
		s.engineHistory = s.engine.History(nil)
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// Redirects would be absolute and escape a proxy's sub-path; the page links only exact paths.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.Use(s.recoverPanics(), s.logRequests(), securityHeaders())
	if cfg.AllowedHosts != nil {
		r.Use(s.checkHost(cfg.AllowedHosts))
	}
	s.routes(router{r: r, budget: s.budget()})
	r.NoRoute(s.handleNotFound())
	r.NoMethod(s.handleMethodNotAllowed())
	return r
}

// router registers each route for GET and HEAD.
type router struct {
	r      *gin.Engine
	budget gin.HandlerFunc
}

// get registers a route whose request has the budget: everything it asks of chronyd ends
// within it.
func (r router) get(path string, h gin.HandlerFunc) {
	r.r.GET(path, r.budget, h)
	r.r.HEAD(path, r.budget, h)
}

// stream registers a route that writes for as long as its client reads (an export): no budget.
func (r router) stream(path string, h gin.HandlerFunc) {
	r.r.GET(path, h)
	r.r.HEAD(path, h)
}

// budget gives the request its budget for chronyd (Config.Budget).
func (s *Server) budget() gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := chrony.WithBudget(c.Request.Context(), s.cfg.Budget)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// chrome is what every page shares, for a page at path: the relative way back to the root, so
// that the page works behind a proxy under any sub-path.
func (s *Server) chrome(path string) panels.Chrome {
	return panels.Chrome{Base: basePath(path), Refresh: s.cfg.Refresh, Assets: s.assets}
}

// basePath is the relative path from the page at path to the root: "./" for /, /x and /x/...
// at the root's level, "../../" for /hosts/NAME/.
func basePath(path string) string {
	depth := strings.Count(path, "/") - 1
	if depth <= 0 {
		return "./"
	}
	return strings.Repeat("../", depth)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes an HTML node. It renders into a buffer first, so that a failure cannot send
// half a page, and so that the length is known.
func (s *Server) render(c *gin.Context, status int, n g.Node) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := n.Render(buf); err != nil {
		s.log.Error("rendering failed", "path", c.Request.URL.Path, "error", err)
		c.String(http.StatusInternalServerError, "internal error: the page could not be rendered\n")
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// renderLarge writes an HTML node that may be megabytes (the overview's panel of a thousand
// hosts from an engine) straight to the response through a small buffer, instead of into a
// pooled buffer grown to its size: that buffer would be grown (and copied) at every request
// and then kept by the pool for every small fragment after. Rendering fails only when the
// connection does, so nothing is lost by not knowing the length first.
func (s *Server) renderLarge(c *gin.Context, status int, n g.Node) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(status)
	w := bufio.NewWriterSize(c.Writer, 32<<10)
	err := n.Render(w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		s.log.Debug("rendering failed (the connection)", "path", c.Request.URL.Path, "error", err)
	}
}

// panelHealth remembers which panels are failing, so that a failure is logged once when it
// starts and once when it ends, not at every refresh of every open page.
type panelHealth struct {
	mu      sync.Mutex
	failing map[string]string
}

func (s *Server) noteResult(host, panel string, err error) {
	if errors.Is(err, monitor.ErrStillReading) {
		return // not a result yet
	}
	key := ""
	if err != nil {
		key = failureKey(err)
	}
	id := host + "/" + panel
	s.health.mu.Lock()
	prev, was := s.health.failing[id]
	switch {
	case err != nil && (!was || prev != key):
		s.health.failing[id] = key
		s.health.mu.Unlock()
		s.log.Warn("panel failing", "host", host, "panel", panel, "error", err)
		return
	case err == nil && was:
		delete(s.health.failing, id)
		s.health.mu.Unlock()
		s.log.Info("panel recovered", "host", host, "panel", panel)
		return
	}
	s.health.mu.Unlock()
	if err != nil {
		s.log.Debug("panel still failing", "host", host, "panel", panel, "error", err)
	}
}

// failureKey tells failures apart by what went wrong, not by details that change at every
// request (a timeout's elapsed time).
func failureKey(err error) string {
	var e *chrony.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%v|%s|%s|%v", e.Kind, e.Op, e.Addr, e.Status)
	}
	return err.Error()
}

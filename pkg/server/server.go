// Package server is second-hand's HTTP side: Gin routes that serve the page, one htmx fragment
// per panel, the health probes and the assets. A chronyd failure is a panel state, never an
// HTTP error: a fragment whose report failed answers 200 with the panel's error variant.
package server

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	g "maragu.dev/gomponents"

	"github.com/second-hand/second-hand/pkg/chrony"
)

// Config is what the server needs besides chronyd.
type Config struct {
	Refresh time.Duration    // how often the page reloads its panels
	Reuse   time.Duration    // how long a report read from chronyd is reused (see chrony.Cache)
	Logger  *slog.Logger     // nil discards
	Now     func() time.Time // the clock; time.Now when nil
}

// Server holds the handlers' dependencies.
type Server struct {
	reports *chrony.Cache
	cfg     Config
	log     *slog.Logger
	health  panelHealth
}

// New returns the HTTP handler of second-hand for chronyd behind reports. Reports are shared
// between concurrent requests and reused for cfg.Reuse.
func New(reports chrony.Reporter, cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 10 * time.Second
	}
	s := &Server{reports: chrony.NewCache(reports, cfg.Reuse), cfg: cfg, log: cfg.Logger,
		health: panelHealth{failing: map[string]string{}}}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// Redirects would be absolute and escape a proxy's sub-path; the page links only exact paths.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.Use(s.recoverPanics(), s.logRequests(), securityHeaders())
	s.routes(r)
	return r
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

// panelHealth remembers which panels are failing, so that a failure is logged once when it
// starts and once when it ends, not at every refresh of every open page.
type panelHealth struct {
	mu      sync.Mutex
	failing map[string]string
}

func (s *Server) noteResult(panel string, err error) {
	key := ""
	if err != nil {
		key = failureKey(err)
	}
	s.health.mu.Lock()
	prev, was := s.health.failing[panel]
	switch {
	case err != nil && (!was || prev != key):
		s.health.failing[panel] = key
		s.health.mu.Unlock()
		s.log.Warn("panel failing", "panel", panel, "error", err)
		return
	case err == nil && was:
		delete(s.health.failing, panel)
		s.health.mu.Unlock()
		s.log.Info("panel recovered", "panel", panel)
		return
	}
	s.health.mu.Unlock()
	if err != nil {
		s.log.Debug("panel still failing", "panel", panel, "error", err)
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

package server

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/engine"
	"github.com/second-hand/second-hand/pkg/metrics"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/notify"
)

// metricsHandlers serve /metrics: every host and second-hand's own process, or one host.
type metricsHandlers struct {
	all    http.Handler
	byHost map[string]http.Handler
}

func newMetricsHandlers(fleet *monitor.Fleet, diag diagnose.Gatherer, e *engine.Engine, n *notify.Notifier) *metricsHandlers {
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}
	process := prometheus.NewRegistry()
	process.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if e != nil {
		process.MustRegister(metrics.EngineCollector{E: e})
	}
	if n != nil {
		process.MustRegister(metrics.Notifications(n.Counts))
	}
	hosts := metrics.NewHosts(diag, fleet.Monitors()...)
	h := &metricsHandlers{all: promhttp.HandlerFor(prometheus.Gatherers{process, hosts}, opts), byHost: map[string]http.Handler{}}
	for _, host := range hosts {
		h.byHost[host.Name()] = promhttp.HandlerFor(host, opts)
	}
	return h
}

// handleMetrics serves Prometheus: every host, or ?host=NAME only (404 for a host it does not
// know), so that a scrape job per host makes each its own instance.
func (s *Server) handleMetrics() gin.HandlerFunc {
	return func(c *gin.Context) {
		q, msg := parseQuery(c.Request.URL.RawQuery, "host")
		if msg != "" {
			c.String(http.StatusBadRequest, msg+"\n")
			return
		}
		h := s.metrics.all
		if q.host != "" {
			var ok bool
			if h, ok = s.metrics.byHost[q.host]; !ok {
				c.String(http.StatusNotFound, "unknown host %q; the hosts are: %s\n", q.host, strings.Join(s.fleet.Names(), ", "))
				return
			}
		}
		h.ServeHTTP(c.Writer, c.Request)
	}
}

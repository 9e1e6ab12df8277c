package server

import (
	"github.com/gin-gonic/gin"

	"github.com/second-hand/second-hand/pkg/panels"
)

// routes lists every URL second-hand answers. Each is registered for GET and HEAD.
func (s *Server) routes(r *gin.Engine) {
	get := func(path string, h gin.HandlerFunc) {
		r.GET(path, h)
		r.HEAD(path, h)
	}

	// The page: a shell whose four panels load themselves.
	get("/", s.handlePage())

	// One htmx fragment per panel: 200 with data, or 200 with the panel's error variant.
	get("/panels/tracking", handlePanel(s, "tracking", s.reports.Tracking, panels.TrackingPanel))
	get("/panels/sources", handlePanel(s, "sources", s.reports.Sources, panels.SourcesPanel))
	get("/panels/sourcestats", handlePanel(s, "sourcestats", s.reports.SourceStats, panels.SourceStatsPanel))
	get("/panels/rtc", handlePanel(s, "rtc", s.reports.RTC, panels.RTCPanel))

	// Probes: the process is alive; chronyd answers.
	get("/healthz", s.handleHealthz())
	get("/readyz", s.handleReadyz())

	// Static files under content-hashed names, cached for a year.
	get("/assets/:name", s.handleAsset())

	r.NoRoute(s.handleNotFound())
	r.NoMethod(s.handleMethodNotAllowed())
}

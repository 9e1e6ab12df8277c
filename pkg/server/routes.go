package server

// routes lists every URL second-hand answers. Each is registered for GET and HEAD; each but
// the exports has a budget for chronyd (Config.Budget), after which it answers with its error.
//
// A host's page and its fragments live under hosts/NAME/. With one host configured, the root
// is that host's page and /panels/* its fragments; with several, the root is the overview,
// one row per host, each row its own fragment.
func (s *Server) routes(r router) {
	get := r.get

	// The root: the host's page with one host, the fleet overview with several.
	get("/", s.handleIndex())
	get("/panels/:panel", s.handlePanel(s.rootHost))
	r.stream("/history.csv", s.handleCSV(s.rootHost))
	get("/sources/:address", s.handleSource(s.rootHost))
	get("/access", s.handleAccess(s.rootHost))
	get("/diagnosis.json", s.handleDiagnosisJSON(s.rootHost))

	// One host: its page, one htmx fragment per panel (200 with data, or 200 with the panel's
	// error variant: diagnosis, tracking, sources, sourcestats, rtc, server, history, events),
	// a source's detail (by address, or a reference clock's ref ID), which reports it can read
	// (the page footer's note), its row of the overview, its diagnosis for scripts, and its
	// record as CSV.
	get("/hosts/:host", s.handleHostRedirect())
	get("/hosts/:host/", s.handleHostPage())
	get("/hosts/:host/panels/:panel", s.handlePanel(s.namedHost))
	get("/hosts/:host/sources/:address", s.handleSource(s.namedHost))
	get("/hosts/:host/access", s.handleAccess(s.namedHost))
	get("/hosts/:host/summary", s.handleSummary())
	get("/hosts/:host/diagnosis.json", s.handleDiagnosisJSON(s.namedHost))
	r.stream("/hosts/:host/history.csv", s.handleCSV(s.namedHost))

	// The hosts of the time-series engine (--prometheus) that second-hand does not read
	// itself: the overview's panel of them, one fragment for them all.
	get("/engine/hosts", s.handleEngineHosts())

	// How the last notification went (with --notify): the footer's line of the overview and of
	// each host's page, each asking relative to itself.
	get("/notify", s.handleNotify())
	get("/hosts/:host/notify", s.handleNotify())

	// Prometheus: every host in chrony_exporter's names, and second-hand's own (?host=NAME: one).
	get("/metrics", s.handleMetrics())

	// Probes: the process is alive; every chronyd answers (?host=NAME: that one).
	get("/healthz", s.handleHealthz())
	get("/readyz", s.handleReadyz())

	// Static files under content-hashed names, cached for a year.
	get("/assets/:name", s.handleAsset())
}

package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	g "maragu.dev/gomponents"

	"github.com/second-hand/second-hand/pkg/diagnose"
	"github.com/second-hand/second-hand/pkg/monitor"
	"github.com/second-hand/second-hand/pkg/panels"
)

// diagnosisView is the host page's first block: the host's diagnosis, from the reads the other
// panels share. chronyd not answering is its first finding, not the panel's error.
func diagnosisView(ctx context.Context, s *Server, m *monitor.Monitor, q query, now time.Time, next time.Duration) (g.Node, error) {
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
	return panels.DiagnosisPanel(panels.Result[panels.DiagnosisData]{Data: panels.DiagnosisData{Diagnosis: d, TitleName: name},
		Err: err, At: at, Now: now, Endpoint: m.Endpoint(), Next: next}), err
}

// handleDiagnosisJSON gives a host's diagnosis to scripts: hosts/NAME/diagnosis.json, or
// diagnosis.json with one host. It answers 200 whatever the state (the state is in the body);
// ?fresh=1 reads chronyd anew, as the reload button does.
func (s *Server) handleDiagnosisJSON(pick func(*gin.Context) (*monitor.Monitor, bool)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.isEngineHost(c) {
			s.handleEngineDiagnosisJSON(c)
			return
		}
		m, q, ok := s.hostRequest(c, pick, "fresh")
		if !ok {
			return
		}
		b, err := s.diag.Diagnose(c.Request.Context(), m, monitor.Want{Fresh: q.fresh}).JSON()
		if err != nil {
			c.String(http.StatusInternalServerError, "internal error: the diagnosis could not be written\n")
			return
		}
		c.Data(http.StatusOK, "application/json; charset=utf-8", append(b, '\n'))
	}
}

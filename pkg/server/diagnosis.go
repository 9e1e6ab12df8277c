package server

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/second-hand/second-hand/pkg/monitor"
)

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
